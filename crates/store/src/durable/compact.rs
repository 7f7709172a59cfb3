//! Compaction: merging the segments of one time partition into one segment.
//!
//! Overlap is judged **per series and per block**, never per segment. Segments of one
//! partition routinely cover the same time range with different series (two datasets
//! written over the same hour, two writers each with their own channels), and that costs
//! reads nothing: a read looks only at the blocks of the series it reads. So:
//!
//! - **When**: the background merges a partition only if some series has blocks in two of
//!   its segments whose time ranges overlap (late points into a flushed range, which every
//!   read of that range would otherwise merge again), or if the partition has collected
//!   [`MAX_SEGMENTS_PER_PARTITION`] segments (each is a file and an index to look through).
//!   `DurableStore::compact` merges every partition with more than one segment. The look
//!   is cheap where segments do not even overlap in time (in-order flushes), and a
//!   partition found clean is not looked at again until its segment set changes
//!   (`Maint::no_overlap`), so a flush does not re-examine the store's whole history.
//! - **What is rewritten**: per series, the blocks of all input segments are sorted by
//!   time and cut into runs that overlap one another. A run of several blocks is decoded,
//!   merged oldest segment first (the newer write wins on equal timestamps, as in reads) and
//!   encoded again. A block that overlaps nothing is copied as it is, still compressed (its
//!   checksum verified on the way), unless it is small (under [`MIN_COPIED_POINTS`]): small
//!   neighbours are decoded and packed into full blocks, so many small flushes do not leave
//!   many small blocks behind for ever.
//!
//! ```text
//!  series x   seg 1 (older): [ b1 ][ b2 ]            [ b3 ]
//!             seg 2 (newer):          [b4]   [   b5   ]
//!  runs:                     [ b1 ][ b2+b4 ][  b5+b3  ]
//!  output:                    copy  merge    merge
//! ```
//!
//! The output holds every point of its inputs and takes their whole flush-sequence range,
//! so recovery's rule (a segment whose sequence range lies inside another's of the same
//! partition is a leftover input, deleted) is unchanged.

use std::collections::BTreeSet;
use std::ops::Range;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::maintain::Deadline;
use super::segment::{BlockMeta, Segment, SegmentError, SegmentWriter, BLOCK_POINTS};
use super::{wal, Inner, Maint};
use crate::api::{SeriesId, StoreError, ValueType};
use crate::points::{merge_newer, Points};

/// Segments a partition may collect before they are merged anyway, overlapping or not.
pub(crate) const MAX_SEGMENTS_PER_PARTITION: usize = 16;

/// Blocks with fewer points than this are packed with their neighbours instead of copied.
pub(crate) const MIN_COPIED_POINTS: u32 = (BLOCK_POINTS / 4) as u32;

/// Series merged between two looks at whether the store is closing.
const SERIES_PER_CHECK: usize = 256;

/// One block of one input segment. `age` is the segment's place among the inputs, oldest
/// first: on equal timestamps the higher age wins.
#[derive(Clone, Copy)]
struct Piece<'a> {
    age: usize,
    seg: &'a Segment,
    block: &'a BlockMeta,
}

/// Every block of series `id` in `segs`, by start time (then age).
fn pieces_of(segs: &[Arc<Segment>], id: SeriesId) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    for (age, seg) in segs.iter().enumerate() {
        if let Some(sb) = seg.series.get(&id) {
            out.extend(sb.blocks.iter().map(|block| Piece { age, seg, block }));
        }
    }
    out.sort_by_key(|p| (p.block.min_ts, p.age));
    out
}

