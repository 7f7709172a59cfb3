//! Nodes that look back along their input: derivative, valueDifference, timeDifference
//! (one point), rolling aggregates (a time or point window), cumulativeSum and integral
//! (everything since their start timestamp; HTTP compute only).

use std::collections::VecDeque;

use crate::columns::Columns;
use crate::engine::{cols, Engine, Grouped, Leaves};
use crate::ir::{Agg, AnySeries, Negatives, Num, Window};

impl Engine<'_> {
    pub(crate) fn windowed(&self, e: &Num, a: i64, b: i64) -> Grouped<Columns<f64>> {
        match e {
            // (v[i] − v[i−1]) / (t[i] − t[i−1]) in the time unit. Needs one point before
            // `a`; the first point ever has no output. Equal timestamps divide by zero
            // (±inf, or NaN for equal values).
            Num::Derivative {
                input,
                unit_ns,
                negatives,
            } => self.pairwise(input, a, b, |t0, v0, t1, v1| {
                negative((v1 - v0) / ((t1 - t0) as f64 / unit_ns), *negatives)
            }),
            // v[i] − v[i−1]; the first point has no output.
            Num::ValueDifference { input, negatives } => {
                self.pairwise(input, a, b, |_, v0, _, v1| negative(v1 - v0, *negatives))
            }
            // (t[i] − t[i−1]) in the time unit, for any series type.
            Num::TimeDifference { input, unit_ns } => {
                let leaves = Leaves::of_any(input);
                let ts =
                    self.with_history(&leaves, a, b, 1, |lo, hi| self.timestamps(input, lo, hi), 0);
                ts.into_iter()
                    .map(|(g, c)| {
                        (
                            g,
                            differences(&c.ts, &vec![0.0; c.ts.len()], a, b, |t0, _, t1, _| {
                                Some((t1 - t0) as f64 / unit_ns)
                            }),
                        )
                    })
                    .collect()
            }
            Num::Rolling { input, window, agg } => {
                let leaves = Leaves::of_num(input);
                let data = match window {
                    Window::Time(w) => self.num(input, a.saturating_sub(*w).saturating_add(1), b),
                    Window::Points(n) => self.with_history(
                        &leaves,
                        a,
                        b,
                        n.saturating_sub(1),
                        |lo, hi| self.num(input, lo, hi),
                        0,
                    ),
                };
                data.into_iter()
                    .map(|(g, c)| (g, rolling(&c, *window, *agg, a, b)))
                    .collect()
            }
            // Sum of the values in [start, t]; nothing before `start`.
            Num::CumulativeSum { input, start } => {
                self.running(input, *start, a, b, |acc, _, _, _, v| acc + v)
            }
            // Trapezoidal area since `start`, in value · time unit; 0 at the first point.
            Num::Integral {
                input,
                start,
                unit_ns,
            } => self.running(input, *start, a, b, |acc, prev, t, pv, v| match prev {
                Some(t0) => acc + (pv + v) / 2.0 * ((t - t0) as f64 / unit_ns),
                None => acc,
            }),
            _ => Vec::new(),
        }
    }

    fn pairwise(
        &self,
        input: &Num,
        a: i64,
        b: i64,
        f: impl Fn(i64, f64, i64, f64) -> Option<f64>,
    ) -> Grouped<Columns<f64>> {
        let leaves = Leaves::of_num(input);
        self.with_history(&leaves, a, b, 1, |lo, hi| self.num(input, lo, hi), 0)
            .into_iter()
            .map(|(g, c)| (g, differences(&c.ts, &c.values, a, b, &f)))
            .collect()
    }

    fn timestamps(&self, s: &AnySeries, a: i64, b: i64) -> Grouped<Columns<()>> {
        let strip = |ts: Vec<i64>| cols(ts.clone(), vec![(); ts.len()]);
        match s {
            AnySeries::Numeric(n) => self
                .num(n, a, b)
                .into_iter()
                .map(|(g, c)| (g, strip(c.ts)))
                .collect(),
            AnySeries::Enum(e) => self
                .enum_series(e, a, b)
                .into_iter()
                .map(|(g, c)| (g, strip(c.ts)))
                .collect(),
            AnySeries::Log(l) => self
                .logs(l, a, b)
                .into_iter()
                .map(|(g, c)| (g, strip(c.ts)))
                .collect(),
        }
    }

    fn running(
        &self,
        input: &Num,
        start: i64,
        a: i64,
        b: i64,
        step: impl Fn(f64, Option<i64>, i64, f64, f64) -> f64,
    ) -> Grouped<Columns<f64>> {
        self.num(input, start, b)
            .into_iter()
            .map(|(g, c)| {
                let (mut ts, mut vs) = (Vec::new(), Vec::new());
                let (mut acc, mut prev, mut pv) = (0.0, None, 0.0);
                for (&t, &v) in c.ts.iter().zip(&c.values) {
                    acc = step(acc, prev, t, pv, v);
                    prev = Some(t);
                    pv = v;
                    if t >= a {
                        ts.push(t);
                        vs.push(acc);
                    }
                }
                (g, cols(ts, vs))
            })
            .collect()
    }
}

