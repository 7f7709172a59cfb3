//! The interface every store engine implements, and the plain data types it speaks.

use std::collections::BTreeMap;
use std::sync::Arc;

/// Tag map of a series. Sorted so equal tag sets compare and hash equal.
pub type Tags = BTreeMap<String, String>;

/// Dense id of a series, stable for the life of the store (and across restarts once durable).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesId(pub u64);

/// The value type of a channel. One per (dataset, channel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValueType {
    /// 64-bit floats.
    Double,
    /// Signed 64-bit integers (numeric).
    Int,
    /// Unsigned 64-bit integers (numeric).
    Uint64,
    /// Strings: enum-like categorical values.
    String,
    /// Log lines: a message and an args map.
    Log,
}

impl ValueType {
    /// Whether compute reads this type as a numeric series.
    pub fn is_numeric(self) -> bool {
        matches!(self, ValueType::Double | ValueType::Int | ValueType::Uint64)
    }

    /// Lower-case name for error messages.
    pub fn name(self) -> &'static str {
        match self {
            ValueType::Double => "double",
            ValueType::Int => "int",
            ValueType::Uint64 => "uint64",
            ValueType::String => "string",
            ValueType::Log => "log",
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// The message text.
    pub message: Arc<str>,
    /// Structured arguments.
    pub args: Arc<BTreeMap<String, String>>,
}

/// A column of values, all of one type.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// Doubles.
    Double(Vec<f64>),
    /// Signed integers.
    Int(Vec<i64>),
    /// Unsigned integers.
    Uint64(Vec<u64>),
    /// Strings.
    String(Vec<Arc<str>>),
    /// Log lines.
    Log(Vec<LogEntry>),
}

impl Values {
    /// The value type of this column.
    pub fn value_type(&self) -> ValueType {
        match self {
            Values::Double(_) => ValueType::Double,
            Values::Int(_) => ValueType::Int,
            Values::Uint64(_) => ValueType::Uint64,
            Values::String(_) => ValueType::String,
            Values::Log(_) => ValueType::Log,
        }
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            Values::Double(v) => v.len(),
            Values::Int(v) => v.len(),
            Values::Uint64(v) => v.len(),
            Values::String(v) => v.len(),
            Values::Log(v) => v.len(),
        }
    }

    /// Whether the column is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Points for one series in one write. `timestamps` and `values` have equal length; order is
/// free (late and out-of-order points are normal), and a repeated timestamp keeps the last.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesWrite {
    /// Dataset RID.
    pub dataset: Arc<str>,
    /// Channel name.
    pub channel: Arc<str>,
    /// Tags of the series.
    pub tags: Tags,
    /// Unit symbol, if the writer gave one; the latest given unit wins.
    pub unit: Option<Arc<str>>,
    /// Nanoseconds since the epoch.
    pub timestamps: Vec<i64>,
    /// Values, one per timestamp.
    pub values: Values,
}

/// What a successful write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteReceipt {
    /// Points accepted (replacements included).
    pub points: u64,
}

/// Facts about a channel of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelInfo {
    /// Channel name.
    pub channel: Arc<str>,
    /// The channel's one value type.
    pub value_type: ValueType,
    /// The latest unit written for it.
    pub unit: Option<Arc<str>>,
}

/// A series of a channel and its tags.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInfo {
    /// Id for reads.
    pub id: SeriesId,
    /// Its tags.
    pub tags: Tags,
}

/// Sent on the change feed for every series a write touched.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Dataset RID.
    pub dataset: Arc<str>,
    /// Channel name.
    pub channel: Arc<str>,
    /// The series written.
    pub series: SeriesId,
    /// Earliest timestamp written: results at or after it may have changed.
    pub earliest: i64,
    /// Latest timestamp written.
    pub latest: i64,
}

/// Bounds on what writes may create, so one client cannot grow the index (memory, catalog,
/// flush and recovery time) without end. A write that would pass any of them is refused
/// whole. Series restored from disk are kept even if a lowered limit no longer admits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most series (channel + tag set) one dataset may hold.
    pub max_series_per_dataset: u64,
    /// Most tags one series may have.
    pub max_tags_per_series: usize,
    /// Longest tag key, in bytes of UTF-8.
    pub max_tag_key_bytes: usize,
    /// Longest tag value, in bytes of UTF-8.
    pub max_tag_value_bytes: usize,
}

