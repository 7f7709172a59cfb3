//! [`DurableStore`]: the [`Store`] contract on disk. A write is logged (and synced per the
//! [`FsyncPolicy`]) before it is acknowledged, kept in an in-memory head, and flushed with
//! the rest of the head to compressed, time-partitioned segment files once the head is full.
//!
//! ```text
//!  write ─► plan (validate) ─► WAL append ─► index commit ─► head apply ─► [sync] ─► ack
//!                                                               │ full
//!                                                               ▼
//!  reads ◄── merge (newest wins) ◄── active head ◄── frozen head ──flush──► segments/
//!                                                                  (then WAL trimmed)
//! ```
//!
//! Owns the data directory and everything in it. Knows nothing of HTTP or compute; the
//! clock comes in through [`StoreConfig::clock`].
//!
//! # Lock order
//!
//! Locks are taken top to bottom only. Only the first three are ever held while another
//! lock is taken; every other lock is a leaf: taken, used and released within one call,
//! never held while taking any lock (a temporary guard lives to the end of its statement,
//! so a leaf guard never shares a statement with another lock).
//!
//! ```text
//!  1. DurableStore::threads  open/close/drop only; held while joining the background
//!                            threads, which never take it
//!  2. Inner::maint           flush, compaction, retention (the segment list's one writer)
//!  3. Inner::ingest          one writer at a time: plan, log append, index commit,
//!                            head apply, freeze
//!  ── leaves ──────────────────────────────────────────────────────────────────────────────
//!  4. Inner::index           series metadata (read: plan, reads, catalog; write: commit)
//!  5. Inner::version         swapped whole; readers clone the Arc and release
//!  6. Head::slots, then one or more series' data locks (in that order; a frozen head's
//!     series are only read, so a flush may hold many of them at once)
//!  7. Syncer::state          released while the fsync runs
//!  8. Inner::signal          condition-variable waits hold only it
//! ```
//!
//! `/metrics` takes leaves only (the log size is mirrored in an atomic), so a scrape never
//! waits behind a writer's log append. The in-memory engine follows the same order with its
//! writer mutex in place of `ingest`.

mod bytes;
mod catalog;
mod codec;
mod compact;
mod config;
mod encoding;
mod frame;
mod maintain;
mod read;
mod recover;
mod segment;
mod sync;
mod wal;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, RwLock};
use tokio::sync::broadcast;

pub use config::{
    parse_duration, Clock, FsyncPolicy, OpenError, ParseDurationError, ParseFsyncError,
    RecoveryReport, StoreConfig, SystemClock,
};

use crate::api::{
    Change, ChannelInfo, LogEntry, SeriesId, SeriesInfo, SeriesWrite, Store, StoreError, Tags,
    WriteReceipt,
};
use crate::head::Head;
use crate::index::Index;
use crate::memory::FEED_CAPACITY;
use crate::points::{move_logs, move_numeric, move_strings};
use maintain::{Deadline, Flushed};
use segment::Segment;
use sync::Syncer;
use wal::WalWriter;

/// How long a writer waits for a full head to be flushed before giving up.
const BACKPRESSURE_TIMEOUT: Duration = Duration::from_secs(60);
/// A record buffer grown past this by one large write is freed after it rather than kept.
const KEPT_FRAME_BYTES: usize = 16 << 20;
/// How often the background thread looks at retention and retries failed flushes.
const TICK: Duration = Duration::from_secs(5);

/// What reads see: immutable once published, swapped whole.
#[derive(Debug, Clone)]
pub(crate) struct Version {
    /// Takes writes.
    active: Arc<Head>,
    /// Full head being written to segments; still read until they are installed.
    frozen: Option<Arc<Head>>,
    /// Sorted by `max_seq`, oldest first: later entries win on equal timestamps.
    segments: Vec<Arc<Segment>>,
}

#[derive(Debug)]
struct Ingest {
    wal: WalWriter,
    /// The record being appended, kept between writes: one buffer serves every record,
    /// instead of a record-sized allocation (faulted in afresh) per write.
    frame: Vec<u8>,
    /// Last WAL file whose records are all in the frozen head (deleted after its flush).
    frozen_wal: Option<u64>,
}

#[derive(Debug, Default)]
struct Signal {
    /// A frozen head waits to be flushed.
    pending: bool,
    /// Background threads should exit.
    stop: bool,
}

