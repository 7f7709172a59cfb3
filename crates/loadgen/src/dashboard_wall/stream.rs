//! The streaming side of the wall: C WebSocket connections, each subscribing to its share
//! of the panels (several subscriptions per subscribe message, as dashboards send them),
//! answering the server's pings, and recording every frame it receives.
//!
//! Every frame is parsed with the upstream wire types (`sightline_wire`); a frame that does
//! not parse, or parses to a variant the types do not know, is counted as a parse failure.

use super::observe::{
    newest_append, newest_boundary_append, newest_boundary_full, newest_full, Boundaries, Received,
};
use super::panels::Panel;
use super::writes::wall_nanos;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use sightline_wire::persistent_compute::{
    ClientMessage, HealthMessage, Pong, ServerMessage, SubscriptionCreation, SubscriptionUpdate,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use tokio_tungstenite::tungstenite::Message;

/// Counters every connection bumps, so the driver can follow creation as it happens.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// `subscriptionCreation.success` received.
    pub(crate) created: AtomicU64,
    /// `subscriptionCreation.error` received.
    pub(crate) refused: AtomicU64,
    /// First full results received.
    pub(crate) first_full: AtomicU64,
    /// Wall ns of the latest creation answer.
    pub(crate) last_created_at: std::sync::atomic::AtomicI64,
    /// Wall ns of the latest first full result.
    pub(crate) last_first_full_at: std::sync::atomic::AtomicI64,
}

/// What one connection saw.
#[derive(Debug, Default)]
pub(crate) struct ConnectionReport {
    /// Every update received, in order.
    pub(crate) received: Vec<Received>,
    /// Frames that did not parse with the upstream types.
    pub(crate) parse_failures: u64,
    /// `subscriptionUpdate.error` frames.
    pub(crate) update_errors: u64,
    /// The first refusal or error text, to show the user what went wrong.
    pub(crate) first_error: Option<String>,
    /// The socket ended (closed by the server, or failed) before the benchmark stopped it.
    pub(crate) dropped: bool,
    /// Server pings answered.
    pub(crate) pings: u64,
    /// Bytes of text frames received (creation answers, updates, health).
    pub(crate) bytes: u64,
}

/// How a connection subscribes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Window width of every subscription, s.
    pub(crate) window_secs: u64,
    /// `minDelay` of every subscription, ms.
    pub(crate) min_delay_ms: u64,
    /// Subscriptions per subscribe message.
    pub(crate) subs_per_message: usize,
}

