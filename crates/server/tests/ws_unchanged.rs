//! PROTOCOL §4 over a real socket: updates are sent only when new data changed the result.
//! A threshold range that stays open as points arrive, or a first point still in the
//! window while later points arrive, is what every client holds already, so nothing is
//! sent until it changes; the update that changes it merges to a fresh full result (a
//! range's append carries its true start).
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Result};
use common::merge::Plot;
use common::*;
use serde_json::{json, Value};
use std::time::Duration;

const W: i64 = 60 * SEC;

/// `x > 100` as a range list.
fn above_100(rid: &str) -> Value {
    json!({"type": "ranges", "ranges": {
        "input": {"type": "threshold", "threshold": {
            "input": channel_source(rid, "x", &[]),
            "threshold": {"type": "literal", "literal": 100.0},
            "operator": "GREATER_THAN",
        }},
        "maxRanges": 1000,
    }})
}

/// The merged ranges as `(start, end)` pairs.
fn ranges(sub: &Tracked) -> Result<Vec<(Option<i64>, Option<i64>)>> {
    match &sub.merged()?.plot {
        Plot::Ranges(rs) => Ok(rs.iter().map(|r| (r.start, r.end)).collect()),
        other => bail!("not a range list: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_open_range_sends_nothing_until_it_ends() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = above_100(&rid);
    let mut history = vec![(BASE - 11 * SEC, 0.0)];
    history.extend(
        series(BASE - 10 * SEC, SEC, 0..10)
            .iter()
            .map(|&(t, _)| (t, 200.0)),
    );
    server.write_doubles(&rid, "x", &history).await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    let mut viewer = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    viewer.start(&mut ws, appends(node.clone(), W)).await?;
    let open = vec![(Some(BASE - 10 * SEC), None)];
    ensure!(ranges(&sub)? == open, "{:?}", ranges(&sub)?);

    // Five more seconds above the threshold: the open range is unchanged for everyone.
    for i in 1..=5 {
        server.advance(SEC);
        server
            .write_doubles(&rid, "x", &[(BASE + i * SEC, 250.0)])
            .await?;
    }
    ws.expect_silence(sub.id, Duration::from_millis(1500))
        .await?;
    ws.expect_silence(viewer.id, Duration::from_millis(100))
        .await?;

    // It drops below: one append closes the range at its true start.
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + 6 * SEC, 50.0)])
        .await?;
    for s in [&mut sub, &mut viewer] {
        s.settle(&mut ws, &server, &node, "the range ends").await?;
        let closed = vec![(Some(BASE - 10 * SEC), Some(BASE + 6 * SEC))];
        ensure!(ranges(s)? == closed, "{:?}", ranges(s)?);
    }
    Ok(())
}

/// The first point of `x` in the window.
fn first_point(rid: &str) -> Value {
    json!({"type": "value", "value": {"type": "firstPoint", "firstPoint": {
        "type": "numeric", "numeric": channel_source(rid, "x", &[]),
    }}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_point_still_in_the_window_sends_nothing_until_it_leaves() -> Result<()> {
    const W: i64 = 10 * SEC;
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = first_point(&rid);
    server
        .write_doubles(&rid, "x", &series(BASE - 8 * SEC, SEC, 0..8))
        .await?;
    let mut ws = server.connect().await?;
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    let first = |sub: &Tracked| -> Result<Option<(i64, f64)>> {
        match &sub.merged()?.plot {
            Plot::NumericPoint(p) => Ok(*p),
            other => bail!("not a numeric point: {other:?}"),
        }
    };
    ensure!(
        first(&sub)? == Some((BASE - 8 * SEC, 0.0)),
        "{:?}",
        first(&sub)?
    );

    // Later points, and the server's idle tick: the first point stays.
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + SEC, 9.0)])
        .await?;
    ws.expect_silence(sub.id, Duration::from_millis(1500))
        .await?;

    // It leaves the window: the next one is sent with no write.
    server.advance(2 * SEC);
    sub.settle(&mut ws, &server, &node, "the first point left the window")
        .await?;
    ensure!(
        first(&sub)? == Some((BASE - 7 * SEC, 1.0)),
        "{:?}",
        first(&sub)?
    );
    Ok(())
}
