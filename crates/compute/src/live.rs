//! Live (streaming) computations: a full result, then appends that a client merges
//! (PROTOCOL §4).
//!
//! The invariant: merging `full(T0)` with every later append (delete what is held in
//! `[start, end]`, insert the content, drop what is older than `end - window`) equals a
//! fresh `full(T1)` over the part both cover. It holds because:
//! - an append starts at or before `min(earliest change - look_back, previous end)`, so it
//!   covers every changed point and every point stored earlier beyond the previous end
//!   that has since entered the window;
//! - its end is strictly later than the previous end (bumped by 1 ns if the clock is not);
//! - bucket width is fixed when the full result is built and buckets sit on multiples of
//!   it, so a resent bucket replaces the old one exactly;
//! - the result type changes only through a new full result.
//!
//! The cost of an update is the reads of `[start, end]` plus per-series counts, so it grows
//! with new data, not with the window (bucketed appends also reread the current bucket).

use wire::api::Timestamp;
use wire::persistent_compute::AppendResult;
use wire::scout_compute::ComputeNodeResponse;
use wire::time::nanos_to_timestamp;

use crate::engine::Engine;
use crate::error::ComputeError;
use crate::live_ranges::HeldRanges;
use crate::plan::Plan;
use crate::shape::Shape;
use crate::source::DataSource;

/// How a live computation chooses between raw and bucketed results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveMode {
    /// Raw while the window holds at most `buckets` points, bucketed above; back to raw only
    /// below 80 % of `buckets`, so a count near the limit does not flap.
    Auto,
    /// Always raw (`appendOnly{decimateResults: false}`).
    Raw,
    /// Always aligned buckets, width fixed at creation (`appendOnly{decimateResults: true}`).
    Bucketed,
}

/// What a live computation sends after watched channels changed.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveUpdate {
    /// Merge this into the previous result.
    Append(AppendResult),
    /// Replace the previous result (the result type changed).
    Full(ComputeNodeResponse),
    /// Nothing in the window changed; send nothing.
    Unchanged,
}

/// A plan evaluated over a trailing window, remembering what was last sent.
#[derive(Debug, Clone)]
pub struct LiveComputation {
    plan: Plan,
    window: i64,
    mode: LiveMode,
    /// `None` until the first full result: there is nothing to append to yet.
    sent: Option<Sent>,
    /// End of the latest [`LiveComputation::snapshot`]: a client that joined with it holds
    /// the window up to here, so the next update must end later (rule 1) while it still
    /// starts at or before `last_end` for everyone else.
    floor: i64,
}

/// What the client holds, as far as appends are concerned.
#[derive(Debug, Clone)]
struct Sent {
    /// Appends must keep the type of the last full result.
    shape: Shape,
    /// `end` of the last update sent; the next must be later.
    last_end: i64,
    /// Range lists: the ranges the client holds, so the list-vs-summary decision needs no
    /// re-read of the window (`live_ranges`).
    ranges: Option<HeldRanges>,
}

impl Sent {
    /// Shape and end only (the held ranges are updated in place).
    fn clone_shallow(&self) -> Sent {
        Sent {
            shape: self.shape,
            last_end: self.last_end,
            ranges: None,
        }
    }
}

/// Hysteresis: leave bucketed mode only below `LOWER_NUM / LOWER_DEN` of `buckets`.
const LOWER_NUM: u64 = 4;
const LOWER_DEN: u64 = 5;

impl Plan {
    /// A live computation over the trailing `window` ns.
    pub fn live(&self, window: i64, mode: LiveMode) -> LiveComputation {
        LiveComputation::new(self.clone(), window, mode)
    }
}

impl LiveComputation {
    fn new(plan: Plan, window: i64, mode: LiveMode) -> Self {
        LiveComputation {
            plan,
            window: window.max(0),
            mode,
            sent: None,
            floor: i64::MIN,
        }
    }

    /// The window width in ns.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// The whole window `[now - window, now]` (`now` bumped past the previous end if needed).
    pub fn full(
        &mut self,
        source: &dyn DataSource,
        now: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        let end = self.next_end(now);
        let shape = self.choose_shape(source, end, None);
        Ok(self.full_at(source, end, shape))
    }

    fn full_at(&mut self, source: &dyn DataSource, end: i64, shape: Shape) -> ComputeNodeResponse {
        let start = end.saturating_sub(self.window);
        let result = self.plan.full_with(source, start, end, shape);
        let ranges = match (shape, self.plan.range_output()) {
            (Shape::Ranges, Some((expr, _))) => Some(HeldRanges::from_full(
                &Engine::new(source).ranges(expr, start, end),
            )),
            _ => None,
        };
        self.sent = Some(Sent {
            shape,
            last_end: end,
            ranges,
        });
        result
    }

    /// A full result for a client joining a computation others already follow: the window
    /// ending now in the shape they hold, leaving what they hold untouched. Later appends
    /// start at or before their held end and end after this one, so merging them into this
    /// result stays equal to a fresh full result too.
    pub fn snapshot(
        &mut self,
        source: &dyn DataSource,
        now: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        let Some(shape) = self.sent.as_ref().map(|s| s.shape) else {
            return self.full(source, now);
        };
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        self.floor = self.floor.max(end);
        Ok(self.plan.full_with(source, start, end, shape))
    }

