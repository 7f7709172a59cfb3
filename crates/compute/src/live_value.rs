//! What a client holds of a live `SelectValue` point (the first or last point of a series
//! in the window), kept per group so an update reads only the changed range.
//!
//! After an update over the window `[start, end]` whose changes all lie at or after
//! `from`, nothing before `from` changed, so the held answer `h` of each group settles
//! most updates without a look at the rest of the window:
//!
//! ```text
//!            start           from           end
//!   window:    [───────────────┼──────────────]      evaluated: [from, end]
//!   last:   a point in [from, end]            → its last point
//!           none there, h < from              → h (none if h < start)
//!           none there, h >= from (replaced)  → search back from `from` (fallback)
//!   first:  start <= h < from                 → h
//!           h < start (it left the window)    → search on from `start`, in growing steps
//!           otherwise                         → the first point of [from, end]
//! ```
//!
//! (Between `h` and the previous end there was no candidate point, which is why a held
//! answer before `from` stays right.)

use crate::engine::{take_group, AnyColumns, Engine, Grouped, Tags};
use crate::ir::AnySeries;
use crate::render::{point_body, Body};
use crate::value::pick;

/// Which point a `SelectValue` picks.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PointQuery<'p> {
    pub(crate) series: &'p AnySeries,
    pub(crate) last: bool,
    pub(crate) skip_nan: bool,
}

/// The selected point of one group: its timestamp and its rendering.
#[derive(Debug, Clone)]
struct Held {
    t: Option<i64>,
    body: Body,
}

/// The selected point of every group, in the engine's group order.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeldPoints {
    groups: Vec<(Tags, Held)>,
}

impl HeldPoints {
    /// The answers over the whole window `[start, end]`.
    pub(crate) fn full(engine: &Engine<'_>, q: PointQuery<'_>, start: i64, end: i64) -> Self {
        let groups = engine
            .any_series(q.series, start, end)
            .into_iter()
            .map(|(g, c)| (g, chosen(&c, q)))
            .collect();
        HeldPoints { groups }
    }

    /// Moves the answers to the window `[start, end]`, given that nothing before `from`
    /// changed since they were computed (`start <= from <= end`).
    pub(crate) fn advance(
        &mut self,
        engine: &Engine<'_>,
        q: PointQuery<'_>,
        from: i64,
        start: i64,
        end: i64,
    ) {
        let fresh = engine.any_series(q.series, from, end);
        let mut old: Vec<Option<(Tags, Held)>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut next: Vec<(Tags, Held)> = Vec::with_capacity(fresh.len());
        // Groups whose answer lies in `[start, from)` but is not known: searched below.
        let mut search: Vec<usize> = Vec::new();
        for (i, (g, c)) in fresh.into_iter().enumerate() {
            let held = take_group(&mut old, i, &g).and_then(|(_, h)| h.t.map(|t| (t, h)));
            let answer = if q.last {
                match (pick(&c, true, q.skip_nan), held) {
                    (Some(k), _) => Some(at(&c, k)),
                    (None, Some((t, h))) if t < from => Some(if t >= start { h } else { none(&c) }),
                    // The held point was replaced by one that no longer qualifies.
                    (None, Some(_)) => None,
                    (None, None) => Some(none(&c)),
                }
            } else {
                match held {
                    Some((t, h)) if t >= start && t < from => Some(h),
                    Some((t, _)) if t < start => None,
                    _ => Some(chosen(&c, q)),
                }
            };
            if answer.is_none() {
                search.push(i);
            }
            // A placeholder until the search fills it in; the first-point search falls
            // back to the first point of `[from, end]`.
            let answer = answer.unwrap_or_else(|| if q.last { none(&c) } else { chosen(&c, q) });
            next.push((g, answer));
        }
        if !search.is_empty() && from > start {
            // Steps start at 1/65,536 of the window: a point or two of a dense series.
            let step = end.saturating_sub(start) >> 16;
            let found = search_between(engine, q, start, from - 1, step, &next, &search);
            for (i, held) in found {
                if let Some(slot) = next.get_mut(i) {
                    slot.1 = held;
                }
            }
        }
        self.groups = next;
    }

    /// The held answers as bodies, one per group.
    pub(crate) fn bodies(&self) -> Grouped<Body> {
        self.groups
            .iter()
            .map(|(g, h)| (g.clone(), h.body.clone()))
            .collect()
    }
}

/// The query's point of `c`, or none.
fn chosen(c: &AnyColumns, q: PointQuery<'_>) -> Held {
    match pick(c, q.last, q.skip_nan) {
        Some(k) => at(c, k),
        None => none(c),
    }
}

fn at(c: &AnyColumns, k: usize) -> Held {
    Held {
        t: c.ts().get(k).copied(),
        body: point_body(c, Some(k)),
    }
}

fn none(c: &AnyColumns) -> Held {
    Held {
        t: None,
        body: point_body(c, None),
    }
}

/// Looks for the answer of the groups at positions `wanted` of `groups` in `[lo, hi]`:
/// forward from `lo` for a first point, backward from `hi` for a last point, in steps
/// that start at `step` and double, so a dense series costs a step or two. Returns the
/// answers found (a first point not found keeps its fallback).
fn search_between(
    engine: &Engine<'_>,
    q: PointQuery<'_>,
    lo: i64,
    hi: i64,
    step: i64,
    groups: &[(Tags, Held)],
    wanted: &[usize],
) -> Vec<(usize, Held)> {
    let mut pending: Vec<usize> = wanted.to_vec();
    let mut found = Vec::new();
    let mut step = step.max(1);
    let mut done_to = if q.last { hi } else { lo };
    loop {
        let (a, b) = if q.last {
            (done_to.saturating_sub(step).max(lo), done_to)
        } else {
            (done_to, done_to.saturating_add(step).min(hi))
        };
        for (g, c) in engine.any_series(q.series, a, b) {
            let Some(pos) = pending
                .iter()
                .position(|&i| groups.get(i).is_some_and(|(t, _)| *t == g))
            else {
                continue;
            };
            if let Some(k) = pick(&c, q.last, q.skip_nan) {
                found.push((pending.swap_remove(pos), at(&c, k)));
            }
        }
        let exhausted = if q.last { a <= lo } else { b >= hi };
        if pending.is_empty() || exhausted {
            return found;
        }
        done_to = if q.last {
            a.saturating_sub(1)
        } else {
            b.saturating_add(1)
        };
        step = step.saturating_mul(2);
    }
}
