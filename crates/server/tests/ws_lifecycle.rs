//! Connection lifecycle under stress: graceful shutdown (notice, drain, 503, close 1001)
//! and a slow reader that stops reading while writes continue.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Result};
use common::merge::Plot;
use common::*;
use sightline_server::ServerConfig;
use sightline_wire::persistent_compute::HealthMessage;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_notifies_drains_refuses_new_sockets_then_closes_with_1001() -> Result<()> {
    let drain = Duration::from_secs(3);
    let config = ServerConfig {
        drain_period: drain,
        ..ServerConfig::default()
    };
    let mut server = TestServer::start_with(config, Some(BASE)).await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    let mut ws = server.connect().await?;
    let mut idle = server.connect().await?;
    let mut sub = Tracked::new(60 * SEC);
    sub.start(&mut ws, appends(node.clone(), 60 * SEC)).await?;

    server.trigger_shutdown();
    let triggered = Instant::now();
    for socket in [&mut ws, &mut idle] {
        socket
            .health(WAIT, |h| {
                matches!(h, HealthMessage::ShutdownNotice(_)).then_some(())
            })
            .await?;
    }
    // Writes and updates continue during the drain.
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + SEC, 2.0)])
        .await?;
    sub.settle(&mut ws, &server, &node, "update during the drain")
        .await?;
    // New sockets are refused with 503 and a Conjure error body.
    match server.try_connect().await? {
        Ok(_) => bail!("a new WebSocket was accepted during the drain"),
        Err((status, body)) => {
            ensure!(status == 503, "new socket during drain got {status}");
            let reply = Reply { status, body };
            let error = reply.conjure_error(503)?;
            ensure!(!error.error_name.is_empty());
        }
    }
    ensure!(
        triggered.elapsed() < drain,
        "the drain checks took longer than the drain itself; raise drain_period"
    );
    // Then every socket closes with 1001.
    for socket in [&mut ws, &mut idle] {
        let code = socket.closed_within(drain + WAIT).await?;
        ensure!(code == Some(CloseCode::Away), "close code {code:?}");
    }
    ensure!(
        triggered.elapsed() >= drain - Duration::from_millis(100),
        "sockets closed after {:?}, before the {drain:?} drain",
        triggered.elapsed()
    );
    server.join(WAIT).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_converges_to_the_right_window_and_the_server_stays_healthy() -> Result<()> {
    let config = ServerConfig {
        connection_queue: 2,
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(config, Some(BASE)).await?;
    let rid = rid();
    let window = 30 * SEC;
    // Raw results throughout: far more buckets than points.
    let node = series_node("numeric", &rid, "x", &[], Some(1_000_000));
    let first = series(BASE - 5 * SEC, MS, 0..1000);
    server.write_doubles(&rid, "x", &first).await?;
    let mut written: std::collections::BTreeSet<i64> = first.iter().map(|p| p.0).collect();
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(window);
    sub.start(&mut ws, appends(node.clone(), window)).await?;
    // Another client, reading normally, on another channel.
    let other_node = numeric_node(&rid, "y");
    server.write_doubles(&rid, "y", &[(BASE, 0.0)]).await?;
    let mut other_ws = server.connect().await?;
    let mut other = Tracked::new(window);
    other
        .start(&mut other_ws, appends(other_node.clone(), window))
        .await?;

    // Stop reading. 40 writes of 1000 points (1 kHz), each with a point 3 s late.
    let writes = 40;
    for w in 0..writes {
        server.advance(SEC);
        let now = server.now();
        let mut points = series(now - SEC + MS, MS, 0..1000);
        points.push((now - 3 * SEC + 500_000, -(w as f64)));
        server.write_doubles(&rid, "x", &points).await?;
        written.extend(points.iter().map(|p| p.0));
        // The stalled reader holds up nobody else.
        if w % 10 == 9 {
            server.write_doubles(&rid, "y", &[(now, w as f64)]).await?;
            other
                .settle(
                    &mut other_ws,
                    &server,
                    &other_node,
                    "reader beside a stalled one",
                )
                .await?;
        }
    }
    let final_now = server.now();

    // Read again: the merged window must converge to a fresh result.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut updates = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        ensure!(
            left > Duration::ZERO,
            "no convergence after {updates} updates"
        );
        ws.update_within(sub.id, left).await.and_then(|u| {
            apply(&mut sub.merged, window, &u)?;
            Ok(())
        })?;
        updates += 1;
        let merged = sub.merged()?;
        if merged.last_end.is_some_and(|e| e >= final_now) {
            sub.assert_matches_compute(&server, &node, "slow reader")
                .await?;
            break;
        }
    }
    eprintln!("slow reader: {writes} writes, {updates} updates after the stall");
    ensure!(updates >= 1, "no update after the stall");
    let Plot::Numeric(points) = &sub.merged()?.plot else {
        bail!("not numeric")
    };
    let end = sub.merged()?.last_end.unwrap();
    let expected = written.range(end - window..=end).count();
    ensure!(
        points.len() == expected && expected > 30_000,
        "merged window holds {} points, {expected} were written into it",
        points.len()
    );

    // The connection and the server still work.
    ws.round_trip().await?;
    let fresh = ws
        .subscribe_ok(Uuid::new_v4(), appends(node.clone(), window))
        .await?;
    let fresh = Plot::from_full(&fresh).map_err(anyhow::Error::msg)?;
    let lo = end - window;
    assert_same(
        &sub.merged()?.plot.restrict(lo, final_now),
        &fresh.restrict(lo, final_now),
        "fresh subscription after the stall",
    )?;
    let mut other = server.connect().await?;
    other.round_trip().await?;
    let metrics = server.get("/metrics").await?;
    ensure!(metrics.status == 200, "metrics answered {}", metrics.status);
    Ok(())
}
