//! What one received result tells the benchmark: when it arrived, the newest point it
//! covers, and for ranges the first range boundary it shows, read from the result as
//! parsed by the upstream wire types.
//!
//! Ranges carry no point time, but their boundaries are point timestamps: a run of
//! `value > threshold` starts at its first point above and ends at the first point not
//! above after it (the server's `runs_of`; the wire's `end` is "the first timestamp that
//! does not belong to the range"). A boundary newer than any the panel has shown is a
//! point the result certainly covers, and the change it shows became visible on receipt,
//! so the write that carried that point times it ([`Boundaries`]).

use sightline_wire::persistent_compute::ComputeNodeAppendResponse;
use sightline_wire::scout_compute::{
    BucketedNumericPlot, ComputeNodeResponse, NumericPlot, Range, RangesSummary,
};
use std::collections::HashMap;

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
    /// A range boundary (a point's timestamp) this result is the first to show for its
    /// panel, the newest if several: a point it certainly covers. `None` for plots.
    pub(crate) revealed: Option<i64>,
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

/// The newest boundary (start or end; an open range has no end) of a range list.
fn newest_of_ranges<'r>(ranges: impl IntoIterator<Item = &'r Range>) -> Option<i64> {
    ranges
        .into_iter()
        .flat_map(|r| [r.start.as_ref(), r.end.as_ref()])
        .flatten()
        .map(ts)
        .max()
}

/// A summary spans its ranges: its start is the first range's, its end the last one's.
fn newest_of_summary(summary: &RangesSummary) -> Option<i64> {
    newest_of_ranges(summary.ranges_summary.iter().map(|s| &s.range))
}

/// The newest range boundary a full result shows; `None` for plots.
pub(crate) fn newest_boundary_full(result: &ComputeNodeResponse) -> Option<i64> {
    match result {
        ComputeNodeResponse::Range(ranges) => newest_of_ranges(ranges),
        ComputeNodeResponse::RangesSummary(summary) => newest_of_summary(summary),
        ComputeNodeResponse::RangeValue(range) => newest_of_ranges(range),
        ComputeNodeResponse::Grouped(groups) => groups
            .responses
            .iter()
            .filter_map(|g| newest_boundary_full(&g.response))
            .max(),
        _ => None,
    }
}

/// The newest range boundary an append shows; `None` for plots. An append re-sends the
/// ranges touching its span with their true starts, so old boundaries come again.
pub(crate) fn newest_boundary_append(result: &ComputeNodeAppendResponse) -> Option<i64> {
    match result {
        ComputeNodeAppendResponse::Range(ranges) => newest_of_ranges(ranges),
        ComputeNodeAppendResponse::RangeValue(range) => newest_of_ranges(range),
        ComputeNodeAppendResponse::Grouped(groups) => groups
            .responses
            .iter()
            .filter_map(|g| newest_boundary_append(&g.response))
            .max(),
        _ => None,
    }
}

/// Per panel, the newest range boundary shown so far, so a result is credited only with
/// boundaries no earlier result showed (appends re-send open and just-closed ranges).
#[derive(Debug, Default)]
pub(crate) struct Boundaries {
    /// Panel → newest boundary seen (`None`: results seen, none with a boundary).
    newest: HashMap<u32, Option<i64>>,
}

impl Boundaries {
    /// Records the newest boundary of a result for `panel` (from [`newest_boundary_full`]
    /// or [`newest_boundary_append`]) and returns it if no earlier result showed it. A
    /// panel's first result only sets the mark: its boundaries are history, not changes.
    pub(crate) fn reveal(&mut self, panel: u32, newest: Option<i64>) -> Option<i64> {
        let Some(seen) = self.newest.get_mut(&panel) else {
            self.newest.insert(panel, newest);
            return None;
        };
        // `None` orders before any boundary.
        if newest > *seen {
            *seen = newest;
            newest
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    /// A wire timestamp, as JSON.
    fn at(nanos: i64) -> serde_json::Value {
        serde_json::json!({"seconds": nanos.div_euclid(S), "nanos": nanos.rem_euclid(S)})
    }

    fn range(start: i64, end: Option<i64>) -> serde_json::Value {
        match end {
            Some(end) => serde_json::json!({"start": at(start), "end": at(end)}),
            None => serde_json::json!({"start": at(start)}),
        }
    }

    fn full(value: serde_json::Value) -> ComputeNodeResponse {
        serde_json::from_value(value).expect("a full result")
    }

    fn append(value: serde_json::Value) -> ComputeNodeAppendResponse {
        serde_json::from_value(value).expect("an append result")
    }

    #[test]
    fn the_newest_boundary_is_a_start_or_a_closed_end() {
        // Closed ranges: the last end is the newest boundary.
        let closed = full(serde_json::json!({"type": "range", "range": [
            range(10 * S, Some(11 * S)), range(13 * S, Some(14 * S))]}));
        assert_eq!(newest_boundary_full(&closed), Some(14 * S));
        // An open last range shows only its start.
        let open = full(serde_json::json!({"type": "range", "range": [
            range(10 * S, Some(11 * S)), range(13 * S, None)]}));
        assert_eq!(newest_boundary_full(&open), Some(13 * S));
        let summary = full(
            serde_json::json!({"type": "rangesSummary", "rangesSummary": {
            "rangesSummary": [{"range": range(10 * S, Some(20 * S)), "subRangeCount": 4}]}}),
        );
        assert_eq!(newest_boundary_full(&summary), Some(20 * S));
        let none = full(serde_json::json!({"type": "range", "range": []}));
        assert_eq!(newest_boundary_full(&none), None);
        let plot = full(serde_json::json!({"type": "numeric", "numeric": {
            "timestamps": [at(5 * S)], "values": [1.0]}}));
        assert_eq!(newest_boundary_full(&plot), None);

        let closing = append(serde_json::json!({"type": "range", "range": [
            range(13 * S, Some(15 * S))]}));
        assert_eq!(newest_boundary_append(&closing), Some(15 * S));
        let still_open = append(serde_json::json!({"type": "range", "range": [
            range(13 * S, None)]}));
        assert_eq!(newest_boundary_append(&still_open), Some(13 * S));
        let empty = append(serde_json::json!({"type": "range", "range": []}));
        assert_eq!(newest_boundary_append(&empty), None);
    }

    #[test]
    fn a_boundary_counts_once_and_not_from_the_first_result() {
        let mut b = Boundaries::default();
        // The first full result is history: it only sets the mark.
        assert_eq!(b.reveal(7, Some(14 * S)), None);
        // The same range list again (nothing changed): nothing new.
        assert_eq!(b.reveal(7, Some(14 * S)), None);
        // A range opens at 16 s.
        assert_eq!(b.reveal(7, Some(16 * S)), Some(16 * S));
        // Re-sent open with its true start, in every append until it closes.
        assert_eq!(b.reveal(7, Some(16 * S)), None);
        // It closes at 17 s.
        assert_eq!(b.reveal(7, Some(17 * S)), Some(17 * S));
        // Appends with no range touching their span.
        assert_eq!(b.reveal(7, None), None);
        // Panels are apart; plots never show a boundary.
        assert_eq!(b.reveal(8, None), None);
        assert_eq!(b.reveal(8, None), None);
        // A panel whose first result showed no range: its first range is a change.
        assert_eq!(b.reveal(8, Some(18 * S)), Some(18 * S));
    }
}
