//! Kill -9 crash test: a child process (this test binary re-run in child mode) writes
//! batches from several threads and reports each acknowledgement; the parent kills it with
//! SIGKILL at varying moments, reopens the store, and requires every acknowledged batch to be
//! present exactly once with its values intact. Repeated several times on one directory.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sightline_store::{DurableStore, SeriesWrite, Store, StoreConfig, Values};

const CHILD_ENV: &str = "SIGHTLINE_STORE_CRASH_DIR";
const POINTS: i64 = 50;

fn config(dir: &Path) -> StoreConfig {
    let mut c = StoreConfig::new(dir);
    // Small head so flushes (segment writes, log trims) happen while the child is killed.
    c.head_limit_bytes = 64 << 10;
    c
}

fn batch(writer: u64, k: i64) -> Vec<SeriesWrite> {
    vec![SeriesWrite {
        dataset: "ds".into(),
        channel: "c".into(),
        tags: [("w".to_string(), writer.to_string())]
            .into_iter()
            .collect(),
        unit: None,
        timestamps: (0..POINTS).map(|j| k * 1000 + j).collect(),
        values: Values::Double((0..POINTS).map(|j| (k * 1000 + j) as f64 * 0.5).collect()),
    }]
}

fn child(dir: &str, round: i64) {
    let store = Arc::new(DurableStore::open(config(Path::new(dir))).unwrap());
    let threads: Vec<_> = (0..3u64)
        .map(|w| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..100_000i64 {
                    let k = round * 1_000_000 + i;
                    store.write(batch(w, k)).unwrap();
                    println!("ACK {w} {k}");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    if let Ok(dir) = std::env::var(CHILD_ENV) {
        let round = std::env::var("ROUND").unwrap().parse().unwrap();
        child(&dir, round);
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut acked: Vec<(u64, i64)> = Vec::new();
    for round in 0..5i64 {
        let mut c = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "acknowledged_writes_survive_kill_9",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, dir.path())
            .env("ROUND", round.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = c.stdout.take().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reader = {
            let seen = seen.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let mut p = line.split_whitespace();
                    if p.next() == Some("ACK") {
                        let w = p.next().unwrap().parse().unwrap();
                        let k = p.next().unwrap().parse().unwrap();
                        seen.lock().unwrap().push((w, k));
                    }
                }
            })
        };
        // Kill at a varying time after the child's first acknowledgement, not after its
        // start: a busy machine (CI compiling beside it) can take longer than the whole
        // delay to start the child and open the store.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().is_empty() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100 + 170 * round as u64));
        c.kill().unwrap(); // SIGKILL
        c.wait().unwrap();
        reader.join().unwrap();
        let got = seen.lock().unwrap().clone();
        assert!(
            !got.is_empty(),
            "round {round}: the child acknowledged nothing"
        );
        acked.extend(got);

        let s = DurableStore::open(config(dir.path())).unwrap();
        for w in 0..3u64 {
            let tags = [("w".to_string(), w.to_string())].into_iter().collect();
            let Some(id) = s.series("ds", "c", &tags).first().map(|x| x.id) else {
                assert!(
                    acked.iter().all(|a| a.0 != w),
                    "writer {w}'s series is gone"
                );
                continue;
            };
            let (mut ts, mut vs) = (Vec::new(), Vec::new());
            s.read_numeric(id, i64::MIN, i64::MAX, &mut ts, &mut vs);
            let mut per_batch: BTreeMap<i64, i64> = BTreeMap::new();
            for (t, v) in ts.iter().zip(&vs) {
                assert_eq!(*v, *t as f64 * 0.5, "round {round}: value at {t} damaged");
                *per_batch.entry(t.div_euclid(1000)).or_default() += 1;
            }
            // No partial batches, acknowledged or not; no duplicates (timestamps are unique).
            assert!(
                per_batch.values().all(|&n| n == POINTS),
                "round {round}: a partial batch"
            );
            for &(_, k) in acked.iter().filter(|a| a.0 == w) {
                assert!(
                    per_batch.contains_key(&k),
                    "round {round}: acknowledged batch {k} of writer {w} lost"
                );
            }
        }
        drop(s);
    }
}
