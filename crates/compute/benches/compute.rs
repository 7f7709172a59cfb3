//! Compute benchmarks: node families over 1 M points (points/s), and the cost of one
//! append to a 10 s vs a 1 h window for a derivative and a rolling mean (must be within
//! 20 % of each other: appends cost the new data plus a bounded look-back).
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

/// Two numeric channels (`a`, `b`) sampled at 1 kHz, `b` offset by 0.5 ms.
struct Source {
    ts: [Vec<i64>; 2],
    vs: [Vec<f64>; 2],
}

impl Source {
    fn new() -> Self {
        let mut seed = 0x1234_5678_u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut s = Source {
            ts: [Vec::with_capacity(N), Vec::with_capacity(N)],
            vs: [Vec::with_capacity(N), Vec::with_capacity(N)],
        };
        for i in 0..N as i64 {
            for k in 0..2 {
                s.ts[k].push(i * MS + k as i64 * MS / 2);
                s.vs[k].push(10.0 * next());
            }
        }
        s
    }

    fn range(&self, id: u64, a: i64, b: i64) -> std::ops::Range<usize> {
        let ts = &self.ts[id as usize];
        ts.partition_point(|&t| t < a)..ts.partition_point(|&t| t <= b)
    }
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
        let r = self.range(id, a, b);
        ts.extend_from_slice(&self.ts[id as usize][r.clone()]);
        vs.extend_from_slice(&self.vs[id as usize][r]);
    }
    fn read_strings(&self, _: u64, _: i64, _: i64, _: &mut Vec<i64>, _: &mut Vec<Arc<str>>) {}
    fn read_logs(&self, _: u64, _: i64, _: i64, _: &mut Vec<i64>, _: &mut Vec<LogEntry>) {}
    fn nth_before(&self, id: u64, t: i64, n: usize) -> Option<i64> {
        let ts = &self.ts[id as usize];
        let i = ts.partition_point(|&x| x < t);
        i.checked_sub(n).map(|j| ts[j])
    }
    fn count(&self, id: u64, a: i64, b: i64) -> u64 {
        self.range(id, a, b).len() as u64
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

fn families(c: &mut Criterion) {
    let source = Source::new();
    let ctx: Context = wire::from_json("{}").unwrap();
    let end = N as i64 * MS;
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
    let source = Source::new();
    let ctx: Context = wire::from_json("{}").unwrap();
    let mut g = c.benchmark_group("append_one_point");
    for (name, node) in [
        ("derivative", series(&derivative(&ch("a")))),
        ("rolling_mean_1s", series(&rolling_mean(&ch("a")))),
    ] {
        let p = plan(&node, &ctx, &source).unwrap();
        for (wname, window) in [("10s", 10_000 * MS), ("1h", 3_600_000 * MS)] {
            let mut live = p.live(window, LiveMode::Raw);
            let mut now = window + 10 * MS;
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

criterion_group!(benches, families, appends);
criterion_main!(benches);
