//! What one received result tells the benchmark: when it arrived and the newest point it
//! covers, read from the result as parsed by the upstream wire types.

use sightline_wire::persistent_compute::ComputeNodeAppendResponse;
use sightline_wire::scout_compute::{BucketedNumericPlot, ComputeNodeResponse, NumericPlot};

/// The newest point a result covers, as far as the result shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Newest {
    /// A plot: the timestamp of its newest point (a bucket's last point).
    Point(i64),
    /// Ranges carry no point timestamps: the result was computed up to this instant (an
    /// append's `end`, a poll's range end); the newest point it covers is taken as the
    /// newest one acknowledged by then, which can only overstate staleness.
    ComputedAt(i64),
    /// Nothing to tell (an empty plot, a full range list without an end).
    Unknown,
}

/// One result received for a panel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Received {
    /// Index of the panel in the wall.
    pub(crate) panel: u32,
    /// Wall-clock receive time, ns.
    pub(crate) at: i64,
    /// The newest point covered.
    pub(crate) newest: Newest,
}

fn ts(t: &sightline_wire::api::Timestamp) -> i64 {
    t.seconds
        .0
        .saturating_mul(1_000_000_000)
        .saturating_add(t.nanos.0)
}

fn newest_numeric(plot: &NumericPlot) -> Option<i64> {
    plot.timestamps.last().map(ts)
}

fn newest_bucketed(plot: &BucketedNumericPlot) -> Option<i64> {
    plot.buckets
        .iter()
        .rev()
        .find_map(|b| b.last_point.as_ref().map(|p| ts(&p.timestamp)))
}

fn later(a: Newest, b: Newest) -> Newest {
    match (a, b) {
        (Newest::Unknown, x) | (x, Newest::Unknown) => x,
        (Newest::Point(x), Newest::Point(y)) => Newest::Point(x.max(y)),
        (Newest::Point(p), Newest::ComputedAt(_)) | (Newest::ComputedAt(_), Newest::Point(p)) => {
            Newest::Point(p)
        }
        (Newest::ComputedAt(x), Newest::ComputedAt(y)) => Newest::ComputedAt(x.max(y)),
    }
}

/// The newest point of a full result; `computed_at` is the end of the range it was
/// computed for, when known (a poll's request).
pub(crate) fn newest_full(result: &ComputeNodeResponse, computed_at: Option<i64>) -> Newest {
    let ranges = || computed_at.map_or(Newest::Unknown, Newest::ComputedAt);
    match result {
        ComputeNodeResponse::Numeric(plot) => {
            newest_numeric(plot).map_or(Newest::Unknown, Newest::Point)
        }
        ComputeNodeResponse::BucketedNumeric(plot) => {
            newest_bucketed(plot).map_or(Newest::Unknown, Newest::Point)
        }
        ComputeNodeResponse::Range(_) | ComputeNodeResponse::RangesSummary(_) => ranges(),
        ComputeNodeResponse::Grouped(groups) => groups
            .responses
            .iter()
            .map(|g| newest_full(&g.response, computed_at))
            .fold(Newest::Unknown, later),
        _ => Newest::Unknown,
    }
}

/// The newest point of an append ending at `end`.
pub(crate) fn newest_append(result: &ComputeNodeAppendResponse, end: i64) -> Newest {
    match result {
        ComputeNodeAppendResponse::Numeric(plot) => {
            newest_numeric(plot).map_or(Newest::Unknown, Newest::Point)
        }
        ComputeNodeAppendResponse::BucketedNumeric(plot) => {
            newest_bucketed(plot).map_or(Newest::Unknown, Newest::Point)
        }
        ComputeNodeAppendResponse::Range(_) | ComputeNodeAppendResponse::RangeValue(_) => {
            Newest::ComputedAt(end)
        }
        ComputeNodeAppendResponse::Grouped(groups) => groups
            .responses
            .iter()
            .map(|g| newest_append(&g.response, end))
            .fold(Newest::Unknown, later),
        _ => Newest::Unknown,
    }
}
