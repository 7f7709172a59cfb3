//! Rolling aggregations (`numericAggregation` over `rollingTime` / `rollingPoints`, and
//! `rollingOperation`): the sliding accumulator, evaluation from scratch, and the state a
//! live computation keeps per rolling node between updates, so that an in-order update
//! reads only its new points and the points that leave the window, never the window.
//!
//! ```text
//!   held at `upto`:   acc  = the input points in (upto − w, upto]   (time window w)
//!                            = the last n input points <= upto       (n-point window)
//!                     tail = the outputs in [tail_from, upto]
//!   update to `b`:    read the input in (upto, b]              new points; upto' = the
//!                                                              newest of them (or upto)
//!                     read the input in (upto − w, upto' − w]  points leaving (time window)
//!                     per new point t: push it, pop what is <= t − w, output
//!                     pop the rest  →  acc = the input points in (upto' − w, upto']
//! ```
//!
//! A state is as of the newest input point it read, not as of the end of the call: a
//! writer's batch usually carries points older than the previous update's end (they were
//! taken before it and written after), and those land after the newest point read, so
//! they continue the state instead of dropping it.
//!
//! A call `eval(a, b)` continues the held state when `a >= tail_from` (the outputs in
//! `[a, upto]` are held) and every group of the new points has a state; anything else
//! (an earlier range, a new group, a percentile) is evaluated from scratch, which also
//! leaves a state for the next call. The live computation drops a state when a change
//! lands at or before its `upto` (after the input's own look-back): see
//! [`RollingStates::invalidate`].
//!
//! Sums are Neumaier-compensated running sums with additions and subtractions, so a
//! continued state and a fresh evaluation may differ in the last bits (the property tests
//! compare with a relative tolerance of 1e-9). The error of such a sum grows with the
//! number of points that passed through it, so a state that has popped
//! [`REANCHOR_WINDOWS`](crate::engine::rolling_acc::REANCHOR_WINDOWS) windows' worth of
//! points is dropped and the next update starts again from a fresh sum; a window that
//! empties restarts at an exact zero.

use std::cell::RefCell;

use crate::columns::Columns;
use crate::engine::rolling_acc::{exact, RollingAcc, MAX_HELD_POINTS};
use crate::engine::{cols, newest_point, take_group, Engine, Grouped, Leaves, Tags};
use crate::ir::{Agg, Num, Window};

/// A state holds at most this many of its latest outputs per group (the calls of one
/// update start at or shortly before the previous end).
const MAX_TAIL: usize = 4_096;

/// The rolling states of a live computation, one slot per rolling node of its plan.
#[derive(Debug, Clone, Default)]
pub(crate) struct RollingStates {
    slots: RefCell<Vec<Option<RollingState>>>,
}

impl RollingStates {
    /// Drops every state whose input may have changed: a change at `earliest_change`
    /// moves the input from `earliest_change − look_back` on.
    pub(crate) fn invalidate(&self, earliest_change: i64) {
        if let Ok(mut slots) = self.slots.try_borrow_mut() {
            for slot in slots.iter_mut() {
                if slot
                    .as_ref()
                    .is_some_and(|s| earliest_change.saturating_sub(s.input_look_back) <= s.upto)
                {
                    *slot = None;
                }
            }
        }
    }

    /// Drops every state.
    pub(crate) fn clear(&self) {
        if let Ok(mut slots) = self.slots.try_borrow_mut() {
            slots.clear();
        }
    }

    fn take(&self, slot: usize) -> Option<RollingState> {
        self.slots
            .try_borrow_mut()
            .ok()
            .and_then(|mut slots| slots.get_mut(slot).and_then(Option::take))
    }

    fn put(&self, slot: usize, state: RollingState) {
        if let Ok(mut slots) = self.slots.try_borrow_mut() {
            if slots.len() <= slot {
                slots.resize_with(slot + 1, || None);
            }
            slots[slot] = Some(state);
        }
    }
}

/// One rolling node's state as of `upto`.
#[derive(Debug, Clone)]
struct RollingState {
    /// Every input point at or before `upto` is in the accumulators; none after it.
    upto: i64,
    /// The outputs in `[tail_from, upto]` are held in each group's tail.
    tail_from: i64,
    /// A change to the data at `t` changes the input from `t − input_look_back` on.
    input_look_back: i64,
    groups: Vec<(Tags, GroupState)>,
}

/// What a held state can do for one call.
enum Continued {
    /// The outputs, and the state to keep (none when it is due for re-anchoring).
    Served(Grouped<Columns<f64>>, Option<RollingState>),
    /// The call asks for an earlier range than the state holds: evaluate it from scratch
    /// and keep the state.
    Earlier(RollingState),
    /// The state cannot serve this call (a new group, an earlier start at a later end,
    /// reads that disagree): evaluate from scratch and keep that state.
    Unusable,
}

#[derive(Debug, Clone)]
struct GroupState {
    acc: RollingAcc,
    tail: Columns<f64>,
}