fn negative(v: f64, mode: Negatives) -> Option<f64> {
    match mode {
        Negatives::Allow => Some(v),
        Negatives::Zero if v < 0.0 => Some(0.0),
        Negatives::Exclude if v < 0.0 => None,
        _ => Some(v),
    }
}

/// One output per point in `[a, b]` that has a previous point.
fn differences(
    ts: &[i64],
    vs: &[f64],
    a: i64,
    b: i64,
    f: impl Fn(i64, f64, i64, f64) -> Option<f64>,
) -> Columns<f64> {
    let (mut out_t, mut out_v) = (Vec::new(), Vec::new());
    let first = ts.partition_point(|&t| t < a).max(1);
    for i in first..ts.len() {
        if ts[i] > b {
            break;
        }
        if let Some(v) = f(ts[i - 1], vs[i - 1], ts[i], vs[i]) {
            out_t.push(ts[i]);
            out_v.push(v);
        }
    }
    cols(out_t, out_v)
}

/// One output per input point in `[a, b]`, aggregating its window (partial windows
/// included). Sums use running totals with compensation; min and max use monotonic
/// deques; percentiles sort the window. Any NaN in a window makes sum-like results NaN.
fn rolling(c: &Columns<f64>, window: Window, agg: Agg, a: i64, b: i64) -> Columns<f64> {
    let first = c.ts.partition_point(|&t| t < a);
    let last = c.ts.partition_point(|&t| t <= b);
    let mut acc = Acc::default();
    let mut lo = 0usize;
    let mut hi = 0usize;
    let (mut ts, mut vs) = (
        Vec::with_capacity(last - first),
        Vec::with_capacity(last - first),
    );
    for i in first..last {
        let t = c.ts[i];
        let start = match window {
            Window::Time(w) => c.ts.partition_point(|&x| x <= t.saturating_sub(w)),
            Window::Points(n) => (i + 1).saturating_sub(n.max(1)),
        };
        if start > hi {
            acc = Acc::default();
            lo = start;
            hi = start;
        }
        while hi <= i {
            acc.push(hi, c.values[hi]);
            hi += 1;
        }
        while lo < start {
            acc.pop(lo, c.values[lo]);
            lo += 1;
        }
        ts.push(t);
        vs.push(acc.get(agg, &c.values[lo..hi]));
    }
    cols(ts, vs)
}

/// Sliding-window state over `[lo, hi)`.
#[derive(Default)]
struct Acc {
    n: usize,
    non_finite: usize,
    sum: f64,
    sum_c: f64,
    sq: f64,
    sq_c: f64,
    max: VecDeque<(usize, f64)>,
    min: VecDeque<(usize, f64)>,
}

