//! Property tests over random graphs with enum, log and grouped inputs (the numeric-only
//! ones are in `graphs.rs`): full(T0) merged with every append equals a fresh full(T1),
//! per group, and the live full result equals HTTP compute over the same window.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{ts_of, Client, MemSource, Val, DATASET};
use proptest::prelude::*;
use serde_json::{json, Value};
use sightline_compute::{plan, ChannelKind, LiveMode, LiveUpdate};
use wire::persistent_compute::{AppendResult, ComputeNodeAppendResponse};
use wire::scout_compute::{ComputeNodeResponse, Context, Grouping};

const WINDOW: i64 = 1_000;

fn lit(v: Value) -> Value {
    json!({"type": "literal", "literal": v})
}

fn channel(name: &str, group: bool) -> Value {
    let mut src = json!({"dataSourceRid": lit(json!(DATASET)), "channel": lit(json!(name))});
    if group {
        src["tagsToGroupBy"] = json!(["stand"]);
    }
    json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": src}})
}

fn ns(n: i64) -> Value {
    json!({"type": "nanoseconds", "nanoseconds": {"nanoseconds": lit(json!(n))}})
}

/// Numeric graphs over `a` and, when `grouped`, the grouped channel `g`.
fn numeric(grouped: bool) -> BoxedStrategy<Value> {
    let leaf = if grouped {
        prop_oneof![Just(channel("a", false)), Just(channel("g", true))].boxed()
    } else {
        Just(channel("a", false)).boxed()
    };
    leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(l, r)| json!({"type": "subtract", "subtract": {"left": l, "right": r}})),
            inner.clone().prop_map(|x| json!({"type": "derivative", "derivative": {"input": x}})),
            (inner.clone(), -40i64..40).prop_map(|(x, d)| json!({"type": "timeShiftV2", "timeShiftV2": {"input": x, "duration": ns(d)}})),
            (inner.clone(), 1i64..150).prop_map(|(x, w)| json!({"type": "numericAggregation", "numericAggregation": {
                "input": {"type": "rollingTime", "rollingTime": {"input": {"type": "numeric", "numeric": x}, "window": ns(w)}},
                "operator": {"type": "max", "max": {}}}})),
        ]
    })
    .boxed()
}

fn threshold(x: Value, v: f64) -> Value {
    json!({"type": "threshold", "threshold": {"input": x, "threshold": lit(json!(v)), "operator": "GREATER_THAN"}})
}

/// Enum graphs: the channel, value maps of numeric graphs, shifts and range filters.
fn enums() -> impl Strategy<Value = Value> {
    let value_map = numeric(false).prop_map(|x| {
        json!({"type": "valueMap", "valueMap": {"input": x, "mapping": [
        {"end": lit(json!(1.0)), "output": lit(json!("lo"))},
        {"start": lit(json!(1.0)), "end": lit(json!(4.0)), "output": lit(json!("mid"))}]}})
    });
    let base = prop_oneof![Just(channel("e", false)), value_map];
    (base, 0usize..3, -40i64..40, numeric(false)).prop_map(|(e, shape, d, n)| match shape {
        0 => e,
        1 => json!({"type": "timeShiftV2", "timeShiftV2": {"input": e, "duration": ns(d)}}),
        _ => json!({"type": "filterTransformation", "filterTransformation": {"input": e, "filter": threshold(n, 2.0)}}),
    })
}

/// Log graphs: filters by regex and case-insensitive contains.
fn logs() -> impl Strategy<Value = Value> {
    (0usize..3).prop_map(|k| {
        let op = match k {
            0 => json!({"type": "regexFilter", "regexFilter": {"regex": "^E.*\\d$"}}),
            1 => json!({"type": "exactMatchCaseInsensitiveFilter", "exactMatchCaseInsensitiveFilter": {"token": "error"}}),
            _ => json!({"type": "not", "not": {"type": "regexFilter", "regexFilter": {"regex": "ok"}}}),
        };
        json!({"type": "filter", "filter": {"input": channel("l", false), "operator": op}})
    })
}

/// Range graphs over enum and grouped inputs.
fn ranges() -> impl Strategy<Value = Value> {
    prop_oneof![
        (enums(), 1i32..3).prop_map(|(e, n)| json!({"type": "enumFilter", "enumFilter": {"input": e, "operator": "IS_IN",
            "values": lit(json!(["x", "mid"])),
            "persistenceWindowConfiguration": {"minPoints": lit(json!(n)), "outputRangeStart": {"type": "firstPointMatchingCondition", "firstPointMatchingCondition": {}}}}})),
        enums().prop_map(|e| json!({"type": "onChange", "onChange": {"input": {"type": "enum", "enum": e}}})),
        numeric(true).prop_map(|x| threshold(x, 3.0)),
    ]
}

