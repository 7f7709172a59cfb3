//! Shared evaluation is invisible: subscriptions of the same computation, on one connection
//! or several, one joining late, one leaving midway, each merge to a fresh full result,
//! with strictly increasing ends; and a reader that stops reading holds at most its byte
//! budget of queued updates, then catches up.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Result};
use common::merge::Plot;
use common::*;
use proptest::prelude::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use std::sync::OnceLock;
use std::time::{Duration, Instant};
use uuid::Uuid;

const WINDOW: i64 = 5 * SEC;
const GRID: i64 = 100 * MS;

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("tokio runtime")
    })
}

#[derive(Debug, Clone)]
struct Step {
    advance_ms: i64,
    /// (offset from now in ms, value); late and future points included.
    points: Vec<(i64, u8)>,
}

fn step() -> impl Strategy<Value = Step> {
    (
        0i64..2500,
        prop::collection::vec((-7_000i64..1_500, 0u8..6), 0..6),
        -3_000i64..=0,
    )
        .prop_map(|(advance_ms, mut points, anchor)| {
            points.push((anchor, 5));
            Step { advance_ms, points }
        })
}

async fn write(server: &TestServer, rid: &str, step: &Step) -> Result<()> {
    let now = server.now();
    let points: Vec<(i64, f64)> = step
        .points
        .iter()
        .map(|(off, v)| ((now + off * MS).div_euclid(GRID) * GRID, f64::from(*v)))
        .collect();
    server
        .write_columns(&columnar(rid, vec![double_column("ch", &[], &points)]))
        .await?
        .no_content()
}

/// Reads `sub`'s updates until its merged window equals HTTP compute; every update passes
/// the merge model (which requires strictly increasing ends and starts within the held
/// window).
async fn settle(
    sub: &mut Tracked,
    ws: &mut WsClient,
    server: &TestServer,
    node: &Value,
    what: &str,
) -> Result<()> {
    sub.settle(ws, server, node, what).await.map(|_| ())
}

/// Sub A from the start on connection 1; sub B (same computation) on connection 2 joins
/// after `join` steps; sub C (same computation, connection 1) leaves after `leave` steps.
async fn run_case(steps: Vec<Step>, join: usize, leave: usize) -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "ch");
    let subscription = || subscription(node.clone(), WINDOW, options(0, Some(true)));
    write(
        &server,
        &rid,
        &Step {
            advance_ms: 0,
            points: vec![(-1000, 1)],
        },
    )
    .await?;
    let mut ws1 = server.connect().await?;
    let mut ws2 = server.connect().await?;
    let mut a = Tracked::new(WINDOW);
    a.start(&mut ws1, subscription()).await?;
    let mut c = Tracked::new(WINDOW);
    c.start(&mut ws1, subscription()).await?;
    let mut b: Option<Tracked> = None;
    let mut c_live = true;

    for (i, step) in steps.iter().enumerate() {
        if i == join {
            let mut late = Tracked::new(WINDOW);
            late.start(&mut ws2, subscription()).await?;
            b = Some(late);
            // Every subscriber of the computation shares one evaluation.
            let live = figure(&server, "sightline_server_live_computations").await?;
            ensure!(
                live == 1.0,
                "{live} live computations for one shared request"
            );
        }
        if i == leave && c_live {
            ws1.send_json(&json!({"type": "unsubscribe", "unsubscribe": [c.id.to_string()]}))
                .await?;
            c_live = false;
        }
        server.advance(step.advance_ms * MS);
        write(&server, &rid, step).await?;
        settle(&mut a, &mut ws1, &server, &node, &format!("A, step {i}")).await?;
        if c_live {
            settle(&mut c, &mut ws1, &server, &node, &format!("C, step {i}")).await?;
        }
        if let Some(b) = b.as_mut() {
            settle(b, &mut ws2, &server, &node, &format!("B, step {i}")).await?;
        }
    }
    // A fresh subscription agrees with the shared one's merged window.
    let merged = a.merged()?;
    let now = server.now();
    let end = merged.last_end.unwrap_or(now).max(now);
    let fresh = ws1.subscribe_ok(Uuid::new_v4(), subscription()).await?;
    let fresh = Plot::from_full(&fresh).map_err(anyhow::Error::msg)?;
    // With the clock stalled, the fresh result ends just past the computation's last end
    // (ends strictly increase), so a point exactly `WINDOW` before it has left its window.
    let (lo, hi) = (end - WINDOW + 1, now);
    assert_same(
        &merged.plot.restrict(lo, hi),
        &fresh.restrict(lo, hi),
        "fresh subscription beside shared ones",
    )?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 12,
        max_shrink_iters: 16,
        ..ProptestConfig::default()
    })]

    #[test]
    fn shared_subscribers_each_merge_to_a_fresh_full_result(
        steps in prop::collection::vec(step(), 2..6),
        join in 0usize..4,
        leave in 0usize..4,
    ) {
        let outcome = runtime().block_on(run_case(steps, join, leave));
        prop_assert!(outcome.is_ok(), "{:?}", outcome.err());
    }
}

