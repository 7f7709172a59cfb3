//! Encoding the hot streaming results (issue 9, item 4): a `subscriptionUpdate` message
//! carrying a 1,000-bucket `bucketedNumeric` plot, a 1,000-point raw `numeric` plot and a
//! 100-range list, serialized straight from the typed values with `serde_json` (no
//! intermediate JSON tree). Throughput is in points (buckets, ranges) per second.

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use sightline_wire::conjure::SafeLong;
use sightline_wire::persistent_compute::{
    FullResult, ServerMessage, SubscriptionUpdate, SubscriptionUpdateMessage,
};
use sightline_wire::scout_compute::{
    BucketedNumericPlot, ComputeNodeResponse, NumericBucket, NumericPlot, NumericPoint, Range,
};
use sightline_wire::time::nanos_to_timestamp;

const POINTS: usize = 1_000;
const RANGES: usize = 100;
const T0: i64 = 1_767_225_600_000_000_000;

fn message(result: ComputeNodeResponse) -> ServerMessage {
    ServerMessage::SubscriptionUpdate(SubscriptionUpdateMessage {
        subscription_id: uuid::Uuid::nil(),
        update: SubscriptionUpdate::Full(FullResult { result }),
    })
}

fn value(i: usize) -> f64 {
    100.0 + (i as f64 * 0.01).sin()
}

fn bucketed() -> ServerMessage {
    let width = 60_000_000; // 60 ms buckets: a 60 s window in 1,000 buckets
    let point = |t: i64, v: f64| NumericPoint {
        timestamp: nanos_to_timestamp(t),
        value: v,
    };
    let buckets = (0..POINTS)
        .map(|i| {
            let start = T0 + i as i64 * width;
            NumericBucket {
                min: Some(value(i) - 1.0),
                max: Some(value(i) + 1.0),
                mean: Some(value(i)),
                count: Some(SafeLong(60)),
                variance: Some(0.25),
                first_point: Some(point(start, value(i) - 0.5)),
                last_point: Some(point(start + width - 1_000_000, value(i) + 0.5)),
                aggregations: Default::default(),
            }
        })
        .collect();
    let timestamps = (0..POINTS)
        .map(|i| nanos_to_timestamp(T0 + (i as i64 + 1) * width))
        .collect();
    message(ComputeNodeResponse::BucketedNumeric(BucketedNumericPlot {
        timestamps,
        buckets,
    }))
}

fn raw() -> ServerMessage {
    message(ComputeNodeResponse::Numeric(NumericPlot {
        timestamps: (0..POINTS)
            .map(|i| nanos_to_timestamp(T0 + i as i64 * 1_000_000))
            .collect(),
        values: (0..POINTS).map(value).collect(),
        next_page_token: None,
    }))
}

fn ranges() -> ServerMessage {
    message(ComputeNodeResponse::Range(
        (0..RANGES)
            .map(|i| Range {
                start: Some(nanos_to_timestamp(T0 + i as i64 * 500_000_000)),
                end: Some(nanos_to_timestamp(
                    T0 + i as i64 * 500_000_000 + 250_000_000,
                )),
                value: None,
            })
            .collect(),
    ))
}

fn encode(c: &mut Criterion) {
    let mut group = c.benchmark_group("encode_update");
    for (name, msg, n) in [
        ("bucketed_numeric_1000", bucketed(), POINTS),
        ("numeric_1000", raw(), POINTS),
        ("ranges_100", ranges(), RANGES),
    ] {
        let bytes = serde_json::to_string(&msg).map(|s| s.len()).unwrap_or(0);
        eprintln!("{name}: {bytes} bytes per frame");
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(name, |b| b.iter(|| serde_json::to_string(&msg)));
    }
    group.finish();
}

criterion_group!(benches, encode);
criterion_main!(benches);
