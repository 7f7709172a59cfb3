//! Reading a channel's series into one time-ordered set of columns.
//!
//! ```text
//!   series 3: ts [1, 4, 9]  values [a, b, c]      merged (stable by ts, ties keep
//!   series 7: ts [2, 4]     values [x, y]    -->  series-id order):
//!                                                 ts     [1, 2, 4, 4, 9]
//!                                                 values [a, x, b, y, c]
//!                                                 series [3, 7, 3, 7, 3]
//! ```
//!
//! Each series is read straight into the shared buffers; only when more than one series
//! contributed points is a permutation computed and the columns gathered once.

use std::sync::Arc;

use crate::source::{DataSource, LogEntry};

/// Points of one channel in `[start, end]`, sorted by timestamp.
#[derive(Debug, Default, Clone)]
pub(crate) struct Columns<V> {
    pub(crate) ts: Vec<i64>,
    pub(crate) values: Vec<V>,
    /// The series each point came from; gives log points a stable id.
    pub(crate) series: Vec<u64>,
}

/// Total points of the input in `[start, end]`, from counts only.
pub(crate) fn count(ids: &[u64], source: &dyn DataSource, start: i64, end: i64) -> u64 {
    if start > end {
        return 0;
    }
    ids.iter().map(|&id| source.count(id, start, end)).sum()
}

/// Lower and upper bounds on [`count`] from metadata alone.
pub(crate) fn count_bounds(
    ids: &[u64],
    source: &dyn DataSource,
    start: i64,
    end: i64,
) -> (u64, u64) {
    if start > end {
        return (0, 0);
    }
    ids.iter()
        .map(|&id| source.count_bounds(id, start, end))
        .fold((0, 0), |(lo, hi), (l, h)| {
            (lo.saturating_add(l), hi.saturating_add(h))
        })
}

/// Reads every series with `read` and merges the result by timestamp.
pub(crate) fn read<V: Clone>(
    ids: &[u64],
    start: i64,
    end: i64,
    mut read: impl FnMut(u64, i64, i64, &mut Vec<i64>, &mut Vec<V>),
) -> Columns<V> {
    let mut cols = Columns {
        ts: Vec::new(),
        values: Vec::new(),
        series: Vec::new(),
    };
    if start > end {
        return cols;
    }
    let mut contributing = 0usize;
    for &id in ids {
        let before = cols.ts.len();
        read(id, start, end, &mut cols.ts, &mut cols.values);
        // A misbehaving source must not desynchronize the columns.
        let n = cols.ts.len().min(cols.values.len());
        cols.ts.truncate(n);
        cols.values.truncate(n);
        if n > before {
            contributing += 1;
            cols.series.resize(n, id);
        }
    }
    if contributing > 1 && !cols.ts.is_sorted() {
        let mut order: Vec<usize> = (0..cols.ts.len()).collect();
        // Stable: equal timestamps keep series-id order.
        order.sort_by_key(|&i| cols.ts[i]);
        cols.ts = order.iter().map(|&i| cols.ts[i]).collect();
        cols.values = order.iter().map(|&i| cols.values[i].clone()).collect();
        cols.series = order.iter().map(|&i| cols.series[i]).collect();
    }
    cols
}

/// Reads the numeric input in `[start, end]`.
pub(crate) fn numeric(ids: &[u64], source: &dyn DataSource, start: i64, end: i64) -> Columns<f64> {
    read(ids, start, end, |id, s, e, ts, v| {
        source.read_numeric(id, s, e, ts, v)
    })
}

/// Reads the string input in `[start, end]`.
pub(crate) fn strings(
    ids: &[u64],
    source: &dyn DataSource,
    start: i64,
    end: i64,
) -> Columns<Arc<str>> {
    read(ids, start, end, |id, s, e, ts, v| {
        source.read_strings(id, s, e, ts, v)
    })
}

/// Reads the log input in `[start, end]`.
pub(crate) fn logs(
    ids: &[u64],
    source: &dyn DataSource,
    start: i64,
    end: i64,
) -> Columns<LogEntry> {
    read(ids, start, end, |id, s, e, ts, v| {
        source.read_logs(id, s, e, ts, v)
    })
}