#[derive(Debug)]
pub(crate) struct Maint {
    /// Sequence number of the next flush.
    next_seq: u64,
    /// Partitions whose segments were found to share no overlapping series blocks, with
    /// the segment set that was checked (count, newest flush): segments are immutable, so
    /// the verdict holds until the set changes, and the per-series check of a partition
    /// runs once per change instead of on every flush of the whole store's history.
    no_overlap: std::collections::HashMap<i64, (usize, u64)>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    config: StoreConfig,
    dir: PathBuf,
    seg_dir: PathBuf,
    index: RwLock<Index>,
    version: RwLock<Arc<Version>>,
    /// Serializes writers: log order is apply order, so replay reproduces which of two
    /// writes to one timestamp won.
    ingest: Mutex<Ingest>,
    syncer: Syncer,
    feed: broadcast::Sender<Arc<Vec<Change>>>,
    closed: AtomicBool,
    /// Set while the background threads are being stopped: a flush or compaction they are
    /// running gives up (see `maintain.rs`), so stopping never waits for one to finish.
    stopping: AtomicBool,
    /// Serializes flush, compaction and retention (the only changes to the segment list).
    maint: Mutex<Maint>,
    signal: Mutex<Signal>,
    wake: Condvar,
    flushed: Condvar,
    ingested: AtomicU64,
    /// Bytes of log files, mirrored from [`Ingest::wal`] whenever it changes, so `/metrics`
    /// reads it without waiting for the ingest lock (held across a log append).
    wal_bytes: AtomicU64,
    /// Bytes of spare log files ([`WalWriter::spare_bytes`]), mirrored the same way.
    spare_bytes: AtomicU64,
    /// Points compaction copied in still-compressed blocks (nothing overlapped them).
    compacted_copied: AtomicU64,
    /// Points compaction decoded, merged and encoded again.
    compacted_rewritten: AtomicU64,
    recovery: RecoveryReport,
    /// Held for the life of the store; the OS releases it if the process dies.
    _lock: std::fs::File,
}

/// A crash-safe store in a data directory. See the module docs and `docs/storage.md`.
#[derive(Debug)]
pub struct DurableStore {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

/// Takes the exclusive lock on `dir/LOCK`, so a second process cannot open the same store.
fn lock_dir(dir: &Path) -> Result<std::fs::File, OpenError> {
    let path = dir.join("LOCK");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_at(&path))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(OpenError::Locked { path }),
        Err(std::fs::TryLockError::Error(source)) => Err(OpenError::Io { path, source }),
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl DurableStore {
    /// Opens (or creates) the store in `config.data_dir`, recovering from the log. Refuses
    /// to start on corruption unless `config.repair` is set.
    pub fn open(config: StoreConfig) -> Result<DurableStore, OpenError> {
        let dir = config.data_dir.clone();
        let wal_dir = dir.join("wal");
        let seg_dir = dir.join("segments");
        for d in [&dir, &wal_dir, &seg_dir] {
            std::fs::create_dir_all(d).map_err(io_at(d))?;
        }
        let lock = lock_dir(&dir)?;
        let rec = recover::recover(&config, &dir, &wal_dir, &seg_dir)?;
        let wal =
            WalWriter::open(&wal_dir, rec.next_wal, rec.wal_bytes).map_err(io_at(&wal_dir))?;
        let syncer = Syncer::new(wal.file(), 0);
        let wal_bytes = AtomicU64::new(wal.bytes());
        let spare_bytes = AtomicU64::new(wal.spare_bytes());
        let inner = Arc::new(Inner {
            dir,
            seg_dir,
            index: RwLock::new(rec.index),
            version: RwLock::new(Arc::new(Version {
                active: Arc::new(rec.head),
                frozen: None,
                segments: rec.segments,
            })),
            ingest: Mutex::new(Ingest {
                wal,
                frame: Vec::new(),
                frozen_wal: None,
            }),
            syncer,
            feed: broadcast::channel(FEED_CAPACITY).0,
            closed: AtomicBool::new(false),
            stopping: AtomicBool::new(false),
            maint: Mutex::new(Maint {
                next_seq: rec.next_seq,
                no_overlap: std::collections::HashMap::new(),
            }),
            signal: Mutex::new(Signal::default()),
            wake: Condvar::new(),
            flushed: Condvar::new(),
            ingested: AtomicU64::new(0),
            wal_bytes,
            spare_bytes,
            compacted_copied: AtomicU64::new(0),
            compacted_rewritten: AtomicU64::new(0),
            recovery: rec.report,
            config,
            _lock: lock,
        });
        let store = DurableStore {
            threads: Mutex::new(Vec::new()),
            inner: inner.clone(),
        };
        // A repaired log must not be read again: flush what was salvaged so the damaged
        // files are trimmed. A replayed head over the limit is flushed too.
        let r = &inner.recovery;
        if r.records_dropped > 0 || inner.current().active.bytes() >= inner.config.head_limit_bytes
        {
            store.flush().map_err(|e| OpenError::Io {
                path: inner.dir.clone(),
                source: io::Error::other(e.to_string()),
            })?;
        }
        store.spawn_threads();
        Ok(store)
    }

    fn spawn_threads(&self) {
        let mut threads = self.threads.lock();
        let inner = self.inner.clone();
        threads.push(std::thread::spawn(move || inner.background()));
        if let FsyncPolicy::Interval(every) = self.inner.config.fsync {
            let inner = self.inner.clone();
            threads.push(std::thread::spawn(move || inner.interval_sync(every)));
        }
    }

    /// What recovery found when the store was opened.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.inner.recovery
    }

