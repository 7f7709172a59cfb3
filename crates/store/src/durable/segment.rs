//! Immutable segment files: the points of one time partition from one flush (or a
//! compaction of several), cut into blocks, each block compressed on its own, with an index
//! at the end so a reader fetches only the blocks a window needs.
//!
//! ```text
//! segments/p<partition>-s<min_seq>-<max_seq>.sls
//! ┌────────┬─────────────────────────────────────────┬───────┬────────┐
//! │ magic  │ block │ block │ … (per series, in time) │ index │ footer │
//! └────────┴─────────────────────────────────────────┴───────┴────────┘
//! block  = zstd(timestamps) ‖ zstd(values)     (separate so count() skips the values)
//! index  = partition, seq range, then per series: identity, unit, block list
//!          (min_ts, max_ts, count, offset, lengths, crc)
//! footer = u64 index offset | u32 index len | u32 crc(index) | "SLSEGEND"
//! ```
//!
//! The index is small (≈50 bytes per block of up to [`BLOCK_POINTS`] points) and stays in
//! memory; blocks are read with positioned reads and never cached, so memory does not grow
//! with the data on disk.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::bytes::{Malformed, Put, Reader};
use super::codec::{get_meta, put_meta};
use super::encoding::{self, Redundancy};
use crate::api::SeriesId;
use crate::api::Values;
use crate::index::SeriesMeta;
use crate::points::{each_values, Points};

const MAGIC: &[u8; 8] = b"SLSEG001";
const END: &[u8; 8] = b"SLSEGEND";
const FOOTER: usize = 24;
/// Points per block: large enough that zstd and the decoders run at full speed, small enough
/// that a narrow window decodes little it does not need.
pub(crate) const BLOCK_POINTS: usize = 8192;
/// zstd level for blocks: measured to cost little at flush and decompress just as fast.
const ZSTD_LEVEL: i32 = 3;
/// zstd level for columns with little left to find ([`encoding::Redundancy::Little`]): a
/// fast level, which on XOR planes of long-mantissa doubles measured 3.7 ns a point against
/// 14 ns at [`ZSTD_LEVEL`], for 5.06 bytes a point against 5.02. Decompression reads any
/// level's frames alike.
const ZSTD_FAST_LEVEL: i32 = -1;

thread_local! {
    /// One zstd decompression context per reading thread: creating a context per block
    /// cost about a tenth of the CPU of live evaluation in profiles, and a context is not
    /// `Sync`, so each thread keeps its own.
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Decompresses one zstd frame of at most `capacity` bytes with this thread's context.
fn decompress(data: &[u8], capacity: usize) -> io::Result<Vec<u8>> {
    DECOMPRESSOR.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = match slot.as_mut() {
            Some(context) => context,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        context.decompress(data, capacity)
    })
}

/// Where one block lives and what it covers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BlockMeta {
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) count: u32,
    offset: u64,
    ts_len: u32,
    ts_raw: u32,
    val_len: u32,
    val_raw: u32,
    crc: u32,
}

/// A series' blocks in one segment, in time order.
#[derive(Debug)]
pub(crate) struct SeriesBlocks {
    pub(crate) meta: Arc<SeriesMeta>,
    /// The channel's unit when this segment was written.
    pub(crate) unit: Option<Arc<str>>,
    pub(crate) blocks: Vec<BlockMeta>,
}

/// An open segment: its index in memory, its blocks on disk.
#[derive(Debug)]
pub(crate) struct Segment {
    pub(crate) path: PathBuf,
    file: File,
    /// Partition number (timestamp div partition width).
    pub(crate) partition: i64,
    /// Flush sequence numbers this segment's data came from: newer data has higher numbers,
    /// which is how reads decide which of two equal timestamps wins.
    pub(crate) min_seq: u64,
    pub(crate) max_seq: u64,
    pub(crate) min_ts: i64,
    pub(crate) max_ts: i64,
    pub(crate) bytes: u64,
    pub(crate) points: u64,
    pub(crate) series: HashMap<SeriesId, SeriesBlocks>,
}

