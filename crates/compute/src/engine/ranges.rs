//! Range series. `ranges(e, a, b)` returns every range that intersects `[a, b]`
//! (`start <= b` and `end >= a`, inclusive), computed from the data up to `b`, with its
//! **true** start even when that lies before `a` (the evaluator looks back as far as it
//! must). A range's `end` is the first timestamp not in it; `None` means still open at `b`
//! (or, for `not`, unbounded); a `None` start is the beginning of time.
//!
//! ```text
//!   predicate  T  T  F  T  T  T        (points, t ascending)
//!   ranges     [t0,  t2)  [t3, open)
//! ```

use crate::columns::Columns;
use crate::engine::intervals::{complement, intersect, merge, Range};
use crate::engine::scalar::{compare, truthy};
use crate::engine::{pair_groups, Engine, Grouped, Leaves, Tags};
use crate::ir::{AnySeries, Persistence, Ranges};

impl Engine<'_> {
    pub(crate) fn ranges(&self, e: &Ranges, a: i64, b: i64) -> Grouped<Vec<Range>> {
        let out = match e {
            Ranges::Runs {
                predicate,
                persistence,
            } => self.runs(predicate, *persistence, a, b),
            Ranges::Union(inputs) => self.closure(a, |lo| {
                let each: Vec<_> = inputs.iter().map(|x| self.ranges(x, lo, b)).collect();
                pair_groups(&each)
                    .into_iter()
                    .map(|(g, m)| (g, merge(m.into_iter().flatten().copied().collect())))
                    .collect()
            }),
            Ranges::Intersect(inputs) => {
                let each: Vec<_> = inputs.iter().map(|x| self.ranges(x, a, b)).collect();
                pair_groups(&each)
                    .into_iter()
                    .map(|(g, m)| {
                        let mut it = m.into_iter();
                        let first = it.next().cloned().unwrap_or_default();
                        (
                            g,
                            it.fold(merge(first), |acc, r| intersect(&acc, &merge(r.clone()))),
                        )
                    })
                    .collect()
            }
            Ranges::Not(input) => self.not(input, a, b),
            Ranges::DurationFilter {
                input,
                op,
                duration,
                window_bound,
            } => self
                .ranges(input, a, b)
                .into_iter()
                .map(|(g, rs)| {
                    let keep = rs
                        .into_iter()
                        .filter(|r| {
                            let d = match (r.start, r.end) {
                                (Some(s), Some(e)) => (e - s) as f64,
                                (Some(s), None) if *window_bound => (b - s) as f64,
                                _ => f64::INFINITY,
                            };
                            compare(*op, d, *duration as f64)
                        })
                        .collect();
                    (g, keep)
                })
                .collect(),
            Ranges::Padded {
                input,
                before,
                after,
            } => self.closure(a, |lo| {
                self.ranges(input, lo.saturating_sub(*after), b)
                    .into_iter()
                    .map(|(g, rs)| {
                        let padded = rs
                            .into_iter()
                            .map(|r| Range {
                                start: r.start.map(|s| s.saturating_sub(*before)),
                                end: r.end.map(|e| e.saturating_add(*after)),
                            })
                            .collect();
                        (g, merge(padded))
                    })
                    .collect()
            }),
            Ranges::OnChange(input) => self.on_change(input, a, b),
            Ranges::Crossover(diff) => {
                let leaves = Leaves::of_num(diff);
                self.with_history(&leaves, a, b, 1, |lo, hi| self.num(diff, lo, hi), 0)
                    .into_iter()
                    .map(|(g, c)| {
                        let sign = |v: f64| {
                            if v.is_nan() {
                                None
                            } else {
                                Some(v.partial_cmp(&0.0))
                            }
                        };
                        let mut out = Vec::new();
                        for i in 1..c.ts.len() {
                            let t = c.ts[i];
                            if t < a || t > b {
                                continue;
                            }
                            if let (Some(p), Some(n)) = (sign(c.values[i - 1]), sign(c.values[i])) {
                                if p != n {
                                    out.push(Range {
                                        start: Some(t),
                                        end: Some(t),
                                    });
                                }
                            }
                        }
                        (g, out)
                    })
                    .collect()
            }
        };
        out.into_iter()
            .map(|(g, rs)| (g, rs.into_iter().filter(|r| r.touches(a, b)).collect()))
            .collect()
    }

    /// The ranges of `Runs` over `[a, b]` for a live update, when the held ranges say per
    /// group since when a run has been open (`open_since`) and nothing before `a` changed:
    /// the predicate is read from the point before `a` only, and a run true there keeps
    /// the held start instead of reading back through it (a run true for seconds would
    /// otherwise be read whole on every update). `None` when that point does not settle
    /// it (persistence, a group with nothing read before `a`, a true point the held
    /// ranges do not show open); then the caller evaluates from scratch.
    pub(crate) fn runs_continued(
        &self,
        e: &Ranges,
        a: i64,
        b: i64,
        open_since: impl Fn(&Tags) -> Option<i64>,
    ) -> Option<Grouped<Vec<Range>>> {
        let Ranges::Runs {
            predicate,
            persistence,
        } = e
        else {
            return None;
        };
        if *persistence != Persistence::default() {
            return None;
        }
        let lo = self.guess_start(&Leaves::of_num(predicate), a, 1).min(a);
        let mut out = Vec::new();
        for (g, c) in self.num(predicate, lo, b) {
            let (&first, &value) = c.ts.first().zip(c.values.first())?;
            if first >= a {
                return None;
            }
            let mut rs = runs_of(&c, *persistence);
            if truthy(value) {
                let since = open_since(&g).filter(|&s| s <= first)?;
                if let Some(r) = rs.first_mut() {
                    r.start = Some(since);
                }
            }
            rs.retain(|r| r.touches(a, b));
            out.push((g, rs));
        }
        Some(out)
    }

    /// Re-evaluates from the earliest start found until no earlier range appears, so
    /// merged ranges carry their true start.
    fn closure(&self, a: i64, eval: impl Fn(i64) -> Grouped<Vec<Range>>) -> Grouped<Vec<Range>> {
        let mut lo = a;
        loop {
            let out = eval(lo);
            let earliest = out
                .iter()
                .flat_map(|(_, rs)| rs.iter().map(|r| r.lo()))
                .min()
                .unwrap_or(lo);
            if earliest >= lo || earliest == i64::MIN {
                return out;
            }
            lo = earliest;
        }
    }

    /// Runs of points where the predicate holds, with persistence.
    fn runs(
        &self,
        predicate: &crate::ir::Num,
        p: Persistence,
        a: i64,
        b: i64,
    ) -> Grouped<Vec<Range>> {
        let leaves = Leaves::of_num(predicate);
        let mut lo = self.guess_start(&leaves, a, 1).min(a);
        let mut data = self.num(predicate, lo, b);
        loop {
            // Every run touching [a, b] starts after a false point before `a`.
            let complete = data.iter().all(|(_, c)| {
                c.values
                    .iter()
                    .position(|&v| !truthy(v))
                    .is_some_and(|i| c.ts[i] < a)
            });
            if complete || !self.data_before(&leaves, lo) {
                return data.into_iter().map(|(g, c)| (g, runs_of(&c, p))).collect();
            }
            let back = a.saturating_sub(lo).max(1_000);
            let earlier = a.saturating_sub(back.saturating_mul(2));
            // Only the stretch before what is read already: a run that has been true for
            // seconds costs its points once, not once per doubling.
            data = prepend(self.num(predicate, earlier, lo.saturating_sub(1)), data)
                .unwrap_or_else(|| self.num(predicate, earlier, b));
            lo = earlier;
        }
    }

    fn not(&self, input: &Ranges, a: i64, b: i64) -> Grouped<Vec<Range>> {
        let leaves = Leaves::of_ranges(input);
        let mut lo = self.guess_start(&leaves, a, 2).min(a);
        loop {
            let child = self.ranges(input, lo, b);
            let complete = child
                .iter()
                .all(|(_, rs)| rs.iter().any(|r| r.end.is_some_and(|e| e < a)));
            if complete || !self.data_before(&leaves, lo) {
                return child
                    .into_iter()
                    .map(|(g, rs)| (g, complement(&merge(rs))))
                    .collect();
            }
            let back = a.saturating_sub(lo).max(1_000);
            lo = a.saturating_sub(back.saturating_mul(2));
        }
    }

    fn on_change(&self, input: &AnySeries, a: i64, b: i64) -> Grouped<Vec<Range>> {
        let leaves = Leaves::of_any(input);
        let instants = |changes: Vec<i64>| {
            changes
                .into_iter()
                .filter(|t| *t >= a && *t <= b)
                .map(|t| Range {
                    start: Some(t),
                    end: Some(t),
                })
                .collect::<Vec<_>>()
        };
        match input {
            AnySeries::Numeric(n) => self
                .with_history(&leaves, a, b, 1, |lo, hi| self.num(n, lo, hi), 0)
                .into_iter()
                .map(|(g, c)| {
                    (
                        g,
                        instants(changes(&c, |x, y| x.to_bits() == y.to_bits() || x == y)),
                    )
                })
                .collect(),
            AnySeries::Enum(e) => self
                .with_history(&leaves, a, b, 1, |lo, hi| self.enum_series(e, lo, hi), 0)
                .into_iter()
                .map(|(g, c)| (g, instants(changes(&c, |x, y| x == y))))
                .collect(),
            AnySeries::Log(l) => self
                .with_history(&leaves, a, b, 1, |lo, hi| self.logs(l, lo, hi), 0)
                .into_iter()
                .map(|(g, c)| (g, instants(changes(&c, |x, y| x.0 == y.0))))
                .collect(),
        }
    }
}

