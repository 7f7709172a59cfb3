//! The sliding accumulator of a rolling aggregation: the points pushed and not yet popped,
//! kept as running, Neumaier-compensated sums and monotonic min/max deques, so a window
//! that slides by one point costs one push and the pops, not a pass over the window; and
//! the direct computation over a window's values where a running form would not do.

use std::collections::VecDeque;

use crate::columns::Columns;
use crate::engine::cols;
use crate::engine::scalar::{nan_max, nan_min};
use crate::ir::{Agg, Window};

/// Sums are re-anchored (the state dropped, the next update evaluated from scratch) after
/// this many windows' worth of points have left the window, so their rounding error stays
/// that of a fresh evaluation; amortized, it adds 1/64 of a window read per point.
pub(crate) const REANCHOR_WINDOWS: u64 = 64;

/// `rollingPoints` windows longer than this keep no state (it holds the window's values).
pub(super) const MAX_HELD_POINTS: usize = 65_536;

/// Standard deviations of windows up to this many points are computed directly from the
/// values (two passes), which the accumulator keeps for them.
const EXACT_STD_POINTS: usize = 64;

/// Sliding-window aggregates over the points pushed and not yet popped (first in, first
/// out). Sums are Neumaier-compensated; min and max are monotonic deques keyed by each
/// point's push sequence number; non-finite values are counted apart, so a window
/// holding one gives the IEEE result without a pass over the values. Only what the
/// aggregation reads is kept up to date (the per-point cost of a live update).
#[derive(Debug, Clone)]
pub(crate) struct RollingAcc {
    /// Squares (standard deviation, RMS), minimum, maximum: kept only when read.
    squares: bool,
    track_min: bool,
    track_max: bool,
    n: usize,
    nan: usize,
    pos_inf: usize,
    neg_inf: usize,
    sum: f64,
    sum_c: f64,
    sq: f64,
    sq_c: f64,
    max: VecDeque<(u64, f64)>,
    min: VecDeque<(u64, f64)>,
    pushed: u64,
    popped: u64,
    /// The latest pushed values, at most `recent_cap`: the whole window when it is no
    /// longer (small standard deviations, and the values an n-point window drops).
    recent: VecDeque<f64>,
    recent_cap: usize,
}

impl RollingAcc {
    pub(super) fn new(window: Window, agg: Agg) -> Self {
        let std = matches!(agg, Agg::StdDev);
        let small_std = if std { EXACT_STD_POINTS } else { 0 };
        let recent_cap = match window {
            Window::Points(n) if n <= MAX_HELD_POINTS => n.max(small_std),
            _ => small_std,
        };
        RollingAcc {
            squares: matches!(agg, Agg::StdDev | Agg::Rms),
            track_min: matches!(agg, Agg::Min),
            track_max: matches!(agg, Agg::Max),
            n: 0,
            nan: 0,
            pos_inf: 0,
            neg_inf: 0,
            sum: 0.0,
            sum_c: 0.0,
            sq: 0.0,
            sq_c: 0.0,
            max: VecDeque::new(),
            min: VecDeque::new(),
            pushed: 0,
            popped: 0,
            recent: VecDeque::new(),
            recent_cap,
        }
    }

    pub(super) fn push(&mut self, v: f64) {
        let seq = self.pushed;
        self.pushed += 1;
        self.n += 1;
        if v.is_nan() {
            self.nan += 1;
        } else if v == f64::INFINITY {
            self.pos_inf += 1;
        } else if v == f64::NEG_INFINITY {
            self.neg_inf += 1;
        } else {
            neumaier(&mut self.sum, &mut self.sum_c, v);
            if self.squares {
                neumaier(&mut self.sq, &mut self.sq_c, v * v);
            }
        }
        if self.track_max && !v.is_nan() {
            while self.max.back().is_some_and(|&(_, x)| x <= v) {
                self.max.pop_back();
            }
            self.max.push_back((seq, v));
        }
        if self.track_min && !v.is_nan() {
            while self.min.back().is_some_and(|&(_, x)| x >= v) {
                self.min.pop_back();
            }
            self.min.push_back((seq, v));
        }
        if self.recent_cap > 0 {
            if self.recent.len() >= self.recent_cap {
                self.recent.pop_front();
            }
            self.recent.push_back(v);
        }
    }

    /// Removes the oldest point, whose value is `v`; false when nothing is held.
    pub(super) fn pop(&mut self, v: f64) -> bool {
        if self.n == 0 {
            return false;
        }
        let seq = self.popped;
        self.popped += 1;
        self.n -= 1;
        if v.is_nan() {
            self.nan = self.nan.saturating_sub(1);
        } else if v == f64::INFINITY {
            self.pos_inf = self.pos_inf.saturating_sub(1);
        } else if v == f64::NEG_INFINITY {
            self.neg_inf = self.neg_inf.saturating_sub(1);
        } else {
            neumaier(&mut self.sum, &mut self.sum_c, -v);
            if self.squares {
                neumaier(&mut self.sq, &mut self.sq_c, -(v * v));
            }
        }
        if self.max.front().is_some_and(|&(s, _)| s == seq) {
            self.max.pop_front();
        }
        if self.min.front().is_some_and(|&(s, _)| s == seq) {
            self.min.pop_front();
        }
        if self.n == 0 {
            // An empty window restarts from an exact zero.
            (self.sum, self.sum_c, self.sq, self.sq_c) = (0.0, 0.0, 0.0, 0.0);
        }
        true
    }

