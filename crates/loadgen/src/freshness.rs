//! Freshness: many live subscriptions on one channel while a writer posts a point every
//! 20 ms; measures the time from sending a write to receiving the append that holds it.

use crate::ingest::percentile;
use crate::process::Server;
use crate::BenchArgs;
use futures::{SinkExt, StreamExt};
use sightline_wire::persistent_compute::ComputeNodeAppendResponse;
use sightline_wire::persistent_compute::{ServerMessage, SubscriptionUpdate};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio_tungstenite::tungstenite::Message;

const DATASET: &str = "ri.sightline.bench.dataset.fresh";
const WRITE_EVERY: Duration = Duration::from_millis(20);

/// Figures of the freshness phase.
pub(crate) struct FreshnessReport {
    subscriptions: usize,
    min_delay_ms: u64,
    writes: usize,
    latencies_ms: Vec<f64>,
    missing: usize,
    /// Where writes went and where the subscribers sat, when they differ.
    placement: Option<(String, String)>,
}

impl fmt::Display for FreshnessReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.latencies_ms;
        writeln!(
            f,
            "freshness: {} subscriptions (minDelay {} ms), {} writes, {} deliveries, {} missing",
            self.subscriptions,
            self.min_delay_ms,
            self.writes,
            l.len(),
            self.missing
        )?;
        if let Some((writes, subscribers)) = &self.placement {
            writeln!(f, "  writes to {writes}, subscribers on {subscribers}")?;
        }
        write!(
            f,
            "  write-to-append p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(l, 0.5),
            percentile(l, 0.99),
            l.last().copied().unwrap_or(f64::NAN)
        )
    }
}

fn now_nanos() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn subscribe_frame(min_delay_ms: u64) -> String {
    serde_json::json!({
        "type": "subscribe",
        "subscribe": { uuid::Uuid::new_v4().to_string(): {
            "computeRequest": {
                "node": {"type": "series", "series": {"input": {"type": "numeric", "numeric": {
                    "type": "channel", "channel": {"type": "dataSource", "dataSource": {
                        "dataSourceRid": {"type": "literal", "literal": DATASET},
                        "channel": {"type": "literal", "literal": "fresh"}}}}}}},
                "windowWidth": {"seconds": 30, "nanos": 0},
                "context": {}
            },
            "subscriptionOptions": {"minDelay": min_delay_ms, "allowAppends": true}
        }}
    })
    .to_string()
}

/// A one-point row write to the freshness channel.
fn write_body(t: i64, value: f64) -> serde_json::Value {
    let timestamp = serde_json::json!({"seconds": t.div_euclid(1_000_000_000), "nanos": t.rem_euclid(1_000_000_000)});
    serde_json::json!({"dataSourceRid": DATASET, "batches": [{"channel": "fresh",
        "points": {"type": "double", "double": [{"timestamp": timestamp, "value": value}]}}]})
}

/// Runs the phase.
pub(crate) async fn run(
    client: &reqwest::Client,
    server: &Server,
    args: &BenchArgs,
) -> anyhow::Result<FreshnessReport> {
    let sent: Arc<Mutex<HashMap<i64, Instant>>> = Arc::default();
    let url = format!("{}/storage/writer/v1", server.url);
    // One point first, so the channel exists with its type before anyone subscribes.
    client
        .post(&url)
        .json(&write_body(now_nanos(), -1.0))
        .send()
        .await?
        .error_for_status()?;
    // The subscribers may sit on another cluster node than the writer; give that node a
    // moment to apply the channel's first point, so subscribing finds the channel.
    let subscribe_to = args.subscribe_url.as_deref().unwrap_or(&server.url);
    if subscribe_to != server.url {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let ws_url = format!(
        "{}/persistent-compute/ws",
        subscribe_to.replacen("http", "ws", 1)
    );
    let deadline = Instant::now() + Duration::from_secs(args.freshness_secs);
    let mut readers = Vec::new();
    for _ in 0..args.subscriptions {
        let (mut socket, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
        socket
            .send(Message::Text(subscribe_frame(args.min_delay_ms).into()))
            .await?;
        let sent = sent.clone();
        readers.push(tokio::spawn(async move {
            let mut seen: HashMap<i64, f64> = HashMap::new();
            let stop = deadline + Duration::from_secs(2);
            while let Ok(Some(Ok(frame))) =
                tokio::time::timeout_at(stop.into(), socket.next()).await
            {
                let Message::Text(text) = frame else { continue };
                let received = Instant::now();
                let Ok(ServerMessage::SubscriptionUpdate(update)) =
                    sightline_wire::from_json(&text)
                else {
                    continue;
                };
                let SubscriptionUpdate::Append(append) = update.update else {
                    continue;
                };
                let ComputeNodeAppendResponse::Numeric(plot) = append.result else {
                    continue;
                };
                let sent = sent.lock().map(|m| m.clone()).unwrap_or_default();
                for ts in plot.timestamps {
                    let t = ts.seconds.0 * 1_000_000_000 + ts.nanos.0;
                    if let (Some(at), false) = (sent.get(&t), seen.contains_key(&t)) {
                        seen.insert(t, received.duration_since(*at).as_secs_f64() * 1e3);
                    }
                }
            }
            seen
        }));
    }
    // Let every subscription get its first full result before timing appends.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut ticker = tokio::time::interval(WRITE_EVERY);
    let mut writes = Vec::new();
    while Instant::now() < deadline {
        ticker.tick().await;
        let t = now_nanos();
        let body = write_body(t, writes.len() as f64);
        if let Ok(mut m) = sent.lock() {
            m.insert(t, Instant::now());
        }
        client
            .post(&url)
            .json(&body)
            .send()
            .await?
            .error_for_status()?;
        writes.push(t);
    }
    let mut latencies_ms = Vec::new();
    let mut missing = 0;
    for reader in readers {
        let seen = reader.await?;
        missing += writes.iter().filter(|t| !seen.contains_key(t)).count();
        latencies_ms.extend(seen.into_values());
    }
    latencies_ms.sort_by(f64::total_cmp);
    Ok(FreshnessReport {
        subscriptions: args.subscriptions,
        min_delay_ms: args.min_delay_ms,
        writes: writes.len(),
        latencies_ms,
        missing,
        placement: (subscribe_to != server.url)
            .then(|| (server.url.clone(), subscribe_to.to_string())),
    })
}
