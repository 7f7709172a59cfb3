//! The write-ahead log: numbered files of framed, checksummed records, one record per
//! acknowledged batch, so a batch is replayed whole or not at all.
//!
//! ```text
//! wal/wal-0000000000000007.log
//! ┌──────────────────────── frame header ─────────────────────────┐
//! │ magic u32 │ len u32 │ crc(payload) u32 │ file u64 │ crc(hdr) u32 │ payload (len bytes) │ next frame …
//! └───────────┴─────────┴──────────────────┴──────────┴──────────────┘
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
//! columnar write). A file is cut back to its frames when the next one starts and when it is
//! closed; after a crash its unused zero tail is recognized and is not damage.
//!
//! Writing those zeros cost as much as writing the frames (copying them into the page cache,
//! then syncing them), so files whose points a flush has put in segments are **recycled**:
//! up to [`SPARE_FILES`] are renamed to `spare-*.log` instead of deleted, and the next file
//! starts as one of them, its blocks already written. Its old frames are still there after
//! the new ones, which is why a frame names its file: a frame naming another file is an
//! earlier use of the space, the end of the log like the zeros. A file started by an older
//! version may hold frames without a file number (magic "SLWL", a 16-byte header); they are
//! still read, and such a file is deleted after its flush, never recycled.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::frame;

/// Bytes a log file grows by when a frame does not fit: zeros written ahead of the frames.
const CHUNK: u64 = 8 << 20;
/// Zeros to write from.
static ZEROS: [u8; 256 << 10] = [0; 256 << 10];
/// Flushed log files kept for reuse. A flush frees the one file behind the frozen head, so
/// two cover a flush that finishes after the next rotation; more would only hold disk.
const SPARE_FILES: usize = 2;

/// Path of WAL file `n`.
pub(crate) fn file_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("wal-{n:016}.log"))
}

/// Path of the spare file made of log file `n`.
fn spare_path(dir: &Path, n: u64) -> PathBuf {
    dir.join(format!("spare-{n:016}.log"))
}