    /// The data directory.
    pub fn data_dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Writes the head to segments now and trims the log.
    pub fn flush(&self) -> Result<(), StoreError> {
        // A head frozen earlier goes first, so the freeze below can happen.
        self.inner.maintain(false, Deadline::NONE)?;
        self.inner.freeze()?;
        self.inner.maintain(false, Deadline::NONE)?;
        Ok(())
    }

    /// Merges the segments of each partition that holds more than one into one, so late
    /// points written into flushed ranges stop costing a merge on every read. Blocks that
    /// overlap nothing are copied without being decoded (see `docs/storage.md`).
    pub fn compact(&self) -> Result<(), StoreError> {
        let mut m = self.inner.maint.lock();
        self.inner.compact(&mut m, 2)?;
        Ok(())
    }

    /// Runs the background's compaction now: merges only the partitions where some
    /// series' blocks overlap across segments, or that have collected 16 segments.
    pub fn compact_overlapping(&self) -> Result<(), StoreError> {
        let mut m = self.inner.maint.lock();
        self.inner
            .compact(&mut m, compact::MAX_SEGMENTS_PER_PARTITION)?;
        Ok(())
    }

    /// Deletes segments older than the retention now (also done in the background).
    pub fn apply_retention(&self) -> Result<(), StoreError> {
        let mut m = self.inner.maint.lock();
        self.inner.retention(&mut m)?;
        Ok(())
    }

    /// Stops the background threads, making a flush or compaction they are running give up
    /// (its points stay in the log), so this returns promptly at any series count.
    fn stop_threads(&self) {
        self.inner.stopping.store(true, Ordering::Release);
        self.inner.signal.lock().stop = true;
        self.inner.wake.notify_all();
        for t in self.threads.lock().drain(..) {
            if t.join().is_err() {
                tracing::error!("a store background thread panicked");
            }
        }
        self.inner.stopping.store(false, Ordering::Release);
    }
}

impl Drop for DurableStore {
    /// Stops background work and syncs the log; does not flush (that is [`Store::close`]),
    /// so dropping behaves like a clean crash: the next open replays the log.
    fn drop(&mut self) {
        self.stop_threads();
        if let Err(e) = self.inner.syncer.sync_all() {
            tracing::error!(error = %e, "final log sync failed");
        }
    }
}

impl Inner {
    fn current(&self) -> Arc<Version> {
        self.version.read().clone()
    }

