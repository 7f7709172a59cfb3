//! Property test of the merge model against a naive server written here: for random
//! sequences of writes (late and out of order included), a full result followed by every
//! append the rules allow merges to exactly the fresh full result over the final window.
//! Covers raw numeric and enum points, aligned buckets, ranges and grouped results;
//! mid-stream full results too.
#![allow(clippy::unwrap_used, missing_docs)]

use proptest::prelude::*;
use sightline_client::merge::{Plot, WindowState};
use sightline_wire::conjure::SafeLong;
use sightline_wire::persistent_compute::{
    AppendResult, ComputeNodeAppendResponse, GroupedComputeNodeAppendResponse,
    GroupedComputeNodeAppendResponses,
};
use sightline_wire::scout_compute::{
    BucketedNumericPlot, ComputeNodeResponse, EnumPlot, GroupedComputeNodeResponse,
    GroupedComputeNodeResponses, Grouping, NumericBucket, NumericPlot, NumericPoint, Range,
};
use sightline_wire::time::nanos_to_timestamp;
use std::collections::BTreeMap;

const WINDOW: i64 = 1_000;
/// Bucket width of the bucketed shape; buckets sit on its multiples and are stamped by
/// their exclusive end.
const WIDTH: i64 = 40;

/// One write step: time advances, then points land at offsets before `now` (late ones
/// included), in two groups; a step may ask for a full result instead of an append.
#[derive(Debug, Clone)]
struct Step {
    advance: i64,
    points: Vec<(u8, i64, f64)>,
    full: bool,
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        (
            // Multiples of 8 land the window's edge on a bucket boundary (WIDTH divides
            // WINDOW and the start) often, where an off-by-one in rule 3 shows.
            (1i64..50).prop_map(|a| a * 8),
            prop::collection::vec((0u8..2, 0i64..1_500, -3.0f64..3.0), 0..6),
            prop::bool::weighted(0.1),
        )
            .prop_map(|(advance, points, full)| Step {
                advance,
                points,
                full,
            }),
        1..25,
    )
}

/// All points written so far, per group, keyed by time (a rewrite replaces).
type Data = [BTreeMap<i64, f64>; 2];

fn numeric(points: impl Iterator<Item = (i64, f64)>) -> NumericPlot {
    let (ts, vs): (Vec<_>, Vec<_>) = points.map(|(t, v)| (nanos_to_timestamp(t), v)).unzip();
    NumericPlot {
        timestamps: ts,
        values: vs,
        next_page_token: None,
    }
}

/// Maximal runs of consecutive points with a positive value, with their true ends.
fn ranges(series: &BTreeMap<i64, f64>) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    let mut open: Option<(i64, i64)> = None;
    for (&t, &v) in series {
        match (v > 0.0, open) {
            (true, None) => open = Some((t, t)),
            (true, Some((s, _))) => open = Some((s, t)),
            (false, Some(r)) => {
                out.push(r);
                open = None;
            }
            (false, None) => {}
        }
    }
    out.extend(open);
    out
}

fn wire_ranges(rs: impl Iterator<Item = (i64, i64)>) -> Vec<Range> {
    rs.map(|(s, e)| Range {
        start: Some(nanos_to_timestamp(s)),
        end: Some(nanos_to_timestamp(e)),
        value: None,
    })
    .collect()
}

#[derive(Debug, Clone, Copy)]
enum Shape {
    Raw,
    Enum,
    Bucketed,
    Ranges,
    Grouped,
}

/// Enum points: the state named by the value's sign. Each result numbers its categories
/// in its own order (reversed in appends), as a server may.
fn enum_plot(points: impl Iterator<Item = (i64, f64)>, reversed: bool) -> EnumPlot {
    let mut categories = vec!["low".to_string(), "high".to_string()];
    if reversed {
        categories.reverse();
    }
    let (timestamps, values) = points
        .map(|(t, v)| {
            let name = if v > 0.0 { "high" } else { "low" };
            let code = categories.iter().position(|c| c == name).unwrap_or(0);
            (nanos_to_timestamp(t), code as i32)
        })
        .unzip();
    EnumPlot {
        timestamps,
        values,
        categories,
        next_page_token: None,
    }
}

