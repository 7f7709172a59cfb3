//! The lock order under load: writers, `/metrics` readers, range readers and flushes run
//! together on one durable store (and on the in-memory one) for a few seconds, and every
//! thread must finish. A deadlock fails the test at the watchdog instead of hanging it.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use common::{dbl, tags};
use sightline_store::{DurableStore, MemoryStore, SeriesId, Store, StoreConfig};

/// How long the threads hammer the store.
const RUN: Duration = Duration::from_secs(3);
/// How long after `RUN` every thread must have finished.
const WATCHDOG: Duration = Duration::from_secs(30);

/// Runs writers, metric readers, range readers and (if given) a flusher against `store`
/// for [`RUN`]; fails if any thread is still running [`WATCHDOG`] later.
fn hammer(store: Arc<dyn Store>, flush: Option<Arc<dyn Fn() + Send + Sync>>) {
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let scrapes = Arc::new(AtomicU64::new(0));
    let (done_tx, done_rx) = mpsc::channel::<&'static str>();
    let mut spawned = 0;
    for w in 0..3 {
        let (store, stop, writes, done) =
            (store.clone(), stop.clone(), writes.clone(), done_tx.clone());
        spawned += 1;
        std::thread::spawn(move || {
            let mut t = 0i64;
            while !stop.load(Ordering::Relaxed) {
                t += 1;
                // New series now and then, so writes take the index's write lock too.
                let series = format!("s{}", t % 50 + w * 1000);
                store
                    .write(vec![dbl(
                        "ds",
                        "ch",
                        tags(&[("k", &series)]),
                        &[t],
                        &[t as f64],
                    )])
                    .unwrap();
                writes.fetch_add(1, Ordering::Relaxed);
            }
            done.send("writer").unwrap();
        });
    }
    for _ in 0..2 {
        let (store, stop, scrapes, done) = (
            store.clone(),
            stop.clone(),
            scrapes.clone(),
            done_tx.clone(),
        );
        spawned += 1;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                assert!(!store.metrics().is_empty());
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
            done.send("metrics").unwrap();
        });
    }
    {
        let (store, stop, done) = (store.clone(), stop.clone(), done_tx.clone());
        spawned += 1;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for s in store.series("ds", "ch", &tags(&[])) {
                    let (mut ts, mut vs) = (Vec::new(), Vec::new());
                    store.read_numeric(s.id, i64::MIN, i64::MAX, &mut ts, &mut vs);
                    store.count(s.id, 0, i64::MAX);
                    store.nth_before(s.id, i64::MAX, 2);
                }
                store.read_numeric(SeriesId(u64::MAX), 0, 1, &mut Vec::new(), &mut Vec::new());
                let _ = store.channels("ds");
            }
            done.send("reader").unwrap();
        });
    }
    if let Some(flush) = flush {
        let (stop, done) = (stop.clone(), done_tx.clone());
        spawned += 1;
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                flush();
                std::thread::sleep(Duration::from_millis(5));
            }
            done.send("flusher").unwrap();
        });
    }
    drop(done_tx);
    std::thread::sleep(RUN);
    stop.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + WATCHDOG;
    for _ in 0..spawned {
        let left = deadline.saturating_duration_since(Instant::now());
        match done_rx.recv_timeout(left) {
            Ok(_) => {}
            Err(e) => panic!(
                "a store thread did not finish {WATCHDOG:?} after the run ({e}): deadlock \
                 (writes {}, scrapes {})",
                writes.load(Ordering::Relaxed),
                scrapes.load(Ordering::Relaxed)
            ),
        }
    }
    assert!(writes.load(Ordering::Relaxed) > 0, "no write completed");
    assert!(
        scrapes.load(Ordering::Relaxed) > 0,
        "no metrics read completed"
    );
    // Still answering afterwards.
    store
        .write(vec![dbl("ds", "after", tags(&[]), &[1], &[1.0])])
        .unwrap();
    assert_eq!(
        store.channel("ds", "after").map(|c| c.channel.to_string()),
        Some("after".into())
    );
}

#[test]
fn durable_store_survives_concurrent_writes_metrics_reads_and_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StoreConfig::new(dir.path());
    // A small head, so writers also freeze heads and the background thread flushes.
    config.head_limit_bytes = 16 << 10;
    let store = Arc::new(DurableStore::open(config).unwrap());
    let flusher = store.clone();
    let flush: Arc<dyn Fn() + Send + Sync> = Arc::new(move || {
        flusher.flush().unwrap();
        flusher.compact().unwrap();
    });
    hammer(store.clone(), Some(flush));
    store.close().unwrap();
}

#[test]
fn memory_store_survives_concurrent_writes_metrics_and_reads() {
    hammer(Arc::new(MemoryStore::new()), None);
}
