//! One WebSocket connection: reads client messages, answers pings, creates and stops
//! subscriptions, pings an idle client, and follows the server's shutdown phase.

use super::answers::{MessageAnswers, Unanswered};
use super::outbound::{to_json, LiveIds, Outbound, Outgoing, QueuedBytes, Receivers};
use super::subscription::{self, Running};
use crate::app::{App, Phase};
use crate::auth::{Caller, TokenWatch};
use crate::error::ErrorName;
use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::{SinkExt, StreamExt};
use sightline_wire::conjure::DateTime;
use sightline_wire::errors::WireError;
use sightline_wire::persistent_compute::{
    ClientMessage, ClientMessageError, HealthMessage, Ping, Pong, ServerMessage, ShutdownNotice,
    StreamingComputeNodeSubscription, SubscriptionCreation, SubscriptionCreationError,
    SubscriptionCreationMessage,
};
use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// WebSocket close code for "going away" (server shutdown, idle timeout).
const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code for "policy violation": the connection's token was revoked or expired.
const CLOSE_POLICY: u16 = 1008;
/// Close code for a frame that breaks the WebSocket protocol.
const CLOSE_PROTOCOL_ERROR: u16 = 1002;
/// Close code for a text frame that is not UTF-8.
const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// Close code for a message over the configured maximum.
const CLOSE_TOO_BIG: u16 = 1009;
/// How long a close frame may wait for room in a full queue before the socket is dropped.
const CLOSE_QUEUE_WAIT: Duration = Duration::from_millis(200);
/// How long the writer may take to flush queued frames after the reader stopped.
const WRITER_FLUSH: Duration = Duration::from_secs(2);
/// Most frames written between two flushes, so a long queue still reaches the socket in
/// steady steps.
const WRITE_BATCH: usize = 64;
/// How long the writer waits for the rest of a burst after a frame finds the queue empty.
/// One write wakes every computation that reads its channels, and their frames reach the
/// queue over a few milliseconds: written as they came, most frames cost a send of their
/// own (1.6 frames per send with 1,000 subscriptions over 10 connections); gathered, a
/// burst goes out in a few.
const LINGER: Duration = Duration::from_millis(1);
/// Finished subscription tasks (failed creations) are dropped from the map once it holds
/// this many more entries than at the last sweep.
const SWEEP_SLACK: usize = 256;

struct Connection {
    app: Arc<App>,
    /// Who opened the socket; every subscription is checked against its grants.
    caller: Caller,
    tx: Outbound,
    live: LiveIds,
    subscriptions: HashMap<Uuid, Running>,
    next_generation: u64,
    /// Map size after the last sweep of finished tasks.
    swept_len: usize,
}