/// Why a segment could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SegmentError {
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Malformed(#[from] Malformed),
    #[error("{0}")]
    Zstd(io::Error),
    #[error("block checksum mismatch at byte {0}")]
    Checksum(u64),
}

/// A series in the index being written: id, identity, unit, blocks.
type IndexEntry = (SeriesId, Arc<SeriesMeta>, Option<Arc<str>>, Vec<BlockMeta>);

/// Writes one segment file: call [`SegmentWriter::series`] per series (ascending ids), then
/// [`SegmentWriter::finish`].
pub(crate) struct SegmentWriter {
    tmp: PathBuf,
    path: PathBuf,
    out: BufWriter<File>,
    pos: u64,
    partition: i64,
    min_seq: u64,
    max_seq: u64,
    index: Vec<IndexEntry>,
    /// One compression context for every block of the file: creating one per block cost
    /// more than compressing a small block in profiles of a flush.
    zstd: zstd::bulk::Compressor<'static>,
    /// The same for columns compressed at [`ZSTD_FAST_LEVEL`]; zstd allocates its tables on
    /// first use, so a file without such columns pays only for the empty context.
    zstd_fast: zstd::bulk::Compressor<'static>,
}

impl SegmentWriter {
    pub(crate) fn create(
        dir: &Path,
        partition: i64,
        min_seq: u64,
        max_seq: u64,
    ) -> io::Result<Self> {
        let name = format!("p{partition}-s{min_seq}-{max_seq}.sls");
        let path = dir.join(&name);
        let tmp = dir.join(format!("{name}.tmp"));
        let file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        let mut out = BufWriter::with_capacity(1 << 20, file);
        out.write_all(MAGIC)?;
        Ok(SegmentWriter {
            tmp,
            path,
            out,
            pos: MAGIC.len() as u64,
            partition,
            min_seq,
            max_seq,
            index: Vec::new(),
            zstd: zstd::bulk::Compressor::new(ZSTD_LEVEL)?,
            zstd_fast: zstd::bulk::Compressor::new(ZSTD_FAST_LEVEL)?,
        })
    }

    /// Writes a series' points (all inside this partition) as blocks.
    pub(crate) fn series(
        &mut self,
        id: SeriesId,
        meta: &Arc<SeriesMeta>,
        unit: Option<Arc<str>>,
        p: &Points,
        range: std::ops::Range<usize>,
    ) -> io::Result<()> {
        if range.is_empty() {
            return Ok(());
        }
        let mut blocks = Vec::new();
        self.encode_blocks(p, range, &mut blocks)?;
        self.push_series(id, meta, unit, blocks);
        Ok(())
    }

    /// Encodes `p[range]` as blocks of at most [`BLOCK_POINTS`], appending their index
    /// entries to `blocks`; the caller names the series with [`Self::push_series`].
    pub(crate) fn encode_blocks(
        &mut self,
        p: &Points,
        range: std::ops::Range<usize>,
        blocks: &mut Vec<BlockMeta>,
    ) -> io::Result<()> {
        let mut raw = Vec::new();
        let mut start = range.start;
        while start < range.end {
            let end = (start + BLOCK_POINTS).min(range.end);
            raw.clear();
            encoding::put_timestamps(&mut raw, &p.ts[start..end]);
            let ts_raw = raw.len();
            let ts = self.zstd.compress(&raw)?;
            raw.clear();
            let vals = match encoding::put_values(&mut raw, &p.values, start..end) {
                Redundancy::Some => self.zstd.compress(&raw)?,
                Redundancy::Little => self.zstd_fast.compress(&raw)?,
            };
            let mut h = crc32fast::Hasher::new();
            h.update(&ts);
            h.update(&vals);
            blocks.push(BlockMeta {
                min_ts: p.ts[start],
                max_ts: p.ts[end - 1],
                count: (end - start) as u32,
                offset: self.pos,
                ts_len: ts.len() as u32,
                ts_raw: ts_raw as u32,
                val_len: vals.len() as u32,
                val_raw: raw.len() as u32,
                crc: h.finalize(),
            });
            self.out.write_all(&ts)?;
            self.out.write_all(&vals)?;
            self.pos += (ts.len() + vals.len()) as u64;
            start = end;
        }
        Ok(())
    }

