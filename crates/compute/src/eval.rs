//! Evaluating a [`Plan`] over a range: the HTTP compute path and the building block of
//! live full results and appends.

use wire::persistent_compute::ComputeNodeAppendResponse;
use wire::scout_compute::{
    BucketedEnumPlot, BucketedNumericPlot, ComputeNodeResponse, ComputeUnitResult, EnumPlot,
    LogPlot, NumericPlot, PagedLogPlot, UnitResult,
};

use crate::columns;
use crate::error::ComputeError;
use crate::live::{LiveComputation, LiveMode};
use crate::plan::Plan;
use crate::source::{ChannelKind, DataSource};
use crate::summarize::{self, bucket_of, bucket_start, bucket_width};

/// How a result is shaped: every point, or aligned buckets of a fixed width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    Raw,
    Bucketed { width: i64 },
}

/// A result before it is wrapped as a full response or an append.
enum Body {
    Numeric(NumericPlot),
    BucketedNumeric(BucketedNumericPlot),
    Enum(EnumPlot),
    BucketedEnum(BucketedEnumPlot),
    Log(LogPlot),
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
        }
    }

    fn into_append(self) -> ComputeNodeAppendResponse {
        match self {
            Body::Numeric(p) => ComputeNodeAppendResponse::Numeric(p),
            Body::BucketedNumeric(p) => ComputeNodeAppendResponse::BucketedNumeric(p),
            Body::Enum(p) => ComputeNodeAppendResponse::Enum(p),
            Body::BucketedEnum(p) => ComputeNodeAppendResponse::BucketedEnum(p),
            Body::Log(p) => ComputeNodeAppendResponse::Log(p),
        }
    }
}

impl Plan {
    /// The channel unit as `single.success(unit)`, else `single.noUnitAvailable([])`.
    pub fn unit_result(&self) -> ComputeUnitResult {
        ComputeUnitResult::Single(match &self.input.unit {
            Some(unit) => UnitResult::Success(unit.clone()),
            None => UnitResult::NoUnitAvailable(Vec::new()),
        })
    }

    /// Nanoseconds before a changed timestamp whose output may change (0: raw reads).
    pub fn look_back(&self) -> i64 {
        0
    }

    /// `(dataset rid, channel)` pairs whose writes can change the result.
    pub fn watched_channels(&self) -> Vec<(String, String)> {
        vec![(self.input.dataset.clone(), self.input.channel.clone())]
    }

    /// The channel type the result is built from.
    pub fn kind(&self) -> ChannelKind {
        self.input.kind
    }

    /// Raw results hold at most this many points; above it results are bucketed.
    pub fn buckets(&self) -> u64 {
        self.buckets
    }

    /// Points the input holds in `[start, end]`, from counts only.
    pub fn raw_point_count(&self, source: &dyn DataSource, start: i64, end: i64) -> u64 {
        let ids = columns::series_ids(&self.input, source);
        columns::count(&ids, source, start, end)
    }

    /// The result over the fixed range `[start, end]` (HTTP compute): raw when the range
    /// holds at most `buckets` points, else aligned buckets of width
    /// `resolution` or `ceil((end - start) / buckets)`.
    pub fn compute(
        &self,
        source: &dyn DataSource,
        start: i64,
        end: i64,
    ) -> Result<ComputeNodeResponse, ComputeError> {
        if start > end {
            return Err(ComputeError::InvalidRange { start, end });
        }
        let ids = columns::series_ids(&self.input, source);
        let bucketed = self.input.kind != ChannelKind::Log
            && columns::count(&ids, source, start, end) > self.buckets;
        let shape = if bucketed {
            Shape::Bucketed {
                width: self.width(end.saturating_sub(start)),
            }
        } else {
            Shape::Raw
        };
        Ok(self.full_with(&ids, source, start, end, shape))
    }

    /// A live computation over the trailing `window` ns.
    pub fn live(&self, window: i64, mode: LiveMode) -> LiveComputation {
        LiveComputation::new(self.clone(), window, mode)
    }

    /// Bucket width for a range of `span` ns.
    pub(crate) fn width(&self, span: i64) -> i64 {
        bucket_width(span, self.buckets, self.resolution)
    }

    /// Full result over `[start, end]`. Bucketed results hold every bucket that overlaps the
    /// range, each over its whole span up to `end`, so they match appends bucket for bucket.
    pub(crate) fn full_with(
        &self,
        ids: &[u64],
        source: &dyn DataSource,
        start: i64,
        end: i64,
        shape: Shape,
    ) -> ComputeNodeResponse {
        let read_from = match shape {
            Shape::Raw => start,
            Shape::Bucketed { width } => bucket_start(bucket_of(start, width), width),
        };
        self.body(ids, source, read_from, end, shape).into_full()
    }

    /// Append content for `[from, end]`. Bucketed appends resend every bucket whose stamp
    /// (its end) is at or after `from`, which are exactly the ones a client deletes.
    pub(crate) fn append_with(
        &self,
        ids: &[u64],
        source: &dyn DataSource,
        from: i64,
        end: i64,
        shape: Shape,
    ) -> ComputeNodeAppendResponse {
        let read_from = match shape {
            Shape::Raw => from,
            Shape::Bucketed { width } => {
                bucket_start(bucket_of(from.saturating_sub(1), width), width)
            }
        };
        self.body(ids, source, read_from, end, shape).into_append()
    }

    fn body(
        &self,
        ids: &[u64],
        source: &dyn DataSource,
        from: i64,
        end: i64,
        shape: Shape,
    ) -> Body {
        match (self.input.kind, shape) {
            (ChannelKind::Numeric, Shape::Raw) => Body::Numeric(summarize::numeric_plot(
                columns::numeric(ids, source, from, end),
            )),
            (ChannelKind::Numeric, Shape::Bucketed { width }) => {
                let cols = columns::numeric(ids, source, from, end);
                Body::BucketedNumeric(summarize::bucketed_numeric(&cols, width))
            }
            (ChannelKind::Enum, Shape::Raw) => Body::Enum(summarize::enum_plot(&columns::strings(
                ids, source, from, end,
            ))),
            (ChannelKind::Enum, Shape::Bucketed { width }) => {
                let cols = columns::strings(ids, source, from, end);
                Body::BucketedEnum(summarize::bucketed_enum(&cols, width))
            }
            // Logs have no bucketed form; they are always raw.
            (ChannelKind::Log, _) => {
                Body::Log(summarize::log_plot(&columns::logs(ids, source, from, end)))
            }
        }
    }
}
