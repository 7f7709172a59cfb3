//! Kill -9 crash test of the real binary: concurrent writers post acknowledged batches,
//! the server is SIGKILLed at random moments and restarted on the same data directory,
//! and every acknowledged point must come back exactly once with its value, with no
//! partial batch.

mod common;

use common::batches::Batches;
use common::start;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const WRITERS: usize = 3;
const KILLS: usize = 4;
/// Batches of 50 points; batches never overlap.
const BATCHES: Batches = Batches {
    dataset: "ri.sightline.crash.dataset.test",
    points: 50,
};

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
    let client = common::http::client();

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
                        .json(&BATCHES.body(w, k))
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
        let points = common::http::read_channel(
            &client,
            &server.url,
            BATCHES.dataset,
            &Batches::channel(*w),
            BATCHES.range(),
        );
        BATCHES.check("after the last restart", *w, &points, batches);
    }
    drop(server);
}
