//! Kill -9 crash test of the real binary: concurrent writers post acknowledged batches,
//! the server is SIGKILLed at random moments and restarted on the same data directory,
//! and every acknowledged point must come back exactly once with its value, with no
//! partial batch.

mod common;

use common::start;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DATASET: &str = "ri.sightline.crash.dataset.test";
const WRITERS: usize = 3;
const POINTS_PER_BATCH: i64 = 50;
const KILLS: usize = 4;
/// Base timestamp: 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000_000;

/// Timestamp of point `i` of batch `k` of writer `w`: batches never overlap.
fn timestamp(k: i64, i: i64) -> i64 {
    T0 + (k * POINTS_PER_BATCH + i) * 1_000_000
}

fn value(w: usize, k: i64, i: i64) -> f64 {
    (w as i64 * 1_000_000 + k * POINTS_PER_BATCH + i) as f64 + 0.25
}

fn batch_body(w: usize, k: i64) -> serde_json::Value {
    let ts: Vec<_> = (0..POINTS_PER_BATCH)
        .map(|i| {
            let t = timestamp(k, i);
            serde_json::json!({"seconds": t / 1_000_000_000, "nanos": t % 1_000_000_000})
        })
        .collect();
    let vs: Vec<f64> = (0..POINTS_PER_BATCH).map(|i| value(w, k, i)).collect();
    serde_json::json!({"dataSourceRid": DATASET, "batches": [
        {"channel": format!("writer{w}"), "timestamps": ts, "values": {"type": "doubles", "doubles": vs}}
    ]})
}

fn seed() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(7)
        | 1
}

fn next_random(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acknowledged: Arc<Mutex<BTreeMap<usize, BTreeSet<i64>>>> = Arc::default();
    let next_batch: Arc<Mutex<[i64; WRITERS]>> = Arc::default();
    let mut rng = seed();
    eprintln!("crash test seed {rng}");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");

    for round in 0..KILLS {
        let mut server = start(dir.path(), &["--fsync", "always", "--head-limit-mib", "1"]);
        let run_for = Duration::from_millis(200 + next_random(&mut rng) % 600);
        let deadline = Instant::now() + run_for;
        let mut writers = Vec::new();
        for w in 0..WRITERS {
            let (client, url) = (client.clone(), server.url.clone());
            let (acknowledged, next_batch) = (acknowledged.clone(), next_batch.clone());
            writers.push(std::thread::spawn(move || {
                // Keep writing until the kill lands; errors after it are expected.
                while Instant::now() < deadline + Duration::from_secs(1) {
                    let k = {
                        let mut next = next_batch.lock().expect("lock");
                        next[w] += 1;
                        next[w]
                    };
                    let response = client
                        .post(format!("{url}/storage/writer/v1/columnar"))
                        .json(&batch_body(w, k))
                        .send();
                    match response {
                        Ok(r) if r.status().as_u16() == 204 => {
                            acknowledged
                                .lock()
                                .expect("lock")
                                .entry(w)
                                .or_default()
                                .insert(k);
                        }
                        Ok(r) => panic!("write refused with {}", r.status()),
                        Err(_) => return,
                    }
                }
            }));
        }
        std::thread::sleep(run_for);
        server.child.kill().expect("kill -9");
        let _ = server.child.wait();
        for writer in writers {
            writer.join().expect("writer thread");
        }
        let acked: usize = acknowledged
            .lock()
            .expect("lock")
            .values()
            .map(BTreeSet::len)
            .sum();
        eprintln!("round {round}: killed after {run_for:?}, {acked} batches acknowledged so far");
    }

    let server = start(dir.path(), &[]);
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.values().map(BTreeSet::len).sum::<usize>() > 0,
        "no write was acknowledged"
    );
    for (w, batches) in &acknowledged {
        let points = read_channel(&client, &server.url, *w);
        // Group the stored points by batch slot.
        let mut by_batch: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        for (t, v) in points {
            let slot = (t - T0) / 1_000_000;
            by_batch
                .entry(slot / POINTS_PER_BATCH)
                .or_default()
                .push((slot % POINTS_PER_BATCH, v));
        }
        for (k, got) in &by_batch {
            assert_eq!(
                got.len() as i64,
                POINTS_PER_BATCH,
                "writer {w} batch {k}: partial or duplicated batch"
            );
            for (i, v) in got {
                assert_eq!(
                    *v,
                    value(*w, *k, *i),
                    "writer {w} batch {k} point {i}: value changed"
                );
            }
        }
        for k in batches {
            assert!(
                by_batch.contains_key(k),
                "writer {w}: acknowledged batch {k} lost"
            );
        }
    }
    drop(server);
}

fn read_channel(client: &reqwest::blocking::Client, url: &str, w: usize) -> Vec<(i64, f64)> {
    let request = serde_json::json!({
        "start": {"seconds": T0 / 1_000_000_000 - 1, "nanos": 0},
        "end": {"seconds": T0 / 1_000_000_000 + 100_000, "nanos": 0},
        "context": {},
        "node": {"type": "series", "series": {"buckets": 100_000_000, "input": {"type": "numeric", "numeric": {
            "type": "channel", "channel": {"type": "dataSource", "dataSource": {
                "dataSourceRid": {"type": "literal", "literal": DATASET},
                "channel": {"type": "literal", "literal": format!("writer{w}")}}}}}}}
    });
    let response: serde_json::Value = client
        .post(format!("{url}/compute/v2/compute"))
        .json(&request)
        .send()
        .expect("compute")
        .json()
        .expect("compute JSON");
    let plot = &response["numeric"];
    let ts = plot["timestamps"].as_array().cloned().unwrap_or_default();
    let vs = plot["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(ts.len(), vs.len(), "malformed plot: {response}");
    ts.iter()
        .zip(vs)
        .map(|(t, v)| {
            let t = t["seconds"].as_i64().expect("seconds") * 1_000_000_000
                + t["nanos"].as_i64().expect("nanos");
            (t, v.as_f64().expect("value"))
        })
        .collect()
}
