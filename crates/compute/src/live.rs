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
//! The cost of an update follows the new data: raw series re-read `[from, end]`; numeric
//! buckets continue their open bucket with the points after the previous end
//! (`live_buckets`) and carry only the buckets from the one holding the earliest change
//! on; range results keep the window's
//! ranges (`live_ranges`) and `SelectValue` points keep the selected point per group
//! (`live_value`), so neither re-reads the window, and a late joiner's full result of
//! either, or of numeric buckets (held for the whole window), is rendered from that state. Rolling nodes anywhere in the plan keep their
//! window's aggregate between updates (`engine::rolling`), dropped by `update` when a
//! change lands inside what they hold.

use wire::api::Timestamp;
use wire::persistent_compute::{AppendResult, ComputeNodeAppendResponse};
use wire::scout_compute::{ComputeNodeResponse, Grouping};
use wire::time::nanos_to_timestamp;

use crate::engine::{Engine, Grouped, RollingStates};
use crate::error::ComputeError;
use crate::ir::{AnySeries, Num, Ranges};
use crate::live_buckets::{Grid, OpenBuckets};
use crate::live_counts::CountFloor;
use crate::live_ranges::HeldRanges;
use crate::live_value::{HeldPoints, PointQuery};
use crate::plan::{Output, Plan, ValueSelect};
use crate::render::{append_response, full_response, ranges_body, summary_body, wire_range, Body};
use crate::shape::Shape;
use crate::source::DataSource;
use crate::summarize::start_of_bucket_holding;

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
    /// The window's state as of `sent.last_end`, for results that keep one.
    held: Held,
    /// End of the latest re-read [`LiveComputation::snapshot`] or catch-up: a client that
    /// joined with it holds the window up to here, so the next update must end later
    /// (rule 1) while it still starts at or before `last_end` for everyone else.
    floor: i64,
    /// The groups of the last full result (grouped results): an append may only name
    /// these, so a group that appears later (a new tag value) makes the update a full
    /// result.
    groups: Vec<Grouping>,
    /// Each rolling node's window as of the last update, so the next one reads only the
    /// points that enter and leave it (`engine::rolling`).
    rolling: RollingStates,
    /// `Auto` series: a lower bound on the window's input points, kept from each update's
    /// new range, so staying bucketed far above the limit asks nothing of the rest of the
    /// window (`live_counts`).
    counts: CountFloor,
}

/// What the client holds, as far as appends are concerned.
#[derive(Debug, Clone, Copy)]
struct Sent {
    /// Appends must keep the type of the last full result.
    shape: Shape,
    /// `end` of the last update sent; the next must be later.
    last_end: i64,
}

/// State kept between updates so an update reads only the changed range.
#[derive(Debug, Clone)]
enum Held {
    /// Series plots: the store holds the window; an append re-reads the changed range.
    Store,
    /// Range lists, range summaries and range values: every range of the window.
    Ranges(HeldRanges),
    /// `SelectValue` points: the selected point of each group.
    Points(HeldPoints),
    /// Numeric bucketed plots: the open bucket of each group (`live_buckets`).
    Buckets(OpenBuckets),
}

/// Hysteresis: leave bucketed mode only below `LOWER_NUM / LOWER_DEN` of `buckets`.
const LOWER_NUM: u64 = 4;
const LOWER_DEN: u64 = 5;

impl Plan {
    /// A live computation over the trailing `window` ns.
    pub fn live(&self, window: i64, mode: LiveMode) -> LiveComputation {
        LiveComputation {
            plan: self.clone(),
            window: window.max(0),
            mode,
            sent: None,
            held: Held::Store,
            floor: i64::MIN,
            groups: Vec::new(),
            rolling: RollingStates::default(),
            counts: CountFloor::default(),
        }
    }

    /// The range expression a live computation keeps the window's ranges of.
    fn held_ranges_expr(&self) -> Option<&Ranges> {
        match &self.output {
            Output::Ranges { ranges, .. } | Output::Value(ValueSelect::Range { ranges, .. }) => {
                Some(ranges)
            }
            _ => None,
        }
    }

