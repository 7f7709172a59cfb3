//! Rolling aggregations that keep their window between live updates (issue 9): for random
//! rolling graphs (time and point windows of several widths, every aggregation, nested
//! under and over other nodes, grouped or not), a full result merged with every later
//! update equals a fresh full result over the window of each update, under in-order
//! writes (the held state continues), late, future-dated and replacing writes (the state
//! is dropped), points leaving the window, and a late joiner's snapshot. Values are
//! decimal, so the running sums of a continued state and a fresh evaluation may differ in
//! their last bits: numbers compare with a relative tolerance of 1e-9 (the one
//! `tests/graphs.rs` uses), everything else exactly.
//!
//! A second test counts the points read: an in-order update must read its new points and
//! the points leaving the window, not the rolling window again.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{empty_context, parse_node, Counting, MemSource, Val, DATASET};
use proptest::prelude::*;
use sightline_client::merge::{Plot, WindowState};
use sightline_compute::{plan, ChannelKind, LiveMode, LiveUpdate};
use wire::scout_compute::ComputeNodeResponse;

const WINDOW: i64 = 1_000;
const STANDS: [&str; 3] = ["a", "b", "c"];
const AGGS: [&str; 8] = [
    "average",
    "sum",
    "min",
    "max",
    "count",
    "standardDeviation",
    "rootMeanSquare",
    "percentile",
];

fn channel(grouped: bool) -> String {
    let group = if grouped {
        r#","tagsToGroupBy":["stand"]"#
    } else {
        ""
    };
    format!(
        r#"{{"type":"channel","channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},"channel":{{"type":"literal","literal":"x"}}{group}}}}}}}"#
    )
}

/// A rolling window: `(true, w)` is `w` ns of time, `(false, n)` the last `n` points.
type Win = (bool, i64);