    /// Waits while the active head is full and the previous one is still being flushed.
    fn wait_for_room(&self) -> Result<(), StoreError> {
        let deadline = Instant::now() + BACKPRESSURE_TIMEOUT;
        loop {
            let v = self.current();
            if v.frozen.is_none() || v.active.bytes() < self.config.head_limit_bytes {
                return Ok(());
            }
            if self.closed.load(Ordering::Acquire) {
                return Err(StoreError::Closed);
            }
            if Instant::now() > deadline {
                return Err(StoreError::Io(io::Error::other(
                    "the store's head is full and the previous flush has not finished",
                )));
            }
            let mut s = self.signal.lock();
            self.flushed.wait_for(&mut s, Duration::from_millis(50));
        }
    }

    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError> {
        self.wait_for_room()?;
        let (changes, points, lsn) = {
            let mut ing = self.ingest.lock();
            if self.closed.load(Ordering::Acquire) {
                return Err(StoreError::Closed);
            }
            if let Some(e) = self.syncer.failed() {
                return Err(StoreError::Io(e));
            }
            let plan = self.index.read().plan(batch, &self.config.limits)?;
            let ing = &mut *ing;
            codec::encode_into(&mut ing.frame, &plan, frame::HEADER);
            if ing.frame.len() - frame::HEADER > frame::MAX_PAYLOAD {
                ing.frame = Vec::new();
                return Err(StoreError::Io(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "write batch exceeds 1 GiB encoded",
                )));
            }
            let appended = ing.wal.append(&mut ing.frame);
            if ing.frame.capacity() > KEPT_FRAME_BYTES {
                ing.frame = Vec::new();
            }
            let lsn = appended?;
            self.mirror_log_sizes(&ing.wal);
            self.syncer.set_written(lsn);
            self.index.write().commit(&plan);
            let active = self.current().active.clone();
            let points = plan.points;
            let changes = active.apply(plan);
            self.ingested.fetch_add(points, Ordering::Relaxed);
            if active.bytes() >= self.config.head_limit_bytes {
                if let Err(e) = self.freeze_locked(ing) {
                    // The write itself is logged; flushing is retried on the next write.
                    tracing::error!(error = %e, "could not rotate the log to flush the head");
                }
            }
            (changes, points, lsn)
        };
        if self.config.fsync == FsyncPolicy::Always {
            self.syncer.wait(lsn)?;
        }
        if !changes.is_empty() {
            let _ = self.feed.send(Arc::new(changes));
        }
        Ok(WriteReceipt { points })
    }

    fn freeze(&self) -> Result<(), StoreError> {
        let mut ing = self.ingest.lock();
        self.freeze_locked(&mut ing)?;
        Ok(())
    }

    /// Copies the log's sizes into the atomics `/metrics` reads without the ingest lock.
    fn mirror_log_sizes(&self, wal: &WalWriter) {
        self.wal_bytes.store(wal.bytes(), Ordering::Relaxed);
        self.spare_bytes.store(wal.spare_bytes(), Ordering::Relaxed);
    }

    /// Turns the active head into the frozen one (if there is room) and starts a new log
    /// file, so the frozen head's records are exactly the files before it.
    fn freeze_locked(&self, ing: &mut Ingest) -> io::Result<()> {
        let v = self.current();
        if v.frozen.is_some() || v.active.points() == 0 {
            return Ok(());
        }
        self.syncer.sync_all()?;
        let old = ing.wal.rotate()?;
        self.mirror_log_sizes(&ing.wal);
        self.syncer.switch_file(ing.wal.file());
        ing.frozen_wal = Some(old);
        {
            let mut w = self.version.write();
            let mut next = (**w).clone();
            next.frozen = Some(next.active.clone());
            next.active = Arc::new(Head::default());
            *w = Arc::new(next);
        }
        self.signal.lock().pending = true;
        self.wake.notify_all();
        Ok(())
    }

    /// The background thread: flushes frozen heads, compacts, applies retention.
    fn background(self: Arc<Self>) {
        loop {
            let stop = {
                let mut s = self.signal.lock();
                if !s.pending && !s.stop {
                    self.wake.wait_for(&mut s, TICK);
                }
                s.pending = false;
                s.stop
            };
            if stop {
                return;
            }
            if let Err(e) = self.maintain(true, Deadline::NONE) {
                tracing::error!(error = %e, "store maintenance failed; retrying");
            }
        }
    }

    fn interval_sync(self: Arc<Self>, every: Duration) {
        loop {
            {
                let mut s = self.signal.lock();
                if !s.stop {
                    self.wake.wait_for(&mut s, every);
                }
                if s.stop {
                    return;
                }
            }
            if let Err(e) = self.syncer.sync_all() {
                tracing::error!(error = %e, "interval log sync failed");
            }
        }
    }
}

impl Store for DurableStore {
    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError> {
        self.inner.write(batch)
    }

    fn validate(&self, batch: &[SeriesWrite]) -> Result<(), StoreError> {
        self.inner
            .index
            .read()
            .check(batch, &self.inner.config.limits)
    }

    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo> {
        self.inner.index.read().channel(dataset, channel)
    }

    fn channels(&self, dataset: &str) -> Vec<ChannelInfo> {
        self.inner.index.read().channels(dataset)
    }

    fn datasets(&self) -> Vec<Arc<str>> {
        self.inner.index.read().datasets()
    }

    fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo> {
        self.inner.index.read().series(dataset, channel, filter)
    }

    fn read_numeric(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        if let Some(p) = self.inner.collect(id, start, end) {
            move_numeric(p, ts, values);
        }
    }

