//! Sorted columnar points of one series: the unit every engine stores, merges and reads.
//!
//! Owns the ordering rules of the data model: timestamps strictly increase, and when two
//! points share a timestamp the newer one replaces the older. Everything here is pure data
//! manipulation; no locks, no I/O.
//!
//! ```text
//!   Points { ts:     [ t0 | t1 | t2 | ... ]   strictly increasing i64 ns
//!            values: [ v0 | v1 | v2 | ... ] } one typed Vec (struct of arrays)
//! ```

use std::cmp::Ordering;
use std::ops::Range;
use std::sync::Arc;

use crate::api::{LogEntry, ValueType, Values};

/// Applies `$body` to the inner `Vec` of whichever variant `$v` is.
macro_rules! each_values {
    ($v:expr, $x:ident => $body:expr) => {
        match $v {
            Values::Double($x) => $body,
            Values::Int($x) => $body,
            Values::Uint64($x) => $body,
            Values::String($x) => $body,
            Values::Log($x) => $body,
        }
    };
}

/// Applies `$body` to the inner `Vec`s of `$a` and `$b` when both are the same variant.
macro_rules! pair_values {
    ($a:expr, $b:expr, $x:ident, $y:ident => $body:expr, mismatch => $other:expr) => {
        match ($a, $b) {
            (Values::Double($x), Values::Double($y)) => $body,
            (Values::Int($x), Values::Int($y)) => $body,
            (Values::Uint64($x), Values::Uint64($y)) => $body,
            (Values::String($x), Values::String($y)) => $body,
            (Values::Log($x), Values::Log($y)) => $body,
            _ => $other,
        }
    };
}

pub(crate) use each_values;

/// An empty column of the given type with room for `cap` values.
pub(crate) fn empty_values(vt: ValueType, cap: usize) -> Values {
    match vt {
        ValueType::Double => Values::Double(Vec::with_capacity(cap)),
        ValueType::Int => Values::Int(Vec::with_capacity(cap)),
        ValueType::Uint64 => Values::Uint64(Vec::with_capacity(cap)),
        ValueType::String => Values::String(Vec::with_capacity(cap)),
        ValueType::Log => Values::Log(Vec::with_capacity(cap)),
    }
}

/// Rough heap cost of one value, for the head's size limit. Strings count their text
/// because interning is per series and a high-cardinality column really does hold it.
fn value_bytes(values: &Values) -> u64 {
    match values {
        Values::Double(v) => 8 * v.len() as u64,
        Values::Int(v) => 8 * v.len() as u64,
        Values::Uint64(v) => 8 * v.len() as u64,
        Values::String(v) => v.iter().map(|s| 16 + s.len() as u64).sum(),
        Values::Log(v) => v
            .iter()
            .map(|e| {
                let args: usize = e.args.iter().map(|(k, v)| 48 + k.len() + v.len()).sum();
                (32 + e.message.len() + args) as u64
            })
            .sum(),
    }
}

/// Points of one series, sorted by strictly increasing timestamp.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Points {
    /// Nanoseconds since the epoch, strictly increasing.
    pub(crate) ts: Vec<i64>,
    /// One value per timestamp, all of the series' type.
    pub(crate) values: Values,
}

impl Points {
    /// No points of type `vt`.
    pub(crate) fn empty(vt: ValueType) -> Self {
        Self::with_capacity(vt, 0)
    }

    /// No points of type `vt`, with room for `cap`.
    pub(crate) fn with_capacity(vt: ValueType, cap: usize) -> Self {
        Points {
            ts: Vec::with_capacity(cap),
            values: empty_values(vt, cap),
        }
    }

    /// Number of points.
    pub(crate) fn len(&self) -> usize {
        self.ts.len()
    }

