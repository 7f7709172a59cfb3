//! PROTOCOL §4 for every live result kind, including the ones that keep state between
//! updates (`SelectValue` points and ranges, range lists, range summaries): a full
//! result merged with every later update equals a fresh full result over the window of
//! each update, under random late, out-of-order, future-dated and replacing writes and
//! points leaving the window; and a snapshot taken mid-stream (a late joiner) merged with
//! the later updates equals the same fresh results.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{empty_context, parse_node, MemSource, Val, DATASET};
use proptest::prelude::*;
use sightline_client::merge::{Plot, WindowState};
use sightline_compute::{plan, ChannelKind, LiveMode, LiveUpdate};
use wire::scout_compute::ComputeNodeResponse;

const WINDOW: i64 = 1_000;
const STANDS: [&str; 3] = ["a", "b", "c"];

/// One write: stand index, offset from `now`, value seed.
type Write = (usize, i64, u8);

#[derive(Debug, Clone)]
struct Step {
    advance: i64,
    writes: Vec<Write>,
    /// Lags before the previous `now`: points a writer took before the previous update
    /// and wrote after it, usually newer than any point that update read.
    lagging: Vec<Write>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0i64..300,
        prop::collection::vec((0usize..3, -2_500i64..800, any::<u8>()), 0..6),
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((0usize..3, 0i64..120, any::<u8>()), 1..4),
        ],
    )
        .prop_map(|(advance, writes, lagging)| Step {
            advance,
            writes,
            lagging,
        })
}

fn initial() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0usize..3, 0i64..4_000, any::<u8>()), 0..60)
}

fn channel(kind: &str, grouped: bool) -> String {
    let group = if grouped {
        r#","tagsToGroupBy":["stand"]"#
    } else {
        ""
    };
    format!(
        r#"{{"type":"channel","channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},"channel":{{"type":"literal","literal":"{kind}"}}{group}}}}}}}"#
    )
}

