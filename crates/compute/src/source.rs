//! The storage seam: what compute needs to read, implemented by the server over the store.
//!
//! Compute never sees the store's types; every read goes through [`DataSource`], which
//! appends sorted columns into caller-owned buffers so hot paths reuse allocations.

use std::collections::BTreeMap;
use std::sync::Arc;

/// What compute needs from storage; the server implements it over the store.
///
/// All ranges are inclusive `[start, end]` in nanoseconds since the epoch. Reads append to
/// the given buffers in ascending timestamp order (one point per timestamp per series).
pub trait DataSource: Sync {
    /// The channel's type and unit; `None` when the dataset has no such channel.
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta>;
    /// Every series of the channel whose tags contain all of `filter` (exact match).
    fn series(
        &self,
        dataset: &str,
        channel: &str,
        filter: &BTreeMap<String, String>,
    ) -> Vec<SeriesMeta>;
    /// Appends the numeric points of `series` in `[start, end]`.
    fn read_numeric(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    );
    /// Appends the string (enum) points of `series` in `[start, end]`.
    fn read_strings(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    );
    /// Appends the log points (message, args) of `series` in `[start, end]`.
    fn read_logs(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        logs: &mut Vec<LogEntry>,
    );
    /// Timestamp of the `n`-th point strictly before `t` (`n = 1`: the previous point).
    fn nth_before(&self, series: u64, t: i64, n: usize) -> Option<i64>;
    /// Number of points of `series` in `[start, end]`; must be cheap (no point reads).
    fn count(&self, series: u64, start: i64, end: i64) -> u64;
    /// Lower and upper bounds on [`DataSource::count`] from metadata alone; the live
    /// raw-vs-bucketed decision asks for the exact count only when the bounds straddle
    /// its limit.
    fn count_bounds(&self, series: u64, start: i64, end: i64) -> (u64, u64) {
        let n = self.count(series, start, end);
        (n, n)
    }
}

/// A stored log point's payload: its message and its args map, shared with the store.
pub type LogEntry = (Arc<str>, Arc<BTreeMap<String, String>>);

/// The value type of a channel, fixed per dataset by the first write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChannelKind {
    /// Double, int and uint64 points, read as `f64`.
    Numeric,
    /// String points, summarized as enum plots.
    Enum,
    /// Log points: a message and an args map.
    Log,
}

impl ChannelKind {
    /// Lower-case name used in diagnostics.
    pub fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Numeric => "numeric",
            ChannelKind::Enum => "enum",
            ChannelKind::Log => "log",
        }
    }
}

impl std::fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What compute knows about a channel before reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelMeta {
    /// Decides which series types may read the channel.
    pub kind: ChannelKind,
    /// Unit symbol written with the channel; flows into `unitResult`.
    pub unit: Option<String>,
}

/// One series of a channel: the store's id (for reads) and its tags (for narrowing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeriesMeta {
    /// Opaque store id passed back to the read methods.
    pub id: u64,
    /// The series' tag map.
    pub tags: BTreeMap<String, String>,
}