    /// The numeric series of a `SummarizeSeries`, whose buckets can be continued.
    fn numeric_series(&self) -> Option<&Num> {
        match &self.output {
            Output::Series(AnySeries::Numeric(n)) if self.lttb.is_none() => Some(n),
            _ => None,
        }
    }

    /// The point a `SelectValue` of a series picks.
    fn point_query(&self) -> Option<PointQuery<'_>> {
        match &self.output {
            Output::Value(ValueSelect::Point {
                series,
                last,
                skip_nan,
            }) => Some(PointQuery {
                series,
                last: *last,
                skip_nan: *skip_nan,
            }),
            _ => None,
        }
    }
}

impl LiveComputation {
    /// The window width in ns.
    pub fn window(&self) -> i64 {
        self.window
    }

    /// `end` of the last full result or append sent (`None` before the first).
    pub fn last_end(&self) -> Option<i64> {
        self.sent.map(|s| s.last_end)
    }

    /// The whole window `[now - window, now]` (`now` bumped past the previous end if needed).
    pub fn full(
        &mut self,
        source: &dyn DataSource,
        now: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        // Called without the changes since the last update: no held state can be trusted.
        self.rolling.clear();
        let result = self.full_now(source, now)?;
        self.groups = groups_of(&result);
        Ok(result)
    }

    fn full_now(
        &mut self,
        source: &dyn DataSource,
        now: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        let engine = Engine::live(source, &self.rolling);
        if let Some(expr) = self.plan.held_ranges_expr() {
            let held = HeldRanges::from_full(engine.ranges(expr, start, end));
            let shape = self.ranges_shape(&held);
            self.held = Held::Ranges(held);
            return Ok(self.full_from_held(shape, end));
        }
        if let Some(q) = self.plan.point_query() {
            self.held = Held::Points(HeldPoints::full(&engine, q, start, end));
            return Ok(self.full_from_held(Shape::Value, end));
        }
        if self.counts_shape() {
            // Seeded per cell from metadata: the window is about to be read anyway.
            let mut counts = CountFloor::new(self.window);
            for (lo, hi) in counts.cell_ranges(start, end) {
                counts.add(lo, self.plan.raw_point_floor(source, lo, hi), start);
            }
            self.counts = counts;
        }
        let shape = self.choose_shape(source, end, None);
        Ok(self.full_at(source, end, shape))
    }

    /// A series' full result in `shape`, read from the store; numeric buckets keep their
    /// open bucket for the appends that follow.
    fn full_at(&mut self, source: &dyn DataSource, end: i64, shape: Shape) -> ComputeNodeResponse {
        let start = end.saturating_sub(self.window);
        let result = match (shape, self.plan.numeric_series()) {
            (Shape::Bucketed { width, origin }, Some(series)) => {
                let read_from = start_of_bucket_holding(start, width, origin);
                let (held, bodies) = OpenBuckets::rebuild(
                    &Engine::live(source, &self.rolling),
                    series,
                    read_from,
                    end,
                    self.grid(width, origin, end),
                    None,
                );
                self.held = Held::Buckets(held);
                full_response(self.plan.grouped, bodies)
            }
            _ => {
                self.held = Held::Store;
                self.plan
                    .full_with(Engine::live(source, &self.rolling), start, end, shape)
            }
        };
        self.sent = Some(Sent {
            shape,
            last_end: end,
        });
        result
    }

    /// A full result rendered from the held state, which now ends at `end`.
    fn full_from_held(&mut self, shape: Shape, end: i64) -> ComputeNodeResponse {
        self.sent = Some(Sent {
            shape,
            last_end: end,
        });
        full_response(self.plan.grouped, self.held_bodies(shape))
    }