impl Engine<'_> {
    /// The rolling aggregation of `input` at its points in `[a, b]`.
    pub(crate) fn rolling(
        &self,
        input: &Num,
        window: Window,
        agg: Agg,
        slot: usize,
        a: i64,
        b: i64,
    ) -> Grouped<Columns<f64>> {
        let Some(states) = self.rolling else {
            return self.rolling_scratch(input, window, agg, a, b).0;
        };
        let held = states.take(slot);
        let held_upto = held.as_ref().map(|s| s.upto);
        if let Some(state) = held {
            match self.rolling_continued(state, input, window, agg, a, b) {
                Continued::Served(out, state) => {
                    if let Some(state) = state {
                        states.put(slot, state);
                    }
                    return out;
                }
                Continued::Earlier(state) => {
                    let out = self.rolling_scratch(input, window, agg, a, b).0;
                    states.put(slot, state);
                    return out;
                }
                Continued::Unusable => {}
            }
        }
        let (out, accs, upto) = self.rolling_scratch(input, window, agg, a, b);
        if let Some(accs) = accs.filter(|_| held_upto.is_none_or(|u| upto >= u)) {
            let groups = out
                .iter()
                .zip(accs)
                .map(|((g, c), acc)| (g.clone(), GroupState { acc, tail: copy(c) }))
                .collect();
            let mut state = RollingState {
                upto,
                tail_from: a,
                input_look_back: crate::engine::leaves::look_back_num(input),
                groups,
            };
            state.trim_tails();
            states.put(slot, state);
        }
        out
    }

    /// From scratch, with the accumulator of each group when the window kind can be
    /// continued, all as of the returned time: the newest input point at or before `b`
    /// of any group (see the module docs) but not before `a`, or `b` when there is none.
    fn rolling_scratch(
        &self,
        input: &Num,
        window: Window,
        agg: Agg,
        a: i64,
        b: i64,
    ) -> (Grouped<Columns<f64>>, Option<Vec<RollingAcc>>, i64) {
        let data = match window {
            Window::Time(w) => self.num(input, a.saturating_sub(w).saturating_add(1), b),
            Window::Points(n) => self.with_history(
                &Leaves::of_num(input),
                a,
                b,
                n.saturating_sub(1),
                |lo, hi| self.num(input, lo, hi),
                0,
            ),
        };
        let keeps = continuable(window, agg);
        // At least `a`: the read reaches back one window from `a`, no further.
        let upto = newest_point(&data, b).map_or(b, |newest| newest.max(a.min(b)));
        let mut accs = Vec::with_capacity(data.len());
        let out = data
            .into_iter()
            .map(|(g, c)| {
                let (out, acc) = scratch(&c, window, agg, a, b, upto);
                accs.push(acc);
                (g, out)
            })
            .collect();
        (out, keeps.then_some(accs), upto)
    }

    /// Continues `state` to `b`, or says why it cannot.
    fn rolling_continued(
        &self,
        state: RollingState,
        input: &Num,
        window: Window,
        agg: Agg,
        a: i64,
        b: i64,
    ) -> Continued {
        if a < state.tail_from || !continuable(window, agg) {
            return match b < state.upto {
                true => Continued::Earlier(state),
                false => Continued::Unusable,
            };
        }
        if b <= state.upto {
            let out = state
                .groups
                .iter()
                .map(|(g, s)| (g.clone(), clip_copy(&s.tail, a, b)))
                .collect();
            return Continued::Served(out, Some(state));
        }
        match self.rolling_advanced(state, input, window, agg, a, b) {
            Some((out, state)) => {
                let drifted = state
                    .groups
                    .iter()
                    .any(|(_, s)| s.acc.due_for_reanchor(agg));
                Continued::Served(out, (!drifted).then_some(state))
            }
            None => Continued::Unusable,
        }
    }

    /// Moves `state` from its `upto` to the newest point in `(upto, b]`, reading only the
    /// points entering and leaving the window; `None` when the reads do not match what it
    /// holds.
    fn rolling_advanced(
        &self,
        mut state: RollingState,
        input: &Num,
        window: Window,
        agg: Agg,
        a: i64,
        b: i64,
    ) -> Option<(Grouped<Columns<f64>>, RollingState)> {
        let upto = state.upto;
        let new = self.num(input, upto.saturating_add(1), b);
        let next = newest_point(&new, b).unwrap_or(upto);
        let mut leaving: Vec<Option<(Tags, Columns<f64>)>> = match window {
            Window::Time(w) => self
                .num(
                    input,
                    upto.saturating_sub(w).saturating_add(1),
                    next.saturating_sub(w),
                )
                .into_iter()
                .map(Some)
                .collect(),
            Window::Points(_) => Vec::new(),
        };
        let mut old: Vec<Option<(Tags, GroupState)>> = std::mem::take(&mut state.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut out = Vec::with_capacity(new.len());
        for (i, (g, fresh)) in new.into_iter().enumerate() {
            let (_, mut group) = take_group(&mut old, i, &g)?;
            let gone = take_group(&mut leaving, i, &g).map(|(_, c)| c);
            let produced = group.acc.advance(&fresh, gone.as_ref(), window, agg)?;
            let mut result = clip_copy(&group.tail, a, upto);
            let from = produced.ts.partition_point(|&t| t < a);
            result.ts.extend_from_slice(&produced.ts[from..]);
            result.values.extend_from_slice(&produced.values[from..]);
            group.tail = copy(&result);
            state.groups.push((g.clone(), group));
            out.push((g, result));
        }
        // Leaving points of a group that has no new points' read: the reads disagree.
        if leaving.iter().flatten().any(|(_, c)| !c.ts.is_empty()) {
            return None;
        }
        state.upto = next;
        state.tail_from = a;
        state.trim_tails();
        Some((out, state))
    }
}