fn numeric(derivative: bool, grouped: bool) -> String {
    let x = channel("x", grouped);
    if derivative {
        format!(r#"{{"type":"derivative","derivative":{{"input":{x}}}}}"#)
    } else {
        x
    }
}

fn threshold(grouped: bool) -> String {
    format!(
        r#"{{"type":"threshold","threshold":{{"input":{},"threshold":{{"type":"literal","literal":2.0}},"operator":"GREATER_THAN"}}}}"#,
        channel("x", grouped)
    )
}

/// Numeric values around the threshold 2.0, with NaN now and then.
fn num_value(v: u8) -> Val {
    if v % 9 == 8 {
        Val::Num(f64::NAN)
    } else {
        Val::Num(f64::from(v % 8) * 0.5)
    }
}

fn enum_value(v: u8) -> Val {
    Val::Str(["open", "closed", "venting"][usize::from(v % 3)].into())
}

/// What a client holds.
struct Holder {
    state: WindowState,
    /// Whether an update arrived since the full result.
    synced: bool,
}

impl Holder {
    fn new(full: &ComputeNodeResponse) -> Self {
        Holder {
            state: WindowState::new(WINDOW, full).unwrap(),
            synced: false,
        }
    }

    fn apply(&mut self, update: &LiveUpdate) {
        match update {
            LiveUpdate::Append(a) => {
                if let Err(e) = self.state.apply_append(a) {
                    panic!("the merge model refused the append: {e}");
                }
            }
            LiveUpdate::Full(r) => self.state.apply_full(r).unwrap(),
            LiveUpdate::Unchanged => {}
        }
    }
}

/// The part of a plot inside the window ending at `end`, comparable (NaN included).
fn view(plot: &Plot, end: i64) -> String {
    format!("{:?}", plot.restrict(end - WINDOW, end))
}

#[derive(Debug, Clone, Copy)]
enum Input {
    Numeric,
    Enum,
}

/// What happens to the data: the history, the first full result's time, the steps, when
/// the late joiner joins, and how many groups exist before the first full result.
struct Story {
    initial: Vec<Write>,
    t0: i64,
    steps: Vec<Step>,
    join_at: usize,
    seeded: usize,
}

fn run(node: &str, input: Input, mode: LiveMode, story: Story) {
    let Story {
        initial,
        t0,
        steps,
        join_at,
        seeded,
    } = story;
    let mut source = MemSource::new();
    let (name, kind, value): (_, _, fn(u8) -> Val) = match input {
        Input::Numeric => ("x", ChannelKind::Numeric, num_value),
        Input::Enum => ("e", ChannelKind::Enum, enum_value),
    };
    source.channel(name, kind, None);
    let write = |source: &mut MemSource, (s, t, v): Write| {
        source.write(name, &[("stand", STANDS[s])], t, value(v));
    };
    // The first `seeded` groups exist from the start, with a point long before any
    // window; the others appear with their first write, after the first full result, and
    // must then reach the clients as a full result (an append cannot name a group the
    // last full result lacked).
    for s in 0..seeded.min(STANDS.len()) {
        write(&mut source, (s, -1_000_000, 0));
    }
    for w in initial {
        write(&mut source, w);
    }
    let plan = plan(&parse_node(node), &empty_context(), &source).unwrap();
    let mut live = plan.live(WINDOW, mode);
    let mut first = Holder::new(&live.full(&source, t0).unwrap());
    let mut late: Option<Holder> = None;
    let mut now = t0;
    for (k, step) in steps.into_iter().enumerate() {
        let before = now;
        now += step.advance;
        let mut earliest = i64::MAX;
        for &(s, off, v) in &step.writes {
            earliest = earliest.min(now + off);
            write(&mut source, (s, now + off, v));
        }
        for &(s, lag, v) in &step.lagging {
            earliest = earliest.min(before - lag);
            write(&mut source, (s, before - lag, v));
        }
        let update = live.update(&source, earliest, now).unwrap();
        first.apply(&update);
        if let Some(late) = &mut late {
            late.apply(&update);
            // A series snapshot ends after the last update: compare from the next one on.
            late.synced |= update != LiveUpdate::Unchanged;
        }
        let end = live.last_end().unwrap();
        // The reference: HTTP compute over the window (value and range paths that keep no
        // state); series use a live full result for its epoch-aligned buckets.
        let fresh = if node.starts_with(r#"{"type":"series""#) {
            plan.live(WINDOW, mode).full(&source, end).unwrap()
        } else {
            plan.compute(&source, end - WINDOW, end).unwrap()
        };
        let fresh = Plot::from_full(&fresh).unwrap();
        let late_synced = late.as_ref().filter(|l| l.synced);
        for (who, holder) in [("first", Some(&first)), ("late joiner", late_synced)] {
            let Some(holder) = holder else { continue };
            if holder.state.plot.kind() != fresh.kind() {
                // Auto mode's hysteresis may keep a type a fresh result would not pick.
                assert!(
                    matches!(mode, LiveMode::Auto),
                    "{who}: {} vs {}",
                    holder.state.plot.kind(),
                    fresh.kind()
                );
                continue;
            }
            assert_eq!(
                view(&holder.state.plot, end),
                view(&fresh, end),
                "{who}: merged state differs from full({end}) after step {k}"
            );
        }
        if k == join_at {
            // Pending writes of a later step are not visible to others yet either.
            let snapshot = live.snapshot(&source, now).unwrap();
            late = Some(Holder::new(&snapshot));
        }
    }
}

fn point_node(select: &str, derivative: bool, grouped: bool) -> String {
    format!(
        r#"{{"type":"value","value":{{"type":"{select}","{select}":{{"type":"numeric","numeric":{}}}}}}}"#,
        numeric(derivative, grouped)
    )
}

fn enum_point_node(select: &str, grouped: bool) -> String {
    format!(
        r#"{{"type":"value","value":{{"type":"{select}","{select}":{{"type":"enum","enum":{}}}}}}}"#,
        channel("e", grouped)
    )
}

fn range_value_node(select: usize, index: i64, grouped: bool) -> String {
    let input = threshold(grouped);
    match select {
        0 => format!(r#"{{"type":"value","value":{{"type":"firstRange","firstRange":{input}}}}}"#),
        1 => format!(r#"{{"type":"value","value":{{"type":"lastRange","lastRange":{input}}}}}"#),
        n => {
            let order = if n == 2 { "ASC" } else { "DESC" };
            format!(
                r#"{{"type":"value","value":{{"type":"nthRange","nthRange":{{"input":{input},"index":{{"type":"literal","literal":{index}}},"sortOrder":"{order}"}}}}}}"#
            )
        }
    }
}

fn ranges_node(max: i32, grouped: bool) -> String {
    format!(
        r#"{{"type":"ranges","ranges":{{"input":{},"maxRanges":{max}}}}}"#,
        threshold(grouped)
    )
}

fn series_node(derivative: bool, buckets: i32) -> String {
    format!(
        r#"{{"type":"series","series":{{"buckets":{buckets},"input":{{"type":"numeric","numeric":{}}}}}}}"#,
        numeric(derivative, false)
    )
}

const POINT_SELECTS: [&str; 4] = [
    "firstPoint",
    "lastPoint",
    "firstValuePoint",
    "lastValuePoint",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn numeric_points_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), join_at in 0usize..14, seeded in 1usize..4,
            select in 0usize..4, derivative in any::<bool>(), grouped in any::<bool>()) {
        let node = point_node(POINT_SELECTS[select], derivative, grouped);
        run(&node, Input::Numeric, LiveMode::Auto, Story { initial, t0, steps, join_at, seeded });
    }

    #[test]
    fn enum_points_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), join_at in 0usize..14, seeded in 1usize..4,
            last in any::<bool>(), grouped in any::<bool>()) {
        let node = enum_point_node(if last { "lastPoint" } else { "firstPoint" }, grouped);
        run(&node, Input::Enum, LiveMode::Auto, Story { initial, t0, steps, join_at, seeded });
    }

    #[test]
    fn range_values_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), join_at in 0usize..14, seeded in 1usize..4,
            select in 0usize..4, index in 0i64..4, grouped in any::<bool>()) {
        let node = range_value_node(select, index, grouped);
        run(&node, Input::Numeric, LiveMode::Auto, Story { initial, t0, steps, join_at, seeded });
    }

    #[test]
    fn range_lists_and_summaries_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), join_at in 0usize..14, seeded in 1usize..4,
            max in 1i32..6, grouped in any::<bool>()) {
        run(&ranges_node(max, grouped), Input::Numeric, LiveMode::Auto, Story { initial, t0, steps, join_at, seeded });
    }

    #[test]
    fn series_snapshots_merge_to_full(initial in initial(), t0 in 1_000i64..3_000,
            steps in prop::collection::vec(step(), 1..14), join_at in 0usize..14, seeded in 1usize..4,
            mode in 0usize..3, derivative in any::<bool>()) {
        let mode = [LiveMode::Raw, LiveMode::Bucketed, LiveMode::Auto][mode];
        run(&series_node(derivative, 10), Input::Numeric, mode, Story { initial, t0, steps, join_at, seeded });
    }
}