/// Whole aligned buckets from bucket `first` (the one holding `from`) on, with every
/// point they hold (a server reads the whole first bucket, before `from` too).
fn bucketed(series: &BTreeMap<i64, f64>, from: i64) -> BucketedNumericPlot {
    let mut by_end: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    let first_start = from.div_euclid(WIDTH) * WIDTH;
    for (&t, &v) in series.range(first_start..) {
        by_end
            .entry((t.div_euclid(WIDTH) + 1) * WIDTH)
            .or_default()
            .push((t, v));
    }
    let point = |(t, v): (i64, f64)| NumericPoint {
        timestamp: nanos_to_timestamp(t),
        value: v,
    };
    let (timestamps, buckets) = by_end
        .into_iter()
        .map(|(end, points)| {
            let n = points.len() as f64;
            let mean = points.iter().map(|p| p.1).sum::<f64>() / n;
            let bucket = NumericBucket {
                min: points.iter().map(|p| p.1).reduce(f64::min),
                max: points.iter().map(|p| p.1).reduce(f64::max),
                mean: Some(mean),
                count: Some(SafeLong(points.len() as i64)),
                variance: Some(points.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / n),
                first_point: points.first().copied().map(point),
                last_point: points.last().copied().map(point),
                aggregations: BTreeMap::new(),
            };
            (nanos_to_timestamp(end), bucket)
        })
        .unzip();
    BucketedNumericPlot {
        timestamps,
        buckets,
    }
}

fn group(i: usize) -> Grouping {
    Grouping::TagsWithValues(BTreeMap::from([("stand".to_string(), format!("{i}"))]))
}

/// The naive server's full result over `[lo, hi]`.
fn full(shape: Shape, data: &Data, lo: i64, hi: i64) -> ComputeNodeResponse {
    let raw = |s: &BTreeMap<i64, f64>| numeric(s.range(lo..=hi).map(|(t, v)| (*t, *v)));
    match shape {
        Shape::Raw => ComputeNodeResponse::Numeric(raw(&data[0])),
        Shape::Enum => ComputeNodeResponse::Enum(enum_plot(
            data[0].range(lo..=hi).map(|(t, v)| (*t, *v)),
            false,
        )),
        Shape::Bucketed => ComputeNodeResponse::BucketedNumeric(bucketed(&data[0], lo)),
        Shape::Ranges => ComputeNodeResponse::Range(wire_ranges(
            ranges(&data[0])
                .into_iter()
                .filter(|(s, e)| *s <= hi && *e >= lo),
        )),
        Shape::Grouped => ComputeNodeResponse::Grouped(GroupedComputeNodeResponses {
            responses: (0..2)
                .map(|i| GroupedComputeNodeResponse {
                    grouping: group(i),
                    response: ComputeNodeResponse::Numeric(raw(&data[i])),
                })
                .collect(),
        }),
    }
}

/// The naive server's append over `[start, end]`: complete for that range.
fn append(shape: Shape, data: &Data, start: i64, end: i64) -> AppendResult {
    let raw = |s: &BTreeMap<i64, f64>| numeric(s.range(start..=end).map(|(t, v)| (*t, *v)));
    let result = match shape {
        Shape::Raw => ComputeNodeAppendResponse::Numeric(raw(&data[0])),
        Shape::Enum => ComputeNodeAppendResponse::Enum(enum_plot(
            data[0].range(start..=end).map(|(t, v)| (*t, *v)),
            true,
        )),
        // Every bucket stamped at or after `start`: the one holding `start - 1` on.
        Shape::Bucketed => {
            ComputeNodeAppendResponse::BucketedNumeric(bucketed(&data[0], start - 1))
        }
        Shape::Ranges => ComputeNodeAppendResponse::Range(wire_ranges(
            ranges(&data[0])
                .into_iter()
                .filter(|(s, e)| *s <= end && *e >= start),
        )),
        Shape::Grouped => ComputeNodeAppendResponse::Grouped(GroupedComputeNodeAppendResponses {
            responses: (0..2)
                .map(|i| GroupedComputeNodeAppendResponse {
                    grouping: group(i),
                    response: ComputeNodeAppendResponse::Numeric(raw(&data[i])),
                })
                .collect(),
        }),
    };
    AppendResult {
        start: nanos_to_timestamp(start),
        end: nanos_to_timestamp(end),
        result,
    }
}