    /// Whether there are no points.
    pub(crate) fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }

    /// The column's type.
    pub(crate) fn value_type(&self) -> ValueType {
        self.values.value_type()
    }

    /// Approximate heap bytes, for size limits.
    pub(crate) fn approx_bytes(&self) -> u64 {
        8 * self.ts.len() as u64 + value_bytes(&self.values)
    }

    /// Sorts a write's columns by timestamp and keeps the last of equal timestamps, so a
    /// batch that repeats a timestamp behaves like consecutive writes. Already-sorted
    /// input (the common case) is returned without copying.
    pub(crate) fn normalize(ts: Vec<i64>, values: Values) -> Points {
        if ts.is_sorted_by(|a, b| a < b) {
            return Points { ts, values };
        }
        let mut order: Vec<usize> = (0..ts.len()).collect();
        // Stable, so among equal timestamps the input order survives and the last wins.
        order.sort_by_key(|&i| ts[i]);
        let mut keep = Vec::with_capacity(order.len());
        for (k, &i) in order.iter().enumerate() {
            let last_of_run = order.get(k + 1).is_none_or(|&j| ts[j] != ts[i]);
            if last_of_run {
                keep.push(i);
            }
        }
        let new_ts = keep.iter().map(|&i| ts[i]).collect();
        let new_values = each_values!(values, v => gather_into(v, &keep));
        Points {
            ts: new_ts,
            values: new_values,
        }
    }

    /// Index range of points with `start <= t <= end`, by binary search.
    pub(crate) fn range(&self, start: i64, end: i64) -> Range<usize> {
        if start > end {
            return 0..0;
        }
        let lo = self.ts.partition_point(|&t| t < start);
        let hi = lo + self.ts[lo..].partition_point(|&t| t <= end);
        lo..hi
    }

    /// Appends the points at `r` to `out` (which must be of the same type).
    pub(crate) fn copy_range_into(&self, r: Range<usize>, out: &mut Points) {
        out.ts.extend_from_slice(&self.ts[r.clone()]);
        pair_values!(&mut out.values, &self.values, d, s => d.extend_from_slice(&s[r]), mismatch => {
            debug_assert!(false, "copy between columns of different types");
        });
    }

    /// The points at `r` as a new value.
    pub(crate) fn slice(&self, r: Range<usize>) -> Points {
        let mut out = Points::with_capacity(self.value_type(), r.len());
        self.copy_range_into(r, &mut out);
        out
    }

    /// Cuts off and returns the points from index `at` on (`at <= len`).
    pub(crate) fn split_off(&mut self, at: usize) -> Points {
        let ts = self.ts.split_off(at);
        let values = each_values!(&mut self.values, v => v.split_off(at).into_values());
        Points { ts, values }
    }

    /// Points that fit in every column's capacity beyond those held. The columns' room can
    /// differ (a decoder may reserve timestamps by an estimate and values exactly): only
    /// the smaller is room an append can use without moving the column.
    pub(crate) fn spare(&self) -> usize {
        let values = each_values!(&self.values, v => v.capacity() - v.len());
        (self.ts.capacity() - self.ts.len()).min(values)
    }

    /// Whether `n` more points fit in the columns' capacity, so appending them moves
    /// nothing already held.
    pub(crate) fn has_room_for(&self, n: usize) -> bool {
        self.spare() >= n
    }

    /// Appends `other`, whose first timestamp must be later than this one's last.
    pub(crate) fn append(&mut self, other: Points) {
        debug_assert!(match (self.ts.last(), other.ts.first()) {
            (Some(a), Some(b)) => a < b,
            _ => true,
        });
        self.ts.extend(other.ts);
        pair_values!(&mut self.values, other.values, d, s => d.extend(s), mismatch => {
            debug_assert!(false, "append of a column of another type");
        });
    }
}

fn gather_into<T: Clone>(v: Vec<T>, keep: &[usize]) -> Values
where
    Vec<T>: IntoValues,
{
    keep.iter()
        .map(|&i| v[i].clone())
        .collect::<Vec<T>>()
        .into_values()
}

/// Wraps a typed `Vec` back into its [`Values`] variant; lets generic helpers return columns.
pub(crate) trait IntoValues {
    /// The matching variant.
    fn into_values(self) -> Values;
}

impl IntoValues for Vec<f64> {
    fn into_values(self) -> Values {
        Values::Double(self)
    }
}
impl IntoValues for Vec<i64> {
    fn into_values(self) -> Values {
        Values::Int(self)
    }
}
impl IntoValues for Vec<u64> {
    fn into_values(self) -> Values {
        Values::Uint64(self)
    }
}
impl IntoValues for Vec<Arc<str>> {
    fn into_values(self) -> Values {
        Values::String(self)
    }
}
impl IntoValues for Vec<LogEntry> {
    fn into_values(self) -> Values {
        Values::Log(self)
    }
}