    /// Copies one block of `from` as it is (still compressed, checksum verified), appending
    /// its new index entry to `blocks`: what compaction does with a block nothing overlaps.
    pub(crate) fn copy_block(
        &mut self,
        from: &Segment,
        b: &BlockMeta,
        blocks: &mut Vec<BlockMeta>,
    ) -> Result<(), SegmentError> {
        let (buf, _) = from.fetch(b, true)?;
        self.out.write_all(&buf)?;
        blocks.push(BlockMeta {
            offset: self.pos,
            ..*b
        });
        self.pos += buf.len() as u64;
        Ok(())
    }

    /// Adds a series, whose blocks (in time order, disjoint) are already written, to the
    /// index. Series go in ascending id order.
    pub(crate) fn push_series(
        &mut self,
        id: SeriesId,
        meta: &Arc<SeriesMeta>,
        unit: Option<Arc<str>>,
        blocks: Vec<BlockMeta>,
    ) {
        if !blocks.is_empty() {
            self.index.push((id, meta.clone(), unit, blocks));
        }
    }

    /// Stops writing and deletes the temporary file (recovery would delete it anyway).
    pub(crate) fn abandon(self) {
        let SegmentWriter { tmp, out, .. } = self;
        drop(out);
        if let Err(e) = fs::remove_file(&tmp) {
            tracing::warn!(file = %tmp.display(), error = %e, "could not delete an abandoned segment");
        }
    }

    /// Writes the index, syncs, and renames into place. The caller syncs the directory.
    pub(crate) fn finish(mut self) -> Result<Segment, SegmentError> {
        let mut ix = Vec::new();
        ix.put_i64(self.partition);
        ix.put_u64(self.min_seq);
        ix.put_u64(self.max_seq);
        ix.put_u32(self.index.len() as u32);
        for (id, meta, unit, blocks) in &self.index {
            ix.put_u64(id.0);
            put_meta(&mut ix, meta);
            match unit {
                Some(u) => {
                    ix.put_u8(1);
                    ix.put_str(u);
                }
                None => ix.put_u8(0),
            }
            ix.put_u32(blocks.len() as u32);
            for b in blocks {
                ix.put_i64(b.min_ts);
                ix.put_i64(b.max_ts);
                ix.put_u32(b.count);
                ix.put_u64(b.offset);
                ix.put_u32(b.ts_len);
                ix.put_u32(b.ts_raw);
                ix.put_u32(b.val_len);
                ix.put_u32(b.val_raw);
                ix.put_u32(b.crc);
            }
        }
        let mut footer = Vec::with_capacity(FOOTER);
        footer.put_u64(self.pos);
        footer.put_u32(ix.len() as u32);
        footer.put_u32(crc32fast::hash(&ix));
        footer.extend_from_slice(END);
        self.out.write_all(&ix)?;
        self.out.write_all(&footer)?;
        let file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        fs::rename(&self.tmp, &self.path)?;
        Segment::open(&self.path)
    }
}