fn rolling(input: &str, (time, w): Win, agg: usize) -> String {
    let op = AGGS[agg % AGGS.len()];
    let operator = if op == "percentile" {
        r#"{"type":"percentile","percentile":{"percentile":{"type":"literal","literal":0.3}}}"#
            .to_string()
    } else {
        format!(r#"{{"type":"{op}","{op}":{{}}}}"#)
    };
    let builder = if time {
        format!(
            r#"{{"type":"rollingTime","rollingTime":{{"input":{{"type":"numeric","numeric":{input}}},"window":{{"type":"nanoseconds","nanoseconds":{{"nanoseconds":{{"type":"literal","literal":{w}}}}}}}}}}}"#
        )
    } else {
        format!(
            r#"{{"type":"rollingPoints","rollingPoints":{{"input":{{"type":"numeric","numeric":{input}}},"points":{{"type":"literal","literal":{w}}}}}}}"#
        )
    };
    format!(
        r#"{{"type":"numericAggregation","numericAggregation":{{"input":{builder},"operator":{operator}}}}}"#
    )
}

fn derivative(input: &str) -> String {
    format!(r#"{{"type":"derivative","derivative":{{"input":{input}}}}}"#)
}

/// The numeric graph of `shape` around one or two rolling nodes.
fn graph(shape: usize, w1: Win, w2: Win, agg: usize, grouped: bool) -> String {
    let x = channel(grouped);
    match shape {
        0 => rolling(&x, w1, agg),
        1 => rolling(&derivative(&x), w1, agg),
        2 => derivative(&rolling(&x, w1, agg)),
        3 => format!(
            r#"{{"type":"add","add":{{"left":{},"right":{}}}}}"#,
            rolling(&x, w1, agg),
            rolling(&x, w2, agg + 3)
        ),
        _ => rolling(&rolling(&x, w2, 0), w1, agg),
    }
}

fn series_node(numeric: &str) -> String {
    format!(
        r#"{{"type":"series","series":{{"buckets":10,"input":{{"type":"numeric","numeric":{numeric}}}}}}}"#
    )
}

fn ranges_node(numeric: &str) -> String {
    format!(
        r#"{{"type":"ranges","ranges":{{"input":{{"type":"threshold","threshold":{{"input":{numeric},"threshold":{{"type":"literal","literal":1012.345678}},"operator":"GREATER_THAN"}}}},"maxRanges":1000}}}}"#
    )
}

fn window() -> impl Strategy<Value = Win> {
    prop_oneof![
        (
            Just(true),
            prop::sample::select(vec![1i64, 37, 150, 400, 2_000])
        ),
        (Just(false), prop::sample::select(vec![1i64, 3, 10])),
    ]
}

/// Decimal values (not exact in binary) with a NaN or an infinity now and then.
fn value(v: u8) -> Val {
    Val::Num(match v {
        250 => f64::NAN,
        251 => f64::INFINITY,
        252 => f64::NEG_INFINITY,
        v => 1_000.0 + f64::from(v) * 0.1,
    })
}

/// One write: stand index, timestamp offset, value seed.
type Write = (usize, i64, u8);

#[derive(Debug, Clone)]
struct Step {
    advance: i64,
    /// Points after the previous `now`, up to the new one: the case the state continues.
    in_order: Vec<(usize, u8)>,
    /// Offsets from the new `now`: late (before the previous end), future-dated,
    /// replacing.
    others: Vec<Write>,
    /// Lags before the previous `now`: points a writer took before the previous update
    /// and wrote after it, usually newer than any point that update read.
    lagging: Vec<Write>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        1i64..200,
        prop::collection::vec((0usize..3, any::<u8>()), 0..12),
        prop_oneof![
            4 => Just(Vec::new()),
            1 => prop::collection::vec((0usize..3, -2_500i64..600, any::<u8>()), 1..4),
        ],
        prop_oneof![
            2 => Just(Vec::new()),
            1 => prop::collection::vec((0usize..3, 0i64..120, any::<u8>()), 1..4),
        ],
    )
        .prop_map(|(advance, in_order, others, lagging)| Step {
            advance,
            in_order,
            others,
            lagging,
        })
}

/// What a client holds.
struct Holder {
    state: WindowState,
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

/// Splits a `Debug` text into its numbers and the text between them.
fn tokens(s: &str) -> (Vec<String>, Vec<f64>) {
    let re = regex::Regex::new(r"-?(?:inf|NaN|\d+(?:\.\d+)?(?:e-?\d+)?)").unwrap();
    let mut text = Vec::new();
    let mut numbers = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        text.push(s[last..m.start()].to_string());
        numbers.push(m.as_str().parse::<f64>().unwrap());
        last = m.end();
    }
    text.push(s[last..].to_string());
    (text, numbers)
}

fn close(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// The plot's type, or each group's: Auto mode's hysteresis can keep one group bucketed
/// while a fresh result shows it raw.
fn kinds(plot: &Plot) -> String {
    match plot {
        Plot::Grouped(groups) => groups
            .iter()
            .map(|(_, p)| p.kind())
            .collect::<Vec<_>>()
            .join(","),
        p => p.kind().to_string(),
    }
}

/// The part of two plots inside the window ending at `end` agree, numbers within 1e-9.
fn assert_close(held: &Plot, fresh: &Plot, end: i64, what: &str) {
    let held = format!("{:?}", held.restrict(end - WINDOW, end));
    let fresh = format!("{:?}", fresh.restrict(end - WINDOW, end));
    let (ht, hn) = tokens(&held);
    let (ft, fnum) = tokens(&fresh);
    let same =
        ht == ft && hn.len() == fnum.len() && hn.iter().zip(&fnum).all(|(a, b)| close(*a, *b));
    assert!(same, "{what}:\n held  {held}\n fresh {fresh}");
}

struct Story {
    node: String,
    mode: LiveMode,
    initial: Vec<Write>,
    steps: Vec<Step>,
    join_at: usize,
}

fn run(story: Story) {
    let Story {
        node,
        mode,
        initial,
        steps,
        join_at,
    } = story;
    let mut source = MemSource::new();
    MemSource::channel(&mut source, "x", ChannelKind::Numeric, None);
    let write = |source: &mut MemSource, (s, t, v): Write| {
        source.write("x", &[("stand", STANDS[s])], t, value(v));
    };
    // Every group exists before the first full result.
    for s in 0..STANDS.len() {
        write(&mut source, (s, -1_000_000, 0));
    }
    for w in initial {
        write(&mut source, w);
    }
    let plan = plan(&parse_node(&node), &empty_context(), &source).unwrap();
    let t0 = 3_000;
    let mut live = plan.live(WINDOW, mode);
    let mut first = Holder::new(&live.full(&source, t0).unwrap());
    let mut late: Option<Holder> = None;
    let mut now = t0;
    for (k, step) in steps.into_iter().enumerate() {
        let before = now;
        now += step.advance;
        let mut earliest = i64::MAX;
        let n = step.in_order.len() as i64;
        for (i, &(s, v)) in step.in_order.iter().enumerate() {
            // Spread over (before, now]: every one after the previous end.
            let t = before + 1 + (step.advance - 1) * i as i64 / n.max(1);
            earliest = earliest.min(t);
            write(&mut source, (s, t, v));
        }
        for &(s, off, v) in &step.others {
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
            late.synced |= update != LiveUpdate::Unchanged;
        }
        let end = live.last_end().unwrap();
        let fresh = if node.starts_with(r#"{"type":"series""#) {
            plan.live(WINDOW, mode).full(&source, end).unwrap()
        } else {
            plan.compute(&source, end - WINDOW, end).unwrap()
        };
        let fresh = Plot::from_full(&fresh).unwrap();
        let late_synced = late.as_ref().filter(|l| l.synced);
        for (who, holder) in [("first", Some(&first)), ("late joiner", late_synced)] {
            let Some(holder) = holder else { continue };
            if kinds(&holder.state.plot) != kinds(&fresh) {
                // Auto mode's hysteresis may keep a type a fresh result would not pick.
                assert!(matches!(mode, LiveMode::Auto), "{who}: type changed");
                continue;
            }
            assert_close(
                &holder.state.plot,
                &fresh,
                end,
                &format!("{who}: merged state differs from full({end}) after step {k}"),
            );
        }
        if k == join_at {
            late = Some(Holder::new(&live.snapshot(&source, now).unwrap()));
        }
    }
}

fn initial() -> impl Strategy<Value = Vec<Write>> {
    prop::collection::vec((0usize..3, 0i64..3_000, any::<u8>()), 0..80)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn rolling_series_merge_to_full(initial in initial(),
            steps in prop::collection::vec(step(), 1..24), join_at in 0usize..24,
            shape in 0usize..5, w1 in window(), w2 in window(), agg in 0usize..8,
            grouped in any::<bool>(), mode in 0usize..3) {
        let mode = [LiveMode::Raw, LiveMode::Bucketed, LiveMode::Auto][mode];
        let node = series_node(&graph(shape, w1, w2, agg, grouped));
        run(Story { node, mode, initial, steps, join_at });
    }

    #[test]
    fn rolling_ranges_merge_to_full(initial in initial(),
            steps in prop::collection::vec(step(), 1..24), join_at in 0usize..24,
            shape in 0usize..5, w1 in window(), w2 in window(), agg in 0usize..7,
            grouped in any::<bool>()) {
        let node = ranges_node(&graph(shape, w1, w2, agg, grouped));
        run(Story { node, mode: LiveMode::Auto, initial, steps, join_at });
    }
}

/// In-order updates of 10 points into a 5,000-point rolling window read about the new
/// points and the ones leaving (the re-read this replaced took 5,010 per update), for
/// raw and bucketed results, a rolling node under a derivative and over one, and two
/// rolling nodes aligned by `add`; also when each update ends 5 ns after its newest
/// point, so the next write lands partly before the previous end (a writer's batch
/// taken before an update and written after it).
#[test]
fn in_order_updates_read_only_entering_and_leaving_points() {
    let x = channel(false);
    let w = (true, 5_000);
    for (name, numeric) in [
        ("mean", rolling(&x, w, 0)),
        ("max", rolling(&x, w, 3)),
        ("std", rolling(&x, w, 5)),
        ("points window", rolling(&x, (false, 4_000), 1)),
        ("of a derivative", rolling(&derivative(&x), w, 0)),
        ("under a derivative", derivative(&rolling(&x, w, 0))),
        // Alignment fills forward up to 1 s (the default): it must read back to the
        // previous point of each input, not the whole second.
        (
            "aligned with another",
            format!(
                r#"{{"type":"add","add":{{"left":{},"right":{}}}}}"#,
                rolling(&x, w, 0),
                rolling(&x, (true, 3_000), 1)
            ),
        ),
    ] {
        for (mode, lag) in [
            (LiveMode::Raw, 0),
            (LiveMode::Bucketed, 0),
            (LiveMode::Raw, 5),
            (LiveMode::Bucketed, 5),
        ] {
            let mut source = MemSource::new();
            MemSource::channel(&mut source, "x", ChannelKind::Numeric, None);
            for t in 0..20_000 {
                source.write("x", &[], t, value((t % 250) as u8));
            }
            let p = plan(
                &parse_node(&series_node(&numeric)),
                &empty_context(),
                &source,
            )
            .unwrap();
            let mut live = p.live(10_000, mode);
            live.full(&source, 19_999).unwrap();
            let mut now = 19_999;
            let mut read = 0;
            let updates = 50;
            for _ in 0..updates {
                for t in now + 1..=now + 10 {
                    source.write("x", &[], t, value((t % 250) as u8));
                }
                let counting = Counting {
                    inner: &source,
                    points: AtomicU64::new(0),
                };
                live.update(&counting, now + 1, now + 10 + lag).unwrap();
                now += 10;
                read += counting.points.load(Ordering::Relaxed);
            }
            let per_update = read / updates;
            assert!(
                per_update <= 40,
                "{name} ({mode:?}, lag {lag}): {per_update} points read per update of 10"
            );
        }
    }
}

/// A long in-order stream of decimal values: the continued running sum stays within the
/// tolerance of a fresh evaluation, and its state starts afresh from a re-read about
/// every 64 windows' worth of points (the bound on its drift), not more often.
#[test]
fn long_streams_stay_close_and_reanchor() {
    let numeric = rolling(&channel(false), (true, 500), 0);
    let mut source = MemSource::new();
    MemSource::channel(&mut source, "x", ChannelKind::Numeric, None);
    let decimal = |t: i64| Val::Num(1e6 + (t.wrapping_mul(7_919) % 1_000) as f64 * 0.37);
    for t in 0..10_000 {
        source.write("x", &[], t, decimal(t));
    }
    let p = plan(
        &parse_node(&series_node(&numeric)),
        &empty_context(),
        &source,
    )
    .unwrap();
    let mut live = p.live(10_000, LiveMode::Raw);
    let mut client = WindowState::new(10_000, &live.full(&source, 9_999).unwrap()).unwrap();
    let mut now = 9_999;
    let mut rereads = 0;
    for k in 1..=1_500 {
        for t in now + 1..=now + 50 {
            source.write("x", &[], t, decimal(t));
        }
        let counting = Counting {
            inner: &source,
            points: AtomicU64::new(0),
        };
        let update = live.update(&counting, now + 1, now + 50).unwrap();
        now += 50;
        if counting.points.load(Ordering::Relaxed) > 200 {
            rereads += 1;
        }
        match update {
            LiveUpdate::Append(a) => client.apply_append(&a).unwrap(),
            other => panic!("an in-order raw update is an append, got {other:?}"),
        }
        if k % 300 == 0 {
            let fresh = Plot::from_full(&p.live(10_000, LiveMode::Raw).full(&source, now).unwrap())
                .unwrap();
            let (Plot::Numeric(held), Plot::Numeric(fresh)) = (&client.plot, &fresh) else {
                panic!("raw numeric plots expected");
            };
            assert_eq!(held.len(), fresh.len());
            for ((th, vh), (tf, vf)) in held.iter().zip(fresh) {
                assert_eq!(th, tf);
                assert!(close(*vh, *vf), "at {th} after {k} updates: {vh} vs {vf}");
            }
        }
    }
    // 75,000 points left a 500-point window: one re-anchor (after 65,536 pops).
    assert!((1..=2).contains(&rereads), "{rereads} re-reads");
}
