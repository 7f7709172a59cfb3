//! The write-ahead log: numbered files of framed, checksummed records, one record per
//! acknowledged batch, so a batch is replayed whole or not at all.
//!
//! ```text
//! wal/wal-0000000000000007.log
//! ┌──────────────── frame ────────────────┬───────────┐
//! │ magic u32 │ len u32 │ crc(payload) u32 │ crc(hdr)  │ payload (len bytes) │ next frame …
//! └───────────┴─────────┴──────────────────┴───────────┘
//! ```
//!
//! The header has its own checksum so a damaged payload still has a trustworthy length: the
//! scanner can tell a torn tail (the damage is the last thing in the newest file) from
//! corruption in the middle (valid frames follow it), and repair can skip exactly one record.
//!
//! A file grows in zero-filled chunks ([`CHUNK`]) written ahead of the frames, not one frame
//! at a time: a frame then lands in blocks the file already has, so the `fdatasync` that
//! acknowledges it writes only data. An appending write changes the file's size, so every
//! sync would also write the inode (the sync path was about 8 % of the server's CPU under a
//! columnar write). A file is cut back to its frames when it is closed; after a crash its
//! unused zero tail is recognized and is not damage.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Frame magic, "SLWL".
const MAGIC: u32 = 0x4c57_4c53;
/// Bytes of a frame header.
pub(crate) const HEADER: usize = 16;
/// Largest payload accepted; a bigger batch is refused before anything is written.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;
/// Bytes a log file grows by when a frame does not fit: zeros written ahead of the frames.
const CHUNK: u64 = 8 << 20;
/// Zeros to write from.
static ZEROS: [u8; 256 << 10] = [0; 256 << 10];

/// Path of WAL file `n`.
pub(crate) fn file_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("wal-{n:016}.log"))
}

/// Numbers of the WAL files in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix("wal-")
            .and_then(|s| s.strip_suffix(".log"))
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Fills the header reserved at the front of `buf` (see [`crate::durable::codec::encode_into`]).
pub(crate) fn seal(buf: &mut [u8]) {
    let len = (buf.len() - HEADER) as u32;
    let crc = crc32fast::hash(&buf[HEADER..]);
    buf[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    buf[4..8].copy_from_slice(&len.to_le_bytes());
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
    let hcrc = crc32fast::hash(&buf[0..12]);
    buf[12..16].copy_from_slice(&hcrc.to_le_bytes());
}

/// Appends sealed frames to the newest WAL file.
#[derive(Debug)]
pub(crate) struct WalWriter {
    dir: PathBuf,
    file: Arc<File>,
    number: u64,
    /// Bytes of frames in the current file.
    offset: u64,
    /// Length of the current file: frames, then zeros up to here.
    allocated: u64,
    /// Bytes ever appended by this process: the position group commit waits on.
    lsn: u64,
    /// Bytes in older files still on disk, for metrics.
    older_bytes: u64,
    /// A failed append could not be cut back: appending after the half-written frame would
    /// turn it into corruption in the middle of the log, so the log takes nothing more.
    broken: bool,
}

impl WalWriter {
    /// Creates WAL file `number` (which must not exist) and makes its name durable.
    pub(crate) fn create(dir: &Path, number: u64, older_bytes: u64) -> io::Result<Self> {
        let file = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(file_path(dir, number))?;
        sync_dir(dir)?;
        Ok(WalWriter {
            dir: dir.to_path_buf(),
            file: Arc::new(file),
            number,
            offset: 0,
            allocated: 0,
            lsn: 0,
            older_bytes,
            broken: false,
        })
    }

    /// The file being appended to, for the syncer.
    pub(crate) fn file(&self) -> Arc<File> {
        self.file.clone()
    }

    /// Bytes of log on disk (all files).
    pub(crate) fn bytes(&self) -> u64 {
        self.older_bytes + self.offset
    }

    /// Appends one sealed frame; returns the position to sync to. On failure the frame's
    /// bytes are zeroed again so a half-written frame never sits in front of later ones.
    pub(crate) fn append(&mut self, frame: &[u8]) -> io::Result<u64> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier log append failed and could not be undone; the store accepts no more writes",
            ));
        }
        let end = self.offset + frame.len() as u64;
        if end > self.allocated {
            // Nothing of the frame is written yet; zeros written so far are unused space.
            // A disk too full for the chunk may still hold the frame: grow by just that.
            self.allocated = match self.zero_fill(self.allocated, end.next_multiple_of(CHUNK)) {
                Ok(to) => to,
                Err(_) => self.zero_fill(self.allocated, end)?,
            };
        }
        if let Err(e) = self.file.write_all_at(frame, self.offset) {
            if self.zero_fill(self.offset, end).is_err() {
                self.broken = true;
            }
            return Err(e);
        }
        self.offset += frame.len() as u64;
        self.lsn += frame.len() as u64;
        Ok(self.lsn)
    }

    /// Writes zeros over `from..to`; returns `to`.
    fn zero_fill(&self, from: u64, to: u64) -> io::Result<u64> {
        let mut at = from;
        while at < to {
            let n = (to - at).min(ZEROS.len() as u64) as usize;
            self.file.write_all_at(&ZEROS[..n], at)?;
            at += n as u64;
        }
        Ok(to)
    }

    /// Starts file `number + 1`. The caller has synced the current one. Returns the number
    /// of the file closed, which holds nothing newer than what has been written so far.
    pub(crate) fn rotate(&mut self) -> io::Result<u64> {
        let old = self.number;
        let next = WalWriter::create(&self.dir, old + 1, self.older_bytes + self.offset)?;
        let lsn = self.lsn;
        *self = next;
        self.lsn = lsn;
        Ok(old)
    }

    /// Deletes files numbered `<= upto` (their points are in segments now).
    pub(crate) fn trim(&mut self, upto: u64) -> io::Result<()> {
        for n in list(&self.dir)? {
            if n <= upto && n != self.number {
                let p = file_path(&self.dir, n);
                let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                fs::remove_file(&p)?;
                self.older_bytes = self.older_bytes.saturating_sub(len);
            }
        }
        sync_dir(&self.dir)
    }
}