impl Segment {
    /// Opens a segment and reads its index.
    pub(crate) fn open(path: &Path) -> Result<Segment, SegmentError> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        let bad = |what| SegmentError::Malformed(Malformed { at: 0, what });
        if len < (MAGIC.len() + FOOTER) as u64 {
            return Err(bad("segment too short"));
        }
        let mut head = [0u8; 8];
        file.read_exact_at(&mut head, 0)?;
        let mut foot = [0u8; FOOTER];
        file.read_exact_at(&mut foot, len - FOOTER as u64)?;
        if &head != MAGIC || &foot[16..] != END {
            return Err(bad("segment magic"));
        }
        let mut f = Reader::new(&foot);
        let ix_off = f.u64("index offset")?;
        let ix_len = f.u32("index length")? as u64;
        let ix_crc = f.u32("index crc")?;
        if ix_off.checked_add(ix_len) != Some(len - FOOTER as u64) {
            return Err(bad("index bounds"));
        }
        let mut ix = vec![0u8; ix_len as usize];
        file.read_exact_at(&mut ix, ix_off)?;
        if crc32fast::hash(&ix) != ix_crc {
            return Err(SegmentError::Checksum(ix_off));
        }
        let mut r = Reader::new(&ix);
        let partition = r.i64("partition")?;
        let min_seq = r.u64("min seq")?;
        let max_seq = r.u64("max seq")?;
        let n = r.count(16, "series count")?;
        let mut series = HashMap::with_capacity(n);
        let (mut min_ts, mut max_ts, mut points) = (i64::MAX, i64::MIN, 0u64);
        for _ in 0..n {
            let id = SeriesId(r.u64("series id")?);
            let meta = Arc::new(get_meta(&mut r)?);
            let unit = match r.u8("unit flag")? {
                0 => None,
                _ => Some(r.arc_str("unit")?),
            };
            let nb = r.count(48, "block count")?;
            let mut blocks = Vec::with_capacity(nb);
            for _ in 0..nb {
                let b = BlockMeta {
                    min_ts: r.i64("block min")?,
                    max_ts: r.i64("block max")?,
                    count: r.u32("block count")?,
                    offset: r.u64("block offset")?,
                    ts_len: r.u32("ts len")?,
                    ts_raw: r.u32("ts raw")?,
                    val_len: r.u32("val len")?,
                    val_raw: r.u32("val raw")?,
                    crc: r.u32("block crc")?,
                };
                let end = b.offset + u64::from(b.ts_len) + u64::from(b.val_len);
                if end > ix_off || b.min_ts > b.max_ts || b.count == 0 {
                    return Err(bad("block bounds"));
                }
                min_ts = min_ts.min(b.min_ts);
                max_ts = max_ts.max(b.max_ts);
                points += u64::from(b.count);
                blocks.push(b);
            }
            series.insert(id, SeriesBlocks { meta, unit, blocks });
        }
        Ok(Segment {
            path: path.to_path_buf(),
            file,
            partition,
            min_seq,
            max_seq,
            min_ts,
            max_ts,
            bytes: len,
            points,
            series,
        })
    }

    fn fetch(&self, b: &BlockMeta, with_values: bool) -> Result<(Vec<u8>, usize), SegmentError> {
        let len = b.ts_len as usize + if with_values { b.val_len as usize } else { 0 };
        let mut buf = vec![0u8; len];
        self.file.read_exact_at(&mut buf, b.offset)?;
        if with_values && crc32fast::hash(&buf) != b.crc {
            return Err(SegmentError::Checksum(b.offset));
        }
        Ok((buf, b.ts_len as usize))
    }

    /// Appends a block's timestamps to `out`. (The block checksum covers values too, so it
    /// is checked on full reads; zstd's own frame checks catch damage here.)
    pub(crate) fn read_ts(&self, b: &BlockMeta, out: &mut Vec<i64>) -> Result<(), SegmentError> {
        let (buf, ts_len) = self.fetch(b, false)?;
        let raw = decompress(&buf[..ts_len], b.ts_raw as usize).map_err(SegmentError::Zstd)?;
        encoding::get_timestamps(&mut Reader::new(&raw), b.count as usize, out)?;
        Ok(())
    }

    /// Appends a block's points to `out` (of the series' type).
    pub(crate) fn read_block(&self, b: &BlockMeta, out: &mut Points) -> Result<(), SegmentError> {
        let (buf, ts_len) = self.fetch(b, true)?;
        let n = b.count as usize;
        let raw = decompress(&buf[..ts_len], b.ts_raw as usize).map_err(SegmentError::Zstd)?;
        let before = out.ts.len();
        encoding::get_timestamps(&mut Reader::new(&raw), n, &mut out.ts)?;
        let raw = decompress(&buf[ts_len..], b.val_raw as usize).map_err(SegmentError::Zstd)?;
        let mut r = Reader::new(&raw);
        let res = encoding::get_values(&mut r, n, &mut out.values);
        if res.is_err() || out.ts.len() != out.values.len() {
            // Leave the output as it was so the caller can skip this block and go on.
            out.ts.truncate(before);
            each_values!(&mut out.values, v => v.truncate(before));
            res?;
            return Err(SegmentError::Malformed(r.err("column lengths")));
        }
        Ok(())
    }
}
