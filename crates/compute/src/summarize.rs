//! Turning sorted columns into wire plots: raw plots and aligned buckets.
//!
//! Buckets are aligned on multiples of the width since the epoch; bucket `k` holds the
//! points with `k·w <= t < (k+1)·w` and is stamped with its exclusive end `(k+1)·w`:
//!
//! ```text
//!   t:      0 ... w-1 | w ... 2w-1 | 2w ...
//!   bucket:     k=0   |    k=1     |  k=2
//!   stamp:      w     |    2w      |  3w
//! ```
//!
//! Because a bucket's content depends only on the points inside it, a bucket recomputed
//! for an append replaces the one sent earlier exactly. Empty buckets are omitted.

use std::collections::BTreeMap;
use std::sync::Arc;

use wire::conjure::SafeLong;
use wire::scout_compute::{
    BucketedEnumPlot, BucketedNumericPlot, CompactEnumPoint, EnumBucket, EnumPlot, LogPlot,
    LogValue, NumericBucket, NumericPlot, NumericPoint,
};
use wire::time::nanos_to_timestamp;

use crate::columns::Columns;
use crate::source::LogEntry;

/// Index of the bucket holding `t`.
pub(crate) fn bucket_of(t: i64, width: i64) -> i64 {
    t.div_euclid(width)
}

/// Exclusive end of bucket `k`, the bucket's wire timestamp.
pub(crate) fn bucket_end(k: i64, width: i64) -> i64 {
    k.saturating_add(1).saturating_mul(width)
}

/// Inclusive start of bucket `k`.
pub(crate) fn bucket_start(k: i64, width: i64) -> i64 {
    k.saturating_mul(width)
}

/// Inclusive start of the bucket holding `t` on the grid of `width` laid from `origin`.
pub(crate) fn start_of_bucket_holding(t: i64, width: i64, origin: i64) -> i64 {
    origin.saturating_add(bucket_start(
        bucket_of(t.saturating_sub(origin), width),
        width,
    ))
}

/// Bucket width for a range of `span` ns: the requested resolution, else `ceil(span / buckets)`.
pub(crate) fn bucket_width(span: i64, buckets: u64, resolution: Option<i64>) -> i64 {
    if let Some(r) = resolution {
        return r.max(1);
    }
    let buckets = i64::try_from(buckets).unwrap_or(i64::MAX).max(1);
    let span = span.max(1);
    (span / buckets + i64::from(span % buckets != 0)).max(1)
}

/// Lengths of the runs of equal bucket index in sorted `ts`.
/// Buckets are `origin + k·width <= t < origin + (k+1)·width`; each run yields the bucket's
/// exclusive end (its wire stamp) and the index range of its points.
fn runs(
    ts: &[i64],
    width: i64,
    origin: i64,
) -> impl Iterator<Item = (i64, std::ops::Range<usize>)> + '_ {
    let mut i = 0;
    std::iter::from_fn(move || {
        let first = *ts.get(i)?;
        let k = bucket_of(first.saturating_sub(origin), width);
        let limit = origin.saturating_add(bucket_end(k, width));
        let len = ts[i..].partition_point(|&t| t < limit);
        let range = i..i + len.max(1);
        i = range.end;
        Some((limit, range))
    })
}

/// Raw numeric plot.
pub(crate) fn numeric_plot(cols: Columns<f64>) -> NumericPlot {
    NumericPlot {
        timestamps: cols.ts.iter().map(|&t| nanos_to_timestamp(t)).collect(),
        values: cols.values,
        next_page_token: None,
    }
}

/// Numeric buckets: min, max, mean, count, population variance, first and last point.
pub(crate) fn bucketed_numeric(
    cols: &Columns<f64>,
    width: i64,
    origin: i64,
) -> BucketedNumericPlot {
    numeric_buckets_plot(&continue_buckets(None, cols, width, origin))
}

/// A bucket's stamp (its exclusive end) and the statistics of its points.
pub(crate) type StampedAcc = (i64, NumericAcc);

/// The statistics of the buckets of `cols`, where `open` (a bucket's stamp and the
/// statistics of its points before `cols`' first point) continues if `cols` starts inside
/// that bucket, and is sent again even when no new point falls into it. The last one
/// returned is the one a later append continues in turn, without re-reading its points.
pub(crate) fn continue_buckets(
    open: Option<StampedAcc>,
    cols: &Columns<f64>,
    width: i64,
    origin: i64,
) -> Vec<StampedAcc> {
    let mut out = Vec::new();
    let mut carried = open;
    for (stamp, range) in runs(&cols.ts, width, origin) {
        let (ts, vs) = (&cols.ts[range.clone()], &cols.values[range]);
        let mut acc = match carried.take() {
            Some((s, acc)) if s == stamp => acc,
            Some(earlier) => {
                out.push(earlier);
                NumericAcc::default()
            }
            None => NumericAcc::default(),
        };
        for (&t, &v) in ts.iter().zip(vs) {
            acc.push(t, v);
        }
        out.push((stamp, acc));
    }
    out.extend(carried);
    out
}

