//! Evaluating a [`Plan`] over a range into wire results: the HTTP compute path and the
//! building block of live full results and appends.

use std::sync::Arc;

use wire::persistent_compute::{
    ComputeNodeAppendResponse, GroupedComputeNodeAppendResponse, GroupedComputeNodeAppendResponses,
};
use wire::scout_compute::{
    BucketedEnumPlot, BucketedNumericPlot, ComputeNodeResponse, ComputeUnitResult, EnumPlot,
    EnumPoint, GroupedComputeNodeResponse, GroupedComputeNodeResponses, Grouping, LogPlot,
    LogPoint, NumericPlot, NumericPoint, PagedLogPlot, Range as WireRange, RangeSummary,
    RangesSummary, UnitResult,
};
use wire::time::nanos_to_timestamp;

use crate::columns::Columns;
use crate::engine::{look_back_of, Engine, Grouped, Leaves, Range, Tags};
use crate::error::ComputeError;
use crate::ir::AnySeries;
use crate::live::{LiveComputation, LiveMode};
use crate::plan::{Output, Plan, ValueSelect};
use crate::source::{ChannelKind, DataSource, LogEntry};
use crate::summarize::{self, bucket_of, bucket_start, bucket_width};

/// How a result is shaped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Raw,
    /// Buckets `origin + k·width <= t < origin + (k+1)·width`, stamped with their end.
    Bucketed {
        width: i64,
        origin: i64,
    },
    /// A list of ranges.
    Ranges,
    /// More than `maxRanges` ranges: a summary (no append form).
    RangesSummary,
    /// One value.
    Value,
    /// Points selected by LTTB (no append form: a selection can change anywhere).
    Lttb {
        max: usize,
    },
}

/// A result before it is wrapped as a full response or an append.
pub(crate) enum Body {
    Numeric(NumericPlot),
    BucketedNumeric(BucketedNumericPlot),
    Enum(EnumPlot),
    BucketedEnum(BucketedEnumPlot),
    Log(LogPlot),
    Ranges(Vec<WireRange>),
    RangesSummary(RangesSummary),
    NumericPoint(Option<NumericPoint>),
    EnumPoint(Option<EnumPoint>),
    LogPoint(Option<LogPoint>),
    RangeValue(Option<WireRange>),
}

impl Body {
    fn into_full(self) -> ComputeNodeResponse {
        match self {
            Body::Numeric(p) => ComputeNodeResponse::Numeric(p),
            Body::BucketedNumeric(p) => ComputeNodeResponse::BucketedNumeric(p),
            Body::Enum(p) => ComputeNodeResponse::Enum(p),
            Body::BucketedEnum(p) => ComputeNodeResponse::BucketedEnum(p),
            // The only non-Arrow log response upstream has; appends use `log`.
            Body::Log(p) => ComputeNodeResponse::PagedLog(PagedLogPlot {
                timestamps: p.timestamps,
                values: p.values,
                next_page_token: None,
            }),
            Body::Ranges(r) => ComputeNodeResponse::Range(r),
            Body::RangesSummary(s) => ComputeNodeResponse::RangesSummary(s),
            Body::NumericPoint(p) => ComputeNodeResponse::NumericPoint(p),
            Body::EnumPoint(p) => ComputeNodeResponse::EnumPoint(p),
            Body::LogPoint(p) => ComputeNodeResponse::LogPoint(p),
            Body::RangeValue(r) => ComputeNodeResponse::RangeValue(r),
        }
    }