/// Subscribes to `panels` (global indices `indices`) over one connection and records
/// frames until `stop` is set.
pub(crate) async fn run_connection(
    ws_url: String,
    panels: Arc<Vec<Panel>>,
    indices: Vec<u32>,
    options: Options,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> ConnectionReport {
    let mut report = ConnectionReport::default();
    let (socket, _) = match tokio_tungstenite::connect_async(ws_url.as_str()).await {
        Ok(s) => s,
        Err(e) => {
            report.dropped = true;
            report.first_error = Some(format!("connect: {e}"));
            return report;
        }
    };
    let (mut sink, mut stream) = socket.split();
    let Options {
        window_secs,
        min_delay_ms,
        subs_per_message,
    } = options;
    let ids: HashMap<uuid::Uuid, u32> =
        indices.iter().map(|&i| (uuid::Uuid::new_v4(), i)).collect();
    let mut seen_full: HashMap<uuid::Uuid, bool> = HashMap::with_capacity(ids.len());
    // A panel lives on one connection, so its results arrive here in order.
    let mut boundaries = Boundaries::default();
    let entries: Vec<(&uuid::Uuid, &u32)> = ids.iter().collect();
    for chunk in entries.chunks(subs_per_message.max(1)) {
        let subscribe: serde_json::Map<String, serde_json::Value> = chunk
            .iter()
            .map(|(id, &panel)| {
                (
                    id.to_string(),
                    json!({
                        "computeRequest": {
                            "node": panels[panel as usize].node,
                            "windowWidth": {"seconds": window_secs, "nanos": 0},
                            "context": {}
                        },
                        "subscriptionOptions": {"minDelay": min_delay_ms, "allowAppends": true}
                    }),
                )
            })
            .collect();
        let frame = json!({"type": "subscribe", "subscribe": subscribe}).to_string();
        if let Err(e) = sink.send(Message::Text(frame.into())).await {
            report.dropped = true;
            report.first_error = Some(format!("subscribe: {e}"));
            return report;
        }
    }

    let mut check_stop = tokio::time::interval(std::time::Duration::from_millis(50));
    loop {
        let frame = tokio::select! {
            frame = stream.next() => frame,
            _ = check_stop.tick() => {
                if stop.load(Ordering::Relaxed) { break; }
                continue;
            }
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(close))) => {
                if !stop.load(Ordering::Relaxed) {
                    report.dropped = true;
                    report.first_error.get_or_insert_with(|| match close {
                        Some(c) => format!("closed by the server: {} {}", c.code, c.reason),
                        None => "closed by the server".to_string(),
                    });
                }
                break;
            }
            None => {
                if !stop.load(Ordering::Relaxed) {
                    report.dropped = true;
                    report
                        .first_error
                        .get_or_insert_with(|| "socket ended without a close frame".to_string());
                }
                break;
            }
            Some(Err(e)) => {
                if !stop.load(Ordering::Relaxed) {
                    report.dropped = true;
                    report
                        .first_error
                        .get_or_insert_with(|| format!("socket failed: {e}"));
                }
                break;
            }
            Some(Ok(_)) => continue,
        };
        let at = wall_nanos();
        report.bytes += text.len() as u64;
        // Plain serde_json: the same types and rules as `sightline_wire::from_json`, without
        // tracking the JSON path of an error (unused here), which made parsing the first
        // full results the load generator's slowest step.
        let message: ServerMessage = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(_) => {
                report.parse_failures += 1;
                continue;
            }
        };
        match message {
            ServerMessage::SubscriptionCreation(creation) => match creation.creation {
                SubscriptionCreation::Success(_) => {
                    progress.created.fetch_add(1, Ordering::Relaxed);
                    progress.last_created_at.fetch_max(at, Ordering::Relaxed);
                }
                SubscriptionCreation::Error(e) => {
                    progress.refused.fetch_add(1, Ordering::Relaxed);
                    progress.last_created_at.fetch_max(at, Ordering::Relaxed);
                    report.first_error.get_or_insert_with(|| {
                        format!(
                            "subscription refused: {} {}",
                            e.serializable_error.name,
                            e.serializable_error.message.clone().unwrap_or_default()
                        )
                    });
                }
                SubscriptionCreation::Unknown(_) => report.parse_failures += 1,
            },
            ServerMessage::SubscriptionUpdate(update) => {
                let Some(&panel) = ids.get(&update.subscription_id) else {
                    continue;
                };
                let (newest, boundary) = match &update.update {
                    SubscriptionUpdate::Full(full) => {
                        if !seen_full
                            .insert(update.subscription_id, true)
                            .unwrap_or(false)
                        {
                            progress.first_full.fetch_add(1, Ordering::Relaxed);
                            progress.last_first_full_at.fetch_max(at, Ordering::Relaxed);
                        }
                        if matches!(
                            full.result,
                            sightline_wire::scout_compute::ComputeNodeResponse::Unknown(_)
                        ) {
                            report.parse_failures += 1;
                            continue;
                        }
                        (
                            newest_full(&full.result, None),
                            newest_boundary_full(&full.result),
                        )
                    }
                    SubscriptionUpdate::Append(append) => {
                        if matches!(
                            append.result,
                            sightline_wire::persistent_compute::ComputeNodeAppendResponse::Unknown(
                                _
                            )
                        ) {
                            report.parse_failures += 1;
                            continue;
                        }
                        (
                            newest_append(&append.result, nanos(&append.end)),
                            newest_boundary_append(&append.result),
                        )
                    }
                    SubscriptionUpdate::Error(e) => {
                        report.update_errors += 1;
                        report.first_error.get_or_insert_with(|| {
                            format!(
                                "update error: {} {}",
                                e.serializable_error.name,
                                e.serializable_error.message.clone().unwrap_or_default()
                            )
                        });
                        continue;
                    }
                    SubscriptionUpdate::Unknown(_) => {
                        report.parse_failures += 1;
                        continue;
                    }
                };
                report.received.push(Received {
                    panel,
                    at,
                    newest,
                    revealed: boundaries.reveal(panel, boundary),
                });
            }
            ServerMessage::Health(HealthMessage::Ping(ping)) => {
                report.pings += 1;
                let pong = ClientMessage::Pong(Pong {
                    ping_originally_sent_at: ping.sent_at,
                    sent_at: sightline_wire::conjure::DateTime(chrono::Utc::now()),
                });
                if let Ok(text) = serde_json::to_string(&pong) {
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        report.dropped = !stop.load(Ordering::Relaxed);
                        break;
                    }
                }
            }
            ServerMessage::Health(HealthMessage::ClientMessageError(e)) => {
                report
                    .first_error
                    .get_or_insert_with(|| format!("client message error: {}", e.error.name));
            }
            ServerMessage::Health(HealthMessage::Unknown(_)) | ServerMessage::Unknown(_) => {
                report.parse_failures += 1;
            }
            ServerMessage::Health(_) => {}
        }
    }
    let _ = sink.send(Message::Close(None)).await;
    report
}

fn nanos(t: &sightline_wire::api::Timestamp) -> i64 {
    t.seconds
        .0
        .saturating_mul(1_000_000_000)
        .saturating_add(t.nanos.0)
}
