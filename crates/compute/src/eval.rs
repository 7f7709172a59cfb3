//! The plan's evaluation API: a result over a fixed range (HTTP compute), and the full
//! results and append contents that live computations are built from. Evaluates with
//! `engine`, picks shapes with `shape`, selects values with `value` and renders with
//! `render`; it knows nothing of live state (`live` builds on it, never the reverse).

use wire::persistent_compute::ComputeNodeAppendResponse;
use wire::scout_compute::{ComputeNodeResponse, ComputeUnitResult, UnitResult};

use crate::engine::{look_back_of, Engine, Grouped, Range};
use crate::error::ComputeError;
use crate::ir::AnySeries;
use crate::plan::{Output, Plan, ValueSelect};
use crate::render::{
    append_response, full_response, ranges_body, ranges_summary, series_body, Body,
};
use crate::shape::Shape;
use crate::source::{ChannelKind, DataSource};
use crate::summarize::start_of_bucket_holding;

impl Plan {
    /// The result's unit as `single.success(unit)`, else `single.noUnitAvailable([])`.
    pub fn unit_result(&self) -> ComputeUnitResult {
        ComputeUnitResult::Single(match &self.unit {
            Some(unit) => UnitResult::Success(unit.clone()),
            None => UnitResult::NoUnitAvailable(Vec::new()),
        })
    }

    /// Nanoseconds before a changed timestamp whose output may change (negative time
    /// shifts, range padding); 0 for everything else, since every other node's output at
    /// `t` depends only on inputs at or before `t`.
    pub fn look_back(&self) -> i64 {
        look_back_of(&self.output)
    }

    /// Whether appends can be produced for this plan (always: every streamable node
    /// appends; ranges and values recompute their window, see `docs/compute.md`).
    pub fn supports_appends(&self) -> bool {
        true
    }

    /// `(dataset rid, channel)` pairs whose writes can change the result, including
    /// channels that do not exist yet.
    pub fn watched_channels(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = self
            .leaves()
            .iter()
            .map(|(c, _)| (c.dataset.clone(), c.channel.clone()))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Every dataset RID the plan reads, so a caller's read grants can be checked before
    /// anything is evaluated. Sorted, without duplicates.
    pub fn datasets(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .leaves()
            .iter()
            .map(|(c, _)| c.dataset.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// The channel type the result is built from (numeric for ranges and range values).
    pub fn kind(&self) -> ChannelKind {
        match &self.output {
            Output::Series(s) | Output::Value(ValueSelect::Point { series: s, .. }) => match s {
                AnySeries::Numeric(_) => ChannelKind::Numeric,
                AnySeries::Enum(_) => ChannelKind::Enum,
                AnySeries::Log(_) => ChannelKind::Log,
            },
            _ => ChannelKind::Numeric,
        }
    }

    /// Raw results hold at most this many points; above it results are bucketed.
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// The result over the fixed range `[start, end]` (HTTP compute).
    pub fn compute(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        if start > end {
            return Err(ComputeError::InvalidRange { start, end });
        }
        // A fixed range gets buckets laid from `start`, so they hold exactly the points of
        // `[start, end]` (PROTOCOL §6); only a point exactly at `end` can open one bucket
        // past `buckets`. Live windows keep epoch-aligned buckets instead, so a bucket resent
        // in an append is the same bucket.
        let shape = match self.shape_for(source, start, end, end.saturating_sub(start), None) {
            Shape::Bucketed { width, .. } => Shape::Bucketed {
                width,
                origin: start,
            },
            other => other,
        };
        Ok(self.full_with(Engine::new(source), start, end, shape))
    }

    /// Full result over `[start, end]`. Bucketed results hold every bucket that overlaps
    /// the range, each over its whole span up to `end`, so they match appends bucket for
    /// bucket.
    pub(crate) fn full_with(
        &self,
        engine: Engine<'_>,
        start: i64,
        end: i64,
        shape: Shape,
    ) -> ComputeNodeResponse {
        let read_from = match shape {
            Shape::Bucketed { width, origin } => start_of_bucket_holding(start, width, origin),
            _ => start,
        };
        full_response(
            self.grouped,
            self.bodies(engine, read_from, end, start, shape),
        )
    }

    /// Append content for `[from, end]` of a window starting at `window_start`. Bucketed
    /// appends resend every bucket whose stamp (its end) is at or after `from`.
    pub(crate) fn append_with(
        &self,
        engine: Engine<'_>,
        from: i64,
        end: i64,
        window_start: i64,
        shape: Shape,
    ) -> ComputeNodeAppendResponse {
        let read_from = match shape {
            Shape::Bucketed { width, origin } => {
                start_of_bucket_holding(from.saturating_sub(1), width, origin)
            }
            _ => from,
        };
        let bodies = self.bodies(engine, read_from, end, window_start, shape);
        append_response(self.grouped, bodies)
    }

    /// A range append from ranges already evaluated over `[from, end]`.
    pub(crate) fn ranges_append(&self, rs: &Grouped<Vec<Range>>) -> ComputeNodeAppendResponse {
        append_response(
            self.grouped,
            rs.iter()
                .map(|(g, r)| (g.clone(), ranges_body(r)))
                .collect(),
        )
    }

    /// One body per group over `[from, end]`; `window_start` bounds value selection.
    fn bodies(
        &self,
        engine: Engine<'_>,
        from: i64,
        end: i64,
        window_start: i64,
        shape: Shape,
    ) -> Grouped<Body> {
        match &self.output {
            Output::Series(s) => engine
                .any_series(s, from, end)
                .into_iter()
                .map(|(g, c)| (g, series_body(c, shape)))
                .collect(),
            Output::Ranges { ranges, .. } => engine
                .ranges(ranges, from, end)
                .into_iter()
                .map(|(g, rs)| {
                    let body = if shape == Shape::RangesSummary {
                        ranges_summary(&rs)
                    } else {
                        ranges_body(&rs)
                    };
                    (g, body)
                })
                .collect(),
            Output::Value(v) => crate::value::select(&engine, v, window_start, end),
        }
    }
}
