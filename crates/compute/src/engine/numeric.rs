//! Pointwise numeric nodes and the alignment of several inputs (PROTOCOL §6):
//! output timestamps are the union of the inputs' timestamps in `[a, b]`; each input
//! contributes its last point at or before `t` if that point is at most `fill` old
//! (inclusive); a timestamp where any input has no value is dropped; constants add no
//! timestamps. Booleans are `1.0` / `0.0`; NaN compares false.

use crate::columns::Columns;
use crate::engine::intervals::keep_inside;
use crate::engine::scalar::{bool_f, compare, nan_max, nan_min};
use crate::engine::{clip, cols, pair2, pair_groups, Engine, Grouped, Leaves};
use crate::ir::{Combine, Num, Unary};

impl Engine<'_> {
    /// Points of `e` in `[a, b]`.
    pub(crate) fn num(&self, e: &Num, a: i64, b: i64) -> Grouped<Columns<f64>> {
        match e {
            Num::Channel(c) => self.read_numeric(c, a, b),
            // A constant alone has no timestamps; it only takes part in alignment.
            Num::Constant(_) => vec![(Default::default(), cols(Vec::new(), Vec::new()))],
            Num::Unary(op, x) => map(self.num(x, a, b), |v| unary(*op, v)),
            Num::Combine { op, inputs, fill } => self.combine(*op, inputs, *fill, a, b),
            Num::Shift(x, d) => self
                .num(x, a.saturating_sub(*d), b.saturating_sub(*d))
                .into_iter()
                .map(|(g, mut c)| {
                    c.ts.iter_mut().for_each(|t| *t = t.saturating_add(*d));
                    (g, c)
                })
                .collect(),
            Num::ThresholdFilter {
                input,
                op,
                threshold,
            } => filter(self.num(input, a, b), |v| compare(*op, v, *threshold)),
            Num::DropNan(x) => filter(self.num(x, a, b), |v| !v.is_nan()),
            Num::SelectTags { input, keys } => {
                let mut out = self.num(input, a, b);
                for (g, _) in &mut out {
                    g.retain(|k, _| keys.contains(k));
                }
                // Stable: groups whose kept tags coincide keep their input order.
                out.sort_by(|x, y| x.0.cmp(&y.0));
                out
            }
            Num::RangeFilter { input, ranges } => {
                let data = self.num(input, a, b);
                let ranges = self.ranges(ranges, a, b);
                pair2(&data, &ranges)
                    .into_iter()
                    .map(|(g, d, r)| (g, keep_inside(d, r)))
                    .collect()
            }
            Num::EnumToNumeric {
                input,
                mapping,
                default,
            } => self
                .enum_series(input, a, b)
                .into_iter()
                .map(|(g, c)| {
                    let (mut ts, mut vs) = (Vec::new(), Vec::new());
                    for (t, v) in c.ts.iter().zip(&c.values) {
                        if let Some(x) = mapping.get(&**v).copied().or(*default) {
                            ts.push(*t);
                            vs.push(x);
                        }
                    }
                    (g, cols(ts, vs))
                })
                .collect(),
            Num::EnumTest { input, filter } => self
                .enum_series(input, a, b)
                .into_iter()
                .map(|(g, c)| {
                    let vs = c.values.iter().map(|v| bool_f(filter.test(v))).collect();
                    (g, cols(c.ts, vs))
                })
                .collect(),
            Num::Derivative { .. }
            | Num::ValueDifference { .. }
            | Num::TimeDifference { .. }
            | Num::Rolling { .. }
            | Num::CumulativeSum { .. }
            | Num::Integral { .. } => self.windowed(e, a, b),
        }
    }

    fn combine(
        &self,
        op: Combine,
        inputs: &[Num],
        fill: i64,
        a: i64,
        b: i64,
    ) -> Grouped<Columns<f64>> {
        if let Combine::Union(agg) = op {
            return self.union(inputs, agg, a, b);
        }
        let evaluated: Vec<Grouped<Input>> = inputs
            .iter()
            .map(|x| match x {
                Num::Constant(v) => vec![(Default::default(), Input::Constant(*v))],
                x => self
                    .aligned_input(x, fill, a, b)
                    .into_iter()
                    .map(|(g, c)| (g, Input::Series(c)))
                    .collect(),
            })
            .collect();
        pair_groups(&evaluated)
            .into_iter()
            .map(|(g, members)| (g, align(op, &members, fill, a, b)))
            .collect()
    }
}