    fn into_append(self) -> ComputeNodeAppendResponse {
        match self {
            Body::Numeric(p) => ComputeNodeAppendResponse::Numeric(p),
            Body::BucketedNumeric(p) => ComputeNodeAppendResponse::BucketedNumeric(p),
            Body::Enum(p) => ComputeNodeAppendResponse::Enum(p),
            Body::BucketedEnum(p) => ComputeNodeAppendResponse::BucketedEnum(p),
            Body::Log(p) => ComputeNodeAppendResponse::Log(p),
            Body::Ranges(r) => ComputeNodeAppendResponse::Range(r),
            // Never appended: a summary is always sent as a full result.
            Body::RangesSummary(_) => ComputeNodeAppendResponse::Range(Vec::new()),
            Body::NumericPoint(p) => ComputeNodeAppendResponse::NumericPoint(p),
            Body::EnumPoint(p) => ComputeNodeAppendResponse::EnumPoint(p),
            Body::LogPoint(p) => ComputeNodeAppendResponse::LogPoint(p),
            Body::RangeValue(r) => ComputeNodeAppendResponse::RangeValue(r),
        }
    }
}

/// Evaluated series columns of one group.
enum SeriesCols {
    Num(Columns<f64>),
    Enum(Columns<Arc<str>>),
    Log(Columns<LogEntry>),
}

fn ts(n: i64) -> wire::api::Timestamp {
    nanos_to_timestamp(n)
}

pub(crate) fn wire_range(r: &Range) -> WireRange {
    WireRange {
        start: r.start.map(ts),
        end: r.end.map(ts),
        value: None,
    }
}

impl Plan {
    /// The result's unit as `single.success(unit)`, else `single.noUnitAvailable([])`.
    pub fn unit_result(&self) -> ComputeUnitResult {
        ComputeUnitResult::Single(match &self.unit {
            Some(unit) => UnitResult::Success(unit.clone()),
            None => UnitResult::NoUnitAvailable(Vec::new()),
        })
    }

    pub(crate) fn leaves(&self) -> Leaves<'_> {
        match &self.output {
            Output::Series(s) | Output::Value(ValueSelect::Point { series: s, .. }) => {
                Leaves::of_any(s)
            }
            Output::Ranges { ranges, .. } | Output::Value(ValueSelect::Range { ranges, .. }) => {
                Leaves::of_ranges(ranges)
            }
        }
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

    /// Points the inputs hold in `[start, end]`, from counts only. For derived series this
    /// is the number of input points, which decides raw vs bucketed.
    pub fn raw_point_count(&self, source: &dyn DataSource, start: i64, end: i64) -> u64 {
        if start > end {
            return 0;
        }
        Engine::new(source).count(&self.leaves(), start, end)
    }

    /// Whether the inputs hold more than `limit` points in `[start, end]`: answered from
    /// block metadata when the bounds settle it, so a live update does not decode the
    /// window's edge blocks just to keep choosing the same shape.
    pub(crate) fn raw_points_exceed(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
        limit: u64,
    ) -> bool {
        if start > end {
            return false;
        }
        let engine = Engine::new(source);
        let leaves = self.leaves();
        let (lower, upper) = engine.count_bounds(&leaves, start, end);
        if lower > limit {
            return true;
        }
        if upper <= limit {
            return false;
        }
        engine.count(&leaves, start, end) > limit
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
        Ok(self.full_with(source, start, end, shape))
    }

    /// A live computation over the trailing `window` ns.
    pub fn live(&self, window: i64, mode: LiveMode) -> LiveComputation {
        LiveComputation::new(self.clone(), window, mode)
    }

    /// The range expression and `maxRanges` of a `SummarizeRanges` plan.
    pub(crate) fn range_output(&self) -> Option<(&crate::ir::Ranges, usize)> {
        match &self.output {
            Output::Ranges { ranges, max } => Some((ranges, *max)),
            _ => None,
        }
    }

    pub(crate) fn is_series(&self) -> bool {
        matches!(self.output, Output::Series(_))
    }

    pub(crate) fn is_log(&self) -> bool {
        matches!(self.output, Output::Series(AnySeries::Log(_)))
    }

    /// Bucket width for a range of `span` ns.
    pub(crate) fn width(&self, span: i64) -> i64 {
        bucket_width(span, self.buckets, self.resolution)
    }

