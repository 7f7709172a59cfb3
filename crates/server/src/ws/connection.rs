//! One WebSocket connection: reads client messages, answers pings, creates and stops
//! subscriptions, pings an idle client, and follows the server's shutdown phase.

use super::outbound::{to_json, LiveIds, Outgoing};
use super::subscribe::prepare;
use super::subscription::{self, Running};
use crate::app::{App, Phase};
use crate::error::ErrorName;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use sightline_wire::conjure::DateTime;
use sightline_wire::errors::WireError;
use sightline_wire::persistent_compute::{
    ClientMessage, ClientMessageError, HealthMessage, Ping, Pong, ServerMessage, ShutdownNotice,
    StreamingComputeNodeSubscription, SubscriptionCreation, SubscriptionCreationError,
    SubscriptionCreationMessage, SubscriptionCreationSuccess,
};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use uuid::Uuid;

/// WebSocket close code for "going away" (server shutdown, idle timeout).
const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code for a frame that breaks the WebSocket protocol.
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code for a text frame that is not UTF-8.
const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// Close code for a message over the configured maximum.
const CLOSE_TOO_BIG: u16 = 1009;
/// How long the writer may take to flush queued frames after the reader stopped.
const WRITER_FLUSH: Duration = Duration::from_secs(2);

struct Connection {
    app: Arc<App>,
    tx: mpsc::Sender<Outgoing>,
    /// Closes the socket ahead of anything queued (protocol errors, a client that stopped
    /// reading); taken by the first close.
    close_now: Option<oneshot::Sender<(u16, &'static str)>>,
    live: LiveIds,
    subscriptions: HashMap<Uuid, Running>,
    next_generation: u64,
}

/// Serves one socket until either side closes it or the server shuts down.
pub(super) async fn run(socket: WebSocket, app: Arc<App>) {
    app.connections.fetch_add(1, Ordering::SeqCst);
    let (sink, mut stream) = socket.split();
    let (tx, rx) = mpsc::channel(app.config.connection_queue.max(1));
    let (close_now, close_rx) = oneshot::channel();
    let live = LiveIds::default();
    let written = Arc::new(AtomicU64::new(0));
    let mut writer = tokio::spawn(write_frames(
        sink,
        rx,
        close_rx,
        live.clone(),
        written.clone(),
    ));
    let mut conn = Connection {
        app: app.clone(),
        tx,
        close_now: Some(close_now),
        live,
        subscriptions: HashMap::new(),
        next_generation: 0,
    };

    let interval = app.config.ping_interval;
    let mut ping_timer = tokio::time::interval_at(Instant::now() + interval, interval);
    let mut phase = app.watch_phase();
    let mut last_heard = Instant::now();
    let mut reader_progress = (written.load(Ordering::Relaxed), Instant::now());
    if app.phase() == Phase::Draining {
        conn.send_health(HealthMessage::ShutdownNotice(ShutdownNotice {}))
            .await;
    }
    loop {
        tokio::select! {
            frame = stream.next() => {
                let text = match frame {
                    None | Some(Ok(Message::Close(_))) => break,
                    Some(Err(error)) => {
                        if let Some((code, reason)) = read_error_close(error) {
                            tracing::debug!(code, reason, "closing a connection that broke the protocol");
                            conn.close_immediately(code, reason);
                        }
                        break;
                    }
                    Some(Ok(Message::Text(text))) => text.to_string(),
                    Some(Ok(Message::Binary(_))) => {
                        last_heard = Instant::now();
                        let wire = invalid_client_message(
                            "binary frames are not accepted; send each ClientMessage as a JSON text frame".to_string(),
                        )
                        .with_param("frame", "binary");
                        conn.send_client_error(wire).await;
                        continue;
                    }
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => {
                        last_heard = Instant::now();
                        continue;
                    }
                };
                last_heard = Instant::now();
                conn.handle_text(&text).await;
            }
            _ = ping_timer.tick() => {
                let silent = last_heard.elapsed();
                if silent >= interval * 3 {
                    tracing::info!(silent_secs = silent.as_secs(), "closing silent connection");
                    conn.close_immediately(CLOSE_GOING_AWAY, "no message from the client for three ping intervals");
                    break;
                }
                // A client that sends but does not read: its queue stays full and nothing
                // reaches the socket. It is dropped at the same deadline as a silent one.
                let frames = written.load(Ordering::Relaxed);
                if frames != reader_progress.0 || conn.tx.capacity() > 0 {
                    reader_progress = (frames, Instant::now());
                } else if reader_progress.1.elapsed() >= interval * 3 {
                    tracing::info!("closing a connection whose client stopped reading");
                    conn.close_immediately(CLOSE_GOING_AWAY, "the client stopped reading for three ping intervals");
                    break;
                }
                if silent >= interval {
                    // Never wait for queue space here: a full queue must not stall the deadline.
                    conn.try_send_health(HealthMessage::Ping(Ping { sent_at: DateTime::now() }));
                }
            }
            changed = phase.changed() => {
                let current = *phase.borrow_and_update();
                if changed.is_err() || current == Phase::Closing {
                    conn.close("server shutting down").await;
                    break;
                }
                if current == Phase::Draining {
                    conn.send_health(HealthMessage::ShutdownNotice(ShutdownNotice {})).await;
                }
            }
        }
    }
    conn.stop_all();
    drop(conn);
    if tokio::time::timeout(WRITER_FLUSH, &mut writer)
        .await
        .is_err()
    {
        // The client is not taking frames; its socket goes now, not when it reads.
        writer.abort();
    }
    app.connections.fetch_sub(1, Ordering::SeqCst);
}

async fn write_frames(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut rx: mpsc::Receiver<Outgoing>,
    mut close_now: oneshot::Receiver<(u16, &'static str)>,
    live: LiveIds,
    written: Arc<AtomicU64>,
) {
    let close = |code: u16, reason: &'static str| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    let mut urgent_open = true;
    loop {
        let out = tokio::select! {
            biased;
            urgent = &mut close_now, if urgent_open => {
                urgent_open = false;
                if let Ok((code, reason)) = urgent {
                    let _ = sink.send(close(code, reason)).await;
                    return;
                }
                // The connection ended without an urgent close: finish the queue.
                continue;
            }
            out = rx.recv() => match out {
                Some(out) => out,
                None => break,
            },
        };
        match out {
            Outgoing::Text { owner, json } => {
                if !live.is_live(&owner) {
                    continue;
                }
                if sink.send(Message::Text(json.into())).await.is_err() {
                    return;
                }
                written.fetch_add(1, Ordering::Relaxed);
            }
            Outgoing::Close { code, reason } => {
                let _ = sink.send(close(code, reason)).await;
                return;
            }
        }
    }
    let _ = sink.close().await;
}

impl Connection {
    async fn handle_text(&mut self, text: &str) {
        let message = match sightline_wire::from_json::<ClientMessage>(text) {
            Ok(message) => message,
            Err(error) => {
                let wire = invalid_client_message(format!("not a valid ClientMessage: {error}"))
                    .with_param("path", error.path);
                return self.send_client_error(wire).await;
            }
        };
        match message {
            ClientMessage::Subscribe(subscriptions) => {
                for (id, subscription) in subscriptions {
                    self.subscribe(id, subscription).await;
                }
            }
            ClientMessage::Unsubscribe(ids) => {
                for id in ids {
                    self.stop(&id);
                }
            }
            ClientMessage::Ping(ping) => {
                let pong = Pong {
                    ping_originally_sent_at: ping.sent_at,
                    sent_at: DateTime::now(),
                };
                self.send_health(HealthMessage::Pong(pong)).await;
            }
            // The client answered our ping; hearing from it was the point.
            ClientMessage::Pong(_) => {}
            ClientMessage::Unknown(unknown) => {
                let wire = invalid_client_message(format!(
                    "unknown ClientMessage type `{}`",
                    unknown.type_name
                ))
                .with_param("type", unknown.type_name);
                self.send_client_error(wire).await;
            }
        }
    }

    async fn subscribe(&mut self, id: Uuid, request: StreamingComputeNodeSubscription) {
        // Re-using a live id replaces that subscription.
        self.stop(&id);
        let app = self.app.clone();
        let prepared = tokio::task::spawn_blocking(move || prepare(&app, &request)).await;
        let prepared = match prepared {
            Ok(result) => result.map_err(|refused| refused.to_wire()),
            Err(join) => {
                let wire = ErrorName::DefaultInternal
                    .error("subscription setup failed; see the server log");
                tracing::error!(subscription = %id, instance = %wire.instance_id, error = %join,
                    "subscription setup failed");
                Err(wire)
            }
        };
        let creation = match &prepared {
            Ok(p) => SubscriptionCreation::Success(SubscriptionCreationSuccess {
                unit_result: p.unit_result.clone(),
            }),
            Err(wire) => SubscriptionCreation::Error(SubscriptionCreationError {
                serializable_error: wire.to_serializable(),
            }),
        };
        let message = ServerMessage::SubscriptionCreation(SubscriptionCreationMessage {
            subscription_id: id,
            creation,
        });
        self.send(None, &message).await;
        if let Ok(prepared) = prepared {
            self.next_generation += 1;
            let generation = self.next_generation;
            self.live.set(id, generation);
            let running =
                subscription::start(self.app.clone(), id, generation, prepared, self.tx.clone());
            self.subscriptions.insert(id, running);
            self.app.subscriptions.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn stop(&mut self, id: &Uuid) {
        self.live.remove(id);
        if let Some(running) = self.subscriptions.remove(id) {
            running.stop();
            self.app.subscriptions.fetch_sub(1, Ordering::Relaxed);
        }
    }

    fn stop_all(&mut self) {
        let ids: Vec<Uuid> = self.subscriptions.keys().copied().collect();
        for id in ids {
            self.stop(&id);
        }
    }

    async fn send_client_error(&self, wire: WireError) {
        let error = ClientMessageError {
            error: wire.to_serializable(),
        };
        self.send_health(HealthMessage::ClientMessageError(error))
            .await;
    }

    async fn send_health(&self, health: HealthMessage) {
        self.send(None, &ServerMessage::Health(health)).await;
    }

    /// Queues a message, waiting at most one ping interval for space: a client that does
    /// not read must not hold the read loop past its idle deadline.
    async fn send(&self, owner: Option<(Uuid, u64)>, message: &ServerMessage) {
        if let Some(json) = to_json(message) {
            let wait = self.app.config.ping_interval;
            let _ = tokio::time::timeout(wait, self.tx.send(Outgoing::Text { owner, json })).await;
        }
    }

    /// Queues a health message only if there is room.
    fn try_send_health(&self, health: HealthMessage) {
        if let Some(json) = to_json(&ServerMessage::Health(health)) {
            let _ = self.tx.try_send(Outgoing::Text { owner: None, json });
        }
    }

    /// Sends a close frame ahead of everything queued.
    fn close_immediately(&mut self, code: u16, reason: &'static str) {
        if let Some(close_now) = self.close_now.take() {
            let _ = close_now.send((code, reason));
        }
    }

    /// Closes with 1001 after what is queued, or at once if the queue has no room soon.
    async fn close(&mut self, reason: &'static str) {
        let queued = tokio::time::timeout(
            WRITER_FLUSH,
            self.tx.send(Outgoing::Close {
                code: CLOSE_GOING_AWAY,
                reason,
            }),
        )
        .await;
        if !matches!(queued, Ok(Ok(()))) {
            self.close_immediately(CLOSE_GOING_AWAY, reason);
        }
    }
}

/// The close code for a read error: 1009 for a message over the limit, 1002 for a
/// protocol violation, 1007 for a text frame that is not UTF-8; `None` for transport
/// errors, where no close frame can arrive anyway.
fn read_error_close(error: axum::Error) -> Option<(u16, &'static str)> {
    use tungstenite::Error;
    let inner = error.into_inner();
    match inner.downcast_ref::<Error>()? {
        Error::Capacity(_) => Some((CLOSE_TOO_BIG, "message over the maximum size")),
        Error::Protocol(_) => Some((CLOSE_PROTOCOL_ERROR, "WebSocket protocol error")),
        Error::Utf8(_) => Some((CLOSE_INVALID_PAYLOAD, "text frame is not UTF-8")),
        _ => None,
    }
}

fn invalid_client_message(message: String) -> WireError {
    ErrorName::PersistentComputeInvalidClientMessage.error(message)
}