/// Merges two sorted runs; on equal timestamps `newer` wins. Runs of different types (which
/// validation prevents) keep `newer`.
pub(crate) fn merge_newer(older: Points, newer: Points) -> Points {
    if older.is_empty() {
        return newer;
    }
    if newer.is_empty() {
        return older;
    }
    pair_values!(older.values, newer.values, a, b => {
        let (ts, v) = merge_cols(older.ts, a, newer.ts, b);
        Points { ts, values: v.into_values() }
    }, mismatch => newer_fallback())
}

fn newer_fallback() -> Points {
    debug_assert!(false, "merge of columns of different types");
    Points::empty(ValueType::Double)
}

fn merge_cols<T>(ots: Vec<i64>, ov: Vec<T>, nts: Vec<i64>, nv: Vec<T>) -> (Vec<i64>, Vec<T>) {
    let cap = ots.len() + nts.len();
    let mut ts = Vec::with_capacity(cap);
    let mut vs = Vec::with_capacity(cap);
    let mut o = ots.into_iter().zip(ov).peekable();
    let mut n = nts.into_iter().zip(nv).peekable();
    loop {
        let ord = match (o.peek(), n.peek()) {
            (Some(a), Some(b)) => a.0.cmp(&b.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => break,
        };
        let (t, v) = match ord {
            Ordering::Less => o.next(),
            Ordering::Greater => n.next(),
            Ordering::Equal => {
                o.next();
                n.next()
            }
        }
        .unwrap_or_else(|| unreachable!("peeked"));
        ts.push(t);
        vs.push(v);
    }
    (ts, vs)
}

/// Appends a numeric series' points to f64 output; other types append nothing.
pub(crate) fn push_numeric(p: &Points, r: Range<usize>, ts: &mut Vec<i64>, out: &mut Vec<f64>) {
    match &p.values {
        Values::Double(v) => out.extend_from_slice(&v[r.clone()]),
        Values::Int(v) => out.extend(v[r.clone()].iter().map(|&x| x as f64)),
        Values::Uint64(v) => out.extend(v[r.clone()].iter().map(|&x| x as f64)),
        Values::String(_) | Values::Log(_) => return,
    }
    ts.extend_from_slice(&p.ts[r]);
}

/// Moves owned points into numeric output, without copying when the output is empty.
pub(crate) fn move_numeric(p: Points, ts: &mut Vec<i64>, out: &mut Vec<f64>) {
    match p.values {
        Values::Double(v) if ts.is_empty() && out.is_empty() => {
            *ts = p.ts;
            *out = v;
        }
        Values::Double(v) => {
            ts.extend_from_slice(&p.ts);
            out.extend_from_slice(&v);
        }
        Values::Int(v) => {
            ts.extend_from_slice(&p.ts);
            out.extend(v.iter().map(|&x| x as f64));
        }
        Values::Uint64(v) => {
            ts.extend_from_slice(&p.ts);
            out.extend(v.iter().map(|&x| x as f64));
        }
        Values::String(_) | Values::Log(_) => {}
    }
}

/// Moves owned points into string output; other types append nothing.
pub(crate) fn move_strings(p: Points, ts: &mut Vec<i64>, out: &mut Vec<Arc<str>>) {
    if let Values::String(v) = p.values {
        ts.extend_from_slice(&p.ts);
        out.extend(v);
    }
}

/// Moves owned points into log output; other types append nothing.
pub(crate) fn move_logs(p: Points, ts: &mut Vec<i64>, out: &mut Vec<LogEntry>) {
    if let Values::Log(v) = p.values {
        ts.extend_from_slice(&p.ts);
        out.extend(v);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn pts(ts: &[i64], v: &[f64]) -> Points {
        Points {
            ts: ts.to_vec(),
            values: Values::Double(v.to_vec()),
        }
    }

    #[test]
    fn normalize_sorts_and_keeps_last_duplicate() {
        let p = Points::normalize(
            vec![3, 1, 3, 2, 1],
            Values::Double(vec![30., 10., 31., 20., 11.]),
        );
        assert_eq!(p, pts(&[1, 2, 3], &[11., 20., 31.]));
    }

    #[test]
    fn range_finds_the_points_in_a_closed_interval() {
        let p = pts(&[10, 20, 30, 40], &[1., 2., 3., 4.]);
        assert_eq!(p.range(15, 30), 1..3);
        assert_eq!(p.range(41, 50), 4..4);
        assert_eq!(p.range(30, 20), 0..0);
    }
}