impl Engine<'_> {
    /// An input of an alignment over `[a, b]`: its points there and, per group, its points
    /// back to the last one before `a`, which alignment fills forward if it is at most
    /// `fill` old. Reads back from a guess (the leaves' previous points), and only when a
    /// group has no point between it and `a`, from `a − fill`: a live update of an
    /// alignment reads about one point of look-back per input, not the whole fill span
    /// (1 s by default).
    fn aligned_input(&self, x: &Num, fill: i64, a: i64, b: i64) -> Grouped<Columns<f64>> {
        let floor = a.saturating_sub(fill);
        if floor >= a {
            return self.num(x, a, b);
        }
        let guess = self.guess_start(&Leaves::of_num(x), a, 1).clamp(floor, a);
        if guess > floor {
            let out = self.num(x, guess, b);
            if out
                .iter()
                .all(|(_, c)| c.ts.first().is_some_and(|&t| t < a))
            {
                return out;
            }
        }
        self.num(x, floor, b)
    }

    fn union(
        &self,
        inputs: &[Num],
        agg: Option<crate::ir::Agg>,
        a: i64,
        b: i64,
    ) -> Grouped<Columns<f64>> {
        let evaluated: Vec<_> = inputs.iter().map(|x| self.num(x, a, b)).collect();
        pair_groups(&evaluated)
            .into_iter()
            .map(|(g, members)| {
                let mut points: Vec<(i64, usize, f64)> = Vec::new();
                for (k, c) in members.iter().enumerate() {
                    points.extend(c.ts.iter().zip(&c.values).map(|(t, v)| (*t, k, *v)));
                }
                points.sort_by_key(|p| (p.0, p.1));
                let (mut ts, mut vs) = (Vec::new(), Vec::new());
                let mut i = 0;
                while i < points.len() {
                    let t = points[i].0;
                    let j = i + points[i..].partition_point(|p| p.0 == t);
                    let group: Vec<f64> = points[i..j].iter().map(|p| p.2).collect();
                    ts.push(t);
                    vs.push(match agg {
                        None => group[0],
                        Some(agg) => crate::engine::rolling_acc::exact(agg, &group),
                    });
                    i = j;
                }
                (g, cols(ts, vs))
            })
            .collect()
    }
}

/// An aligned input: a series, or a constant valid everywhere.
pub(crate) enum Input {
    Series(Columns<f64>),
    Constant(f64),
}

/// Aligns the inputs on the union of their timestamps in `[a, b]` and applies `op`.
fn align(op: Combine, inputs: &[&Input], fill: i64, a: i64, b: i64) -> Columns<f64> {
    let mut out_ts: Vec<i64> = Vec::new();
    for i in inputs {
        if let Input::Series(c) = i {
            let lo = c.ts.partition_point(|&t| t < a);
            let hi = c.ts.partition_point(|&t| t <= b);
            out_ts.extend_from_slice(&c.ts[lo..hi]);
        }
    }
    out_ts.sort_unstable();
    out_ts.dedup();
    let mut cursors = vec![0usize; inputs.len()];
    let mut values = vec![0.0; inputs.len()];
    let mut exact = vec![false; inputs.len()];
    let (mut ts, mut vs) = (
        Vec::with_capacity(out_ts.len()),
        Vec::with_capacity(out_ts.len()),
    );
    'points: for t in out_ts {
        for (k, input) in inputs.iter().enumerate() {
            match input {
                Input::Constant(v) => {
                    values[k] = *v;
                    exact[k] = false;
                }
                Input::Series(c) => {
                    // Last point at or before t (ties: the last written of that timestamp).
                    let j = &mut cursors[k];
                    while *j < c.ts.len() && c.ts[*j] <= t {
                        *j += 1;
                    }
                    if *j == 0 || t.saturating_sub(c.ts[*j - 1]) > fill {
                        continue 'points;
                    }
                    values[k] = c.values[*j - 1];
                    exact[k] = c.ts[*j - 1] == t;
                }
            }
        }
        ts.push(t);
        vs.push(apply(op, &values, &exact));
    }
    cols(ts, vs)
}