/// Cuts time-ordered pieces into runs whose blocks overlap one another (transitively);
/// different runs share no timestamp range.
fn overlap_runs(pieces: &[Piece<'_>]) -> Vec<Range<usize>> {
    let mut runs = Vec::new();
    let mut start = 0;
    let mut hi = i64::MIN;
    for (i, p) in pieces.iter().enumerate() {
        if i > start && p.block.min_ts > hi {
            runs.push(start..i);
            start = i;
        }
        hi = if i == start {
            p.block.max_ts
        } else {
            hi.max(p.block.max_ts)
        };
    }
    if start < pieces.len() {
        runs.push(start..pieces.len());
    }
    runs
}

/// Series present in more than one of `segs`: the only ones whose blocks can overlap.
fn shared_series(segs: &[Arc<Segment>]) -> BTreeSet<SeriesId> {
    let mut seen = BTreeSet::new();
    let mut shared = BTreeSet::new();
    for seg in segs {
        for id in seg.series.keys() {
            if !seen.insert(*id) {
                shared.insert(*id);
            }
        }
    }
    shared
}

/// Whether two of `segs` overlap in time at all: when none do, no series can (in-order
/// flushes), and the per-series look is skipped.
fn time_overlap(segs: &[Arc<Segment>]) -> bool {
    segs.iter().enumerate().any(|(i, a)| {
        segs[i + 1..]
            .iter()
            .any(|b| a.min_ts <= b.max_ts && b.min_ts <= a.max_ts)
    })
}

/// Whether some series has blocks in two of `segs` whose time ranges overlap.
pub(crate) fn series_overlap(segs: &[Arc<Segment>]) -> bool {
    // A series' blocks within one segment never overlap, so fewer runs than blocks means
    // two segments overlap.
    shared_series(segs).into_iter().any(|id| {
        let pieces = pieces_of(segs, id);
        overlap_runs(&pieces).len() < pieces.len()
    })
}

/// The points of one overlapping run: each segment's blocks in the run, merged oldest
/// segment first so the newest write wins.
fn merge_run(run: &[Piece<'_>], vt: ValueType) -> Result<Points, SegmentError> {
    let mut by_age: Vec<&Piece<'_>> = run.iter().collect();
    by_age.sort_by_key(|p| (p.age, p.block.min_ts));
    let mut acc = Points::empty(vt);
    let mut i = 0;
    while i < by_age.len() {
        let age = by_age[i].age;
        let mut layer = Points::with_capacity(vt, 0);
        while let Some(p) = by_age.get(i).filter(|p| p.age == age) {
            p.seg.read_block(p.block, &mut layer)?;
            i += 1;
        }
        acc = merge_newer(acc, layer);
    }
    Ok(acc)
}

/// What one compaction wrote, for the store's metrics.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Compacted {
    /// Points in blocks copied as they were.
    pub(crate) copied: u64,
    /// Points decoded, merged and encoded again.
    pub(crate) rewritten: u64,
}

impl Inner {
    /// Merges the segments of every partition where a series' blocks overlap across
    /// segments, or that holds at least `min_count` segments. Returns how many partitions
    /// were rewritten.
    pub(crate) fn compact(&self, m: &mut Maint, min_count: usize) -> Result<usize, StoreError> {
        let v = self.current();
        let mut by_part: std::collections::BTreeMap<i64, Vec<Arc<Segment>>> =
            std::collections::BTreeMap::new();
        for s in &v.segments {
            by_part.entry(s.partition).or_default().push(s.clone());
        }
        m.no_overlap.retain(|p, _| by_part.contains_key(p));
        let mut done = 0;
        for (p, segs) in by_part {
            if segs.len() < 2 {
                continue;
            }
            if segs.len() < min_count {
                let set = (
                    segs.len(),
                    segs.iter().map(|s| s.max_seq).max().unwrap_or(0),
                );
                if m.no_overlap.get(&p) == Some(&set) || !time_overlap(&segs) {
                    continue;
                }
                if !series_overlap(&segs) {
                    m.no_overlap.insert(p, set);
                    continue;
                }
            }
            m.no_overlap.remove(&p);
            let Some(c) = self.compact_partition(p, &segs)? else {
                continue;
            };
            self.compacted_copied.fetch_add(c.copied, Ordering::Relaxed);
            self.compacted_rewritten
                .fetch_add(c.rewritten, Ordering::Relaxed);
            done += 1;
        }
        Ok(done)
    }

    /// Rewrites `segs` (one partition, oldest first) as one segment; newer points win.
    /// `None` if the store began closing meanwhile (the inputs stay as they are).
    fn compact_partition(
        &self,
        p: i64,
        segs: &[Arc<Segment>],
    ) -> Result<Option<Compacted>, StoreError> {
        let min_seq = segs.iter().map(|s| s.min_seq).min().unwrap_or(0);
        let max_seq = segs.iter().map(|s| s.max_seq).max().unwrap_or(0);
        let mut wr = SegmentWriter::create(&self.seg_dir, p, min_seq, max_seq)?;
        match self.merge_into(&mut wr, segs) {
            Ok(Some(c)) => {
                let merged = Arc::new(wr.finish()?);
                wal::sync_dir(&self.seg_dir)?;
                self.replace_segments(segs, Some(merged));
                tracing::debug!(
                    partition = p,
                    inputs = segs.len(),
                    copied = c.copied,
                    rewritten = c.rewritten,
                    "compacted partition"
                );
                Ok(Some(c))
            }
            Ok(None) => {
                wr.abandon();
                Ok(None)
            }
            Err(e) => {
                wr.abandon();
                Err(e)
            }
        }
    }

    /// Writes every series of `segs` into `wr`, copying the blocks nothing overlaps.
    fn merge_into(
        &self,
        wr: &mut SegmentWriter,
        segs: &[Arc<Segment>],
    ) -> Result<Option<Compacted>, StoreError> {
        let ids: BTreeSet<SeriesId> = segs.iter().flat_map(|s| s.series.keys().copied()).collect();
        let mut done = Compacted::default();
        for (n, id) in ids.into_iter().enumerate() {
            if n % SERIES_PER_CHECK == 0 && self.must_give_up(Deadline::NONE) {
                return Ok(None);
            }
            // The newest segment's identity of the series (they are all equal).
            let Some(meta) = segs
                .iter()
                .rev()
                .find_map(|s| s.series.get(&id))
                .map(|b| b.meta.clone())
            else {
                continue;
            };
            let unit = self
                .index
                .read()
                .channel(&meta.dataset, &meta.channel)
                .and_then(|c| c.unit);
            let pieces = pieces_of(segs, id);
            let mut blocks = Vec::new();
            let mut pending = Points::empty(meta.value_type);
            for run in overlap_runs(&pieces) {
                let run = &pieces[run];
                if let [one] = run {
                    if one.block.count >= MIN_COPIED_POINTS {
                        write_pending(wr, &mut pending, &mut blocks, true)?;
                        wr.copy_block(one.seg, one.block, &mut blocks)?;
                        done.copied += u64::from(one.block.count);
                        continue;
                    }
                }
                let merged = merge_run(run, meta.value_type)?;
                done.rewritten += merged.len() as u64;
                pending.append(merged);
                write_pending(wr, &mut pending, &mut blocks, false)?;
            }
            write_pending(wr, &mut pending, &mut blocks, true)?;
            wr.push_series(id, &meta, unit, blocks);
        }
        Ok(Some(done))
    }
}

/// Encodes the full blocks of `pending` (all of it if `all`), keeping the rest for the
/// next run, so a long merged stretch is not held in memory twice.
fn write_pending(
    wr: &mut SegmentWriter,
    pending: &mut Points,
    blocks: &mut Vec<BlockMeta>,
    all: bool,
) -> std::io::Result<()> {
    let n = pending.len();
    let upto = if all { n } else { n - n % BLOCK_POINTS };
    if upto == 0 {
        return Ok(());
    }
    wr.encode_blocks(pending, 0..upto, blocks)?;
    *pending = pending.slice(upto..n);
    Ok(())
}
