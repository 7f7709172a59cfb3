//! Nodes that look back along their input: derivative, valueDifference, timeDifference
//! (one point), rolling aggregates (a time or point window, in `rolling`), cumulativeSum
//! and integral (everything since their start timestamp; HTTP compute only).

use crate::columns::Columns;
use crate::engine::{cols, Engine, Grouped, Leaves};
use crate::ir::{AnySeries, Negatives, Num};

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
            Num::Rolling {
                input,
                window,
                agg,
                slot,
            } => self.rolling(input, *window, *agg, *slot, a, b),
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