/// The earliest time whose ranges differ between two range lists.
fn earliest_range_change(before: &[(i64, i64)], after: &[(i64, i64)]) -> Option<i64> {
    let changed =
        |a: &[(i64, i64)], b: &[(i64, i64)]| a.iter().filter(|r| !b.contains(r)).map(|r| r.0).min();
    match (changed(before, after), changed(after, before)) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn check(
    shape: Shape,
    initial: Vec<(u8, i64, f64)>,
    steps: Vec<Step>,
) -> Result<(), TestCaseError> {
    let mut data: Data = [BTreeMap::new(), BTreeMap::new()];
    let mut now = 2_000;
    for (g, off, v) in initial {
        data[usize::from(g)].insert(now - off, v);
    }
    let mut state = WindowState::new(WINDOW, &full(shape, &data, now - WINDOW, now)).unwrap();
    let mut prev_end = now;
    for step in steps {
        now += step.advance;
        let ranges_before = ranges(&data[0]);
        let mut earliest = prev_end;
        for (g, off, v) in &step.points {
            let t = now - off;
            data[usize::from(*g)].insert(t, *v);
            earliest = earliest.min(t);
        }
        if let Some(t) = earliest_range_change(&ranges_before, &ranges(&data[0])) {
            earliest = earliest.min(t);
        }
        if step.full {
            state
                .apply_full(&full(shape, &data, now - WINDOW, now))
                .unwrap();
        } else {
            let a = append(shape, &data, earliest, now);
            state
                .apply_append(&a)
                .map_err(|e| TestCaseError::fail(format!("merge refused a valid append: {e}")))?;
        }
        prev_end = now;
    }
    let fresh = Plot::from_full(&full(shape, &data, now - WINDOW, now)).unwrap();
    prop_assert_eq!(
        &state.plot,
        &fresh,
        "merged state differs from a fresh full result"
    );
    Ok(())
}

fn initial() -> impl Strategy<Value = Vec<(u8, i64, f64)>> {
    prop::collection::vec((0u8..2, 0i64..2_000, -3.0f64..3.0), 0..20)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn raw_points_merge_to_the_fresh_full_result(init in initial(), steps in steps()) {
        check(Shape::Raw, init, steps)?;
    }

    #[test]
    fn enum_points_merge_to_the_fresh_full_result(init in initial(), steps in steps()) {
        check(Shape::Enum, init, steps)?;
    }

    #[test]
    fn aligned_buckets_merge_to_the_fresh_full_result(init in initial(), steps in steps()) {
        check(Shape::Bucketed, init, steps)?;
    }

    #[test]
    fn ranges_merge_to_the_fresh_full_result(init in initial(), steps in steps()) {
        check(Shape::Ranges, init, steps)?;
    }

    #[test]
    fn grouped_results_merge_to_the_fresh_full_result(init in initial(), steps in steps()) {
        check(Shape::Grouped, init, steps)?;
    }
}

#[test]
fn an_append_that_breaks_a_rule_is_refused_and_changes_nothing() {
    let mut data: Data = [BTreeMap::from([(100, 1.0)]), BTreeMap::new()];
    let mut state = WindowState::new(WINDOW, &full(Shape::Raw, &data, 0, 1_000)).unwrap();
    state
        .apply_append(&append(Shape::Raw, &data, 900, 1_100))
        .unwrap();
    let before = state.clone();
    // Rule 1: the end must move forward.
    let err = state
        .apply_append(&append(Shape::Raw, &data, 900, 1_100))
        .unwrap_err();
    assert!(err.to_string().contains("rule 1"), "{err}");
    // Rule 2: content outside [start, end].
    data[0].insert(1_150, 2.0);
    let mut stray = append(Shape::Raw, &data, 1_000, 1_200);
    stray.start = nanos_to_timestamp(1_160);
    let err = state.apply_append(&stray).unwrap_err();
    assert!(err.to_string().contains("outside its range"), "{err}");
    // Rule 4: the kind must not change.
    let err = state
        .apply_append(&append(Shape::Ranges, &data, 1_000, 1_200))
        .unwrap_err();
    assert!(err.to_string().contains("rule 4"), "{err}");
    assert_eq!(state, before);
}
