//! Compute benchmarks: node families over 1 M points (points/s), the cost of one
//! append to a 10 s vs a 1 h window for a derivative and a rolling mean (must be within
//! 20 % of each other: appends cost the new data plus a bounded look-back), the cost
//! of one live update of 100 new points (1 kHz, 100 ms) per dashboard panel kind for a
//! 60 s and a 600 s window (`live_update_100_points`), and a late joiner's full result of
//! a bucketed panel at 60 s and 600 s (`live_snapshot`).
//!
//! Run: `cargo bench -p sightline-compute --bench compute`. Inputs are seeded.

#![allow(missing_docs, clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sightline_compute::{
    plan, ChannelKind, ChannelMeta, DataSource, LiveMode, LogEntry, SeriesMeta,
};
use wire::scout_compute::{ComputableNode, Context};

const N: usize = 1_000_000;
const MS: i64 = 1_000_000;
const DATASET: &str = "ri.bench";

/// Two numeric channels (`a`, `b`) with a point every 1 ms from t = 0 on, forever; `b`
/// offset by 0.5 ms. Values are a seeded hash of the index, generated on read (so an
/// append benchmark can run for any number of iterations).
struct Source;

fn value(k: i64, id: u64) -> f64 {
    let mut z = (k as u64).wrapping_add(id.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    10.0 * ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

/// Indices `k` with `k·MS + offset` in `[a, b]`.
fn indices(id: u64, a: i64, b: i64) -> std::ops::Range<i64> {
    let off = id as i64 * MS / 2;
    let lo = (a - off).max(0).div_euclid(MS) + i64::from((a - off).max(0).rem_euclid(MS) != 0);
    let hi = if b < off {
        -1
    } else {
        (b - off).div_euclid(MS)
    };
    lo..(hi + 1).max(lo)
}

impl DataSource for Source {
    fn channel(&self, _: &str, _: &str) -> Option<ChannelMeta> {
        Some(ChannelMeta {
            kind: ChannelKind::Numeric,
            unit: Some("m".into()),
        })
    }
    fn series(&self, _: &str, channel: &str, _: &BTreeMap<String, String>) -> Vec<SeriesMeta> {
        let id = u64::from(channel == "b");
        vec![SeriesMeta {
            id,
            tags: BTreeMap::new(),
        }]
    }
    fn read_numeric(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, vs: &mut Vec<f64>) {
        for k in indices(id, a, b) {
            ts.push(k * MS + id as i64 * MS / 2);
            vs.push(value(k, id));
        }
    }
    fn read_strings(&self, _: u64, _: i64, _: i64, _: &mut Vec<i64>, _: &mut Vec<Arc<str>>) {}
    fn read_logs(&self, _: u64, _: i64, _: i64, _: &mut Vec<i64>, _: &mut Vec<LogEntry>) {}
    fn nth_before(&self, id: u64, t: i64, n: usize) -> Option<i64> {
        let r = indices(id, 0, t - 1);
        let k = r.end - n as i64;
        (k >= 0).then(|| k * MS + id as i64 * MS / 2)
    }
    fn count(&self, id: u64, a: i64, b: i64) -> u64 {
        if a > b {
            return 0;
        }
        let r = indices(id, a, b);
        (r.end - r.start).max(0) as u64
    }
}

fn ch(name: &str) -> String {
    format!(
        r#"{{"type":"channel","channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},"channel":{{"type":"literal","literal":"{name}"}}}}}}}}"#
    )
}

fn rolling_mean(input: &str) -> String {
    format!(
        r#"{{"type":"numericAggregation","numericAggregation":{{"input":{{"type":"rollingTime","rollingTime":{{"input":{{"type":"numeric","numeric":{input}}},"window":{{"type":"seconds","seconds":{{"seconds":{{"type":"literal","literal":1}}}}}}}}}},"operator":{{"type":"average","average":{{}}}}}}}}"#
    )
}

fn derivative(input: &str) -> String {
    format!(r#"{{"type":"derivative","derivative":{{"input":{input}}}}}"#)
}

fn series(numeric: &str) -> ComputableNode {
    wire::from_json(&format!(
        r#"{{"type":"series","series":{{"buckets":1000,"input":{{"type":"numeric","numeric":{numeric}}}}}}}"#
    ))
    .unwrap()
}

fn ranges(numeric: &str) -> ComputableNode {
    wire::from_json(&format!(
        r#"{{"type":"ranges","ranges":{{"input":{{"type":"threshold","threshold":{{"input":{numeric},"threshold":{{"type":"literal","literal":5.0}},"operator":"GREATER_THAN"}}}}}}}}"#
    ))
    .unwrap()
}

/// Sparse ranges (value > 9.999: about one range per 10 s) so a 1 h window stays a list.
fn sparse_ranges(numeric: &str) -> ComputableNode {
    wire::from_json(&format!(
        r#"{{"type":"ranges","ranges":{{"input":{{"type":"threshold","threshold":{{"input":{numeric},"threshold":{{"type":"literal","literal":9.999}},"operator":"GREATER_THAN"}}}}}}}}"#
    ))
    .unwrap()
}

fn families(c: &mut Criterion) {
    let source = Source;
    let ctx: Context = wire::from_json("{}").unwrap();
    let end = N as i64 * MS - 1;
    let cases: Vec<(&str, ComputableNode)> = vec![
        ("raw_channel", series(&ch("a"))),
        (
            "add_misaligned",
            series(&format!(
                r#"{{"type":"add","add":{{"left":{},"right":{}}}}}"#,
                ch("a"),
                ch("b")
            )),
        ),
        (
            "abs",
            series(&format!(r#"{{"type":"abs","abs":{{"x":{}}}}}"#, ch("a"))),
        ),
        ("derivative", series(&derivative(&ch("a")))),
        ("rolling_mean_1s", series(&rolling_mean(&ch("a")))),
        ("threshold_ranges", ranges(&ch("a"))),
    ];
    let mut g = c.benchmark_group("compute_1M_points");
    g.sample_size(10);
    g.throughput(Throughput::Elements(N as u64));
    for (name, node) in cases {
        let p = plan(&node, &ctx, &source).unwrap();
        g.bench_function(name, |b| b.iter(|| p.compute(&source, 0, end).unwrap()));
    }
    g.finish();
}

fn appends(c: &mut Criterion) {
    let source = Source;
    let ctx: Context = wire::from_json("{}").unwrap();
    let mut g = c.benchmark_group("append_one_point");
    for (name, node) in [
        ("derivative", series(&derivative(&ch("a")))),
        ("rolling_mean_1s", series(&rolling_mean(&ch("a")))),
        ("threshold_ranges", sparse_ranges(&ch("a"))),
    ] {
        let p = plan(&node, &ctx, &source).unwrap();
        for (wname, window) in [("10s", 10_000 * MS), ("1h", 3_600_000 * MS)] {
            let mut live = p.live(window, LiveMode::Raw);
            // Past both windows, so both hold real points from their start.
            let mut now = 4_000_000 * MS;
            live.full(&source, now).unwrap();
            g.bench_with_input(BenchmarkId::new(name, wname), &window, |b, _| {
                b.iter(|| {
                    now += MS;
                    live.update(&source, now, now).unwrap()
                })
            });
        }
    }
    g.finish();
}

fn select_value(select: &str, numeric: &str) -> ComputableNode {
    wire::from_json(&format!(
        r#"{{"type":"value","value":{{"type":"{select}","{select}":{{"type":"numeric","numeric":{numeric}}}}}}}"#
    ))
    .unwrap()
}

/// One live update per panel kind of the dashboard-wall mix (and `SelectValue`): 100 new
/// points (100 ms at 1 kHz) into a window of 60 s vs 600 s, the result shape chosen as a
/// subscription would (`Auto`: 60,000 or 600,000 points are bucketed to 1,000 buckets).
fn live_updates(c: &mut Criterion) {
    let source = Source;
    let ctx: Context = wire::from_json("{}").unwrap();
    let mut g = c.benchmark_group("live_update_100_points");
    g.throughput(Throughput::Elements(100));
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(2));
    for (name, node) in [
        ("raw_bucketed", series(&ch("a"))),
        ("derivative", series(&derivative(&ch("a")))),
        ("rolling_mean_1s", series(&rolling_mean(&ch("a")))),
        ("threshold_ranges_list", sparse_ranges(&ch("a"))),
        ("threshold_ranges_summary", ranges(&ch("a"))),
        ("last_point", select_value("lastPoint", &ch("a"))),
        ("first_point", select_value("firstPoint", &ch("a"))),
    ] {
        let p = plan(&node, &ctx, &source).unwrap();
        for (wname, window) in [("60s", 60_000 * MS), ("600s", 600_000 * MS)] {
            let mut live = p.live(window, LiveMode::Auto);
            let mut now = 4_000_000 * MS;
            live.full(&source, now).unwrap();
            g.bench_with_input(BenchmarkId::new(name, wname), &window, |b, _| {
                b.iter(|| {
                    let earliest = now + 1;
                    // A clock reading is any nanosecond, not a multiple of the bucket width.
                    now += 100 * MS + 7;
                    live.update(&source, earliest, now).unwrap()
                })
            });
        }
    }
    g.finish();
}

/// A late joiner's full result (`LiveComputation::snapshot`) of a live bucketed panel
/// that others already follow, for a 60 s and a 600 s window (60,000 / 600,000 points in
/// 1,000 buckets).
fn live_snapshots(c: &mut Criterion) {
    let source = Source;
    let ctx: Context = wire::from_json("{}").unwrap();
    let mut g = c.benchmark_group("live_snapshot");
    g.warm_up_time(std::time::Duration::from_millis(500));
    g.measurement_time(std::time::Duration::from_secs(2));
    for (name, node) in [
        ("raw_bucketed", series(&ch("a"))),
        ("derivative", series(&derivative(&ch("a")))),
        ("rolling_mean_1s", series(&rolling_mean(&ch("a")))),
    ] {
        let p = plan(&node, &ctx, &source).unwrap();
        for (wname, window) in [("60s", 60_000 * MS), ("600s", 600_000 * MS)] {
            let mut live = p.live(window, LiveMode::Auto);
            let now = 4_000_000 * MS;
            live.full(&source, now).unwrap();
            live.update(&source, now + 1, now + 100 * MS + 7).unwrap();
            g.bench_with_input(BenchmarkId::new(name, wname), &window, |b, _| {
                b.iter(|| live.snapshot(&source, now + 100 * MS + 7).unwrap())
            });
        }
    }
    g.finish();
}

criterion_group!(benches, families, appends, live_updates, live_snapshots);
criterion_main!(benches);
