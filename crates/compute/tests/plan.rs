//! Planning, classification, units and the live-mode decisions.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{channel_node, empty_context, parse_node, MemSource, Val, DATASET};
use sightline_compute::{classify, plan, ChannelKind, DiagnosticKind, LiveMode, LiveUpdate};
use wire::persistent_compute::{InvalidComputationType, PollingOnlyComputationType};
use wire::scout_compute::{ComputeNodeResponse, ComputeUnitResult, UnitResult};

fn source() -> MemSource {
    let mut s = MemSource::new();
    s.channel("pressure", ChannelKind::Numeric, Some("bar"));
    s.channel("valve", ChannelKind::Enum, None);
    s
}

#[test]
fn cumulative_sum_is_invalid_for_streaming_but_supported_for_http() {
    let node = parse_node(
        r#"{"type":"series","series":{"input":{"type":"numeric","numeric":{"type":"cumulativeSum",
        "cumulativeSum":{"startTimestamp":{"type":"literal","literal":{"seconds":0,"nanos":0}},"input":{"type":"channel","channel":{"type":"dataSource","dataSource":{
        "dataSourceRid":{"type":"literal","literal":"ri.x"},"channel":{"type":"literal","literal":"p"}}}}}}}}}"#,
    );
    let c = classify(&node);
    assert_eq!(
        c.invalid.into_iter().collect::<Vec<_>>(),
        vec![InvalidComputationType::CumulativeSum]
    );
    assert!(c.polling_only.is_empty());
    assert!(c.unsupported.is_empty());
}

#[test]
fn lttb_strategy_is_polling_only_and_unknown_variants_are_named() {
    let node = parse_node(
        r#"{"type":"series","series":{"summarizationStrategy":{"type":"largestTriangleThreeBuckets",
        "largestTriangleThreeBuckets":{"maxPointsPerGroup":10}},
        "input":{"type":"numeric","numeric":{"type":"fancyNewThing","fancyNewThing":{}}}}}"#,
    );
    let c = classify(&node);
    assert!(c.invalid.is_empty());
    assert_eq!(
        c.polling_only.into_iter().collect::<Vec<_>>(),
        vec![PollingOnlyComputationType::LttbSummarizationStrategy]
    );
    // LTTB itself is evaluated (full results only); the unknown variant is named by path.
    let paths: Vec<_> = c.unsupported.iter().map(|u| u.path.as_str()).collect();
    assert_eq!(paths, vec!["node.series.input.numeric.fancyNewThing"]);
}

#[test]
fn supported_node_classifies_clean() {
    let c = classify(&channel_node(
        "numeric",
        "pressure",
        &[("stand", "a")],
        None,
    ));
    assert!(c.invalid.is_empty() && c.polling_only.is_empty() && c.unsupported.is_empty());
}

#[test]
fn plan_reports_every_problem_with_paths() {
    // Missing channel, wrong channel type, missing variable and a bad bucket count at once.
    let node = parse_node(&format!(
        r#"{{"type":"series","series":{{"buckets":0,"input":{{"type":"numeric","numeric":{{"type":"channel",
        "channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},
        "channel":{{"type":"literal","literal":"valve"}},
        "tags":{{"stand":{{"type":"variable","variable":"stand"}}}}}}}}}}}}}}}}"#
    ));
    let errs = plan(&node, &empty_context(), &source()).unwrap_err();
    let kinds: Vec<_> = errs.iter().map(|d| (d.path.as_str(), &d.kind)).collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    assert_eq!(kinds[0].0, "node.series.buckets");
    assert!(matches!(
        kinds[0].1,
        DiagnosticKind::InvalidArgument {
            argument: "buckets",
            ..
        }
    ));
    assert_eq!(
        kinds[1].0,
        "node.series.input.numeric.channel.dataSource.tags.stand.variable"
    );
    assert!(matches!(kinds[1].1, DiagnosticKind::MissingVariable { name } if name == "stand"));

    let node = channel_node("numeric", "valve", &[], None);
    let errs = plan(&node, &empty_context(), &source()).unwrap_err();
    assert!(matches!(
        &errs[0].kind,
        DiagnosticKind::WrongChannelType {
            expected: ChannelKind::Numeric,
            actual: ChannelKind::Enum,
            ..
        }
    ));
    // A channel that does not exist yet is an empty series, still watched.
    let p = plan(
        &channel_node("numeric", "nope", &[], None),
        &empty_context(),
        &source(),
    )
    .unwrap();
    assert_eq!(
        p.watched_channels(),
        vec![(DATASET.to_string(), "nope".to_string())]
    );
    match p.compute(&source(), 0, 10).unwrap() {
        ComputeNodeResponse::Numeric(n) => assert!(n.values.is_empty()),
        other => panic!("unexpected {}", other.variant_name()),
    }
}

