//! The store's write path per point, the shapes `sightline bench --scenario write-formats`
//! sends: requests of 100 series × 100 points of doubles.
//!
//! - `in_order`: every request continues where the last one ended (one writer).
//! - `two_writers`: two writers, each with its own stretch of time, so every other request
//!   lands in the past of the series (in front of the other writer's points), as two
//!   clients writing one series do.
//!
//! Each runs against the durable engine (log with `fsync=interval`, so the disk's sync rate
//! is not what is measured; the head is large enough that no flush runs during a sample)
//! and the in-memory engine. Criterion prints points/s; ns per point is 1e9 / that.
//!
//! `store/maintain` measures what a flush costs in the background, per point flushed, in
//! the same shape: a head of one dataset flushed into a partition that already holds another
//! dataset's segment over the same time range (the write-formats scenario writes each
//! format to its own dataset over the same times), then the background's compaction
//! (`compact_overlapping`, nothing overlaps per series), or a forced merge of the partition
//! (`compact`, blocks copied still compressed).
//!
//! Run: `cargo bench -p sightline-store --bench write_path`.

#![allow(missing_docs)]

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use sightline_store::{
    DurableStore, FsyncPolicy, MemoryStore, SeriesWrite, Store, StoreConfig, Tags, Values,
};

const SERIES: usize = 100;
const PER_SERIES: usize = 100;
const MS: i64 = 1_000_000;
const T0: i64 = 1_795_000_000_000_000_000;
/// Start of the second writer's stretch: far enough that the first never reaches it.
const SECOND_WRITER: i64 = 10_000_000_000 * MS;

/// Request `k` of one writer whose stretch starts at `t0`.
fn request(t0: i64, k: i64) -> Vec<SeriesWrite> {
    let channels: Vec<std::sync::Arc<str>> = (0..SERIES)
        .map(|c| std::sync::Arc::from(format!("ch{c:03}")))
        .collect();
    let mut tags = Tags::new();
    tags.insert("rig".to_string(), "bench".to_string());
    channels
        .into_iter()
        .map(|channel| {
            let ts: Vec<i64> = (0..PER_SERIES as i64)
                .map(|i| t0 + (k * PER_SERIES as i64 + i) * MS)
                .collect();
            // Cheap to make: the setup runs outside the timing but inside a profile.
            let v = ts
                .iter()
                .map(|&t| ((t / MS) % 4096) as f64 * 0.25)
                .collect();
            SeriesWrite {
                dataset: "ri.bench.dataset.w".into(),
                channel,
                tags: tags.clone(),
                unit: None,
                timestamps: ts,
                values: Values::Double(v),
            }
        })
        .collect()
}

fn durable(dir: &std::path::Path) -> DurableStore {
    let mut c = StoreConfig::new(dir);
    c.fsync = FsyncPolicy::Interval(Duration::from_millis(100));
    c.head_limit_bytes = 4 << 30;
    DurableStore::open(c).unwrap_or_else(|e| panic!("open: {e}"))
}

fn run(c: &mut Criterion, name: &str, store: &dyn Store, two_writers: bool) {
    let mut g = c.benchmark_group("store/write_path");
    g.throughput(Throughput::Elements((SERIES * PER_SERIES) as u64));
    g.sample_size(10).measurement_time(Duration::from_secs(3));
    let mut k = 0i64;
    g.bench_function(name, |b| {
        b.iter_batched(
            || {
                k += 1;
                if two_writers {
                    // Alternate: even requests extend the second writer's stretch, odd ones
                    // the first writer's, which lies before it in every series.
                    let t0 = if k % 2 == 0 { T0 + SECOND_WRITER } else { T0 };
                    request(t0, k / 2)
                } else {
                    request(T0, k)
                }
            },
            |w| store.write(w).unwrap_or_else(|e| panic!("{e}")),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn write_path(c: &mut Criterion) {
    for (name, two) in [("in_order", false), ("two_writers", true)] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = durable(dir.path());
        run(c, &format!("durable/{name}"), &s, two);
        drop(s);
        let m = MemoryStore::new();
        run(c, &format!("memory/{name}"), &m, two);
    }
}

/// Points per series in a flushed head of the `maintain` benches: 100 series × 10,000.
const FLUSHED_PER_SERIES: i64 = 10_000;

/// One dataset's head: 100 series over the same 10 s as every other dataset's.
fn head_of(dataset: &str) -> Vec<SeriesWrite> {
    (0..SERIES)
        .map(|c| {
            let ts: Vec<i64> = (0..FLUSHED_PER_SERIES).map(|i| T0 + i * MS).collect();
            let v = ts
                .iter()
                .map(|&t| ((t / MS) % 4096) as f64 * 0.25)
                .collect();
            SeriesWrite {
                dataset: dataset.into(),
                channel: format!("ch{c:03}").into(),
                tags: Tags::new(),
                unit: None,
                timestamps: ts,
                values: Values::Double(v),
            }
        })
        .collect()
}

fn maintain(c: &mut Criterion) {
    let mut g = c.benchmark_group("store/maintain");
    g.throughput(Throughput::Elements(
        SERIES as u64 * FLUSHED_PER_SERIES as u64,
    ));
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    type Compaction = fn(&DurableStore) -> Result<(), sightline_store::StoreError>;
    let ways: [(&str, Compaction); 2] = [
        (
            "flush_then_background_compaction",
            DurableStore::compact_overlapping,
        ),
        ("flush_then_forced_compaction", DurableStore::compact),
    ];
    for (name, compact) in ways {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
                    let s = durable(dir.path());
                    s.write(head_of("ri.bench.dataset.first"))
                        .unwrap_or_else(|e| panic!("{e}"));
                    s.flush().unwrap_or_else(|e| panic!("{e}"));
                    s.write(head_of("ri.bench.dataset.second"))
                        .unwrap_or_else(|e| panic!("{e}"));
                    let started = std::time::Instant::now();
                    s.flush().unwrap_or_else(|e| panic!("{e}"));
                    compact(&s).unwrap_or_else(|e| panic!("{e}"));
                    spent += started.elapsed();
                }
                spent
            })
        });
    }
    g.finish();
}

criterion_group!(benches, write_path, maintain);
criterion_main!(benches);