fn kahan(sum: &mut f64, c: &mut f64, x: f64) {
    let t = *sum + x;
    if sum.abs() >= x.abs() {
        *c += (*sum - t) + x;
    } else {
        *c += (x - t) + *sum;
    }
    *sum = t;
}

impl Acc {
    fn push(&mut self, i: usize, v: f64) {
        self.n += 1;
        if v.is_finite() {
            kahan(&mut self.sum, &mut self.sum_c, v);
            kahan(&mut self.sq, &mut self.sq_c, v * v);
        } else {
            self.non_finite += 1;
        }
        while self.max.back().is_some_and(|&(_, x)| x <= v) {
            self.max.pop_back();
        }
        self.max.push_back((i, v));
        while self.min.back().is_some_and(|&(_, x)| x >= v) {
            self.min.pop_back();
        }
        self.min.push_back((i, v));
    }

    fn pop(&mut self, i: usize, v: f64) {
        self.n -= 1;
        if v.is_finite() {
            kahan(&mut self.sum, &mut self.sum_c, -v);
            kahan(&mut self.sq, &mut self.sq_c, -(v * v));
        } else {
            self.non_finite -= 1;
        }
        if self.max.front().is_some_and(|&(j, _)| j == i) {
            self.max.pop_front();
        }
        if self.min.front().is_some_and(|&(j, _)| j == i) {
            self.min.pop_front();
        }
    }

    fn get(&self, agg: Agg, window: &[f64]) -> f64 {
        let n = self.n as f64;
        if self.non_finite > 0 && !matches!(agg, Agg::Count) {
            return exact(agg, window);
        }
        if self.n == 0 {
            return if matches!(agg, Agg::Count | Agg::Sum) {
                0.0
            } else {
                f64::NAN
            };
        }
        let sum = self.sum + self.sum_c;
        match agg {
            Agg::Sum => sum,
            Agg::Mean => sum / n,
            Agg::Count => n,
            Agg::Min => self.min.front().map_or(f64::NAN, |p| p.1),
            Agg::Max => self.max.front().map_or(f64::NAN, |p| p.1),
            Agg::Rms => ((self.sq + self.sq_c) / n).sqrt(),
            Agg::StdDev => {
                if self.n <= 64 {
                    return exact(agg, window);
                }
                let mean = sum / n;
                ((self.sq + self.sq_c) / n - mean * mean).max(0.0).sqrt()
            }
            Agg::Percentile(_) => exact(agg, window),
        }
    }
}

/// Direct computation over a window (non-finite values, small std windows, percentiles).
pub(crate) fn exact(agg: Agg, w: &[f64]) -> f64 {
    let n = w.len() as f64;
    match agg {
        Agg::Count => n,
        Agg::Sum => w.iter().sum(),
        Agg::Mean => w.iter().sum::<f64>() / n,
        Agg::Min => w.iter().copied().fold(f64::INFINITY, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.min(v)
            }
        }),
        Agg::Max => w.iter().copied().fold(f64::NEG_INFINITY, |m, v| {
            if v.is_nan() || m.is_nan() {
                f64::NAN
            } else {
                m.max(v)
            }
        }),
        Agg::Rms => (w.iter().map(|v| v * v).sum::<f64>() / n).sqrt(),
        Agg::StdDev => {
            let mean = w.iter().sum::<f64>() / n;
            (w.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
        }
        Agg::Percentile(p) => {
            if w.iter().any(|v| v.is_nan()) || w.is_empty() {
                return f64::NAN;
            }
            let mut s = w.to_vec();
            s.sort_by(f64::total_cmp);
            let rank = p.clamp(0.0, 1.0) * (s.len() - 1) as f64;
            let (i, frac) = (rank.floor() as usize, rank - rank.floor());
            let next = s.get(i + 1).copied().unwrap_or(s[i]);
            s[i] + (next - s[i]) * frac
        }
    }
}
