//! Store benchmarks: ingest through the `Store` API, window scans from the head and from
//! segments, recovery speed, and (printed, not timed) bytes per point on disk for three
//! kinds of telemetry next to the alternative encodings they were chosen over.
//!
//! Run: `cargo bench -p sightline-store --bench store`. Inputs are seeded, so runs compare.

#![allow(missing_docs)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use sightline_store::{
    DurableStore, FsyncPolicy, MemoryStore, SeriesId, SeriesWrite, Store, StoreConfig, Values,
};

/// SplitMix64: a tiny seeded generator so inputs are identical run to run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Roughly normal (sum of uniforms).
    fn normal(&mut self) -> f64 {
        (0..4).map(|_| self.unit()).sum::<f64>() - 2.0
    }
}

const MS: i64 = 1_000_000;
const T0: i64 = 1_795_000_000_000_000_000;

/// A 1 kHz pressure-like signal: slow sine plus sensor noise, at the sensor's 0.001
/// resolution (what a JSON writer sends as `20.113`).
fn smooth(n: usize, seed: u64) -> (Vec<i64>, Vec<f64>) {
    let mut r = Rng(seed);
    let ts = (0..n as i64).map(|i| T0 + i * MS).collect();
    let v = (0..n)
        .map(|i| {
            let x = 20.0
                + 5.0 * (i as f64 * 2.0 * std::f64::consts::PI / 60_000.0).sin()
                + 0.004 * r.normal();
            (x * 1000.0).round() / 1000.0
        })
        .collect();
    (ts, v)
}

/// Full-precision noise with jittered timestamps: the worst case for float compression.
fn noisy(n: usize, seed: u64) -> (Vec<i64>, Vec<f64>) {
    let mut r = Rng(seed);
    let ts = (0..n as i64)
        .map(|i| T0 + i * MS + (r.next() % 20_000) as i64)
        .collect();
    let v = (0..n).map(|_| r.normal() * 3.7 + 100.0).collect();
    (ts, v)
}

/// A 100 Hz valve state that changes every few seconds among four values.
fn enums(n: usize, seed: u64) -> (Vec<i64>, Vec<Arc<str>>) {
    let mut r = Rng(seed);
    let labels: Vec<Arc<str>> = ["OPEN", "CLOSED", "OPENING", "FAULT"]
        .iter()
        .map(|s| Arc::from(*s))
        .collect();
    let mut cur = 0usize;
    let ts = (0..n as i64).map(|i| T0 + i * 10 * MS).collect();
    let v = (0..n)
        .map(|_| {
            if matches!(r.next() % 300, 0) {
                cur = (r.next() % 4) as usize;
            }
            labels[cur].clone()
        })
        .collect();
    (ts, v)
}

fn write(ds: &str, ch: &str, ts: Vec<i64>, values: Values) -> SeriesWrite {
    SeriesWrite {
        dataset: ds.into(),
        channel: ch.into(),
        tags: Default::default(),
        unit: None,
        timestamps: ts,
        values,
    }
}

fn config(dir: &Path, fsync: FsyncPolicy) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    c.fsync = fsync;
    c
}