    /// A full result for a client joining a computation others already follow, in the
    /// shape they hold, leaving what they hold untouched. Results that keep their window
    /// (ranges, values, numeric buckets) give exactly what the others hold after the last
    /// update, from memory; raw series re-read the window ending now. Either way later appends start at or
    /// before the others' held end and end after this one, so merging them into this
    /// result stays equal to a fresh full result too.
    pub fn snapshot(
        &mut self,
        source: &dyn DataSource,
        now: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        let Some(sent) = self.sent else {
            return self.full(source, now);
        };
        if matches!(self.held, Held::Ranges(_) | Held::Points(_)) {
            return Ok(full_response(
                self.plan.grouped,
                self.held_bodies(sent.shape),
            ));
        }
        if let (Held::Buckets(held), Shape::Bucketed { .. }) = (&self.held, sent.shape) {
            if let Some(bodies) = held.window_bodies() {
                return Ok(full_response(self.plan.grouped, bodies));
            }
        }
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        self.floor = self.floor.max(end);
        Ok(self
            .plan
            .full_with(Engine::new(source), start, end, sent.shape))
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
        let shape = match self.sent.map(|s| s.shape) {
            Some(shape @ (Shape::Raw | Shape::Bucketed { .. } | Shape::Ranges | Shape::Value)) => {
                shape
            }
            _ => return self.snapshot(source, now).map(LiveUpdate::Full),
        };
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        let from = from.max(start).min(end);
        self.floor = self.floor.max(end);
        // Re-read: changes since the last update are not in the held state yet.
        let result = match (shape, self.plan.range_output()) {
            (Shape::Ranges, Some((expr, _))) => self
                .plan
                .ranges_append(&Engine::new(source).ranges(expr, from, end)),
            _ => self
                .plan
                .append_with(Engine::new(source), from, end, start, shape),
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
        self.rolling.invalidate(earliest_change);
        let update = self.update_held(source, earliest_change, now)?;
        let update = match update {
            LiveUpdate::Append(append) if names_new_group(&self.groups, &append.result) => {
                // The clients' merge has no place for a group their full result lacked.
                match self.sent {
                    Some(sent) => LiveUpdate::Full(self.full_again(source, sent)),
                    None => LiveUpdate::Append(append),
                }
            }
            other => other,
        };
        if let LiveUpdate::Full(result) = &update {
            self.groups = groups_of(result);
        }
        Ok(update)
    }

    /// The full result of the state an update just reached, in the same shape.
    fn full_again(&mut self, source: &dyn DataSource, sent: Sent) -> ComputeNodeResponse {
        match self.held {
            Held::Ranges(_) | Held::Points(_) => self.full_from_held(sent.shape, sent.last_end),
            Held::Store | Held::Buckets(_) => self.full_at(source, sent.last_end, sent.shape),
        }
    }

    fn update_held(
        &mut self,
        source: &dyn DataSource,
        earliest_change: i64,
        now: i64,
    ) -> Result<LiveUpdate, ComputeError> {
        let Some(sent) = self.sent else {
            return self.full_now(source, now).map(LiveUpdate::Full);
        };
        let end = self.next_end(now);
        let start = end.saturating_sub(self.window);
        // Where the output may have changed (the plan's look-back walks its tree: once).
        let changed_from = earliest_change.saturating_sub(self.plan.look_back());
        let from = changed_from.min(sent.last_end).max(start);
        match &self.held {
            Held::Ranges(_) => {
                // Whether everything before `from` is as the held ranges saw it (a change
                // before the window start moves `from` up to the start, not back).
                let settled = changed_from >= from;
                return Ok(self.update_ranges(source, from, end, sent, settled));
            }
            Held::Points(_) => return Ok(self.update_points(source, from, end)),
            Held::Store | Held::Buckets(_) => {}
        }
        // The points that entered the window since the last update (a lower bound).
        let mut entered = 0;
        if self.counts_shape() {
            let from = sent.last_end.saturating_add(1);
            entered = self.plan.raw_point_floor(source, from, end);
            self.counts.add(from, entered, start);
        }
        let shape = self.choose_shape(source, end, Some(sent.shape));
        if shape != sent.shape {
            return Ok(LiveUpdate::Full(self.full_at(source, end, shape)));
        }
        // Invisible writes (all beyond `end`) and no stored point newly in the window
        // leave the client's merged state equal to a fresh full result.
        if earliest_change > end
            && entered == 0
            && self
                .plan
                .raw_point_count(source, sent.last_end.saturating_add(1), end)
                == 0
        {
            return Ok(LiveUpdate::Unchanged);
        }
        // A selection has no append form: any change is a fresh full result.
        if matches!(shape, Shape::Lttb { .. }) {
            return Ok(LiveUpdate::Full(self.full_at(source, end, shape)));
        }
        let result = match (shape, self.plan.numeric_series(), &mut self.held) {
            (Shape::Bucketed { width, origin }, Some(series), Held::Buckets(open))
                if open.can_continue(sent.last_end, from, changed_from) =>
            {
                let engine = Engine::live(source, &self.rolling);
                let grid = Grid {
                    width,
                    origin,
                    window_start: start,
                    window: self.window,
                };
                let bodies = open.extend(&engine, series, from, end, grid);
                append_response(self.plan.grouped, bodies)
            }
            (Shape::Bucketed { width, origin }, Some(series), _) => {
                // Every bucket whose stamp (its end) is at or after `from`, rebuilt.
                let read_from = start_of_bucket_holding(from.saturating_sub(1), width, origin);
                let kept = match std::mem::replace(&mut self.held, Held::Store) {
                    Held::Buckets(kept) => Some(kept),
                    _ => None,
                };
                let (held, bodies) = OpenBuckets::rebuild(
                    &Engine::live(source, &self.rolling),
                    series,
                    read_from,
                    end,
                    self.grid(width, origin, end),
                    kept,
                );
                self.held = Held::Buckets(held);
                append_response(self.plan.grouped, bodies)
            }
            _ => {
                self.plan
                    .append_with(Engine::live(source, &self.rolling), from, end, start, shape)
            }
        };
        self.sent = Some(Sent {
            shape,
            last_end: end,
        });
        Ok(LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result,
        }))
    }

    /// A range update bounded by `[from, end]`: the ranges evaluated there are merged into
    /// the held window. A list sends them as an append; a switch between list and summary,
    /// and every update while a summary is shown (it has no append form), is a full result
    /// rendered from the held window; a range value sends the range now selected. When
    /// nothing before `from` changed (`settled`), a run open in the held window keeps its
    /// start without a read back to it.
    fn update_ranges(
        &mut self,
        source: &dyn DataSource,
        from: i64,
        end: i64,
        sent: Sent,
        settled: bool,
    ) -> LiveUpdate {
        let Some(expr) = self.plan.held_ranges_expr() else {
            return LiveUpdate::Unchanged;
        };
        let engine = Engine::live(source, &self.rolling);
        let continued = match &self.held {
            Held::Ranges(held) if settled => {
                engine.runs_continued(expr, from, end, |g| held.open_since(g))
            }
            _ => None,
        };
        let new = continued.unwrap_or_else(|| engine.ranges(expr, from, end));
        let Held::Ranges(held) = &mut self.held else {
            return LiveUpdate::Unchanged;
        };
        let applied = held.apply(&new, from, end, self.window);
        let shape = match sent.shape {
            Shape::Value => Shape::Value,
            _ => self.ranges_shape_now(),
        };
        // Whatever follows, the client's state is the held window at `end` in `shape`
        // (`sent` keeps what was sent before).
        self.sent = Some(Sent {
            shape,
            last_end: end,
        });
        // Nothing a client holds would change (PROTOCOL §4: updates only when new data
        // changed the result). A list's client drops expired ranges itself; a summary or
        // a selected range is rendered from the held window, which expiry changes.
        let unchanged =
            shape == sent.shape && !applied.changed && (shape == Shape::Ranges || !applied.expired);
        if unchanged {
            return LiveUpdate::Unchanged;
        }
        if shape != sent.shape || shape == Shape::RangesSummary {
            return LiveUpdate::Full(self.full_from_held(shape, end));
        }
        let result = match shape {
            Shape::Value => append_response(self.plan.grouped, self.held_bodies(shape)),
            _ => self.plan.ranges_append(&new),
        };
        LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result,
        })
    }

    /// A `SelectValue` point update: the held points move to the window ending at `end`,
    /// reading `[from, end]` (and only in rare cases more, see `live_value`); unchanged
    /// points send nothing.
    fn update_points(&mut self, source: &dyn DataSource, from: i64, end: i64) -> LiveUpdate {
        let start = end.saturating_sub(self.window);
        let (Some(q), Held::Points(held)) = (self.plan.point_query(), &mut self.held) else {
            return LiveUpdate::Unchanged;
        };
        let before = held.bodies();
        held.advance(&Engine::live(source, &self.rolling), q, from, start, end);
        self.sent = Some(Sent {
            shape: Shape::Value,
            last_end: end,
        });
        // The same point (a first point still in the window, a last point not replaced):
        // nothing to send (PROTOCOL §4), and the client's state is the held one at `end`.
        if held.bodies() == before {
            return LiveUpdate::Unchanged;
        }
        LiveUpdate::Append(AppendResult {
            start: ts(from),
            end: ts(end),
            result: append_response(self.plan.grouped, self.held_bodies(Shape::Value)),
        })
    }

    /// List or summary, for the ranges held.
    fn ranges_shape(&self, held: &HeldRanges) -> Shape {
        match self.plan.range_output() {
            Some((_, max)) if held.max_len() > max => Shape::RangesSummary,
            Some(_) => Shape::Ranges,
            None => Shape::Value,
        }
    }

    fn ranges_shape_now(&self) -> Shape {
        match &self.held {
            Held::Ranges(held) => self.ranges_shape(held),
            _ => Shape::Ranges,
        }
    }

    /// One body per group of the held state, in `shape`.
    fn held_bodies(&self, shape: Shape) -> Grouped<Body> {
        match &self.held {
            Held::Points(points) => points.bodies(),
            Held::Ranges(held) => held
                .groups()
                .iter()
                .map(|(g, rs)| {
                    let body = match (shape, &self.plan.output) {
                        // Held lists are sorted and non-overlapping: the first range starts
                        // earliest and the last ends latest (or is the open one).
                        (Shape::RangesSummary, _) => summary_body(
                            rs.front().and_then(|r| r.start),
                            rs.back().and_then(|r| r.end),
                            rs.len(),
                        ),
                        (
                            _,
                            Output::Value(ValueSelect::Range {
                                index, descending, ..
                            }),
                        ) => {
                            let i = usize::try_from(*index).ok();
                            let r = match (i, *descending) {
                                (Some(i), false) => rs.get(i),
                                (Some(i), true) => {
                                    rs.len().checked_sub(i + 1).and_then(|k| rs.get(k))
                                }
                                (None, _) => None,
                            };
                            Body::RangeValue(r.map(wire_range))
                        }
                        _ => ranges_body(rs),
                    };
                    (g.clone(), body)
                })
                .collect(),
            Held::Store | Held::Buckets(_) => Vec::new(),
        }
    }

    /// The bucket grid of a plot whose window ends at `end`.
    fn grid(&self, width: i64, origin: i64, end: i64) -> Grid {
        Grid {
            width,
            origin,
            window_start: end.saturating_sub(self.window),
            window: self.window,
        }
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

    /// Whether the shape is chosen by counting the window's input points (`Auto` series).
    fn counts_shape(&self) -> bool {
        self.mode == LiveMode::Auto
            && self.plan.is_series()
            && self.plan.lttb.is_none()
            && !self.plan.is_log()
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
                // The floor settles it without the store when the window is well above;
                // near or below the limit the window holds few points to count.
                let exceeds = match current {
                    Some(Shape::Bucketed { .. }) if limit == 0 => true,
                    _ if self.counts.floor(start) > threshold => true,
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

/// The groups of a grouped full result (none for an ungrouped one).
fn groups_of(result: &ComputeNodeResponse) -> Vec<Grouping> {
    match result {
        ComputeNodeResponse::Grouped(grouped) => grouped
            .responses
            .iter()
            .map(|r| r.grouping.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a grouped append names a group outside `held`.
fn names_new_group(held: &[Grouping], append: &ComputeNodeAppendResponse) -> bool {
    match append {
        ComputeNodeAppendResponse::Grouped(grouped) => grouped
            .responses
            .iter()
            .any(|r| !held.contains(&r.grouping)),
        _ => false,
    }
}