fn context() -> Context {
    wire::from_json(&json!({"defaultFillStrategy": {"type": "forwardFill", "forwardFill": {"limit": {"type": "duration", "duration": {"type": "literal", "literal": {"seconds": 0, "nanos": 50}}}}}}).to_string()).unwrap()
}

/// `(target, offset, value)`: 0 `a`, 1 `g` stand s1, 2 `g` stand s2, 3 `e`, 4 `l`.
type Write = (usize, i64, u8);

fn write(s: &mut MemSource, (c, t, v): Write) {
    let text = |xs: &[&str]| Arc::<str>::from(xs[usize::from(v) % xs.len()]);
    match c {
        0 => s.write("a", &[], t, Val::Num(f64::from(v % 8) - 1.0)),
        1 | 2 => {
            let stand = if c == 1 { "s1" } else { "s2" };
            s.write(
                "g",
                &[("stand", stand)],
                t,
                Val::Num(f64::from(v % 8) - 1.0),
            )
        }
        3 => s.write("e", &[], t, Val::Str(text(&["x", "y", "z"]))),
        _ => s.write(
            "l",
            &[],
            t,
            Val::Log((
                text(&["ok", "Error 7", "E9", "boot"]),
                Arc::new(BTreeMap::new()),
            )),
        ),
    }
}

/// What a client holds for one group.
enum Held {
    Items(Client),
    /// A `RangesSummary` (replaced only by full results).
    Summary(String),
    Ranges(Vec<(Option<i64>, Option<i64>)>),
}

fn held_ranges(r: &[wire::scout_compute::Range]) -> Vec<(Option<i64>, Option<i64>)> {
    let mut v: Vec<_> = r
        .iter()
        .map(|r| (r.start.as_ref().map(ts_of), r.end.as_ref().map(ts_of)))
        .collect();
    v.sort();
    v
}

type Groups = BTreeMap<String, Held>;

fn key(g: &Grouping) -> String {
    serde_json::to_string(g).unwrap()
}

fn hold_full(r: &ComputeNodeResponse) -> Groups {
    let one = |r: &ComputeNodeResponse| match r {
        ComputeNodeResponse::Range(rs) => Held::Ranges(held_ranges(rs)),
        ComputeNodeResponse::RangesSummary(s) => Held::Summary(serde_json::to_string(s).unwrap()),
        other => {
            let mut c = Client::default();
            c.full(other);
            Held::Items(c)
        }
    };
    match r {
        ComputeNodeResponse::Grouped(g) => g
            .responses
            .iter()
            .map(|x| (key(&x.grouping), one(&x.response)))
            .collect(),
        other => [(String::new(), one(other))].into_iter().collect(),
    }
}

fn merge(groups: &mut Groups, a: &AppendResult) {
    let parts: Vec<(String, &ComputeNodeAppendResponse)> = match &a.result {
        ComputeNodeAppendResponse::Grouped(g) => g
            .responses
            .iter()
            .map(|x| (key(&x.grouping), &x.response))
            .collect(),
        other => vec![(String::new(), other)],
    };
    let (s, e) = (ts_of(&a.start), ts_of(&a.end));
    for (k, part) in parts {
        let held = groups
            .get_mut(&k)
            .expect("append for a group the full result lacked");
        match (held, part) {
            (Held::Ranges(h), ComputeNodeAppendResponse::Range(new)) => {
                h.retain(|(rs, re)| !(rs.is_none_or(|x| x <= e) && re.is_none_or(|x| x >= s)));
                h.extend(held_ranges(new));
                h.retain(|(_, re)| re.is_none_or(|x| x >= e - WINDOW));
                h.sort();
            }
            (Held::Items(c), _) => c.append(
                &AppendResult {
                    start: a.start.clone(),
                    end: a.end.clone(),
                    result: part.clone(),
                },
                WINDOW,
            ),
            (_, other) => panic!("unexpected append {}", other.variant_name()),
        }
    }
}

fn assert_same(got: &Groups, want: &Groups, end: i64) {
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );
    for (k, w) in want {
        match (&got[k], w) {
            (Held::Ranges(g), Held::Ranges(w)) => {
                // The window now: an unchanged result sends nothing, so the client has
                // not dropped what expired since its last update yet.
                let g: Vec<_> = g
                    .iter()
                    .filter(|(_, re)| re.is_none_or(|x| x >= end - WINDOW))
                    .copied()
                    .collect();
                assert_eq!(&g, w, "group {k}: ranges differ");
            }
            (Held::Summary(g), Held::Summary(w)) => assert_eq!(g, w, "group {k}: summaries differ"),
            (Held::Items(g), Held::Items(w)) => {
                let g: Vec<_> = g
                    .items()
                    .into_iter()
                    .filter(|(t, _)| *t >= end - WINDOW)
                    .collect();
                let w = w.items();
                assert_eq!(g, w, "group {k}: merged items differ from a fresh full");
            }
            _ => panic!("group {k}: result kinds differ"),
        }
    }
}