    /// The values of the window, oldest first, when all are kept.
    pub(super) fn window_values(&self) -> Option<impl Iterator<Item = f64> + '_> {
        let skip = self.recent.len().checked_sub(self.n)?;
        Some(self.recent.iter().skip(skip).copied())
    }

    /// The aggregate of the window; `None` for a percentile (the caller has the values).
    pub(super) fn get(&self, agg: Agg) -> Option<f64> {
        let n = self.n as f64;
        if self.n == 0 {
            return Some(if matches!(agg, Agg::Count | Agg::Sum) {
                0.0
            } else {
                f64::NAN
            });
        }
        let infinite = self.pos_inf + self.neg_inf > 0;
        let sum = || match (self.pos_inf > 0, self.neg_inf > 0) {
            (true, true) => f64::NAN,
            (true, false) => f64::INFINITY,
            (false, true) => f64::NEG_INFINITY,
            (false, false) => self.sum + self.sum_c,
        };
        if self.nan > 0 && !matches!(agg, Agg::Count | Agg::Percentile(_)) {
            return Some(f64::NAN);
        }
        Some(match agg {
            Agg::Count => n,
            Agg::Sum => sum(),
            Agg::Mean => sum() / n,
            Agg::Min => self.min.front().map_or(f64::NAN, |p| p.1),
            Agg::Max => self.max.front().map_or(f64::NAN, |p| p.1),
            Agg::Rms if infinite => f64::INFINITY,
            Agg::Rms => ((self.sq + self.sq_c) / n).sqrt(),
            Agg::StdDev if infinite => f64::NAN,
            Agg::StdDev if self.n <= EXACT_STD_POINTS => {
                let values: Vec<f64> = self.window_values()?.collect();
                exact(agg, &values)
            }
            Agg::StdDev => {
                let mean = sum() / n;
                ((self.sq + self.sq_c) / n - mean * mean).max(0.0).sqrt()
            }
            Agg::Percentile(_) => return None,
        })
    }

    /// Moves the window over `fresh` (the input points after the state's end, in order),
    /// popping `leaving` (a time window's points that drop out by the last of them),
    /// and returns one output per fresh point; `None` if the points do not match what is
    /// held (then the caller evaluates from scratch).
    pub(super) fn advance(
        &mut self,
        fresh: &Columns<f64>,
        leaving: Option<&Columns<f64>>,
        window: Window,
        agg: Agg,
    ) -> Option<Columns<f64>> {
        let (mut ts, mut vs) = (
            Vec::with_capacity(fresh.ts.len()),
            Vec::with_capacity(fresh.ts.len()),
        );
        let (lt, lv): (&[i64], &[f64]) = leaving.map_or((&[], &[]), |c| (&c.ts, &c.values));
        let mut li = 0;
        for (&t, &v) in fresh.ts.iter().zip(&fresh.values) {
            match window {
                Window::Time(w) => {
                    self.push(v);
                    while li < lt.len() && lt[li] <= t.saturating_sub(w) {
                        if !self.pop(lv[li]) {
                            return None;
                        }
                        li += 1;
                    }
                }
                Window::Points(n) => {
                    if self.n >= n.max(1) {
                        let oldest = self.window_values()?.next()?;
                        self.pop(oldest);
                    }
                    self.push(v);
                }
            }
            ts.push(t);
            vs.push(self.get(agg)?);
        }
        // The rest leaves by the end of the update.
        for &v in &lv[li..] {
            if !self.pop(v) {
                return None;
            }
        }
        Some(cols(ts, vs))
    }

    /// Whether enough points passed through the sums that they should start afresh.
    pub(super) fn due_for_reanchor(&self, agg: Agg) -> bool {
        matches!(agg, Agg::Sum | Agg::Mean | Agg::StdDev | Agg::Rms)
            && self.popped > REANCHOR_WINDOWS.saturating_mul((self.n as u64).max(1_024))
    }
}

fn neumaier(sum: &mut f64, c: &mut f64, x: f64) {
    let t = *sum + x;
    if sum.abs() >= x.abs() {
        *c += (*sum - t) + x;
    } else {
        *c += (x - t) + *sum;
    }
    *sum = t;
}

/// Direct computation over a window's values (small standard deviations, percentiles,
/// `union` of coinciding points).
pub(crate) fn exact(agg: Agg, w: &[f64]) -> f64 {
    let n = w.len() as f64;
    match agg {
        Agg::Count => n,
        Agg::Sum => w.iter().sum(),
        Agg::Mean => w.iter().sum::<f64>() / n,
        Agg::Min => nan_min(w.iter().copied()),
        Agg::Max => nan_max(w.iter().copied()),
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