impl Drop for WalWriter {
    /// Cuts the file back to its frames (the unused zeros would otherwise stay on disk until
    /// the file is trimmed). Not synced: after a crash, either length reads the same.
    fn drop(&mut self) {
        if !self.broken && self.allocated > self.offset {
            if let Err(e) = self.file.set_len(self.offset) {
                tracing::warn!(error = %e, file = self.number, "could not cut the log file back to its records");
            }
        }
    }
}

/// Makes renames, creations and deletions in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What went wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameFault {
    /// Fewer bytes than a header.
    ShortHeader,
    /// Wrong magic or header checksum.
    BadHeader,
    /// The declared payload runs past the end of the file.
    ShortPayload,
    /// The payload checksum does not match.
    BadPayload,
}

impl FrameFault {
    /// For messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            FrameFault::ShortHeader => "incomplete frame header",
            FrameFault::BadHeader => "bad frame header (magic or checksum)",
            FrameFault::ShortPayload => "frame payload cut short",
            FrameFault::BadPayload => "frame payload checksum mismatch",
        }
    }
}

/// Checks the frame at `pos`; `Ok(payload range end)` when whole and intact.
pub(crate) fn check_frame(buf: &[u8], pos: usize) -> Result<(usize, usize), FrameFault> {
    let rest = &buf[pos..];
    if rest.len() < HEADER {
        return Err(FrameFault::ShortHeader);
    }
    let word = |i: usize| u32::from_le_bytes([rest[i], rest[i + 1], rest[i + 2], rest[i + 3]]);
    if word(0) != MAGIC || crc32fast::hash(&rest[0..12]) != word(12) {
        return Err(FrameFault::BadHeader);
    }
    let len = word(4) as usize;
    if rest.len() - HEADER < len {
        return Err(FrameFault::ShortPayload);
    }
    let payload = &rest[HEADER..HEADER + len];
    if crc32fast::hash(payload) != word(8) {
        return Err(FrameFault::BadPayload);
    }
    Ok((pos + HEADER, pos + HEADER + len))
}

/// Whether everything from `pos` on is zeros: space written ahead of the frames and never
/// used, not damage.
pub(crate) fn is_unused(buf: &[u8], pos: usize) -> bool {
    buf[pos..].iter().all(|&b| b == 0)
}

/// The first offset after `from` where an intact frame starts, if any.
pub(crate) fn next_valid(buf: &[u8], from: usize) -> Option<usize> {
    let magic = MAGIC.to_le_bytes();
    (from..buf.len().saturating_sub(HEADER - 1))
        .filter(|&i| buf[i..i + 4] == magic)
        .find(|&i| check_frame(buf, i).is_ok())
}
