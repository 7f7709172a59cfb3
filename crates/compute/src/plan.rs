//! What planning produces: a [`Plan`] (its output expression, unit and summary settings)
//! and the facts about it every later layer asks for. `lower` builds plans; `eval`,
//! `shape` and `live` use them.

use std::collections::BTreeMap;

use wire::scout_compute::Context;

use crate::ir::{AnySeries, Ranges};

/// `SummarizeSeries.buckets` when absent (PROTOCOL §6).
pub const DEFAULT_BUCKETS: u64 = 1_000;

/// `SummarizeRanges.maxRanges` when absent.
pub(crate) const DEFAULT_MAX_RANGES: usize = 2_000;

/// A checked computation, ready to evaluate over any range or to stream.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub(crate) output: Output,
    /// Unit symbol of the result's values, if known.
    pub(crate) unit: Option<String>,
    /// Raw results up to this many points in the range, bucketed above.
    pub(crate) buckets: u64,
    /// Bucket width (ns) asked for by the request; otherwise derived from the range.
    pub(crate) resolution: Option<i64>,
    /// Some channel is grouped by tags: the response is `grouped`.
    pub(crate) grouped: bool,
    /// `largestTriangleThreeBuckets`: at most this many selected points per group.
    pub(crate) lttb: Option<usize>,
}

/// What a plan produces.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Output {
    /// `SummarizeSeries`: a raw or bucketed plot.
    Series(AnySeries),
    /// `SummarizeRanges`: ranges, or a summary past `max` ranges.
    Ranges { ranges: Ranges, max: usize },
    /// `SelectValue`.
    Value(ValueSelect),
}

/// Which single value `SelectValue` picks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ValueSelect {
    /// First or last point; `skip_nan` for the `…ValuePoint` forms.
    Point {
        series: AnySeries,
        last: bool,
        skip_nan: bool,
    },
    /// First, last or n-th range (sorted by start, ascending or descending).
    Range {
        ranges: Ranges,
        index: i64,
        descending: bool,
    },
}

/// A context with nothing in it, for walking a node's structure alone.
pub(crate) fn empty_context() -> Context {
    Context {
        variables: BTreeMap::new(),
        function_variables: None,
        dataset_references: BTreeMap::new(),
        default_fill_strategy: None,
        default_alignment_strategy: None,
        apply_data_scope_offsets: None,
        resolve_assets_through_datasets: None,
    }
}

impl Plan {
    /// The range expression and `maxRanges` of a `SummarizeRanges` plan.
    pub(crate) fn range_output(&self) -> Option<(&Ranges, usize)> {
        match &self.output {
            Output::Ranges { ranges, max } => Some((ranges, *max)),
            _ => None,
        }
    }

    /// Whether the plan summarizes a series (raw or bucketed plots).
    pub(crate) fn is_series(&self) -> bool {
        matches!(self.output, Output::Series(_))
    }

    /// Whether the plan summarizes a log series (always raw).
    pub(crate) fn is_log(&self) -> bool {
        matches!(self.output, Output::Series(AnySeries::Log(_)))
    }
}