/// The wire plot of buckets in stamp order.
pub(crate) fn numeric_buckets_plot<'a>(
    buckets: impl IntoIterator<Item = &'a StampedAcc>,
) -> BucketedNumericPlot {
    let (timestamps, buckets) = buckets
        .into_iter()
        .map(|(stamp, acc)| (nanos_to_timestamp(*stamp), acc.to_bucket()))
        .unzip();
    BucketedNumericPlot {
        timestamps,
        buckets,
    }
}

/// Running statistics of one numeric bucket, fed point by point in time order: a bucket
/// built in one go and one continued across appends are the same to the bit. The mean is
/// `sum / count`; the variance uses Welford's update, which stays accurate when values
/// are large relative to their spread.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NumericAcc {
    count: u64,
    sum: f64,
    min: f64,
    max: f64,
    /// Welford's running mean and sum of squared deviations.
    running_mean: f64,
    m2: f64,
    first: (i64, f64),
    last: (i64, f64),
}

impl NumericAcc {
    fn push(&mut self, t: i64, v: f64) {
        if self.count == 0 {
            *self = NumericAcc {
                count: 0,
                sum: 0.0,
                min: f64::INFINITY,
                max: f64::NEG_INFINITY,
                running_mean: 0.0,
                m2: 0.0,
                first: (t, v),
                last: (t, v),
            };
        }
        self.count += 1;
        self.sum += v;
        // `f64::min`/`max` ignore NaN; an all-NaN bucket reports NaN below.
        self.min = self.min.min(v);
        self.max = self.max.max(v);
        let delta = v - self.running_mean;
        self.running_mean += delta / self.count as f64;
        self.m2 += delta * (v - self.running_mean);
        self.last = (t, v);
    }

    fn to_bucket(self) -> NumericBucket {
        let n = self.count.max(1) as f64;
        let point = |(t, v): (i64, f64)| NumericPoint {
            timestamp: nanos_to_timestamp(t),
            value: v,
        };
        let no_values = self.min > self.max;
        NumericBucket {
            min: Some(if no_values { f64::NAN } else { self.min }),
            max: Some(if no_values { f64::NAN } else { self.max }),
            mean: Some(self.sum / n),
            count: Some(SafeLong(i64::try_from(self.count).unwrap_or(i64::MAX))),
            variance: Some(self.m2 / n),
            first_point: Some(point(self.first)),
            // Upstream leaves it out for single-point buckets.
            last_point: (self.count > 1).then(|| point(self.last)),
            aggregations: BTreeMap::new(),
        }
    }
}

/// Sorted distinct strings and each point's index into them.
fn categorize(values: &[Arc<str>]) -> (Vec<String>, Vec<i32>) {
    let distinct: std::collections::BTreeSet<&str> = values.iter().map(|v| &**v).collect();
    let index: BTreeMap<&str, i32> = distinct
        .iter()
        .enumerate()
        .map(|(i, s)| (*s, i32::try_from(i).unwrap_or(i32::MAX)))
        .collect();
    let mut codes = Vec::with_capacity(values.len());
    let mut last: Option<(&Arc<str>, i32)> = None;
    for v in values {
        // Enum channels repeat values; skip the lookup for runs of the same string.
        let code = match last {
            Some((prev, code)) if Arc::ptr_eq(prev, v) || **prev == **v => code,
            _ => index.get(&**v).copied().unwrap_or(0),
        };
        last = Some((v, code));
        codes.push(code);
    }
    (distinct.into_iter().map(str::to_string).collect(), codes)
}

/// Raw enum plot; categories are the sorted distinct values.
pub(crate) fn enum_plot(cols: &Columns<Arc<str>>) -> EnumPlot {
    let (categories, values) = categorize(&cols.values);
    EnumPlot {
        timestamps: cols.ts.iter().map(|&t| nanos_to_timestamp(t)).collect(),
        values,
        categories,
        next_page_token: None,
    }
}

/// Enum buckets: value histogram, first and last point.
pub(crate) fn bucketed_enum(cols: &Columns<Arc<str>>, width: i64, origin: i64) -> BucketedEnumPlot {
    let (categories, codes) = categorize(&cols.values);
    let mut timestamps = Vec::new();
    let mut buckets = Vec::new();
    for (stamp, range) in runs(&cols.ts, width, origin) {
        let mut histogram: BTreeMap<i32, SafeLong> = BTreeMap::new();
        for &c in &codes[range.clone()] {
            histogram.entry(c).or_insert(SafeLong(0)).0 += 1;
        }
        let point = |i: usize| CompactEnumPoint {
            timestamp: nanos_to_timestamp(cols.ts[i]),
            value: codes[i],
        };
        timestamps.push(nanos_to_timestamp(stamp));
        buckets.push(EnumBucket {
            histogram,
            first_point: point(range.start),
            last_point: (range.len() > 1).then(|| point(range.end - 1)),
        });
    }
    BucketedEnumPlot {
        timestamps,
        buckets,
        categories,
    }
}