    /// The shape of a fresh result over `[start, end]` (series: raw unless more than
    /// `buckets` input points; ranges: a summary past `maxRanges`).
    pub(crate) fn shape_for(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
        span: i64,
        count: Option<u64>,
    ) -> Shape {
        match &self.output {
            Output::Series(_) if self.is_log() => Shape::Raw,
            Output::Series(_) if self.lttb.is_some() => Shape::Lttb {
                max: self.lttb.unwrap_or(crate::lttb::MAX_POINTS),
            },
            Output::Series(_) => {
                let n = count.unwrap_or_else(|| self.raw_point_count(source, start, end));
                if n > self.buckets {
                    Shape::Bucketed {
                        width: self.width(span),
                        origin: 0,
                    }
                } else {
                    Shape::Raw
                }
            }
            Output::Ranges { ranges, max } => {
                let n: usize = Engine::new(source)
                    .ranges(ranges, start, end)
                    .iter()
                    .map(|(_, r)| r.len())
                    .max()
                    .unwrap_or(0);
                if n > *max {
                    Shape::RangesSummary
                } else {
                    Shape::Ranges
                }
            }
            Output::Value(_) => Shape::Value,
        }
    }

    /// Full result over `[start, end]`. Bucketed results hold every bucket that overlaps
    /// the range, each over its whole span up to `end`, so they match appends bucket for
    /// bucket.
    pub(crate) fn full_with(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
        shape: Shape,
    ) -> ComputeNodeResponse {
        let read_from = match shape {
            Shape::Bucketed { width, origin } => {
                origin + bucket_start(bucket_of(start - origin, width), width)
            }
            _ => start,
        };
        self.wrap_full(self.bodies(source, read_from, end, start, shape))
    }

    /// Append content for `[from, end]` of a window starting at `window_start`. Bucketed
    /// appends resend every bucket whose stamp (its end) is at or after `from`.
    pub(crate) fn append_with(
        &self,
        source: &dyn DataSource,
        from: i64,
        end: i64,
        window_start: i64,
        shape: Shape,
    ) -> ComputeNodeAppendResponse {
        let read_from = match shape {
            Shape::Bucketed { width, origin } => {
                origin + bucket_start(bucket_of(from.saturating_sub(1) - origin, width), width)
            }
            _ => from,
        };
        let bodies = self.bodies(source, read_from, end, window_start, shape);
        self.wrap_append(bodies)
    }

    /// A range append from ranges already evaluated over `[from, end]`.
    pub(crate) fn ranges_append(&self, rs: &Grouped<Vec<Range>>) -> ComputeNodeAppendResponse {
        self.wrap_append(
            rs.iter()
                .map(|(g, r)| (g.clone(), Body::Ranges(r.iter().map(wire_range).collect())))
                .collect(),
        )
    }

    fn wrap_append(&self, bodies: Grouped<Body>) -> ComputeNodeAppendResponse {
        if self.grouped {
            ComputeNodeAppendResponse::Grouped(GroupedComputeNodeAppendResponses {
                responses: bodies
                    .into_iter()
                    .map(|(g, b)| GroupedComputeNodeAppendResponse {
                        grouping: Grouping::TagsWithValues(g),
                        response: b.into_append(),
                    })
                    .collect(),
            })
        } else {
            bodies
                .into_iter()
                .next()
                .map(|(_, b)| b.into_append())
                .unwrap_or(ComputeNodeAppendResponse::Range(Vec::new()))
        }
    }

    fn wrap_full(&self, bodies: Grouped<Body>) -> ComputeNodeResponse {
        if self.grouped {
            ComputeNodeResponse::Grouped(GroupedComputeNodeResponses {
                responses: bodies
                    .into_iter()
                    .map(|(g, b)| GroupedComputeNodeResponse {
                        grouping: Grouping::TagsWithValues(g),
                        response: b.into_full(),
                    })
                    .collect(),
            })
        } else {
            bodies
                .into_iter()
                .next()
                .map(|(_, b)| b.into_full())
                .unwrap_or(ComputeNodeResponse::Range(Vec::new()))
        }
    }

