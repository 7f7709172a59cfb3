//! Cluster mode end to end: a three-server NATS JetStream cluster and three Sightline nodes on
//! loopback ports. Writers post to random nodes while a Sightline node is SIGKILLed and
//! restarted and one NATS server dies; afterwards every acknowledged point is on every node
//! exactly once with its value, and a subscription on one node saw a write made on another.
//!
//! Needs `nats-server` (Debian: `apt-get install nats-server`); `.ci/run` installs it.

mod common;

use common::nats::NatsCluster;
use common::{start, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DATASET: &str = "ri.sightline.cluster.dataset.test";
const WRITERS: usize = 3;
const POINTS_PER_BATCH: i64 = 20;
/// 2026-01-01T00:00:00Z.
const T0: i64 = 1_767_225_600_000_000_000;

fn timestamp(k: i64, i: i64) -> i64 {
    T0 + (k * POINTS_PER_BATCH + i) * 1_000_000
}

fn value(w: usize, k: i64, i: i64) -> f64 {
    (w as i64 * 1_000_000 + k * POINTS_PER_BATCH + i) as f64 + 0.5
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

fn node(dir: &Path, nats: &NatsCluster, id: usize) -> Server {
    start(
        dir,
        &[
            "--cluster",
            &nats.urls(),
            "--node-id",
            &format!("node{id}"),
            "--cluster-replicas",
            "3",
        ],
    )
}

fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Waits until the node says it has caught up with the write log.
fn wait_ready(client: &reqwest::blocking::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if metric(client, url, "sightline_cluster_ready") == Some(1.0) {
            return;
        }
        assert!(Instant::now() < deadline, "node {url} never became ready");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn metric(client: &reqwest::blocking::Client, url: &str, name: &str) -> Option<f64> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
}

#[test]
fn every_acknowledged_write_reaches_every_node_through_kills() {
    let nats = NatsCluster::start(3);
    let dirs: Vec<_> = (0..3)
        .map(|_| tempfile::tempdir().expect("tempdir"))
        .collect();
    let nodes: Arc<Mutex<Vec<Server>>> = Arc::new(Mutex::new(
        (0..3).map(|i| node(dirs[i].path(), &nats, i)).collect(),
    ));
    let urls: Vec<String> = nodes
        .lock()
        .expect("lock")
        .iter()
        .map(|n| n.url.clone())
        .collect();
    let client = http_client();
    for url in &urls {
        wait_ready(&client, url);
    }

    // A subscription on node 0 must see a write made through node 2.
    let seen_on_0 = common::ws::first_update_with_point(
        &urls[0],
        DATASET,
        "crossnode",
        Duration::from_secs(20),
        || {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_nanos() as i64;
            let body = serde_json::json!({"dataSourceRid": DATASET, "batches": [{"channel": "crossnode",
                "timestamps": [{"seconds": t / 1_000_000_000, "nanos": 0}],
                "values": {"type": "doubles", "doubles": [42.0]}}]});
            let r = http_client()
                .post(format!("{}/storage/writer/v1/columnar", urls[2]))
                .json(&body)
                .send()
                .expect("write through node 2");
            assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
        },
    );
    assert_eq!(
        seen_on_0,
        Some(42.0),
        "node 0's subscriber never saw node 2's write"
    );

    // Writers against random nodes; a refused or failed write is retried elsewhere.
    let acknowledged: Arc<Mutex<BTreeMap<usize, BTreeSet<i64>>>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (urls, acknowledged, stop) = (urls.clone(), acknowledged.clone(), stop.clone());
        writers.push(std::thread::spawn(move || {
            let client = http_client();
            let mut k = 0i64;
            let mut attempt = w;
            while !stop.load(Ordering::SeqCst) {
                attempt += 1;
                let url = &urls[attempt % urls.len()];
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
                        k += 1;
                    }
                    Ok(r) if r.status().is_client_error() => {
                        panic!("write refused with {}: {:?}", r.status(), r.text())
                    }
                    // A killed node or an unavailable log: retry the same batch elsewhere.
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        }));
    }

    std::thread::sleep(Duration::from_secs(2));
    // SIGKILL node 1 and start it again on its data directory.
    {
        let mut nodes = nodes.lock().expect("lock");
        let killed = &mut nodes[1];
        killed.child.kill().expect("kill -9");
        let _ = killed.child.wait();
    }
    std::thread::sleep(Duration::from_secs(1));
    let restarted = node(dirs[1].path(), &nats, 1);
    let restarted_url = restarted.url.clone();
    nodes.lock().expect("lock")[1] = restarted;
    std::thread::sleep(Duration::from_secs(1));
    // Kill one NATS server of three: writes continue.
    nats.kill(2);
    let acked = || {
        acknowledged
            .lock()
            .expect("lock")
            .values()
            .map(BTreeSet::len)
            .sum::<usize>()
    };
    let (before, killed_at) = (acked(), Instant::now());
    while acked() < before + 20 && killed_at.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = acked();
    eprintln!(
        "{} writes acknowledged in {:?} after a NATS server died",
        after - before,
        killed_at.elapsed()
    );
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.join().expect("writer thread");
    }
    assert!(
        after > before,
        "no write was acknowledged after a NATS server died"
    );

    let acknowledged = acknowledged.lock().expect("lock").clone();
    let mut check_urls = urls.clone();
    check_urls[1] = restarted_url;
    for url in &check_urls {
        wait_ready(&client, url);
        for (w, batches) in &acknowledged {
            let last = *batches.iter().next_back().expect("a batch");
            // Wait until the node has applied this writer's last acknowledged batch.
            let deadline = Instant::now() + Duration::from_secs(60);
            let points = loop {
                let points = read_channel(&client, url, *w);
                let has_last = points.iter().any(|(t, _)| *t == timestamp(last, 0));
                if has_last || Instant::now() > deadline {
                    break points;
                }
                std::thread::sleep(Duration::from_millis(200));
            };
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
                    "{url} writer {w} batch {k}: partial or duplicated"
                );
                for (i, v) in got {
                    assert_eq!(
                        *v,
                        value(*w, *k, *i),
                        "{url} writer {w} batch {k} point {i}"
                    );
                }
            }
            for k in batches {
                assert!(
                    by_batch.contains_key(k),
                    "{url}: writer {w}'s acknowledged batch {k} is missing"
                );
            }
        }
    }
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

