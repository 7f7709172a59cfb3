//! What a live numeric bucketed plot keeps between appends: the statistics of every
//! bucket of each group's window, the latest one open. An append whose changes all lie
//! after the newest point held reads only the points after it, however wide the buckets
//! are, and a late joiner's full result is rendered from the held buckets without a read.
//!
//! ```text
//!   buckets:   | k-n | ... | k-1 | k (stats of its points up to `newest`) |
//!   append from `from`:          (newest ........ end]  -> bucket k continued,
//!                                                          k+1 ... built fresh
//!   window moves: buckets whose stamp is at or before the window start are dropped
//! ```
//!
//! The statistics are as of `upto` (the previous update's end), and `newest` is the newest
//! point they hold. A writer's batch usually carries points taken before the previous
//! update and written after it, so the changes start before `upto` but after `newest`;
//! they still only continue bucket `k` and add later ones. The append starts at the
//! earliest change (`from`): bucket `k` is resent when its stamp (its exclusive end) is
//! at or after `from`, else it is complete and the client keeps it; no earlier bucket is
//! stamped that late. A change at or before `newest` makes the caller rebuild from the
//! start of the bucket holding it, and the held buckets from there on are replaced.

use std::collections::VecDeque;

use crate::engine::{newest_point, take_group, Engine, Grouped, Tags};
use crate::ir::Num;
use crate::render::Body;
use crate::summarize::{
    continue_buckets, numeric_buckets_plot, start_of_bucket_holding, StampedAcc,
};

/// A window with more buckets than this (a fine `resolution`) keeps only its open bucket
/// per group, and its snapshots re-read the window: about 80 bytes a bucket.
const MAX_HELD_BUCKETS: i64 = 65_536;

/// The buckets of each group's window, as of `upto`.
#[derive(Debug, Clone)]
pub(crate) struct OpenBuckets {
    groups: Vec<(Tags, VecDeque<StampedAcc>)>,
    /// Every point at or before this is in the statistics; none after it.
    upto: i64,
    /// The newest point in the statistics: none lay in `(newest, upto]` when they were read.
    newest: i64,
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
        let read = engine.num(series, read_from, end);
        // Every point before `read_from` is in the buckets kept.
        let newest = newest_point(&read, end)
            .unwrap_or(i64::MIN)
            .max(read_from.saturating_sub(1));
        for (i, (g, cols)) in read.into_iter().enumerate() {
            let built = continue_buckets(None, &cols, grid.width, grid.origin);
            bodies.push((
                g.clone(),
                Body::BucketedNumeric(numeric_buckets_plot(&built)),
            ));
            // Buckets ending at or before `read_from` are untouched by the rebuild.
            let mut held = take_group(&mut old, i, &g)
                .map(|(_, b)| b)
                .unwrap_or_default();
            // Stamps increase along `held`: drop from the back, touching only the
            // rebuilt buckets (a `retain` walked the whole window on every update).
            while held.back().is_some_and(|(stamp, _)| *stamp > read_from) {
                held.pop_back();
            }
            held.extend(built);
            groups.push((g, held));
        }
        let mut state = OpenBuckets {
            groups,
            upto: end,
            newest,
            whole_window,
        };
        state.forget_before(grid.window_start);
        (state, bodies)
    }

    /// Whether an append from `from` (at most `last_end`) to a window ending after
    /// `last_end` can continue the held buckets: they are as of `last_end`, and every
    /// change (from `changed_from` on) and the append's start are newer than the newest
    /// point they hold. (A start at the newest point could fall on the stamp of the
    /// bucket before it, which the client would then drop.)
    pub(crate) fn can_continue(&self, last_end: i64, from: i64, changed_from: i64) -> bool {
        self.upto == last_end
            && changed_from > self.newest
            && from > self.newest
            && from <= last_end
    }

    /// The buckets of the points in `(newest, end]` in the window's buckets, for an append
    /// starting at `from`, the open ones continued, one body per group; moves `upto` to
    /// `end`.
    pub(crate) fn extend(
        &mut self,
        engine: &Engine<'_>,
        series: &Num,
        from: i64,
        end: i64,
        grid: Grid,
    ) -> Grouped<Body> {
        // The window's buckets start at the bucket holding its start; earlier new points
        // (written late, before the window) belong to none of them.
        let first = start_of_bucket_holding(grid.window_start, grid.width, grid.origin);
        let fresh = engine.num(series, self.newest.saturating_add(1).max(first), end);
        self.newest = self
            .newest
            .max(newest_point(&fresh, end).unwrap_or(i64::MIN));
        let mut old: Vec<Option<(Tags, VecDeque<StampedAcc>)>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut bodies = Vec::with_capacity(fresh.len());
        for (i, (g, cols)) in fresh.into_iter().enumerate() {
            let mut held = take_group(&mut old, i, &g)
                .map(|(_, b)| b)
                .unwrap_or_default();
            // Only the bucket holding the group's newest point can take new points, and
            // it is open (resent) when its stamp is in the append's range: points at
            // or after `from` land in it, or the client drops it as replaced. A
            // bucket stamped before `from` is complete, and the client keeps it. No
            // other held bucket is stamped at or after `from`, which is after `newest`.
            let open = held.back().copied().filter(|(stamp, _)| *stamp >= from);
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
