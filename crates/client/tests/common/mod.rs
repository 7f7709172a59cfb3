//! What the client's tests share: the request they subscribe, reading a numeric window,
//! and waiting for an event.
#![allow(dead_code, unreachable_pub)]

use anyhow::{bail, Context as _, Result};
use sightline_client::{Event, Plot, Request, Subscription};
use std::time::Duration;

/// How long a test waits for an event before it fails.
pub const WAIT: Duration = Duration::from_secs(20);

/// A raw subscription to channel `x` of `dataset` over a 60 s window.
pub fn request(dataset: &str) -> Request {
    let node = sightline_expr::compile("x", Some(dataset), &sightline_expr::NoCatalog)
        .unwrap()
        .node;
    Request::new(node, Duration::from_secs(60)).min_delay(Duration::from_millis(20))
}

/// A columnar write body for channel `x` of `dataset`: `values` a millisecond apart,
/// ending now.
pub fn write_body(dataset: &str, values: &[f64]) -> Result<serde_json::Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as i64;
    let n = values.len() as i64;
    let timestamps: Vec<_> = (0..n)
        .map(|i| {
            let t = now - (n - i) * 1_000_000;
            serde_json::json!({"seconds": t.div_euclid(1_000_000_000), "nanos": t.rem_euclid(1_000_000_000)})
        })
        .collect();
    Ok(
        serde_json::json!({"dataSourceRid": dataset, "batches": [{"channel": "x",
        "timestamps": timestamps, "values": {"type": "doubles", "doubles": values}}]}),
    )
}

/// The values of a numeric window (empty before the first result).
pub fn values(sub: &Subscription) -> Vec<f64> {
    match sub.state().map(|s| &s.plot) {
        Some(Plot::Numeric(points)) => points.iter().map(|(_, v)| *v).collect(),
        _ => Vec::new(),
    }
}

/// Reads events until `done` holds for one; returns every event seen.
pub async fn until(
    sub: &mut Subscription,
    mut done: impl FnMut(&Event, &Subscription) -> bool,
) -> Result<Vec<Event>> {
    let mut seen = Vec::new();
    tokio::time::timeout(WAIT, async {
        while let Some(event) = sub.next().await {
            let event = event?;
            let stop = done(&event, sub);
            seen.push(event);
            if stop {
                return Ok(());
            }
        }
        bail!("the session ended")
    })
    .await
    .with_context(|| format!("timed out; saw {seen:?}"))??;
    Ok(seen)
}
