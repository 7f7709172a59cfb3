//! Wire rendering: turns evaluated columns, ranges and selected points into the upstream
//! result types, and wraps one body per group as a full result or an append. The only
//! module of the result layer that knows the wire's result types (with `summarize`, which
//! renders plots and buckets).
//!
//! ```text
//!   AnyColumns ─┐                      ┌─► ComputeNodeResponse        (full)
//!   Vec<Range> ─┼─► Body (one per group)┤
//!   point      ─┘                      └─► ComputeNodeAppendResponse  (append)
//! ```

use wire::persistent_compute::{
    ComputeNodeAppendResponse, GroupedComputeNodeAppendResponse, GroupedComputeNodeAppendResponses,
};
use wire::scout_compute::{
    BucketedEnumPlot, BucketedNumericPlot, ComputeNodeResponse, EnumPlot, EnumPoint,
    GroupedComputeNodeResponse, GroupedComputeNodeResponses, Grouping, LogPlot, LogPoint, LogValue,
    NumericPlot, NumericPoint, PagedLogPlot, Range as WireRange, RangeSummary, RangesSummary,
};
use wire::time::nanos_to_timestamp;

use crate::engine::{AnyColumns, Grouped, Range};
use crate::shape::Shape;
use crate::summarize::{self, log_id};

/// A result of one group before it is wrapped as a full response or an append.
#[derive(Debug, Clone, PartialEq)]
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

/// One body per group as a full response: `grouped` when the plan groups by tags, else
/// the single group's body.
pub(crate) fn full_response(grouped: bool, bodies: Grouped<Body>) -> ComputeNodeResponse {
    if grouped {
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

/// One body per group as the content of an append (see [`full_response`]).
pub(crate) fn append_response(grouped: bool, bodies: Grouped<Body>) -> ComputeNodeAppendResponse {
    if grouped {
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

fn ts(n: i64) -> wire::api::Timestamp {
    nanos_to_timestamp(n)
}

/// A range on the wire (no value attached).
pub(crate) fn wire_range(r: &Range) -> WireRange {
    WireRange {
        start: r.start.map(ts),
        end: r.end.map(ts),
        value: None,
    }
}

/// A range list.
pub(crate) fn ranges_body<'r>(rs: impl IntoIterator<Item = &'r Range>) -> Body {
    Body::Ranges(rs.into_iter().map(wire_range).collect())
}

/// One summary spanning all ranges with their count.
pub(crate) fn ranges_summary(rs: &[Range]) -> Body {
    let start = rs.iter().map(|r| r.start).min().flatten();
    let end = if rs.iter().any(|r| r.end.is_none()) {
        None
    } else {
        rs.iter().filter_map(|r| r.end).max()
    };
    summary_body(start, end, rs.len())
}

/// One summary spanning `[start, end]` (`None`: open) over `count` ranges.
pub(crate) fn summary_body(start: Option<i64>, end: Option<i64>, count: usize) -> Body {
    Body::RangesSummary(RangesSummary {
        ranges_summary: vec![RangeSummary {
            range: WireRange {
                start: start.map(ts),
                end: end.map(ts),
                value: None,
            },
            sub_range_count: i32::try_from(count).unwrap_or(i32::MAX),
        }],
    })
}

/// Evaluated series columns as a plot of the given shape.
pub(crate) fn series_body(c: AnyColumns, shape: Shape) -> Body {
    match (c, shape) {
        (AnyColumns::Num(c), Shape::Bucketed { width, origin }) => {
            Body::BucketedNumeric(summarize::bucketed_numeric(&c, width, origin))
        }
        (AnyColumns::Num(c), Shape::Lttb { max }) => {
            Body::Numeric(summarize::numeric_plot(crate::lttb::lttb(c, max)))
        }
        (AnyColumns::Num(c), _) => Body::Numeric(summarize::numeric_plot(c)),
        (AnyColumns::Enum(c), Shape::Bucketed { width, origin }) => {
            Body::BucketedEnum(summarize::bucketed_enum(&c, width, origin))
        }
        (AnyColumns::Enum(c), _) => Body::Enum(summarize::enum_plot(&c)),
        (AnyColumns::Log(c), _) => Body::Log(summarize::log_plot(&c)),
    }
}

/// The point at index `i` of `c` (`None`: no point) as a `SelectValue` body of the
/// series' type.
pub(crate) fn point_body(c: &AnyColumns, i: Option<usize>) -> Body {
    match c {
        AnyColumns::Num(c) => Body::NumericPoint(i.map(|i| NumericPoint {
            timestamp: ts(c.ts[i]),
            value: c.values[i],
        })),
        AnyColumns::Enum(c) => Body::EnumPoint(i.map(|i| EnumPoint {
            timestamp: ts(c.ts[i]),
            value: c.values[i].to_string(),
        })),
        AnyColumns::Log(c) => Body::LogPoint(i.map(|i| LogPoint {
            timestamp: ts(c.ts[i]),
            value: LogValue {
                message: c.values[i].0.to_string(),
                args: (*c.values[i].1).clone(),
                id: log_id(c.series.get(i).copied().unwrap_or(0), c.ts[i]),
            },
        })),
    }
}