/// Serves one socket until either side closes it or the server shuts down.
pub(super) async fn run(socket: WebSocket, app: Arc<App>, caller: Caller) {
    app.connections.fetch_add(1, Ordering::SeqCst);
    let (sink, mut stream) = socket.split();
    let (tx, rx, queued) = Outbound::new(
        app.config.connection_queue,
        app.config.connection_queue_bytes,
        app.ws_queued_bytes.clone(),
    );
    let live = LiveIds::default();
    // The reader-progress check below watches the same count the writer drains.
    let waiting = queued.clone();
    let mut writer = tokio::spawn(write_frames(sink, rx, queued, live.clone()));
    let mut token = TokenWatch::new(app.auth.as_ref(), caller.credential());
    let mut conn = Connection {
        app: app.clone(),
        caller,
        tx,
        live,
        subscriptions: HashMap::new(),
        next_generation: 0,
        swept_len: 0,
    };

    let interval = app.config.ping_interval;
    let mut ping_timer = tokio::time::interval_at(Instant::now() + interval, interval);
    let mut phase = app.watch_phase();
    let mut last_heard = Instant::now();
    // (bytes drained at the last sign of progress, when)
    let mut reader_progress = (waiting.drained(), Instant::now());
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
                            conn.close_soon(code, reason).await;
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
                    conn.close_soon(CLOSE_GOING_AWAY, "no message from the client for three ping intervals").await;
                    break;
                }
                // A client that sends but does not read: frames wait in its queue and none
                // reaches the socket. It is dropped at the same deadline as a silent one.
                // Progress is bytes taken by the writer, not a shorter queue: a reader that
                // keeps up with a steady stream may never see its queue empty or shrink.
                let drained_now = waiting.drained();
                if waiting.get() == 0 || drained_now != reader_progress.0 {
                    reader_progress = (drained_now, Instant::now());
                } else if reader_progress.1.elapsed() >= interval * 3 {
                    tracing::info!("closing a connection whose client stopped reading");
                    conn.close_soon(CLOSE_GOING_AWAY, "the client stopped reading for three ping intervals").await;
                    break;
                }
                // Never wait for queue space here: a full queue must not stall the deadline.
                // A busy queue still gets the ping: a client that reads (and so answers)
                // must not be closed as silent because its frames kept the queue full.
                if silent >= interval {
                    conn.try_ping();
                }
            }
            () = token.lost() => {
                conn.expire_all().await;
                break;
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

/// Writes queued messages, feeding every one already queued (up to [`WRITE_BATCH`]) before
/// one flush: one flush per frame was a tenth of the server's CPU with many subscriptions.
/// A frame that finds the queue empty waits [`LINGER`] for the rest of its burst.
/// Connection messages go first; see [`super::outbound`] for why the order stays right.
async fn write_frames(
    mut sink: futures::stream::SplitSink<WebSocket, Message>,
    mut queues: Receivers,
    queued: QueuedBytes,
    live: LiveIds,
) {
    loop {
        let (first, is_frame) = tokio::select! {
            biased;
            Some(out) = queues.control.recv() => (out, false),
            Some(out) = queues.frames.recv() => (out, true),
            else => break,
        };
        if is_frame && queues.frames.is_empty() {
            tokio::time::sleep(LINGER).await;
        }
        let mut next = Some(first);
        let mut fed = 0;
        while let Some(out) = next.take() {
            // A frame may belong to a subscription whose creation message was queued
            // after this loop last looked at the connection messages: send those first.
            while let Ok(message) = queues.control.try_recv() {
                match feed(&mut sink, message, &queued, &live).await {
                    Fed::Sent => fed += 1,
                    Fed::Skipped => {}
                    Fed::Done => return,
                }
            }
            match feed(&mut sink, out, &queued, &live).await {
                Fed::Sent => fed += 1,
                Fed::Skipped => {}
                Fed::Done => return,
            }
            if fed < WRITE_BATCH {
                next = queues
                    .control
                    .try_recv()
                    .or_else(|_| queues.frames.try_recv())
                    .ok();
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
    let _ = sink.close().await;
}

/// What feeding one message did.
enum Fed {
    Sent,
    /// Its subscription was stopped or replaced; nothing was sent.
    Skipped,
    /// The socket failed or was closed: the writer ends.
    Done,
}

async fn feed(
    sink: &mut futures::stream::SplitSink<WebSocket, Message>,
    out: Outgoing,
    queued: &QueuedBytes,
    live: &LiveIds,
) -> Fed {
    match out {
        Outgoing::Text { owner, json } => {
            queued.taken(json.len());
            if !live.is_live(&owner) {
                return Fed::Skipped;
            }
            if sink.feed(Message::Text(json.into())).await.is_err() {
                return Fed::Done;
            }
            Fed::Sent
        }
        Outgoing::Close { code, reason } => {
            let frame = CloseFrame {
                code,
                reason: reason.into(),
            };
            // `send` flushes the frames fed before the close.
            let _ = sink.send(Message::Close(Some(frame))).await;
            Fed::Done
        }
    }
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
                let mut answers =
                    MessageAnswers::new(subscriptions.len(), &self.app.unanswered_entries);
                for (id, subscription) in subscriptions {
                    self.subscribe(id, subscription, answers.entry());
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

    /// Starts creating the subscription in the background and returns at once, so a
    /// subscribe message with many entries leaves reads, pings and other subscriptions
    /// running; each entry is answered when it is ready, and results start once its
    /// message is answered ([`super::answers`]).
    fn subscribe(
        &mut self,
        id: Uuid,
        request: StreamingComputeNodeSubscription,
        unanswered: Unanswered,
    ) {
        // Re-using a live id replaces that subscription.
        self.stop(&id);
        self.next_generation += 1;
        let generation = self.next_generation;
        self.live.set(id, generation);
        let running = subscription::start(
            self.app.clone(),
            self.caller.clone(),
            id,
            generation,
            request,
            self.tx.clone(),
            unanswered,
        );
        self.subscriptions.insert(id, running);
        if self.subscriptions.len() > self.swept_len + SWEEP_SLACK {
            let live = &self.live;
            self.subscriptions.retain(|id, running| {
                let keep = !running.is_finished();
                if !keep {
                    live.remove(id);
                }
                keep
            });
            self.swept_len = self.subscriptions.len();
        }
    }

    fn stop(&mut self, id: &Uuid) {
        self.live.remove(id);
        if let Some(running) = self.subscriptions.remove(id) {
            running.stop();
        }
    }

    fn stop_all(&mut self) {
        let ids: Vec<Uuid> = self.subscriptions.keys().copied().collect();
        for id in ids {
            self.stop(&id);
        }
    }

    /// The token was revoked or expired: every subscription gets
    /// `PersistentCompute:SubscriptionAuthExpired` and stops, then the socket closes.
    async fn expire_all(&mut self) {
        tracing::info!(
            token = self.caller.credential().map_or("", |c| c.name.as_str()),
            subscriptions = self.subscriptions.len(),
            "token revoked or expired; stopping its subscriptions"
        );
        let ids: Vec<Uuid> = self.subscriptions.keys().copied().collect();
        for id in ids {
            self.stop(&id);
            let wire = ErrorName::PersistentComputeSubscriptionAuthExpired.error(
                "the connection's token was revoked or has expired; reconnect with a valid token",
            );
            let message = ServerMessage::SubscriptionCreation(SubscriptionCreationMessage {
                subscription_id: id,
                creation: SubscriptionCreation::Error(SubscriptionCreationError {
                    serializable_error: wire.to_serializable(),
                }),
            });
            self.send(None, &message).await;
        }
        self.tx
            .close(CLOSE_POLICY, "token revoked or expired")
            .await;
    }

    fn try_ping(&self) {
        let ping = ServerMessage::Health(HealthMessage::Ping(Ping {
            sent_at: DateTime::now(),
        }));
        if let Some(json) = to_json(&ping) {
            if !self.tx.try_control(json) {
                tracing::debug!("no room for a ping; the client's queue holds its most messages");
            }
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
            if tokio::time::timeout(wait, self.tx.send(owner, json))
                .await
                .is_err()
            {
                // The message is dropped: the queue has been full for a whole ping
                // interval, so the reader-progress check closes this connection soon.
                tracing::debug!("dropped a message for a client whose queue stayed full");
            }
        }
    }

    async fn close(&self, reason: &'static str) {
        self.tx.close(CLOSE_GOING_AWAY, reason).await;
    }

    /// Queues a close frame if the queue takes it soon; a client that stopped reading gets
    /// none, and its socket is dropped when the writer is aborted after the loop.
    async fn close_soon(&self, code: u16, reason: &'static str) {
        let _ = tokio::time::timeout(CLOSE_QUEUE_WAIT, self.tx.close(code, reason)).await;
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