fn apply(op: Combine, v: &[f64], exact: &[bool]) -> f64 {
    let x = |i: usize| v.get(i).copied().unwrap_or(f64::NAN);
    match op {
        Combine::Add => x(0) + x(1),
        Combine::Sub => x(0) - x(1),
        Combine::Mul => x(0) * x(1),
        Combine::Div => x(0) / x(1),
        Combine::FloorDiv => (x(0) / x(1)).floor(),
        Combine::Pow => x(0).powf(x(1)),
        Combine::Mod => x(0) % x(1),
        Combine::Atan2 => x(0).atan2(x(1)),
        // NaN propagates (IEEE max/min would hide it).
        Combine::Max => nan_max(v.iter().copied()),
        Combine::Min => nan_min(v.iter().copied()),
        Combine::Sum => v.iter().sum(),
        Combine::Mean => v.iter().sum::<f64>() / v.len() as f64,
        Combine::Product => v.iter().product(),
        Combine::Union(_) => {
            let _ = exact;
            x(0)
        }
        Combine::Compare(c) => bool_f(compare(c, x(0), x(1))),
        Combine::And => bool_f(x(0) != 0.0 && x(1) != 0.0 && !x(0).is_nan() && !x(1).is_nan()),
        Combine::Or => bool_f((x(0) != 0.0 && !x(0).is_nan()) || (x(1) != 0.0 && !x(1).is_nan())),
        Combine::IfElse => {
            if x(0) != 0.0 && !x(0).is_nan() {
                x(1)
            } else {
                x(2)
            }
        }
    }
}

fn unary(op: Unary, v: f64) -> f64 {
    match op {
        Unary::Abs => v.abs(),
        Unary::Negate => -v,
        Unary::Sqrt => v.sqrt(),
        Unary::Ln => v.ln(),
        Unary::Log10 => v.log10(),
        Unary::Sin => v.sin(),
        Unary::Cos => v.cos(),
        Unary::Tan => v.tan(),
        Unary::Asin => v.asin(),
        Unary::Acos => v.acos(),
        Unary::Affine { mul, add } => v * mul + add,
        Unary::Compare { op, threshold } => bool_f(compare(op, v, threshold)),
        Unary::Bounds {
            lo,
            hi,
            inside,
            inclusive,
        } => {
            if v.is_nan() {
                return 0.0;
            }
            let within = if inclusive {
                lo <= v && v <= hi
            } else {
                lo < v && v < hi
            };
            let outside = if inclusive {
                v <= lo || v >= hi
            } else {
                v < lo || v > hi
            };
            bool_f(if inside { within } else { outside })
        }
    }
}

pub(crate) fn map(g: Grouped<Columns<f64>>, f: impl Fn(f64) -> f64) -> Grouped<Columns<f64>> {
    g.into_iter()
        .map(|(k, mut c)| {
            c.values.iter_mut().for_each(|v| *v = f(*v));
            (k, c)
        })
        .collect()
}

pub(crate) fn filter(
    g: Grouped<Columns<f64>>,
    keep: impl Fn(f64) -> bool,
) -> Grouped<Columns<f64>> {
    g.into_iter()
        .map(|(k, c)| {
            let (ts, vs) =
                c.ts.iter()
                    .zip(&c.values)
                    .filter(|(_, v)| keep(**v))
                    .map(|(t, v)| (*t, *v))
                    .unzip();
            (k, cols(ts, vs))
        })
        .collect()
}

#[allow(dead_code)]
pub(crate) fn clip_all<V>(g: Grouped<Columns<V>>, a: i64, b: i64) -> Grouped<Columns<V>> {
    g.into_iter().map(|(k, c)| (k, clip(c, a, b))).collect()
}
