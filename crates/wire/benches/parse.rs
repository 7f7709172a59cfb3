//! Parsing the hot request bodies: a 10,000-point columnar write (100 channels × 100
//! points) and a row write of the same size, points/s through `from_json_slice`.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sightline_wire::storage_writer::{WriteBatchesRequestExternal, WriteColumnBatchesRequest};
use std::fmt::Write as _;

const CHANNELS: usize = 100;
const PER_CHANNEL: usize = 100;

fn columnar_body() -> String {
    let mut s = String::from(r#"{"dataSourceRid":"ri.sightline.bench.dataset.x","batches":["#);
    for c in 0..CHANNELS {
        let sep = if c > 0 { "," } else { "" };
        let _ = write!(s, r#"{sep}{{"channel":"ch{c}","timestamps":["#);
        for i in 0..PER_CHANNEL {
            let sep = if i > 0 { "," } else { "" };
            let _ = write!(
                s,
                r#"{sep}{{"seconds":1767225600,"nanos":{}}}"#,
                i * 1_000_000
            );
        }
        s.push_str(r#"],"values":{"type":"doubles","doubles":["#);
        for i in 0..PER_CHANNEL {
            let sep = if i > 0 { "," } else { "" };
            let _ = write!(s, "{sep}{:.6}", 100.0 + (i as f64 * 0.01).sin());
        }
        s.push_str("]}}");
    }
    s.push_str("]}");
    s
}

fn row_body() -> String {
    let mut s = String::from(r#"{"dataSourceRid":"ri.sightline.bench.dataset.x","batches":["#);
    for c in 0..CHANNELS {
        let sep = if c > 0 { "," } else { "" };
        let _ = write!(
            s,
            r#"{sep}{{"channel":"ch{c}","points":{{"type":"double","double":["#
        );
        for i in 0..PER_CHANNEL {
            let sep = if i > 0 { "," } else { "" };
            let _ = write!(
                s,
                r#"{sep}{{"timestamp":{{"seconds":1767225600,"nanos":{}}},"value":{:.6}}}"#,
                i * 1_000_000,
                100.0 + (i as f64 * 0.01).sin()
            );
        }
        s.push_str("]}}");
    }
    s.push_str("]}");
    s
}

fn parse(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Elements((CHANNELS * PER_CHANNEL) as u64));
    let columnar = columnar_body();
    group.bench_function("columnar_10k_points", |b| {
        b.iter(|| {
            sightline_wire::from_json_slice::<WriteColumnBatchesRequest>(columnar.as_bytes())
                .map(|r| r.batches.len())
        })
    });
    let rows = row_body();
    group.bench_function("rows_10k_points", |b| {
        b.iter(|| {
            sightline_wire::from_json_slice::<WriteBatchesRequestExternal>(rows.as_bytes())
                .map(|r| r.batches.len())
        })
    });
    group.finish();
}

criterion_group!(benches, parse);
criterion_main!(benches);