fn changes<V>(c: &Columns<V>, same: impl Fn(&V, &V) -> bool) -> Vec<i64> {
    (1..c.ts.len())
        .filter(|&i| !same(&c.values[i - 1], &c.values[i]))
        .map(|i| c.ts[i])
        .collect()
}

/// `earlier` followed by `later`, group by group, when both name the same groups in the
/// same order (the groups of a series do not depend on the range read).
fn prepend(
    earlier: Grouped<Columns<f64>>,
    mut later: Grouped<Columns<f64>>,
) -> Option<Grouped<Columns<f64>>> {
    let same =
        earlier.len() == later.len() && earlier.iter().zip(&later).all(|((g, _), (h, _))| g == h);
    if !same {
        return None;
    }
    for ((_, mut before), (_, after)) in earlier.into_iter().zip(&mut later) {
        before.ts.extend_from_slice(&after.ts);
        before.values.extend_from_slice(&after.values);
        before.series.extend_from_slice(&after.series);
        *after = before;
    }
    Some(later)
}

/// Ranges of consecutive true points. A run ends at the first false point (its `end`) or
/// stays open. It is kept when it has `min_points` points and lasts `min_duration`
/// (to its end, or to its last point while open).
fn runs_of(c: &Columns<f64>, p: Persistence) -> Vec<Range> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.ts.len() {
        if !truthy(c.values[i]) {
            i += 1;
            continue;
        }
        let mut j = i;
        while j < c.ts.len() && truthy(c.values[j]) {
            j += 1;
        }
        let start = c.ts[i];
        let end = c.ts.get(j).copied();
        let span = end.unwrap_or(c.ts[j - 1]) - start;
        if j - i >= p.min_points.max(1) && span >= p.min_duration {
            let start = if p.start_at_persistence {
                let nth = c.ts[i + p.min_points.max(1) - 1];
                let s = nth.max(start.saturating_add(p.min_duration));
                end.map_or(s, |e| s.min(e))
            } else {
                start
            };
            out.push(Range {
                start: Some(start),
                end,
            });
        }
        i = j;
    }
    out
}