/// Bytes of subscription updates waiting for slow readers, from `/metrics`.
async fn queued_bytes(server: &TestServer) -> Result<f64> {
    figure(server, "sightline_server_ws_queued_bytes").await
}

/// One figure of `/metrics`.
async fn figure(server: &TestServer, name: &str) -> Result<f64> {
    let metrics = server.get("/metrics").await?.text();
    let prefix = format!("{name} ");
    let line = metrics
        .lines()
        .find(|l| l.starts_with(&prefix))
        .ok_or_else(|| anyhow::anyhow!("no {name} in /metrics"))?;
    Ok(line
        .split_whitespace()
        .nth(1)
        .unwrap_or("nan")
        .parse::<f64>()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_reader_holds_at_most_its_byte_budget_then_catches_up() -> Result<()> {
    let budget = 256 * 1024;
    let config = ServerConfig {
        connection_queue_bytes: budget,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(config, Some(1_000_000 * SEC)).await?;
    let rid = rid();
    let window = 30 * SEC;
    // Raw results throughout, ~40 bytes per point: each update is ~40 KB.
    let node = series_node("numeric", &rid, "x", &[], Some(1_000_000));
    server
        .write_doubles(&rid, "x", &series(server.now() - SEC, MS, 0..1000))
        .await?;
    let mut ws = server.connect().await?;
    // Several subscriptions of distinct computations (different windows), so the queue
    // fills from several producers.
    let mut subs = Vec::new();
    for k in 0..4 {
        let mut sub = Tracked::new(window + k * SEC);
        sub.start(&mut ws, appends(node.clone(), window + k * SEC))
            .await?;
        subs.push(sub);
    }
    // Stop reading; write 1 kHz for 60 s of data.
    let mut peak = 0.0f64;
    for _ in 0..60 {
        server.advance(SEC);
        let now = server.now();
        server
            .write_doubles(&rid, "x", &series(now - SEC + MS, MS, 0..1000))
            .await?;
        tokio::time::sleep(Duration::from_millis(20)).await;
        peak = peak.max(queued_bytes(&server).await?);
    }
    // One frame beyond the budget may be admitted when the queue is nearly empty.
    let frame_bound = 2.0 * budget as f64 + 4.0 * 1_000_000.0;
    ensure!(
        peak > 0.0 && peak <= frame_bound,
        "queued bytes peaked at {peak}, budget {budget}"
    );
    // Read again: every subscription converges to HTTP compute.
    let deadline = Instant::now() + Duration::from_secs(30);
    for (k, sub) in subs.iter_mut().enumerate() {
        let final_now = server.now();
        loop {
            ensure!(Instant::now() < deadline, "sub {k} did not catch up");
            let update = ws.update_within(sub.id, Duration::from_secs(10)).await?;
            apply(&mut sub.merged, sub.window, &update)?;
            if sub.merged()?.last_end.is_some_and(|e| e >= final_now) {
                sub.assert_matches_compute(&server, &node, &format!("sub {k} after the stall"))
                    .await?;
                break;
            }
        }
    }
    Ok(())
}
