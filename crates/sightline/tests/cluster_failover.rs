//! Failover of live subscriptions between cluster nodes, through the client library
//! (`sightline-client`): three NATS JetStream servers, three Sightline nodes, a writer that
//! posts a live point every 20 ms to whichever node answers, and clients given every node's
//! URL.
//!
//! - SIGTERM the node a client is on: the client gets `shutdownNotice`, moves to another
//!   node, and its window has no gap: it equals a fresh full result once writes stop.
//! - SIGKILL the node a client is on (and one NATS server of three, while writing): the
//!   client reconnects to another URL and resubscribes; its merged window equals that of a
//!   client that stayed on a surviving node, and a fresh full result; no acknowledged point
//!   is missing.
//!
//! Every process is killed when the test ends, also on failure (Drop guards). Needs
//! `nats-server` (Debian: `apt-get install nats-server`); `.ci/run` installs it.

mod common;

use common::http::{client, read_channel, wait_ready};
use common::nats::NatsCluster;
use common::Server;
use sightline_client::{ConnectionEvent, Event, Options, Plot, Request, Subscription};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const DATASET: &str = "ri.sightline.cluster.dataset.failover";
const CHANNEL: &str = "live";
const WINDOW: Duration = Duration::from_secs(120);
/// Longest any one step may take before the test fails.
const STEP: Duration = Duration::from_secs(30);

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn node(dir: &Path, nats: &NatsCluster, id: usize) -> Server {
    nats.start_node(dir, id, &["--drain-secs", "5"])
}

fn ws_url(http: &str) -> String {
    format!("{}/persistent-compute/ws", http.replacen("http", "ws", 1))
}

/// Three NATS servers, three nodes and their data directories; all killed on drop.
struct Cluster {
    nats: NatsCluster,
    nodes: Vec<Server>,
    urls: Vec<String>,
    _dirs: Vec<tempfile::TempDir>,
}

impl Cluster {
    fn start() -> Cluster {
        let nats = NatsCluster::start(3);
        let dirs: Vec<_> = (0..3)
            .map(|_| tempfile::tempdir().expect("tempdir"))
            .collect();
        let nodes: Vec<Server> = (0..3).map(|i| node(dirs[i].path(), &nats, i)).collect();
        let urls: Vec<String> = nodes.iter().map(|n| n.url.clone()).collect();
        let http = client();
        for url in &urls {
            wait_ready(&http, url);
        }
        Cluster {
            nats,
            nodes,
            urls,
            _dirs: dirs,
        }
    }
}

/// A writer posting one point every 20 ms, at the wall clock's time, to the first node in
/// turn that acknowledges it; remembers every acknowledged point.
struct Writer {
    stop: Arc<AtomicBool>,
    acknowledged: Arc<Mutex<Vec<(i64, f64)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(urls: Vec<String>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acknowledged: Arc<Mutex<Vec<(i64, f64)>>> = Arc::default();
        let thread = {
            let (stop, acknowledged) = (stop.clone(), acknowledged.clone());
            std::thread::spawn(move || {
                let http = reqwest::blocking::Client::builder()
                    .timeout(Duration::from_secs(3))
                    .build()
                    .expect("client");
                let mut turn = 0usize;
                let mut n = 0.0;
                while !stop.load(Ordering::SeqCst) {
                    let t = now_nanos();
                    let body = serde_json::json!({"dataSourceRid": DATASET, "batches": [{
                        "channel": CHANNEL,
                        "timestamps": [{"seconds": t / 1_000_000_000, "nanos": t % 1_000_000_000}],
                        "values": {"type": "doubles", "doubles": [n]}}]});
                    // Try each node once, starting with the next in turn.
                    for _ in 0..urls.len() {
                        turn += 1;
                        let url = &urls[turn % urls.len()];
                        let sent = http
                            .post(format!("{url}/storage/writer/v1/columnar"))
                            .json(&body)
                            .send();
                        match sent {
                            Ok(r) if r.status().as_u16() == 204 => {
                                acknowledged.lock().expect("lock").push((t, n));
                                break;
                            }
                            Ok(r) if r.status().is_client_error() => {
                                panic!("write refused with {}: {:?}", r.status(), r.text())
                            }
                            _ => {}
                        }
                    }
                    n += 1.0;
                    std::thread::sleep(Duration::from_millis(20));
                }
            })
        };
        Writer {
            stop,
            acknowledged,
            thread: Some(thread),
        }
    }