impl RollingState {
    /// Keeps at most [`MAX_TAIL`] outputs per group, moving `tail_from` past what is cut
    /// (ties at the cut go too, so every group holds all of `[tail_from, upto]`).
    fn trim_tails(&mut self) {
        let cut = self
            .groups
            .iter()
            .filter_map(|(_, s)| {
                let n = s.tail.ts.len();
                (n > MAX_TAIL).then(|| s.tail.ts[n - MAX_TAIL - 1].saturating_add(1))
            })
            .max();
        if let Some(cut) = cut {
            self.tail_from = self.tail_from.max(cut);
            for (_, s) in &mut self.groups {
                let from = s.tail.ts.partition_point(|&t| t < cut);
                s.tail.ts.drain(..from);
                s.tail.values.drain(..from);
            }
        }
    }
}

/// Whether a state can continue this aggregation: percentiles need the whole window.
fn continuable(window: Window, agg: Agg) -> bool {
    !matches!(agg, Agg::Percentile(_))
        && match window {
            Window::Time(_) => true,
            Window::Points(n) => n <= MAX_HELD_POINTS,
        }
}

fn copy(c: &Columns<f64>) -> Columns<f64> {
    cols(c.ts.clone(), c.values.clone())
}

/// The points of `c` in `[a, b]`, copied.
fn clip_copy(c: &Columns<f64>, a: i64, b: i64) -> Columns<f64> {
    let lo = c.ts.partition_point(|&t| t < a);
    let hi = c.ts.partition_point(|&t| t <= b).max(lo);
    cols(c.ts[lo..hi].to_vec(), c.values[lo..hi].to_vec())
}

/// One output per input point in `[a, b]`, aggregating its window (partial windows
/// included), and the accumulator as of `upto` (at or after every point of `c` up to
/// `b`): the points in `(upto − w, upto]`, or the last `n`.
fn scratch(
    c: &Columns<f64>,
    window: Window,
    agg: Agg,
    a: i64,
    b: i64,
    upto: i64,
) -> (Columns<f64>, RollingAcc) {
    let first = c.ts.partition_point(|&t| t < a);
    let last = c.ts.partition_point(|&t| t <= b).max(first);
    let leaves = |i: usize, t: i64, lo: usize| match window {
        Window::Time(w) => c.ts[lo] <= t.saturating_sub(w),
        Window::Points(n) => lo.saturating_add(n.max(1)) <= i,
    };
    // Where the first window starts (the read may begin earlier).
    let mut lo = match (window, c.ts.get(first)) {
        (Window::Time(w), Some(&t)) if first < last => {
            c.ts.partition_point(|&x| x <= t.saturating_sub(w))
        }
        (Window::Points(n), _) if first < last => (first + 1).saturating_sub(n.max(1)),
        (Window::Time(w), _) => c.ts.partition_point(|&x| x <= upto.saturating_sub(w)),
        (Window::Points(n), _) => last.saturating_sub(n.max(1)),
    };
    let mut acc = RollingAcc::new(window, agg);
    let mut hi = lo;
    let (mut ts, mut vs) = (
        Vec::with_capacity(last - first),
        Vec::with_capacity(last - first),
    );
    for i in first..last {
        let t = c.ts[i];
        while hi <= i {
            acc.push(c.values[hi]);
            hi += 1;
        }
        while lo < hi && leaves(i, t, lo) {
            acc.pop(c.values[lo]);
            lo += 1;
        }
        ts.push(t);
        vs.push(
            acc.get(agg)
                .unwrap_or_else(|| exact(agg, &c.values[lo..hi])),
        );
    }
    // The state as of `upto`: what the window ending there holds.
    while hi < last {
        acc.push(c.values[hi]);
        hi += 1;
    }
    while lo < hi
        && match window {
            Window::Time(w) => c.ts[lo] <= upto.saturating_sub(w),
            Window::Points(n) => hi - lo > n.max(1),
        }
    {
        acc.pop(c.values[lo]);
        lo += 1;
    }
    (cols(ts, vs), acc)
}