fn run(node: Value, initial: Vec<Write>, steps: Vec<(i64, Vec<Write>)>) {
    run_with(node, initial, steps, false);
}

/// `fulls`: full results are allowed mid-stream (range list <-> summary switches).
fn run_with(node: Value, initial: Vec<Write>, steps: Vec<(i64, Vec<Write>)>, fulls: bool) {
    let mut source = MemSource::new();
    source.channel("a", ChannelKind::Numeric, None);
    source.channel("g", ChannelKind::Numeric, None);
    source.channel("e", ChannelKind::Enum, None);
    source.channel("l", ChannelKind::Log, None);
    // Both groups exist from the start: a group is born only through a full result.
    write(&mut source, (1, -10_000, 0));
    write(&mut source, (2, -10_000, 0));
    for w in initial {
        write(&mut source, w);
    }
    let node = wire::from_json(&node.to_string()).unwrap();
    let p = plan(&node, &context(), &source).unwrap();
    let mut live = p.live(WINDOW, LiveMode::Raw);
    let mut now = 2_000;
    let mut groups = hold_full(&live.full(&source, now).unwrap());
    let mut last_end = now;
    for (advance, writes) in steps {
        now += advance;
        let mut earliest = i64::MAX;
        for (c, off, v) in writes {
            earliest = earliest.min(now + off);
            write(&mut source, (c, now + off, v));
        }
        match live.update(&source, earliest, now).unwrap() {
            LiveUpdate::Append(a) => {
                last_end = ts_of(&a.end);
                merge(&mut groups, &a);
            }
            LiveUpdate::Full(f) if fulls => groups = hold_full(&f),
            LiveUpdate::Full(f) => panic!("unexpected full {}", f.variant_name()),
            LiveUpdate::Unchanged => {}
        }
    }
    let end = last_end.max(now);
    let fresh = p.live(WINDOW, LiveMode::Raw).full(&source, end).unwrap();
    assert_same(&groups, &hold_full(&fresh), end);
    let http = p.compute(&source, end - WINDOW, end).unwrap();
    let (f, h) = (hold_full(&fresh), hold_full(&http));
    for (k, w) in &f {
        match (w, &h[k]) {
            (Held::Ranges(a), Held::Ranges(b)) => assert_eq!(a, b, "HTTP ranges differ"),
            (Held::Summary(a), Held::Summary(b)) => assert_eq!(a, b, "HTTP summary differs"),
            (Held::Items(a), Held::Items(b)) => assert_eq!(a.items(), b.items(), "HTTP differs"),
            _ => panic!("HTTP result kind differs"),
        }
    }
}

fn writes() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0usize..5, -1_500i64..100, any::<u8>()), 0..6)
}

fn initial() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0usize..5, 0i64..2_000, any::<u8>()), 0..40)
}

fn steps() -> impl Strategy<Value = Vec<(i64, Vec<Write>)>> {
    prop::collection::vec((0i64..300, writes()), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn enum_graphs_merge_to_full(node in enums(), initial in initial(), steps in steps()) {
        run(json!({"type": "series", "series": {"buckets": 100_000, "input": {"type": "enum", "enum": node}}}), initial, steps);
    }

    #[test]
    fn log_graphs_merge_to_full(node in logs(), initial in initial(), steps in steps()) {
        run(json!({"type": "series", "series": {"input": {"type": "log", "log": node}}}), initial, steps);
    }

    #[test]
    fn grouped_graphs_merge_to_full(node in numeric(true), initial in initial(), steps in steps()) {
        run(json!({"type": "series", "series": {"buckets": 100_000, "input": {"type": "numeric", "numeric": node}}}), initial, steps);
    }

    #[test]
    fn range_list_summary_switches_merge_to_full(node in ranges(), max in 1i32..4, initial in initial(), steps in steps()) {
        run_with(json!({"type": "ranges", "ranges": {"input": node, "maxRanges": max}}), initial, steps, true);
    }

    #[test]
    fn enum_and_grouped_range_graphs_merge_to_full(node in ranges(), initial in initial(), steps in steps()) {
        run(json!({"type": "ranges", "ranges": {"input": node}}), initial, steps);
    }
}
