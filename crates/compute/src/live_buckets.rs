//! What a live numeric bucketed plot keeps between appends: the statistics of every
//! bucket of each group's window, the latest one open. An append whose changes all lie
//! after the previous end reads only the points after it, however wide the buckets are,
//! and a late joiner's full result is rendered from the held buckets without a read.
//!
//! ```text
//!   buckets:   | k-n | ... | k-1 | k (open: stats of its points up to `upto`) |
//!   append:                                 (upto ......... end]  -> bucket k continued,
//!                                                                    k+1 ... built fresh
//!   window moves: buckets whose stamp is at or before the window start are dropped
//! ```
//!
//! The append resends bucket `k` (its stamp is after `upto`, the append's start) and the
//! buckets after it, never the ones before. When a change lands at or before `upto`, or
//! `upto` sits exactly on a bucket boundary (then bucket `k − 1`, stamped `upto`, must be
//! resent too), the caller rebuilds from the start of the bucket holding the change, and
//! the held buckets from there on are replaced.

use std::collections::VecDeque;

use crate::engine::{take_group, Engine, Grouped, Tags};
use crate::ir::Num;
use crate::render::Body;
use crate::summarize::{continue_buckets, numeric_buckets_plot, StampedAcc};

/// A window with more buckets than this (a fine `resolution`) keeps only its open bucket
/// per group, and its snapshots re-read the window: about 80 bytes a bucket.
const MAX_HELD_BUCKETS: i64 = 65_536;

/// The buckets of each group's window, as of `upto`.
#[derive(Debug, Clone)]
pub(crate) struct OpenBuckets {
    groups: Vec<(Tags, VecDeque<StampedAcc>)>,
    /// Every point at or before this is in the statistics; none after it.
    upto: i64,
    /// Whether every bucket of the window is held (else only the latest per group).
    whole_window: bool,
}

impl OpenBuckets {
    /// The buckets of `series` over `[read_from, end]` from scratch (`read_from` a bucket
    /// start), one body per group, holding them for the appends that follow. `kept`: the
    /// state of the previous update, whose buckets before `read_from` still hold;
    /// `window_start` drops the buckets that ended before the window.
    pub(crate) fn rebuild(
        engine: &Engine<'_>,
        series: &Num,
        read_from: i64,
        end: i64,
        grid: Grid,
        kept: Option<OpenBuckets>,
    ) -> (OpenBuckets, Grouped<Body>) {
        let whole_window = grid.holds_window();
        let mut old: Vec<Option<(Tags, VecDeque<StampedAcc>)>> = kept
            .filter(|k| k.whole_window == whole_window)
            .map(|k| k.groups.into_iter().map(Some).collect())
            .unwrap_or_default();
        let mut groups = Vec::new();
        let mut bodies = Vec::new();
        for (i, (g, cols)) in engine.num(series, read_from, end).into_iter().enumerate() {
            let built = continue_buckets(None, &cols, grid.width, grid.origin);
            bodies.push((
                g.clone(),
                Body::BucketedNumeric(numeric_buckets_plot(&built)),
            ));
            // Buckets ending at or before `read_from` are untouched by the rebuild.
            let mut held = take_group(&mut old, i, &g)
                .map(|(_, b)| b)
                .unwrap_or_default();
            held.retain(|(stamp, _)| *stamp <= read_from);
            held.extend(built);
            groups.push((g, held));
        }
        let mut state = OpenBuckets {
            groups,
            upto: end,
            whole_window,
        };
        state.forget_before(grid.window_start);
        (state, bodies)
    }

    /// Whether an append from `from` to a window ending after `last_end` can continue the
    /// open buckets: they are as of `last_end`, nothing at or before it changed
    /// (`from == last_end` while the earliest change is later), and `last_end` is not the
    /// first instant of its bucket.
    pub(crate) fn can_continue(
        &self,
        last_end: i64,
        changed_after_last_end: bool,
        width: i64,
        origin: i64,
    ) -> bool {
        let bucket = |t: i64| t.saturating_sub(origin).div_euclid(width);
        self.upto == last_end
            && changed_after_last_end
            && bucket(last_end) == bucket(last_end.saturating_sub(1))
    }

    /// The buckets of the points in `(upto, end]`, the open ones continued, one body per
    /// group; moves `upto` to `end`.
    pub(crate) fn extend(
        &mut self,
        engine: &Engine<'_>,
        series: &Num,
        end: i64,
        grid: Grid,
    ) -> Grouped<Body> {
        let fresh = engine.num(series, self.upto.saturating_add(1), end);
        let mut old: Vec<Option<(Tags, VecDeque<StampedAcc>)>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut bodies = Vec::with_capacity(fresh.len());
        for (i, (g, cols)) in fresh.into_iter().enumerate() {
            let mut held = take_group(&mut old, i, &g)
                .map(|(_, b)| b)
                .unwrap_or_default();
            // Only a bucket holding `upto` is open: an earlier one is complete, and the
            // client keeps it (its stamp is at or before the append's start `upto`).
            let open = held.back().copied().filter(|(stamp, _)| *stamp > self.upto);
            if open.is_some() {
                held.pop_back();
            }
            let built = continue_buckets(open, &cols, grid.width, grid.origin);
            bodies.push((
                g.clone(),
                Body::BucketedNumeric(numeric_buckets_plot(&built)),
            ));
            held.extend(built);
            self.groups.push((g, held));
        }
        self.upto = end;
        self.forget_before(grid.window_start);
        bodies
    }

    /// One body per group with every bucket of the window as of `upto`, when they are all
    /// held: what a client holds after the last update.
    pub(crate) fn window_bodies(&self) -> Option<Grouped<Body>> {
        self.whole_window.then(|| {
            self.groups
                .iter()
                .map(|(g, held)| (g.clone(), Body::BucketedNumeric(numeric_buckets_plot(held))))
                .collect()
        })
    }

    /// Drops the buckets that ended before the window starting at `start` (a bucket whose
    /// stamp, its exclusive end, is at or before `start` holds no point of the window).
    /// Without the whole window, only the latest bucket is kept.
    fn forget_before(&mut self, start: i64) {
        for (_, held) in &mut self.groups {
            if self.whole_window {
                while held.front().is_some_and(|(stamp, _)| *stamp <= start) {
                    held.pop_front();
                }
            } else {
                held.drain(..held.len().saturating_sub(1));
            }
        }
    }
}

/// The bucket grid of a live plot and the window it is laid over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Grid {
    pub(crate) width: i64,
    pub(crate) origin: i64,
    /// Start of the window of the update (`end − window`).
    pub(crate) window_start: i64,
    /// The window's width, which bounds how many buckets it holds.
    pub(crate) window: i64,
}

impl Grid {
    fn holds_window(&self) -> bool {
        self.window / self.width.max(1) < MAX_HELD_BUCKETS
    }
}