    fn acknowledged(&self) -> usize {
        self.acknowledged.lock().expect("lock").len()
    }

    /// Stops writing; the acknowledged points, in order.
    fn finish(mut self) -> Vec<(i64, f64)> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("writer thread");
        }
        self.acknowledged.lock().expect("lock").clone()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// The live channel as a raw numeric series.
fn request() -> Request {
    let node = serde_json::json!({"type": "series", "series": {"buckets": 100000, "input": {"type": "numeric", "numeric": {
        "type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "literal", "literal": DATASET},
            "channel": {"type": "literal", "literal": CHANNEL}}}}}}});
    let text = node.to_string();
    let node = sightline_wire::from_json(&text).expect("graph");
    Request::new(node, WINDOW).min_delay(Duration::from_millis(50))
}

/// Points of the subscription's merged window.
fn window_of(sub: &Subscription) -> Vec<(i64, f64)> {
    match sub.state().map(|s| &s.plot) {
        Some(Plot::Numeric(points)) => points.clone(),
        None => Vec::new(),
        Some(other) => panic!("expected a raw numeric window, got {other:?}"),
    }
}

/// Reads events until `done` holds for one of them (and the state it left); fails after
/// [`STEP`]. Returns every event seen.
async fn until(
    sub: &mut Subscription,
    what: &str,
    mut done: impl FnMut(&Event, &Subscription) -> bool,
) -> Vec<Event> {
    let deadline = tokio::time::Instant::now() + STEP;
    let mut seen = Vec::new();
    loop {
        let event = match tokio::time::timeout_at(deadline, sub.next()).await {
            Ok(Some(Ok(event))) => event,
            // A merge failure asks for a fresh full result itself; keep going.
            Ok(Some(Err(e))) => {
                eprintln!("{what}: client error {e}");
                continue;
            }
            Ok(None) => panic!("{what}: the session ended; events: {seen:?}"),
            Err(_) => panic!("{what}: not within {STEP:?}; events: {seen:?}"),
        };
        let finished = done(&event, sub);
        seen.push(event);
        if finished {
            return seen;
        }
    }
}