impl Default for Limits {
    /// One million series per dataset, 64 tags per series, 256-byte keys, 1 KiB values.
    fn default() -> Self {
        Limits {
            max_series_per_dataset: 1_000_000,
            max_tags_per_series: 64,
            max_tag_key_bytes: 256,
            max_tag_value_bytes: 1024,
        }
    }
}

/// Which half of a tag broke a length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagPart {
    /// The tag's key.
    Key,
    /// The tag's value.
    Value,
}

impl TagPart {
    /// `key` or `value`, for messages.
    pub fn name(self) -> &'static str {
        match self {
            TagPart::Key => "key",
            TagPart::Value => "value",
        }
    }
}

/// Errors of a store. A failed write stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The write's type differs from the channel's established type (or from another series
    /// of the same channel in the same write).
    #[error(
        "channel `{channel}` of `{dataset}` holds {existing} points; the write has {attempted}"
    )]
    TypeConflict {
        /// Dataset RID.
        dataset: String,
        /// Channel name.
        channel: String,
        /// The channel's type.
        existing: &'static str,
        /// The type written.
        attempted: &'static str,
    },
    /// Timestamps and values of a series write differ in length.
    #[error("channel `{channel}` has {timestamps} timestamps but {values} values")]
    LengthMismatch {
        /// Channel name.
        channel: String,
        /// Number of timestamps.
        timestamps: usize,
        /// Number of values.
        values: usize,
    },
    /// The write would create more series in a dataset than [`Limits::max_series_per_dataset`].
    #[error(
        "dataset `{dataset}` holds {existing} series and the write would add {added}, past the \
         limit of {limit} series per dataset"
    )]
    TooManySeries {
        /// Dataset RID.
        dataset: String,
        /// Series the dataset holds now.
        existing: u64,
        /// New series the write would create in it.
        added: u64,
        /// The limit.
        limit: u64,
    },
    /// A series in the write has more tags than [`Limits::max_tags_per_series`].
    #[error(
        "a series of channel `{channel}` in `{dataset}` has {tags} tags, past the limit of \
         {limit} tags per series"
    )]
    TooManyTags {
        /// Dataset RID.
        dataset: String,
        /// Channel name.
        channel: String,
        /// Tags the series has.
        tags: usize,
        /// The limit.
        limit: usize,
    },
    /// A tag key or value is longer than its limit.
    #[error(
        "a tag {} of channel `{channel}` in `{dataset}` is {length} bytes long, past the limit \
         of {limit} bytes (tag key `{key}`)",
        part.name()
    )]
    TagTooLong {
        /// Dataset RID.
        dataset: String,
        /// Channel name.
        channel: String,
        /// Key or value.
        part: TagPart,
        /// The tag's key, cut to the key limit so the error stays small.
        key: String,
        /// Its length in bytes.
        length: usize,
        /// The limit that applies.
        limit: usize,
    },
    /// Disk or log failure; the write was not acknowledged.
    #[error("storage I/O failed: {0}")]
    Io(#[from] std::io::Error),
    /// The store found damaged data it cannot serve.
    #[error("store data is corrupt: {detail}")]
    Corrupt {
        /// What was found and where.
        detail: String,
    },
    /// The store is closed or shutting down.
    #[error("the store is closed")]
    Closed,
    /// The store cannot take the write for now but a retry may succeed (a cluster node whose
    /// replicated log did not acknowledge it). Nothing was stored.
    #[error("{what} is unavailable; retry the write")]
    Unavailable {
        /// What failed, for the message.
        what: &'static str,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Whether a store serves current data, for `/health`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// Reads see every acknowledged write this store knows of.
    Ready,
    /// Still replaying writes made elsewhere (a cluster node catching up on the replicated
    /// log): `applied` of `target` log positions are in.
    CatchingUp {
        /// Log position applied so far.
        applied: u64,
        /// Log position to reach before the store is ready.
        target: u64,
    },
    /// Cannot become current: writes it has not applied are gone from the replicated log
    /// (expired by its retention). It serves nothing new until it is re-seeded from a node
    /// that is current.
    Refusing {
        /// Last log position applied.
        applied: u64,
        /// First position the log still holds; everything between is lost to this store.
        first_available: u64,
    },
}

/// A store engine. All methods are blocking and thread-safe; async callers use
/// `spawn_blocking` for writes, which may wait for a disk sync.
pub trait Store: Send + Sync + 'static {
    /// Validates the whole batch, then stores all of it or nothing. Returns once the points
    /// are durable per the engine's policy and visible to reads; then publishes changes.
    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError>;

    /// The channel's type and unit, if the channel exists in the dataset.
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo>;

    /// Channels of a dataset, sorted by name.
    fn channels(&self, dataset: &str) -> Vec<ChannelInfo>;

    /// Every dataset that holds at least one channel, sorted by RID.
    fn datasets(&self) -> Vec<Arc<str>>;

    /// Series of a channel whose tags contain every pair of `filter` (empty = all series).
    fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo>;

    /// Appends the points of a numeric series with `start <= t <= end` (sorted, ints and
    /// uint64 converted to f64). A non-numeric or unknown series appends nothing.
    fn read_numeric(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<f64>,
    );

    /// Appends the points of a string series in `[start, end]`, sorted.
    fn read_strings(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    );

    /// Appends the points of a log series in `[start, end]`, sorted.
    fn read_logs(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<LogEntry>,
    );

    /// Timestamp of the last point strictly before `t` that is `n` points back (n = 1: the
    /// previous point), or `None` if fewer exist. Lets compute extend a read to cover
    /// point-count look-backs (rolling point windows, derivatives) without scanning history.
    fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64>;

    /// Number of points of a series in `[start, end]`, without reading them.
    fn count(&self, id: SeriesId, start: i64, end: i64) -> u64;

    /// Timestamps of the first and last point of a series, from in-memory bounds (block
    /// index and heads) without decoding points; `None` for an empty or unknown series.
    fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)>;
    /// Lower and upper bounds on [`Store::count`] from index metadata alone (no decoding),
    /// for decisions that only compare a count with a limit. Stores whose exact count is
    /// already cheap return it twice.
    fn count_bounds(&self, id: SeriesId, start: i64, end: i64) -> (u64, u64) {
        let n = self.count(id, start, end);
        (n, n)
    }

    /// A receiver of [`Change`]s for writes made after this call. A receiver that lags gets
    /// `RecvError::Lagged` and must treat everything as changed.
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Vec<Change>>>;

    /// Checks a batch as [`Store::write`] would (lengths, one type per channel), without
    /// storing it. Layers that hand a write on before storing it (the cluster publishes only
    /// what every node will accept) call it first.
    fn validate(&self, batch: &[SeriesWrite]) -> Result<(), StoreError> {
        let mut types: std::collections::HashMap<(&str, &str), ValueType> =
            std::collections::HashMap::new();
        for w in batch {
            if w.timestamps.len() != w.values.len() {
                return Err(StoreError::LengthMismatch {
                    channel: w.channel.to_string(),
                    timestamps: w.timestamps.len(),
                    values: w.values.len(),
                });
            }
            let attempted = w.values.value_type();
            let key = (&*w.dataset, &*w.channel);
            let existing = match types.get(&key) {
                Some(&t) => Some(t),
                None => self.channel(key.0, key.1).map(|c| c.value_type),
            };
            if let Some(existing) = existing.filter(|&t| t != attempted) {
                return Err(StoreError::TypeConflict {
                    dataset: w.dataset.to_string(),
                    channel: w.channel.to_string(),
                    existing: existing.name(),
                    attempted: attempted.name(),
                });
            }
            types.insert(key, attempted);
        }
        Ok(())
    }

    /// Whether reads see current data; engines that hold every write themselves always are.
    fn readiness(&self) -> Readiness {
        Readiness::Ready
    }

    /// Figures for `/metrics`: name → value.
    fn metrics(&self) -> Vec<(&'static str, f64)>;

    /// Flushes and closes; later writes fail with [`StoreError::Closed`].
    fn close(&self) -> Result<(), StoreError>;
}