    /// One body per group over `[from, end]`; `window_start` bounds value selection.
    fn bodies(
        &self,
        source: &dyn DataSource,
        from: i64,
        end: i64,
        window_start: i64,
        shape: Shape,
    ) -> Grouped<Body> {
        let engine = Engine::new(source);
        match &self.output {
            Output::Series(s) => series_cols(&engine, s, from, end)
                .into_iter()
                .map(|(g, c)| (g, series_body(c, shape)))
                .collect(),
            Output::Ranges { ranges, .. } => engine
                .ranges(ranges, from, end)
                .into_iter()
                .map(|(g, rs)| {
                    let body = if shape == Shape::RangesSummary {
                        Body::RangesSummary(summary(&rs))
                    } else {
                        Body::Ranges(rs.iter().map(wire_range).collect())
                    };
                    (g, body)
                })
                .collect(),
            Output::Value(v) => crate::value::select(&engine, v, window_start, end),
        }
    }
}

pub(crate) fn series_cols_pub(
    engine: &Engine<'_>,
    s: &AnySeries,
    a: i64,
    b: i64,
) -> Grouped<(Vec<i64>, SeriesPoint)> {
    series_cols(engine, s, a, b)
        .into_iter()
        .map(|(g, c)| match c {
            SeriesCols::Num(c) => (g, (c.ts, SeriesPoint::Num(c.values))),
            SeriesCols::Enum(c) => (g, (c.ts, SeriesPoint::Enum(c.values))),
            SeriesCols::Log(c) => (g, (c.ts.clone(), SeriesPoint::Log(c.values, c.series))),
        })
        .collect()
}

/// Values of evaluated series, for value selection.
pub(crate) enum SeriesPoint {
    Num(Vec<f64>),
    Enum(Vec<Arc<str>>),
    Log(Vec<LogEntry>, Vec<u64>),
}

fn series_cols(engine: &Engine<'_>, s: &AnySeries, a: i64, b: i64) -> Grouped<SeriesCols> {
    match s {
        AnySeries::Numeric(n) => engine
            .num(n, a, b)
            .into_iter()
            .map(|(g, c)| (g, SeriesCols::Num(c)))
            .collect(),
        AnySeries::Enum(e) => engine
            .enum_series(e, a, b)
            .into_iter()
            .map(|(g, c)| (g, SeriesCols::Enum(c)))
            .collect(),
        AnySeries::Log(l) => engine
            .logs(l, a, b)
            .into_iter()
            .map(|(g, c)| (g, SeriesCols::Log(c)))
            .collect(),
    }
}

fn series_body(c: SeriesCols, shape: Shape) -> Body {
    match (c, shape) {
        (SeriesCols::Num(c), Shape::Bucketed { width, origin }) => {
            Body::BucketedNumeric(summarize::bucketed_numeric(&c, width, origin))
        }
        (SeriesCols::Num(c), Shape::Lttb { max }) => {
            Body::Numeric(summarize::numeric_plot(crate::lttb::lttb(c, max)))
        }
        (SeriesCols::Num(c), _) => Body::Numeric(summarize::numeric_plot(c)),
        (SeriesCols::Enum(c), Shape::Bucketed { width, origin }) => {
            Body::BucketedEnum(summarize::bucketed_enum(&c, width, origin))
        }
        (SeriesCols::Enum(c), _) => Body::Enum(summarize::enum_plot(&c)),
        (SeriesCols::Log(c), _) => Body::Log(summarize::log_plot(&c)),
    }
}

/// One summary spanning all ranges with their count.
fn summary(rs: &[Range]) -> RangesSummary {
    let start = rs.iter().map(|r| r.start).min().flatten();
    let end = if rs.iter().any(|r| r.end.is_none()) {
        None
    } else {
        rs.iter().filter_map(|r| r.end).max()
    };
    RangesSummary {
        ranges_summary: vec![RangeSummary {
            range: WireRange {
                start: start.map(ts),
                end: end.map(ts),
                value: None,
            },
            sub_range_count: i32::try_from(rs.len()).unwrap_or(i32::MAX),
        }],
    }
}

#[allow(dead_code)]
fn _tags(_: Tags) {}