/// Once writes stopped: waits until the subscription's window holds the last acknowledged
/// point and equals a fresh full read of the channel from `survivor`, and checks it holds
/// every acknowledged point.
async fn settles(sub: &mut Subscription, survivor: &str, acknowledged: &[(i64, f64)], who: &str) {
    let last = acknowledged.last().expect("some write was acknowledged").0;
    // Every point of the channel: all of them were written during the test, well inside
    // the window.
    let first = acknowledged[0].0 - 10_000_000_000;
    let fresh = || {
        let survivor = survivor.to_string();
        std::thread::spawn(move || {
            read_channel(
                &client(),
                &survivor,
                DATASET,
                CHANNEL,
                (first, now_nanos() + 1_000_000_000),
            )
        })
        .join()
        .expect("read")
    };
    let deadline = Instant::now() + STEP;
    loop {
        let window = window_of(sub);
        if window.iter().any(|&(t, _)| t == last) {
            let full = fresh();
            if window == full {
                for point in acknowledged {
                    assert!(
                        window.contains(point),
                        "{who}: acknowledged point {point:?} is missing from the window"
                    );
                }
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{who}: the window ({} points) never equalled a fresh full result ({} points)",
                window.len(),
                full.len()
            );
        }
        assert!(
            Instant::now() < deadline,
            "{who}: the window never received the last acknowledged point"
        );
        // More updates may still come; wait for one (or a moment).
        let _ = tokio::time::timeout(Duration::from_millis(500), sub.next()).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn sigterm_hands_subscribers_to_another_node_with_no_gap() {
    let mut cluster = Cluster::start();
    let writer = Writer::start(cluster.urls.clone());
    let rt = runtime();
    let ws: Vec<String> = cluster.urls.iter().map(|u| ws_url(u)).collect();
    let mut sub = rt.block_on(async {
        let session = sightline_client::connect_with(Options::new(ws.clone(), None))
            .await
            .expect("connect");
        let mut sub = session.subscribe(request()).expect("subscribe");
        // On node 0 (the first URL), with a full result and appends flowing.
        until(&mut sub, "first appends on node 0", |e, s| {
            *e == Event::Append && s.state().is_some_and(|st| st.appends >= 5)
        })
        .await;
        sub
    });

    let terminated = {
        let node0 = &mut cluster.nodes[0];
        let _ = std::process::Command::new("kill")
            .arg(node0.child.id().to_string())
            .status();
        Instant::now()
    };
    let events = rt.block_on(until(&mut sub, "handover", |e, _| {
        matches!(e, Event::Connection(ConnectionEvent::HandedOver { .. }))
    }));
    let Some(Event::Connection(ConnectionEvent::HandedOver { url })) = events.last() else {
        unreachable!()
    };
    assert_ne!(url, &ws[0], "handed over to the node that is shutting down");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Connection(ConnectionEvent::Lost { .. }))),
        "the connection was lost instead of handed over: {events:?}"
    );
    eprintln!(
        "handed over to {url} {:?} after SIGTERM",
        terminated.elapsed()
    );
    let survivor = cluster.urls[ws.iter().position(|w| w == url).expect("a node's URL")].clone();
    // With its last WebSocket gone, node 0 ends its drain early and exits cleanly.
    let status = cluster.nodes[0].wait_exit(STEP);
    assert!(
        status.is_some_and(|s| s.success()),
        "node 0 exits cleanly after its drain: {status:?}"
    );

    // Keep writing a little on the survivors, then compare.
    let before = writer.acknowledged();
    let deadline = Instant::now() + STEP;
    while writer.acknowledged() < before + 50 {
        assert!(
            Instant::now() < deadline,
            "writes stalled after the handover"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let acknowledged = writer.finish();
    rt.block_on(settles(
        &mut sub,
        &survivor,
        &acknowledged,
        "handed-over client",
    ));
}

#[test]
fn sigkill_reconnects_and_resubscribes_elsewhere_with_the_same_window() {
    let mut cluster = Cluster::start();
    let writer = Writer::start(cluster.urls.clone());
    let rt = runtime();
    let ws: Vec<String> = cluster.urls.iter().map(|u| ws_url(u)).collect();
    let (mut moving, mut staying) = rt.block_on(async {
        let moving = sightline_client::connect_with(Options::new(ws.clone(), None))
            .await
            .expect("connect");
        let staying = sightline_client::connect_with(Options::new(vec![ws[2].clone()], None))
            .await
            .expect("connect");
        let mut moving = moving.subscribe(request()).expect("subscribe");
        let mut staying = staying.subscribe(request()).expect("subscribe");
        for (sub, what) in [
            (&mut moving, "client on node 0"),
            (&mut staying, "client on node 2"),
        ] {
            until(sub, what, |e, s| {
                *e == Event::Append && s.state().is_some_and(|st| st.appends >= 5)
            })
            .await;
        }
        (moving, staying)
    });

    // SIGKILL node 0: no notice, the socket just dies.
    {
        let node0 = &mut cluster.nodes[0];
        node0.child.kill().expect("kill -9");
        let _ = node0.child.wait();
    }
    let killed = Instant::now();
    let events = rt.block_on(until(&mut moving, "reconnect", |e, _| {
        matches!(e, Event::Connection(ConnectionEvent::Connected { .. }))
    }));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Connection(ConnectionEvent::Lost { .. }))),
        "the client noticed the loss: {events:?}"
    );
    let Some(Event::Connection(ConnectionEvent::Connected { url })) = events.last() else {
        unreachable!()
    };
    assert_ne!(url, &ws[0], "reconnected to the killed node");
    eprintln!("reconnected to {url} {:?} after SIGKILL", killed.elapsed());
    // It resubscribed: a new creation and a fresh full result arrive on the new node.
    rt.block_on(until(&mut moving, "resubscribed", |e, _| *e == Event::Full));

    // One NATS server of three dies too, while writing: writes continue.
    cluster.nats.kill(1);
    let before = writer.acknowledged();
    let deadline = Instant::now() + STEP;
    while writer.acknowledged() < before + 50 {
        assert!(
            Instant::now() < deadline,
            "writes stalled after a node and a NATS server died"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let acknowledged = writer.finish();
    let survivor = cluster.urls[2].clone();
    rt.block_on(settles(
        &mut moving,
        &survivor,
        &acknowledged,
        "reconnected client",
    ));
    rt.block_on(settles(
        &mut staying,
        &survivor,
        &acknowledged,
        "client on node 2",
    ));
    assert_eq!(
        window_of(&moving),
        window_of(&staying),
        "the reconnected client's window equals the window of the client that stayed"
    );
}