    /// An append for a client that missed updates since it last held the window up to some
    /// end: `from` must be at or before that end and before the start of every append it
    /// missed. Like a snapshot it leaves what others hold untouched; shapes without an
    /// append form get a snapshot.
    pub fn catch_up(
        &mut self,
        source: &dyn DataSource,
        from: i64,
        now: i64,
    ) -> Result<LiveUpdate, ComputeError> {
        let shape = match self.sent.as_ref().map(|s| s.shape) {
            Some(shape @ (Shape::Raw | Shape::Bucketed { .. } | Shape::Ranges | Shape::Value)) => {
                shape
            }
            _ => return self.snapshot(source, now).map(LiveUpdate::Full),
        };
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        let from = from.max(start).min(end);
        self.floor = self.floor.max(end);
        let result = match (shape, self.plan.range_output()) {
            (Shape::Ranges, Some((expr, _))) => self
                .plan
                .ranges_append(&Engine::new(source).ranges(expr, from, end)),
            _ => self.plan.append_with(source, from, end, start, shape),
        };
        Ok(LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result,
        }))
    }

    /// Called when watched channels changed (or periodically, with
    /// `earliest_change = i64::MAX`, so that points stored earlier with future timestamps
    /// are sent once they enter the window). `earliest_change` is the minimum earliest
    /// timestamp of the writes since the last update.
    pub fn update(
        &mut self,
        source: &dyn DataSource,
        earliest_change: i64,
        now: i64,
    ) -> Result<LiveUpdate, ComputeError> {
        let Some(sent) = self.sent.as_ref() else {
            return self.full(source, now).map(LiveUpdate::Full);
        };
        let sent = sent.clone_shallow();
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        if sent.shape == Shape::Ranges {
            if let Some(update) = self.update_ranges(source, earliest_change, end, sent.last_end) {
                return Ok(update);
            }
        }
        let shape = self.choose_shape(source, end, Some(sent.shape));
        // A summary has no append form: while one is shown, every update is a full result.
        if shape != sent.shape || shape == Shape::RangesSummary {
            return Ok(LiveUpdate::Full(self.full_at(source, end, shape)));
        }
        // Series only: invisible writes (all beyond `end`) and no stored point newly in
        // the window leave the client's merged state equal to a fresh full result. Ranges
        // and values may depend on `end` itself (open ranges, window-bound durations).
        let newly_visible = self
            .plan
            .raw_point_count(source, sent.last_end.saturating_add(1), end);
        if self.plan.is_series() && earliest_change > end && newly_visible == 0 {
            return Ok(LiveUpdate::Unchanged);
        }
        // A selection has no append form either: any change is a fresh full result.
        if matches!(shape, Shape::Lttb { .. }) {
            return Ok(LiveUpdate::Full(self.full_at(source, end, shape)));
        }
        let from = earliest_change
            .saturating_sub(self.plan.look_back())
            .min(sent.last_end)
            .max(start);
        let result = self.plan.append_with(source, from, end, start, shape);
        self.sent = Some(Sent {
            shape,
            last_end: end,
            ranges: None,
        });
        Ok(LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result,
        }))
    }

    /// A range-list update bounded by `[from, end]`: the new ranges are merged into what
    /// the client holds; only a switch to the summary evaluates the whole window.
    fn update_ranges(
        &mut self,
        source: &dyn DataSource,
        earliest_change: i64,
        end: i64,
        last_end: i64,
    ) -> Option<LiveUpdate> {
        let (expr, max) = self.plan.range_output()?;
        let start = end.saturating_sub(self.window);
        let from = earliest_change
            .saturating_sub(self.plan.look_back())
            .min(last_end)
            .max(start);
        let new = Engine::new(source).ranges(expr, from, end);
        let sent = self.sent.as_mut()?;
        let held = sent.ranges.as_mut()?;
        held.apply(&new, from, end, self.window);
        if held.max_len() > max {
            return Some(LiveUpdate::Full(self.full_at(
                source,
                end,
                Shape::RangesSummary,
            )));
        }
        sent.last_end = end;
        Some(LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result: self.plan.ranges_append(&new),
        }))
    }

    /// `now`, or 1 ns past the previous end if the clock has not moved (rule 1).
    fn next_end(&self, now: i64) -> i64 {
        match &self.sent {
            Some(s) => now
                .max(s.last_end.saturating_add(1))
                .max(self.floor.saturating_add(1)),
            None => now,
        }
    }

    fn choose_shape(&self, source: &dyn DataSource, end: i64, current: Option<Shape>) -> Shape {
        let start = end.saturating_sub(self.window);
        if !self.plan.is_series() || self.plan.lttb.is_some() {
            return self.plan.shape_for(source, start, end, self.window, None);
        }
        let bucketed = Shape::Bucketed {
            width: self.plan.width(self.window),
            origin: 0,
        };
        if self.plan.is_log() {
            return Shape::Raw;
        }
        match self.mode {
            LiveMode::Raw => Shape::Raw,
            LiveMode::Bucketed => bucketed,
            LiveMode::Auto => {
                let limit = self.plan.buckets;
                // Staying bucketed needs `n >= limit * 4/5`, i.e. `n > ceil(limit * 4/5) - 1`.
                let threshold = match current {
                    Some(Shape::Bucketed { .. }) => limit
                        .saturating_mul(LOWER_NUM)
                        .div_ceil(LOWER_DEN)
                        .saturating_sub(1),
                    _ => limit,
                };
                let exceeds = match current {
                    Some(Shape::Bucketed { .. }) if limit == 0 => true,
                    _ => self.plan.raw_points_exceed(source, start, end, threshold),
                };
                if exceeds {
                    bucketed
                } else {
                    Shape::Raw
                }
            }
        }
    }
}

fn ts(nanos: i64) -> Timestamp {
    nanos_to_timestamp(nanos)
}