/// Writes 1 M points in 10 k batches, closes, and returns bytes of segments per point.
fn bytes_per_point(values: impl Fn(usize) -> (Vec<i64>, Values)) -> f64 {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let s = DurableStore::open(config(
        dir.path(),
        FsyncPolicy::Interval(Duration::from_millis(100)),
    ))
    .unwrap_or_else(|e| panic!("open: {e}"));
    let (ts, v) = values(1_000_000);
    let per = 10_000;
    for k in 0..100 {
        let r = k * per..(k + 1) * per;
        let vals = match &v {
            Values::Double(x) => Values::Double(x[r.clone()].to_vec()),
            Values::String(x) => Values::String(x[r.clone()].to_vec()),
            _ => unreachable!(),
        };
        s.write(vec![write("ds", "c", ts[r].to_vec(), vals)])
            .unwrap_or_else(|e| panic!("{e}"));
    }
    s.close().unwrap_or_else(|e| panic!("{e}"));
    let seg: u64 = std::fs::read_dir(dir.path().join("segments"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    seg as f64 / 1e6
}

/// Gorilla (Facebook TSDB) XOR float encoding: bits it would take, for comparison.
fn gorilla_bits(v: &[f64]) -> u64 {
    let mut bits = 64u64;
    let (mut prev, mut lead, mut trail) = (v[0].to_bits(), 65u32, 0u32);
    for x in &v[1..] {
        let xor = x.to_bits() ^ prev;
        prev = x.to_bits();
        if xor == 0 {
            bits += 1;
            continue;
        }
        let (l, t) = (xor.leading_zeros().min(31), xor.trailing_zeros());
        if lead <= 64 && l >= lead && t >= trail {
            bits += 2 + u64::from(64 - lead - trail);
        } else {
            bits += 2 + 5 + 6 + u64::from(64 - l - t);
            lead = l;
            trail = t;
        }
    }
    bits
}

/// Gorilla delta-of-delta timestamp encoding: bits it would take.
fn gorilla_ts_bits(ts: &[i64]) -> u64 {
    let mut bits = 64 + 64;
    for w in ts.windows(3) {
        let dod = (w[2] - w[1]) - (w[1] - w[0]);
        bits += match dod {
            0 => 1,
            -63..=64 => 9,
            -255..=256 => 12,
            -2047..=2048 => 16,
            _ => 36,
        };
    }
    bits
}

fn print_sizes() {
    let smooth_bpp = bytes_per_point(|n| {
        let (t, v) = smooth(n, 1);
        (t, Values::Double(v))
    });
    let noisy_bpp = bytes_per_point(|n| {
        let (t, v) = noisy(n, 2);
        (t, Values::Double(v))
    });
    let enum_bpp = bytes_per_point(|n| {
        let (t, v) = enums(n, 3);
        (t, Values::String(v))
    });
    println!("store/bytes_per_point (segments, ts+value): smooth {smooth_bpp:.2}, noisy {noisy_bpp:.2}, enum {enum_bpp:.3}");
    for (name, (ts, v)) in [
        ("smooth", smooth(1_000_000, 1)),
        ("noisy", noisy(1_000_000, 2)),
    ] {
        let g = (gorilla_bits(&v) + gorilla_ts_bits(&ts)) as f64 / 8.0 / v.len() as f64;
        let raw: Vec<u8> = ts
            .iter()
            .flat_map(|t| t.to_le_bytes())
            .chain(v.iter().flat_map(|x| x.to_bits().to_le_bytes()))
            .collect();
        let z = zstd::bulk::compress(&raw, 3).map_or(0, |c| c.len()) as f64 / v.len() as f64;
        println!("store/alternatives {name}: gorilla {g:.2} B/pt, raw+zstd(3) {z:.2} B/pt");
    }
}

fn ingest(c: &mut Criterion) {
    print_sizes();
    let mut g = c.benchmark_group("store/ingest");
    g.throughput(Throughput::Elements(10_000));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    // 100 channels × 100 points per batch, timestamps advancing batch to batch.
    let batch = |k: i64| -> Vec<SeriesWrite> {
        (0..100)
            .map(|ch| {
                let ts: Vec<i64> = (0..100).map(|i| T0 + (k * 100 + i) * MS).collect();
                let v: Vec<f64> = (0..100)
                    .map(|i| ((k * 100 + i) as f64 * 0.001).sin())
                    .collect();
                write("ds", &format!("ch{ch}"), ts, Values::Double(v))
            })
            .collect()
    };
    for (name, policy) in [
        ("fsync_always", FsyncPolicy::Always),
        (
            "fsync_interval_100ms",
            FsyncPolicy::Interval(Duration::from_millis(100)),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let s = DurableStore::open(config(dir.path(), policy)).unwrap_or_else(|e| panic!("{e}"));
        let mut k = 0;
        g.bench_function(BenchmarkId::new("durable", name), |b| {
            b.iter_batched(
                || {
                    k += 1;
                    batch(k)
                },
                |w| s.write(w).unwrap_or_else(|e| panic!("{e}")),
                criterion::BatchSize::SmallInput,
            )
        });
        let _ = s.close();
    }
    let s = MemoryStore::new();
    let mut k = 0;
    g.bench_function("memory", |b| {
        b.iter_batched(
            || {
                k += 1;
                batch(k)
            },
            |w| s.write(w).unwrap_or_else(|e| panic!("{e}")),
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn scan(c: &mut Criterion) {
    let n = 1_000_000;
    let mut g = c.benchmark_group("store/window_scan_1M");
    g.throughput(Throughput::Elements(n as u64));
    g.sample_size(20).measurement_time(Duration::from_secs(5));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = config(
        dir.path(),
        FsyncPolicy::Interval(Duration::from_millis(100)),
    );
    cfg.head_limit_bytes = 1 << 30;
    let s = DurableStore::open(cfg).unwrap_or_else(|e| panic!("{e}"));
    let (ts, v) = smooth(n + 200_000, 7);
    for k in 0..(n + 200_000) / 10_000 {
        let r = k * 10_000..(k + 1) * 10_000;
        s.write(vec![write(
            "ds",
            "c",
            ts[r.clone()].to_vec(),
            Values::Double(v[r].to_vec()),
        )])
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let id = SeriesId(0);
    // The window starts and ends mid-block, as a live window does.
    let (a, b) = (ts[100_000], ts[100_000 + n - 1]);
    let mut run = |name: &str, s: &DurableStore| {
        g.bench_function(name, |bch| {
            bch.iter(|| {
                let (mut t, mut x) = (Vec::new(), Vec::new());
                s.read_numeric(id, a, b, &mut t, &mut x);
                assert_eq!(t.len(), n);
                (t, x)
            })
        });
    };
    run("head", &s);
    s.flush().unwrap_or_else(|e| panic!("{e}"));
    run("segments", &s);
    g.finish();
}

fn recovery(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cfg = config(
        dir.path(),
        FsyncPolicy::Interval(Duration::from_millis(100)),
    );
    cfg.head_limit_bytes = 1 << 34;
    {
        let s = DurableStore::open(cfg.clone()).unwrap_or_else(|e| panic!("{e}"));
        for k in 0..400i64 {
            s.write(
                (0..100)
                    .map(|ch| {
                        let ts: Vec<i64> = (0..100).map(|i| T0 + (k * 100 + i) * MS).collect();
                        write("ds", &format!("ch{ch}"), ts, Values::Double(vec![1.5; 100]))
                    })
                    .collect(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    let wal: u64 = std::fs::read_dir(dir.path().join("wal"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let mut g = c.benchmark_group("store/recovery");
    g.throughput(Throughput::Bytes(wal));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function(format!("replay_{}MB_log", wal >> 20), |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                let s = DurableStore::open(cfg.clone()).unwrap_or_else(|e| panic!("{e}"));
                total += t.elapsed();
                assert_eq!(s.recovery_report().points_replayed, 4_000_000);
                drop(s);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, ingest, scan, recovery);
criterion_main!(benches);
