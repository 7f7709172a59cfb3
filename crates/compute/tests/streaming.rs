//! The core property of PROTOCOL §4: `full(T0)` merged with every later append equals a
//! fresh `full(T1)` over the part of the window both cover, under random late,
//! out-of-order, future-dated and replacing writes.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;

use common::{channel_node, empty_context, full_items, Client, MemSource, Val};
use proptest::prelude::*;
use sightline_compute::{plan, ChannelKind, LiveMode, LiveUpdate};

const WINDOW: i64 = 1_000;
const BUCKETS: i32 = 10;
const STANDS: [&str; 3] = ["a", "b", "c"];

#[derive(Debug, Clone, Copy)]
enum Case {
    Numeric(LiveMode),
    Enum(LiveMode),
    Log,
}

impl Case {
    fn kind(self) -> (&'static str, ChannelKind) {
        match self {
            Case::Numeric(_) => ("numeric", ChannelKind::Numeric),
            Case::Enum(_) => ("enum", ChannelKind::Enum),
            Case::Log => ("log", ChannelKind::Log),
        }
    }

    fn mode(self) -> LiveMode {
        match self {
            Case::Numeric(m) | Case::Enum(m) => m,
            Case::Log => LiveMode::Auto,
        }
    }

    fn value(self, v: u8) -> Val {
        match self {
            Case::Numeric(_) => Val::Num(f64::from(v) * 0.5),
            Case::Enum(_) => Val::Str(Arc::from(["open", "closed", "venting"][usize::from(v % 3)])),
            Case::Log => {
                let args: BTreeMap<String, String> = [("n".to_string(), v.to_string())].into();
                Val::Log((Arc::from(format!("msg {v}")), Arc::new(args)))
            }
        }
    }
}

/// One write: series index, offset from `now`, value seed.
type Write = (usize, i64, u8);

#[derive(Debug, Clone)]
struct Step {
    advance: i64,
    writes: Vec<Write>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0i64..300,
        prop::collection::vec((0usize..3, -2_500i64..800, any::<u8>()), 0..6),
    )
        .prop_map(|(advance, writes)| Step { advance, writes })
}

fn run(case: Case, filtered: bool, initial: Vec<(usize, i64, u8)>, t0: i64, steps: Vec<Step>) {
    let (kind_name, kind) = case.kind();
    let mut source = MemSource::new();
    source.channel("ch", kind, None);
    let write = |source: &mut MemSource, (s, t, v): (usize, i64, u8)| {
        source.write("ch", &[("stand", STANDS[s])], t, case.value(v));
    };
    for w in initial {
        write(&mut source, w);
    }
    let tags: &[(&str, &str)] = if filtered { &[("stand", "a")] } else { &[] };
    let node = channel_node(kind_name, "ch", tags, Some(BUCKETS));
    let plan = plan(&node, &empty_context(), &source).unwrap();
    let mut live = plan.live(WINDOW, case.mode());
    let mut client = Client::default();
    client.full(&live.full(&source, t0).unwrap());
    client.last_end = Some(t0);
    let mut now = t0;
    for step in steps {
        now += step.advance;
        let mut earliest = i64::MAX;
        for &(s, off, v) in &step.writes {
            earliest = earliest.min(now + off);
            write(&mut source, (s, now + off, v));
        }
        let end = now.max(client.last_end.unwrap() + 1);
        match live.update(&source, earliest, now).unwrap() {
            LiveUpdate::Append(a) => {
                let start = common::ts_of(&a.start);
                let prev = client.last_end.unwrap();
                // Changes before the window are not part of the result.
                let bound = earliest.min(prev).max(end - WINDOW);
                assert!(start <= bound, "start {start} after {bound}");
                assert_eq!(common::ts_of(&a.end), end);
                client.append(&a, WINDOW);
            }
            LiveUpdate::Full(r) => {
                client.full(&r);
                client.last_end = Some(end);
            }
            LiveUpdate::Unchanged => {}
        }
        let fresh = plan.live(WINDOW, case.mode()).full(&source, end).unwrap();
        let (fresh_kind, fresh_items) = full_items(&fresh);
        if fresh_kind != client.kind {
            // Auto mode's hysteresis may keep a type a fresh result would not pick.
            assert!(
                matches!(case.mode(), LiveMode::Auto),
                "{fresh_kind} vs {}",
                client.kind
            );
            continue;
        }
        let bucketed = fresh_kind.starts_with("bucketed");
        let covered = |t: i64| {
            if bucketed {
                t > end - WINDOW
            } else {
                t >= end - WINDOW
            }
        };
        let held: Vec<_> = client
            .items()
            .iter()
            .filter(|(t, _)| covered(*t))
            .cloned()
            .collect();
        let expected: Vec<_> = fresh_items
            .into_iter()
            .filter(|(t, _)| covered(*t))
            .collect();
        assert_eq!(held, expected, "merged state differs from full({end})");
    }
}

fn initial() -> impl Strategy<Value = Vec<(usize, i64, u8)>> {
    prop::collection::vec((0usize..3, 0i64..4_000, any::<u8>()), 0..60)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn raw_numeric_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), filtered in any::<bool>()) {
        run(Case::Numeric(LiveMode::Raw), filtered, initial, t0, steps);
    }

    #[test]
    fn bucketed_numeric_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), filtered in any::<bool>()) {
        run(Case::Numeric(LiveMode::Bucketed), filtered, initial, t0, steps);
    }

    #[test]
    fn auto_numeric_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14)) {
        run(Case::Numeric(LiveMode::Auto), false, initial, t0, steps);
    }

    #[test]
    fn raw_enum_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), filtered in any::<bool>()) {
        run(Case::Enum(LiveMode::Raw), filtered, initial, t0, steps);
    }

    #[test]
    fn bucketed_enum_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14)) {
        run(Case::Enum(LiveMode::Bucketed), false, initial, t0, steps);
    }

    #[test]
    fn log_appends_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), filtered in any::<bool>()) {
        run(Case::Log, filtered, initial, t0, steps);
    }
}