/// Numbers of the files in `dir` named `{prefix}{n:016}.log`, ascending.
fn numbered(dir: &Path, prefix: &str) -> io::Result<Vec<u64>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)? {
        let name = e?.file_name();
        let name = name.to_string_lossy();
        if let Some(n) = name
            .strip_prefix(prefix)
            .and_then(|s| s.strip_suffix(".log"))
            .and_then(|s| s.parse().ok())
        {
            out.push(n);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Numbers of the WAL files in `dir`, ascending.
pub(crate) fn list(dir: &Path) -> io::Result<Vec<u64>> {
    numbered(dir, "wal-")
}

/// Appends sealed frames to the newest WAL file.
#[derive(Debug)]
pub(crate) struct WalWriter {
    dir: PathBuf,
    file: Arc<File>,
    number: u64,
    /// Bytes of frames in the current file.
    offset: u64,
    /// Length of the current file: frames, then zeros (or a recycled file's older frames)
    /// up to here.
    allocated: u64,
    /// Bytes ever appended by this process: the position group commit waits on.
    lsn: u64,
    /// Bytes in older files still on disk, for metrics.
    older_bytes: u64,
    /// Flushed files ready to become the next log file, at most [`SPARE_FILES`].
    spares: Vec<PathBuf>,
    /// Their bytes on disk, for metrics.
    spare_bytes: u64,
    /// Files numbered below this were started before this process and may hold frames
    /// without a file number: they are deleted after their flush, not recycled.
    first_own: u64,
    /// A failed append could not be cut back: appending after the half-written frame would
    /// turn it into corruption in the middle of the log, so the log takes nothing more.
    broken: bool,
}

impl WalWriter {
    /// Starts WAL file `number` (above every existing one), from a spare file left by an
    /// earlier run if there is one, and makes its name durable.
    pub(crate) fn open(dir: &Path, number: u64, older_bytes: u64) -> io::Result<Self> {
        let mut spares: Vec<PathBuf> = numbered(dir, "spare-")?
            .into_iter()
            .map(|n| spare_path(dir, n))
            .collect();
        for extra in spares.split_off(spares.len().min(SPARE_FILES)) {
            fs::remove_file(extra)?;
        }
        let mut spare_bytes = 0;
        for spare in &spares {
            spare_bytes += fs::metadata(spare)?.len();
        }
        let (file, allocated) = start_file(dir, number, &mut spares)?;
        Ok(WalWriter {
            dir: dir.to_path_buf(),
            file: Arc::new(file),
            number,
            offset: 0,
            allocated,
            lsn: 0,
            older_bytes,
            spares,
            spare_bytes: spare_bytes.saturating_sub(allocated),
            first_own: number,
            broken: false,
        })
    }

    /// The file being appended to, for the syncer.
    pub(crate) fn file(&self) -> Arc<File> {
        self.file.clone()
    }

    /// Bytes of log on disk (all files; spares hold no log).
    pub(crate) fn bytes(&self) -> u64 {
        self.older_bytes + self.offset
    }

    /// Bytes of the spare files kept for reuse.
    pub(crate) fn spare_bytes(&self) -> u64 {
        self.spare_bytes
    }

    /// Seals `frame` (its header reserved, see [`frame::seal`]) for the current file and
    /// appends it; returns the position to sync to. On failure the frame's bytes are zeroed
    /// again so a half-written frame never sits in front of later ones.
    pub(crate) fn append(&mut self, frame: &mut [u8]) -> io::Result<u64> {
        if self.broken {
            return Err(io::Error::other(
                "an earlier log append failed and could not be undone; the store accepts no more writes",
            ));
        }
        frame::seal(frame, self.number);
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
        self.cut_back()?;
        let old = self.number;
        let (file, allocated) = start_file(&self.dir, old + 1, &mut self.spares)?;
        self.spare_bytes = self.spare_bytes.saturating_sub(allocated);
        self.file = Arc::new(file);
        self.number = old + 1;
        self.older_bytes += self.offset;
        self.offset = 0;
        self.allocated = allocated;
        Ok(old)
    }

    /// Cuts the file back to its frames, durably. Only the newest file may end in anything
    /// but its frames (see `recover.rs`): a recycled file's older frames after the last new
    /// one would read as damage in the middle of the log. Once per file, so the size
    /// change's journal write is cheap.
    fn cut_back(&mut self) -> io::Result<()> {
        if self.allocated > self.offset {
            self.file.set_len(self.offset)?;
            self.file.sync_data()?;
            self.allocated = self.offset;
        }
        Ok(())
    }

    /// Retires files numbered `<= upto` (their points are in segments now): kept as spares
    /// while there is room, deleted otherwise.
    pub(crate) fn trim(&mut self, upto: u64) -> io::Result<()> {
        for n in list(&self.dir)? {
            if n <= upto && n != self.number {
                let p = file_path(&self.dir, n);
                let len = fs::metadata(&p).map(|m| m.len()).unwrap_or(0);
                if n >= self.first_own && self.spares.len() < SPARE_FILES {
                    let spare = spare_path(&self.dir, n);
                    fs::rename(&p, &spare)?;
                    self.spares.push(spare);
                    self.spare_bytes += len;
                } else {
                    fs::remove_file(&p)?;
                }
                self.older_bytes = self.older_bytes.saturating_sub(len);
            }
        }
        sync_dir(&self.dir)
    }
}

/// Opens new log file `number` in `dir`: a spare renamed if there is one, else a new empty
/// file. Returns it with its length (a spare's bytes), and only once its name is durable.
fn start_file(dir: &Path, number: u64, spares: &mut Vec<PathBuf>) -> io::Result<(File, u64)> {
    let path = file_path(dir, number);
    // A rename would replace an existing file; a new log file never has one to replace.
    if !spares.is_empty() && path.exists() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} already exists", path.display()),
        ));
    }
    while let Some(spare) = spares.pop() {
        match fs::rename(&spare, &path) {
            Ok(()) => {
                let file = OpenOptions::new().write(true).open(&path)?;
                let len = file.metadata()?.len();
                sync_dir(dir)?;
                return Ok((file, len));
            }
            Err(e) => {
                tracing::warn!(error = %e, file = %spare.display(), "could not reuse a spare log file")
            }
        }
    }
    let file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .open(&path)?;
    sync_dir(dir)?;
    Ok((file, 0))
}

impl Drop for WalWriter {
    /// Cuts the file back to its frames (the unused zeros would otherwise stay on disk until
    /// the file is trimmed), durably: the next run starts a newer file, and a file that is
    /// not the newest must end at its frames even after a power loss soon after the restart.
    fn drop(&mut self) {
        if !self.broken {
            if let Err(e) = self.cut_back() {
                tracing::warn!(error = %e, file = self.number, "could not cut the log file back to its records");
            }
        }
    }
}

/// Makes renames, creations and deletions in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}