/// A node that joins late catches up from the log; a node that was away longer than the log
/// keeps writes refuses to start and says how to re-seed it.
#[test]
fn late_nodes_catch_up_and_nodes_behind_the_retention_refuse() {
    let nats = NatsCluster::start(1);
    let (dir_a, dir_b, dir_c) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let urls = nats.urls();
    let flags = |id: &'static str| {
        [
            "--cluster",
            urls.as_str(),
            "--node-id",
            id,
            "--cluster-retention",
            "3s",
        ]
    };
    let client = http_client();
    let a = start(dir_a.path(), &flags("a"));
    let b = start(dir_b.path(), &flags("b"));
    wait_ready(&client, &a.url);
    wait_ready(&client, &b.url);
    let write = |url: &str, k: i64| {
        let r = client
            .post(format!("{url}/storage/writer/v1/columnar"))
            .json(&batch_body(0, k))
            .send()
            .expect("write");
        assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
    };
    for k in 0..5 {
        write(&a.url, k);
    }

    // A brand-new node catches up on everything the log holds before it is ready.
    let c = start(dir_c.path(), &flags("c"));
    wait_ready(&client, &c.url);
    let batches_on = |url: &str| -> BTreeSet<i64> {
        read_channel(&client, url, 0)
            .into_iter()
            .map(|(t, _)| (t - T0) / 1_000_000 / POINTS_PER_BATCH)
            .collect()
    };
    assert_eq!(
        batches_on(&c.url),
        (0..5).collect(),
        "the late node caught up"
    );

    // Node b stops; writes it never applied expire from the log meanwhile.
    drop(b);
    for k in 5..10 {
        write(&a.url, k);
    }
    std::thread::sleep(Duration::from_millis(4500));
    write(&a.url, 10);
    drop(c);

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir_b.path())
        .args(flags("b"))
        .output()
        .expect("run sightline");
    assert!(
        !out.status.success(),
        "a node behind the log's retention started"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Re-seed the node"),
        "the refusal says how to re-seed: {stderr}"
    );
}
