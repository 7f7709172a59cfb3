//! How a [`super::DurableStore`] is opened and what opening it reports: configuration, the
//! fsync policy, the clock retention is measured against, open errors and the recovery
//! report.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// When the write-ahead log is synced to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Sync before acknowledging each write; concurrent writers share one sync (group
    /// commit). Nothing acknowledged is lost, even on power failure.
    Always,
    /// Acknowledge once the write is in the OS page cache; a background thread syncs every
    /// interval. A process crash loses nothing; a power failure or kernel crash can lose the
    /// writes of the last interval.
    Interval(Duration),
}

/// `always`, or `interval=MS`, as `--fsync` takes them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fsync policy `{given}`: expected `always` or `interval=MS` (milliseconds > 0)")]
pub struct ParseFsyncError {
    /// The text given.
    pub given: String,
}

impl FromStr for FsyncPolicy {
    type Err = ParseFsyncError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseFsyncError {
            given: s.to_string(),
        };
        if s == "always" {
            return Ok(FsyncPolicy::Always);
        }
        let ms: u64 = s
            .strip_prefix("interval=")
            .and_then(|m| m.parse().ok())
            .filter(|&m| m > 0)
            .ok_or_else(err)?;
        Ok(FsyncPolicy::Interval(Duration::from_millis(ms)))
    }
}

impl fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Interval(d) => write!(f, "interval={}", d.as_millis()),
        }
    }
}

/// A duration such as `30d`, `12h`, `15m`, `90s` or `500ms` that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration `{given}`: expected a whole number followed by ms, s, m, h, d or w")]
pub struct ParseDurationError {
    /// The text given.
    pub given: String,
}

/// Reads `30d`-style durations (for `--retention`).
pub fn parse_duration(s: &str) -> Result<Duration, ParseDurationError> {
    let err = || ParseDurationError {
        given: s.to_string(),
    };
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let n: u64 = s[..split].parse().map_err(|_| err())?;
    let unit_ms: u64 = match &s[split..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        "w" => 604_800_000,
        _ => return Err(err()),
    };
    n.checked_mul(unit_ms)
        .map(Duration::from_millis)
        .ok_or_else(err)
}

/// The time retention is measured against. Injected so tests need not wait for days.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Nanoseconds since the Unix epoch.
    fn now_ns(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ns(&self) -> i64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
    }
}

/// How to open a durable store. Start from [`StoreConfig::new`] and set fields.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    /// Directory holding the log, segments and catalog; created if missing.
    pub data_dir: PathBuf,
    /// When the log is synced (`--fsync`).
    pub fsync: FsyncPolicy,
    /// The in-memory head is flushed to segments once it holds about this many bytes.
    /// Memory use is about twice this (one head filling, one being written) plus caches of
    /// the OS.
    pub head_limit_bytes: u64,
    /// Segments whose newest point is older than now minus this are deleted
    /// (`--retention`); `None` keeps everything.
    pub retention: Option<Duration>,
    /// Start even if the log is corrupt in the middle or a segment is unreadable, dropping
    /// the damaged records and moving damaged segments aside (`--repair`).
    pub repair: bool,
    /// Width of a time partition: each segment holds one partition, and retention drops
    /// whole segments, so this is also the granularity of retention.
    pub partition: Duration,
    /// Clock for retention.
    pub clock: Arc<dyn Clock>,
    /// How long closing may spend flushing the head to segments. What does not fit stays
    /// in the write-ahead log (synced; nothing is lost) and is replayed at the next open,
    /// so shutdown takes about this long at most, at any series count.
    pub shutdown_flush_budget: Duration,
    /// What writes may create (series per dataset, tags); checked for the whole write
    /// before anything is logged.
    pub limits: crate::api::Limits,
}

impl StoreConfig {
    /// Defaults: fsync always, 64 MiB head, keep forever, no repair, 1-hour partitions, a
    /// 2-second shutdown flush budget,
    /// default [`crate::Limits`].
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        StoreConfig {
            data_dir: data_dir.into(),
            fsync: FsyncPolicy::Always,
            head_limit_bytes: 64 << 20,
            retention: None,
            repair: false,
            partition: Duration::from_secs(3600),
            clock: Arc::new(SystemClock),
            shutdown_flush_budget: Duration::from_secs(2),
            limits: crate::api::Limits::default(),
        }
    }
}

/// Why a durable store did not open. Nothing on disk was changed when this is returned.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process holds the data directory: two writers would corrupt each other.
    #[error("{} is in use by another Sightline process (lock file held)", path.display())]
    Locked {
        /// The lock file.
        path: PathBuf,
    },
    /// The directory or a file in it could not be used.
    #[error("cannot use {path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A log record in the middle of the log is damaged: valid records follow it, so this
    /// is not a torn write from a crash but corruption, and starting would silently drop
    /// acknowledged data.
    #[error(
        "write-ahead log {} is corrupt at byte {offset} ({detail}) and valid records follow; \
         refusing to start so nothing is lost. Back up the data directory, then start with \
         --repair to drop the damaged record",
        file.display()
    )]
    WalCorrupt {
        /// The log file.
        file: PathBuf,
        /// Byte offset of the damaged frame.
        offset: u64,
        /// What is wrong with it.
        detail: String,
    },
    /// A segment file is unreadable.
    #[error(
        "segment {} is corrupt ({detail}); refusing to start. Start with --repair to move it \
         aside (its points are lost)",
        file.display()
    )]
    SegmentCorrupt {
        /// The segment file.
        file: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// The catalog, a segment and the log disagree about which series an id names.
    #[error("{} is inconsistent: {detail}", file.display())]
    Inconsistent {
        /// The file whose content conflicts.
        file: PathBuf,
        /// What conflicts.
        detail: String,
    },
}

impl From<OpenError> for crate::api::StoreError {
    fn from(e: OpenError) -> Self {
        crate::api::StoreError::Corrupt {
            detail: e.to_string(),
        }
    }
}

/// What opening the store found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecoveryReport {
    /// Log files read.
    pub wal_files: u64,
    /// Records replayed into the head.
    pub records_replayed: u64,
    /// Points in those records.
    pub points_replayed: u64,
    /// Bytes cut from a torn log tail (an interrupted last write).
    pub bytes_truncated: u64,
    /// Damaged records dropped in the middle of the log (only with `repair`).
    pub records_dropped: u64,
    /// Bytes of log skipped with them.
    pub bytes_dropped: u64,
    /// Segments opened.
    pub segments_loaded: u64,
    /// Unreadable segments moved aside (only with `repair`).
    pub segments_quarantined: u64,
}