/// Raw log plot. Each point's id is derived from (series, timestamp), which identifies a
/// stored log point (same series and timestamp replace), so full results and appends
/// give the same point the same id.
pub(crate) fn log_plot(cols: &Columns<LogEntry>) -> LogPlot {
    let values = cols
        .values
        .iter()
        .zip(&cols.series)
        .zip(&cols.ts)
        .map(|(((message, args), &series), &t)| LogValue {
            message: message.to_string(),
            args: (**args).clone(),
            id: log_id(series, t),
        })
        .collect();
    LogPlot {
        timestamps: cols.ts.iter().map(|&t| nanos_to_timestamp(t)).collect(),
        values,
    }
}

/// A version-8 UUID packing the low 58 bits of the series id and the full timestamp
/// into the 122 free bits, so distinct points never share an id.
pub(crate) fn log_id(series: u64, t: i64) -> uuid::Uuid {
    let v = (u128::from(series & ((1 << 58) - 1)) << 64) | u128::from(t as u64);
    let low = v & ((1 << 62) - 1);
    let mid = (v >> 62) & 0xfff;
    let high = v >> 74;
    let mut bits = low | (mid << 64) | (high << 80);
    bits |= 0x8 << 76; // version 8 (custom)
    bits |= 0b10 << 62; // RFC 4122 variant
    uuid::Uuid::from_u128(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_rounds_up_and_respects_resolution() {
        assert_eq!(bucket_width(1000, 1000, None), 1);
        assert_eq!(bucket_width(1001, 1000, None), 2);
        assert_eq!(bucket_width(60_000_000_000, 1000, None), 60_000_000);
        assert_eq!(bucket_width(10, 1000, Some(7)), 7);
        assert_eq!(bucket_width(0, 1000, None), 1);
    }

    #[test]
    fn buckets_align_for_negative_timestamps() {
        assert_eq!(bucket_of(-1, 10), -1);
        assert_eq!(bucket_end(-1, 10), 0);
        assert_eq!(bucket_of(10, 10), 1);
    }

    #[test]
    fn numeric_bucket_matches_upstream_example() {
        let base = 1_764_345_600_000_000_000;
        let cols = Columns {
            ts: vec![base, base + 1, base + 2],
            values: vec![1.0, 2.0, 3.0],
            series: vec![1, 1, 1],
        };
        let plot = bucketed_numeric(&cols, 1_000_000_000, 0);
        let expected = r#"{"timestamps":[{"seconds":1764345601,"nanos":0}],"buckets":[{"min":1.0,"max":3.0,"mean":2.0,"count":3,"variance":0.6666666666666666,"firstPoint":{"timestamp":{"seconds":1764345600,"nanos":0},"value":1.0},"lastPoint":{"timestamp":{"seconds":1764345600,"nanos":2},"value":3.0}}]}"#;
        let expected: serde_json::Value = serde_json::from_str(expected).unwrap_or_default();
        assert_eq!(serde_json::to_value(&plot).ok(), Some(expected));
    }

    #[test]
    fn single_point_bucket_has_no_last_point_and_zero_variance() {
        let cols = Columns {
            ts: vec![5],
            values: vec![4.0],
            series: vec![1],
        };
        let plot = bucketed_numeric(&cols, 10, 0);
        assert_eq!(plot.buckets[0].variance, Some(0.0));
        assert!(plot.buckets[0].last_point.is_none());
    }

    #[test]
    fn enum_buckets_histogram_by_sorted_category() {
        let (a, b): (Arc<str>, Arc<str>) = ("open".into(), "closed".into());
        let cols = Columns {
            ts: vec![0, 1, 2, 15],
            values: vec![a.clone(), b.clone(), a.clone(), b],
            series: vec![1; 4],
        };
        let plot = bucketed_enum(&cols, 10, 0);
        assert_eq!(plot.categories, vec!["closed", "open"]);
        assert_eq!(plot.buckets.len(), 2);
        assert_eq!(plot.buckets[0].histogram.get(&1), Some(&SafeLong(2)));
        assert_eq!(plot.buckets[0].histogram.get(&0), Some(&SafeLong(1)));
        assert_eq!(
            plot.buckets[0].last_point.as_ref().map(|p| p.value),
            Some(1)
        );
        assert!(plot.buckets[1].last_point.is_none());
    }

    #[test]
    fn log_ids_are_distinct_and_valid_v8() {
        let a = log_id(1, 5);
        assert_eq!(a.get_version_num(), 8);
        assert_ne!(a, log_id(2, 5));
        assert_ne!(a, log_id(1, 6));
        assert_ne!(log_id(1, -1), log_id(1 << 20, -1));
    }
}