#[test]
fn variables_resolve_and_wrong_types_are_reported() {
    let node = parse_node(&format!(
        r#"{{"type":"series","series":{{"input":{{"type":"numeric","numeric":{{"type":"selectNumeric",
        "selectNumeric":{{"name":{{"type":"variable","variable":"ch"}},
        "dataset":{{"type":"saved","saved":{{"rid":{{"type":"literal","literal":"{DATASET}"}}}}}}}}}}}}}}}}"#
    ));
    let ctx =
        wire::from_json(r#"{"variables":{"ch":{"type":"string","string":"pressure"}}}"#).unwrap();
    let p = plan(&node, &ctx, &source()).unwrap();
    assert_eq!(
        p.watched_channels(),
        vec![(DATASET.to_string(), "pressure".to_string())]
    );
    let ctx = wire::from_json(r#"{"variables":{"ch":{"type":"double","double":1.0}}}"#).unwrap();
    let errs = plan(&node, &ctx, &source()).unwrap_err();
    assert_eq!(
        errs[0].path,
        "node.series.input.numeric.selectNumeric.name.variable"
    );
    assert!(
        matches!(&errs[0].kind, DiagnosticKind::VariableHasWrongType { actual, .. } if actual == "double")
    );
}

#[test]
fn unit_flows_into_unit_result() {
    let s = source();
    let p = plan(
        &channel_node("numeric", "pressure", &[], None),
        &empty_context(),
        &s,
    )
    .unwrap();
    assert_eq!(
        p.unit_result(),
        ComputeUnitResult::Single(UnitResult::Success("bar".into()))
    );
    let p = plan(
        &channel_node("enum", "valve", &[], None),
        &empty_context(),
        &s,
    )
    .unwrap();
    assert_eq!(
        p.unit_result(),
        ComputeUnitResult::Single(UnitResult::NoUnitAvailable(vec![]))
    );
    assert_eq!(p.look_back(), 0);
}

#[test]
fn tags_narrow_and_no_tags_merge_all_series() {
    let mut s = source();
    s.write("pressure", &[("stand", "a")], 10, Val::Num(1.0));
    s.write("pressure", &[("stand", "b")], 5, Val::Num(2.0));
    s.write("pressure", &[("stand", "a")], 10, Val::Num(3.0)); // replaces
    let all = plan(
        &channel_node("numeric", "pressure", &[], None),
        &empty_context(),
        &s,
    )
    .unwrap();
    match all.compute(&s, 0, 100).unwrap() {
        ComputeNodeResponse::Numeric(p) => assert_eq!(p.values, vec![2.0, 3.0]),
        other => panic!("{}", other.variant_name()),
    }
    let a = plan(
        &channel_node("numeric", "pressure", &[("stand", "a")], None),
        &empty_context(),
        &s,
    )
    .unwrap();
    match a.compute(&s, 0, 100).unwrap() {
        ComputeNodeResponse::Numeric(p) => assert_eq!(p.values, vec![3.0]),
        other => panic!("{}", other.variant_name()),
    }
    assert!(a.compute(&s, 5, 4).is_err());
}

#[test]
fn auto_mode_switches_with_hysteresis_and_full_equals_http_compute() {
    let mut s = source();
    let p = plan(
        &channel_node("numeric", "pressure", &[], Some(10)),
        &empty_context(),
        &s,
    )
    .unwrap();
    for t in 0..10 {
        s.write("pressure", &[], t * 10, Val::Num(t as f64));
    }
    let mut live = p.live(1_000, LiveMode::Auto);
    let full = live.full(&s, 500).unwrap();
    assert_eq!(full, p.compute(&s, -500, 500).unwrap());
    assert!(matches!(full, ComputeNodeResponse::Numeric(_)));
    // 11 points: over the limit, a new full result of the bucketed type.
    s.write("pressure", &[], 200, Val::Num(0.0));
    let u = live.update(&s, 200, 600).unwrap();
    assert!(
        matches!(u, LiveUpdate::Full(ComputeNodeResponse::BucketedNumeric(_))),
        "{u:?}"
    );
    // As points leave the window the count falls to 10, 9, 8: still bucketed (>= 80 %).
    for now in [1_005, 1_015, 1_025] {
        let u = live.update(&s, i64::MAX, now).unwrap();
        assert!(matches!(u, LiveUpdate::Unchanged), "{now}: {u:?}");
    }
    // 7 points: below 80 %, back to raw.
    let u = live.update(&s, i64::MAX, 1_035).unwrap();
    assert!(
        matches!(u, LiveUpdate::Full(ComputeNodeResponse::Numeric(_))),
        "{u:?}"
    );
}

#[test]
fn future_points_are_sent_once_visible_and_end_strictly_increases() {
    let mut s = source();
    let p = plan(
        &channel_node("numeric", "pressure", &[], None),
        &empty_context(),
        &s,
    )
    .unwrap();
    let mut live = p.live(100, LiveMode::Raw);
    live.full(&s, 1_000).unwrap();
    s.write("pressure", &[], 1_050, Val::Num(7.0)); // beyond now: invisible for now
    assert_eq!(
        live.update(&s, 1_050, 1_000).unwrap(),
        LiveUpdate::Unchanged
    );
    // A tick once the point is inside the window sends it, from the previous end.
    match live.update(&s, i64::MAX, 1_060).unwrap() {
        LiveUpdate::Append(a) => {
            assert_eq!(common::ts_of(&a.start), 1_000);
            assert_eq!(common::ts_of(&a.end), 1_060);
        }
        other => panic!("{other:?}"),
    }
    // The clock did not move: end is bumped by 1 ns.
    s.write("pressure", &[], 1_060, Val::Num(8.0));
    match live.update(&s, 1_060, 1_060).unwrap() {
        LiveUpdate::Append(a) => assert_eq!(common::ts_of(&a.end), 1_061),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_plan_names_the_datasets_it_reads_and_diagnostics_name_theirs() {
    let s = source();
    let node = channel_node("numeric", "pressure", &[], None);
    let planned = plan(&node, &empty_context(), &s).unwrap();
    assert_eq!(planned.datasets(), vec![DATASET.to_string()]);
    // A numeric series over the enum channel: the diagnostic names the dataset.
    let wrong = channel_node("numeric", "valve", &[], None);
    let diagnostics = plan(&wrong, &empty_context(), &s).unwrap_err();
    let named: Vec<_> = diagnostics
        .iter()
        .filter_map(|d| d.kind.dataset())
        .collect();
    assert_eq!(named, vec![DATASET]);
}