    fn read_strings(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        if let Some(p) = self.inner.collect(id, start, end) {
            move_strings(p, ts, values);
        }
    }

    fn read_logs(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<LogEntry>,
    ) {
        if let Some(p) = self.inner.collect(id, start, end) {
            move_logs(p, ts, values);
        }
    }

    fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64> {
        self.inner.nth_before(id, t, n)
    }

    fn count(&self, id: SeriesId, start: i64, end: i64) -> u64 {
        self.inner.count(id, start, end)
    }

    fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)> {
        self.inner.time_bounds(id)
    }

    fn count_bounds(&self, id: SeriesId, start: i64, end: i64) -> (u64, u64) {
        self.inner.count_bounds(id, start, end)
    }

    fn changes(&self) -> broadcast::Receiver<Arc<Vec<Change>>> {
        self.inner.feed.subscribe()
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        // Each lock is taken in a statement of its own and released before the next: a
        // guard alive inside the `vec![...]` below would live to the end of the statement
        // (lock order: see the module docs).
        let i = &self.inner;
        let series = i.index.read().len();
        let v = i.current();
        let wal_bytes = i.wal_bytes.load(Ordering::Relaxed);
        let spare_bytes = i.spare_bytes.load(Ordering::Relaxed);
        let heads = [Some(&v.active), v.frozen.as_ref()];
        let head_points: u64 = heads.iter().flatten().map(|h| h.points()).sum();
        let head_bytes: u64 = heads.iter().flatten().map(|h| h.bytes()).sum();
        let seg_points: u64 = v.segments.iter().map(|s| s.points).sum();
        let seg_bytes: u64 = v.segments.iter().map(|s| s.bytes).sum();
        let catalog_bytes = std::fs::metadata(i.dir.join(catalog::FILE)).map_or(0, |m| m.len());
        let r = &i.recovery;
        vec![
            (
                "store_points_ingested_total",
                i.ingested.load(Ordering::Relaxed) as f64,
            ),
            ("store_series", series as f64),
            ("store_segments", v.segments.len() as f64),
            ("store_segment_points", seg_points as f64),
            (
                "store_disk_bytes",
                (seg_bytes + wal_bytes + spare_bytes + catalog_bytes) as f64,
            ),
            ("store_head_points", head_points as f64),
            ("store_head_bytes", head_bytes as f64),
            ("store_wal_bytes", wal_bytes as f64),
            ("store_wal_spare_bytes", spare_bytes as f64),
            ("store_wal_syncs_total", i.syncer.syncs() as f64),
            (
                "store_compaction_copied_points_total",
                i.compacted_copied.load(Ordering::Relaxed) as f64,
            ),
            (
                "store_compaction_rewritten_points_total",
                i.compacted_rewritten.load(Ordering::Relaxed) as f64,
            ),
            ("store_recovery_replayed_records", r.records_replayed as f64),
            ("store_recovery_truncated_bytes", r.bytes_truncated as f64),
            ("store_recovery_dropped_records", r.records_dropped as f64),
        ]
    }

    fn close(&self) -> Result<(), StoreError> {
        {
            let _ing = self.inner.ingest.lock();
            if self.inner.closed.swap(true, Ordering::AcqRel) {
                return Ok(());
            }
        }
        self.stop_threads();
        // Writes are refused from here on; everything acknowledged is in the log. Flushing
        // the heads only spares the next open a replay, so it gets a time budget: a head of
        // a million series would otherwise hold shutdown for many seconds.
        self.inner.syncer.sync_all()?;
        let until = Deadline::at(Instant::now() + self.inner.config.shutdown_flush_budget);
        let mut flushed = self.inner.maintain(false, until)?;
        if flushed != Flushed::Abandoned {
            {
                let mut ing = self.inner.ingest.lock();
                self.inner.freeze_locked(&mut ing)?;
            }
            flushed = self.inner.maintain(false, until)?;
        }
        self.inner.syncer.sync_all()?;
        if flushed == Flushed::Abandoned {
            let v = self.inner.current();
            let points: u64 = [Some(&v.active), v.frozen.as_ref()]
                .iter()
                .flatten()
                .map(|h| h.points())
                .sum();
            tracing::info!(
                points,
                budget_secs = self.inner.config.shutdown_flush_budget.as_secs_f64(),
                "the head did not fit the shutdown flush budget; it stays in the write-ahead log and is replayed at the next start"
            );
        }
        tracing::info!(dir = %self.inner.dir.display(), "store closed");
        Ok(())
    }
}
