//! Cluster mode end to end: a three-server NATS JetStream cluster and three Sightline nodes on
//! loopback ports. Writers post to random nodes while a Sightline node is SIGKILLed and
//! restarted and one NATS server dies; afterwards every acknowledged point is on every node
//! exactly once with its value, and a subscription on one node saw a write made on another.
//!
//! Needs `nats-server` (Debian: `apt-get install nats-server`); `.ci/run` installs it.

mod common;

use common::batches::Batches;
use common::http::{client, read_channel, wait_ready};
use common::nats::NatsCluster;
use common::{start, Server};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DATASET: &str = "ri.sightline.cluster.dataset.test";
const WRITERS: usize = 3;
const BATCHES: Batches = Batches {
    dataset: DATASET,
    points: 20,
};

fn node(dir: &Path, nats: &NatsCluster, id: usize) -> Server {
    nats.start_node(dir, id, &[])
}

/// Writer `w`'s points on the node at `url`.
fn points_of(client: &reqwest::blocking::Client, url: &str, w: usize) -> Vec<(i64, f64)> {
    read_channel(client, url, DATASET, &Batches::channel(w), BATCHES.range())
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
    let client = client();
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
            let r = common::http::client()
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
            let client = common::http::client();
            let mut k = 0i64;
            let mut attempt = w;
            while !stop.load(Ordering::SeqCst) {
                attempt += 1;
                let url = &urls[attempt % urls.len()];
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
                let points = points_of(&client, url, *w);
                let has_last = points.iter().any(|(t, _)| *t == BATCHES.timestamp(last, 0));
                if has_last || Instant::now() > deadline {
                    break points;
                }
                std::thread::sleep(Duration::from_millis(200));
            };
            BATCHES.check(url, *w, &points, batches);
        }
    }
}

/// A node that joins late reports `catching-up` on `/health` until it has applied the log,
/// then `ok`; a node that was away longer than the log keeps writes starts but refuses:
/// `/health` says `refusing` and how to re-seed it, and it serves no data.
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
    let client = client();
    let a = start(dir_a.path(), &flags("a"));
    let b = start(dir_b.path(), &flags("b"));
    wait_ready(&client, &a.url);
    wait_ready(&client, &b.url);
    let write = |url: &str, k: i64| {
        let r = client
            .post(format!("{url}/storage/writer/v1/columnar"))
            .json(&BATCHES.body(0, k))
            .send()
            .expect("write");
        assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
    };
    for k in 0..5 {
        write(&a.url, k);
    }

    // A brand-new node catches up on everything the log holds before it says `ok`; until
    // then it says how far it is.
    let c = start(dir_c.path(), &flags("c"));
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = common::http::health(&client, &c.url).expect("/health answers");
        if status == 200 {
            assert_eq!(body, serde_json::json!({"status": "ok"}));
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert_eq!(body["status"], "catching-up", "{body}");
        let (applied, target) = (
            body["appliedSequence"].as_u64().expect("appliedSequence"),
            body["targetSequence"].as_u64().expect("targetSequence"),
        );
        assert!(applied < target && target == 5, "{body}");
        assert!(Instant::now() < deadline, "never caught up: {body}");
        std::thread::sleep(Duration::from_millis(20));
    }
    let batches_on = |url: &str| -> BTreeSet<i64> {
        points_of(&client, url, 0)
            .into_iter()
            .map(|(t, _)| (t - common::batches::T0) / 1_000_000 / BATCHES.points)
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

    let b = start(dir_b.path(), &flags("b"));
    let (status, body) = common::http::health(&client, &b.url).expect("/health answers");
    assert_eq!(
        status, 503,
        "a node behind the log's retention is not healthy"
    );
    assert_eq!(body["status"], "refusing", "{body}");
    // b applied 5 writes (its recorded position may trail that after a kill); writes up to
    // the 10th expired.
    let (applied, first) = (
        body["appliedSequence"].as_u64().expect("appliedSequence"),
        body["firstAvailableSequence"]
            .as_u64()
            .expect("firstAvailableSequence"),
    );
    assert!(applied <= 5 && first > applied + 1 && first <= 11, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Re-seed it")),
        "the refusal says how to re-seed: {body}"
    );
    // It serves no data: a read and a write are refused, and nothing it took reaches the log.
    let read = client
        .post(format!("{}/compute/v2/compute", b.url))
        .json(&serde_json::json!({"start": {"seconds": 0, "nanos": 0}, "end": {"seconds": 1, "nanos": 0},
            "context": {}, "node": {"type": "series", "series": {"input": {"type": "numeric", "numeric": {
            "type": "channel", "channel": {"type": "dataSource", "dataSource": {
                "dataSourceRid": {"type": "literal", "literal": DATASET},
                "channel": {"type": "literal", "literal": "writer0"}}}}}}}}))
        .send()
        .expect("compute");
    assert_eq!(read.status().as_u16(), 503);
    let refused = client
        .post(format!("{}/storage/writer/v1/columnar", b.url))
        .json(&BATCHES.body(0, 11))
        .send()
        .expect("write");
    assert_eq!(refused.status().as_u16(), 503);
    let refused: serde_json::Value = refused.json().expect("error body");
    assert_eq!(
        refused["errorName"], "Sightline:StoreUnavailable",
        "{refused}"
    );
    assert!(
        !batches_on(&a.url).contains(&11),
        "a write the refusing node refused reached the log"
    );

    // Re-seeding as the docs say: stop it, copy a stopped, caught-up node's data directory.
    drop(b);
    let mut a = a;
    a.terminate();
    copy_dir(dir_a.path(), dir_b.path());
    let b = start(dir_b.path(), &flags("b"));
    wait_ready(&client, &b.url);
    assert_eq!(batches_on(&b.url), (0..11).collect(), "the re-seeded node");
}

/// A node asked for three copies of the log, started while its NATS cluster has only one of
/// three servers up (no JetStream leader, so no stream can be made), waits instead of
/// exiting, and joins once the other servers arrive.
#[test]
fn a_node_started_before_its_nats_cluster_has_formed_waits_and_joins() {
    let nats = NatsCluster::start_first(3, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let rest_started = AtomicBool::new(false);
    let node = std::thread::scope(|s| {
        s.spawn(|| {
            // Longer than a JetStream request waits for its answer: the node's first tries
            // go unanswered and must be retried, not taken as the end.
            std::thread::sleep(Duration::from_secs(8));
            rest_started.store(true, Ordering::SeqCst);
            nats.start_server(1);
            nats.start_server(2);
        });
        // Blocks until the node listens, which it does only once the stream exists.
        nats.start_node(dir.path(), 0, &[])
    });
    assert!(
        rest_started.load(Ordering::SeqCst),
        "the node listened before its NATS cluster could hold the log"
    );
    let client = client();
    wait_ready(&client, &node.url);
    let r = client
        .post(format!("{}/storage/writer/v1/columnar", node.url))
        .json(&BATCHES.body(0, 0))
        .send()
        .expect("write");
    assert_eq!(r.status().as_u16(), 204, "{:?}", r.text());
    let points = read_channel(
        &client,
        &node.url,
        DATASET,
        &Batches::channel(0),
        BATCHES.range(),
    );
    assert_eq!(points.len(), BATCHES.points as usize);
}

/// Replaces `to` with a copy of `from`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::remove_dir_all(to).expect("remove");
    copy_into(from, to);
}

fn copy_into(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_into(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
