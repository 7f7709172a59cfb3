//! Largest-Triangle-Three-Buckets downsampling (`SummarizationStrategy.largestTriangleThreeBuckets`):
//! keeps at most `max` of the input points, chosen to preserve the visual shape. It is
//! polling-only upstream (a selection can change anywhere when a point arrives), so a live
//! subscription gets full results, never appends.
//!
//! The first and last points are always kept. The rest are split into `max − 2` buckets of
//! equal point count; from each, the point forming the largest triangle with the point kept
//! from the previous bucket and the mean point of the next bucket is kept.

use crate::columns::Columns;

/// Upstream's ceiling on `maxPointsPerGroup`.
pub(crate) const MAX_POINTS: usize = 10_000;

/// Selects at most `max` points of `cols` (sorted by time). NaN values are never selected
/// over a finite one, since their triangle area is NaN and compares false.
pub(crate) fn lttb(cols: Columns<f64>, max: usize) -> Columns<f64> {
    let n = cols.ts.len();
    if n <= max || max == 0 {
        return cols;
    }
    if max < 3 {
        let mut keep = vec![0];
        if max == 2 {
            keep.push(n - 1);
        }
        return pick(cols, &keep);
    }
    // Times relative to the first point keep the areas exact in f64.
    let t0 = cols.ts[0];
    let x = |i: usize| (cols.ts[i] - t0) as f64;
    let y = |i: usize| cols.values[i];
    let every = (n - 2) as f64 / (max - 2) as f64;
    let bucket = |b: usize| {
        let lo = 1 + (b as f64 * every) as usize;
        let hi = (1 + ((b + 1) as f64 * every) as usize).min(n - 1);
        lo..hi.max(lo + 1).min(n - 1)
    };
    let mut keep = Vec::with_capacity(max);
    keep.push(0);
    let mut a = 0;
    for b in 0..max - 2 {
        let next = if b + 1 < max - 2 {
            bucket(b + 1)
        } else {
            n - 1..n
        };
        let len = next.len().max(1) as f64;
        let (mx, my) = next
            .clone()
            .fold((0.0, 0.0), |(sx, sy), i| (sx + x(i) / len, sy + y(i) / len));
        let mut best = None;
        let mut best_area = -1.0;
        for i in bucket(b) {
            let area = ((x(a) - mx) * (y(i) - y(a)) - (x(a) - x(i)) * (my - y(a))).abs();
            if area > best_area || best.is_none() {
                best_area = if area.is_nan() { -1.0 } else { area };
                best = Some(i);
            }
        }
        if let Some(i) = best {
            keep.push(i);
            a = i;
        }
    }
    keep.push(n - 1);
    keep.dedup();
    pick(cols, &keep)
}

fn pick(cols: Columns<f64>, keep: &[usize]) -> Columns<f64> {
    Columns {
        ts: keep.iter().map(|&i| cols.ts[i]).collect(),
        values: keep.iter().map(|&i| cols.values[i]).collect(),
        series: keep
            .iter()
            .filter_map(|&i| cols.series.get(i).copied())
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(values: &[f64]) -> Columns<f64> {
        Columns {
            ts: (0..values.len() as i64).collect(),
            values: values.to_vec(),
            series: vec![0; values.len()],
        }
    }

    #[test]
    fn keeps_everything_when_under_the_limit() {
        let c = lttb(cols(&[1.0, 2.0, 3.0]), 5);
        assert_eq!(c.values, vec![1.0, 2.0, 3.0]);
    }

    #[test]
    fn keeps_ends_and_the_spike() {
        let mut v = vec![0.0; 100];
        v[37] = 50.0;
        let c = lttb(cols(&v), 10);
        assert_eq!(c.ts.len(), 10);
        assert_eq!(c.ts[0], 0);
        assert_eq!(*c.ts.last().expect("last"), 99);
        assert!(c.ts.contains(&37), "the spike must survive: {:?}", c.ts);
        assert!(c.ts.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn tiny_limits() {
        assert_eq!(lttb(cols(&[1.0, 2.0, 3.0, 4.0]), 1).ts, vec![0]);
        assert_eq!(lttb(cols(&[1.0, 2.0, 3.0, 4.0]), 2).ts, vec![0, 3]);
    }
}
