//! Owns the connection: one background task per session that keeps a WebSocket open to
//! one of several servers, answers pings, sends keep-alives, (re)subscribes, reconnects
//! with backoff, fails over between URLs, and hands over to a second connection when the
//! server announces a shutdown. Subscriptions talk to it through channels only, so no lock
//! is shared between the task and its callers.
//!
//! ```text
//!  Session / Subscription ──Command──► task ──ClientMessage──► primary socket
//!        ▲                              │  ◄──ServerMessage──    (standby socket during
//!        └──────── Incoming (per sub) ──┘                         a shutdown handover)
//! ```

use crate::error::ClientError;
use futures::{SinkExt, StreamExt};
use sightline_wire::api::SerializableError;
use sightline_wire::conjure::DateTime;
use sightline_wire::persistent_compute::{
    ClientMessage, HealthMessage, Ping, Pong, ServerMessage, StreamingComputeNodeSubscription,
    SubscriptionCreation, SubscriptionUpdate,
};
use sightline_wire::scout_compute::{ComputeUnitResult, UnitResult};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{Connector, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Messages queued per subscription before it counts as lagging and is resubscribed (a
/// fresh full result replaces what it missed), so a slow reader cannot grow memory.
const QUEUE: usize = 256;

/// How the session connects and keeps its connection.
#[derive(Debug, Clone)]
pub struct Options {
    /// Server URLs (`ws://host:port/persistent-compute/ws`, or `wss://` for a server with
    /// TLS), tried in order on failure.
    pub urls: Vec<String>,
    /// Sent as `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// A PEM file of CA certificates to trust for `wss://` besides the platform's roots,
    /// e.g. the certificate of a self-signed test-stand server.
    pub ca_cert: Option<PathBuf>,
    /// A ping is sent after this long without sending; the connection counts as dead after
    /// three periods without hearing from the server.
    pub keepalive: Duration,
    /// First reconnect delay; doubles per failed round up to `backoff_max`.
    pub backoff_min: Duration,
    /// Longest reconnect delay.
    pub backoff_max: Duration,
    /// How long a shutdown handover waits for fresh updates on the new connection before
    /// switching anyway.
    pub handover_timeout: Duration,
}

impl Options {
    /// Defaults for `urls` and `token`: the platform's roots only, 15 s keep-alive,
    /// 100 ms – 5 s backoff.
    pub fn new(urls: Vec<String>, token: Option<String>) -> Self {
        Options {
            urls,
            token,
            ca_cert: None,
            keepalive: Duration::from_secs(15),
            backoff_min: Duration::from_millis(100),
            backoff_max: Duration::from_secs(5),
            handover_timeout: Duration::from_secs(5),
        }
    }
}

/// What happened to the connection, as seen by a subscription.
#[derive(Debug, Clone, PartialEq)]
pub enum ConnectionEvent {
    /// Connected (or reconnected) to `url` and subscribed there.
    Connected {
        /// The server URL.
        url: String,
    },
    /// The connection was lost; the task is reconnecting. The state is kept until a fresh
    /// full result replaces it.
    Lost {
        /// Why, for a status line.
        reason: String,
    },
    /// The server announced a shutdown and the session moved to `url`.
    HandedOver {
        /// The new server URL.
        url: String,
    },
}

/// What the task sends a subscription.
#[derive(Debug)]
pub(crate) enum Incoming {
    Created(Result<Option<String>, SerializableError>),
    Update(SubscriptionUpdate),
    Connection(ConnectionEvent),
}

/// What callers ask of the task.
pub(crate) enum Command {
    Subscribe {
        id: Uuid,
        request: Box<StreamingComputeNodeSubscription>,
        events: mpsc::Sender<Incoming>,
    },
    /// Ask again for a fresh full result (the merge refused an update).
    Resync(Uuid),
    Unsubscribe(Uuid),
}

struct Sub {
    request: StreamingComputeNodeSubscription,
    events: mpsc::Sender<Incoming>,
    /// Resubscribed after lagging or a resync: drop updates until the new creation message.
    resyncing: bool,
}

/// One open socket.
struct Conn {
    socket: Socket,
    url: String,
    index: usize,
    last_heard: Instant,
    last_sent: Instant,
}

impl Conn {
    async fn send(&mut self, msg: &ClientMessage) -> Result<(), String> {
        let text = serde_json::to_string(msg).map_err(|e| e.to_string())?;
        self.last_sent = Instant::now();
        self.socket
            .send(Message::text(text))
            .await
            .map_err(|e| e.to_string())
    }
}

/// Why no socket could be opened.
struct Failure {
    url: String,
    reason: String,
    /// The certificate problem when the server's certificate was refused.
    untrusted: Option<String>,
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.url, self.reason)
    }
}

/// Everything needed to open a socket to one of the servers; cheap to clone.
#[derive(Clone)]
struct Dialer {
    urls: Vec<String>,
    token: Option<String>,
    /// Set when any URL is `wss://`.
    tls: Option<Arc<rustls::ClientConfig>>,
}

impl Dialer {
    /// Opens one socket to `urls[index]` with the bearer token.
    async fn open(&self, index: usize) -> Result<Conn, Failure> {
        let url = &self.urls[index];
        let fail = |reason: String, untrusted: Option<String>| Failure {
            url: url.clone(),
            reason,
            untrusted,
        };
        let mut request = url
            .as_str()
            .into_client_request()
            .map_err(|e| fail(e.to_string(), None))?;
        if let Some(token) = &self.token {
            let value = HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|e| fail(e.to_string(), None))?;
            request.headers_mut().insert("authorization", value);
        }
        let connector = self.tls.clone().map(Connector::Rustls);
        let (socket, _) =
            tokio_tungstenite::connect_async_tls_with_config(request, None, false, connector)
                .await
                .map_err(|e| match e {
                    tokio_tungstenite::tungstenite::Error::Http(r) => {
                        fail(format!("HTTP {}", r.status()), None)
                    }
                    other => fail(other.to_string(), crate::tls::untrusted(&other)),
                })?;
        let now = Instant::now();
        Ok(Conn {
            socket,
            url: url.clone(),
            index,
            last_heard: now,
            last_sent: now,
        })
    }

    /// One round over the URLs, starting at `first`; the last failure if none answers.
    async fn open_any(&self, first: usize) -> Result<Conn, Failure> {
        let mut last = Failure {
            url: String::new(),
            reason: "no URLs".into(),
            untrusted: None,
        };
        for k in 0..self.urls.len() {
            let index = (first + k) % self.urls.len();
            match self.open(index).await {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    tracing::debug!(url = %e.url, error = %e.reason, "connect failed");
                    last = e;
                }
            }
        }
        Err(last)
    }
}

/// Validates the options and makes the first connection, so a wrong URL, token or
/// certificate fails here rather than in a silent retry loop.
pub(crate) async fn start(options: Options) -> Result<mpsc::UnboundedSender<Command>, ClientError> {
    if options.urls.is_empty() {
        return Err(ClientError::NoUrls);
    }
    for url in &options.urls {
        if !url.starts_with("ws://") && !url.starts_with("wss://") {
            return Err(ClientError::BadUrl { url: url.clone() });
        }
    }
    if let Some(token) = &options.token {
        HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| ClientError::BadToken)?;
    }
    // The platform's roots are only read when a server needs them.
    let tls = if options.urls.iter().any(|u| u.starts_with("wss://")) {
        Some(crate::tls::config(options.ca_cert.as_deref())?)
    } else {
        None
    };
    let dialer = Dialer {
        urls: options.urls.clone(),
        token: options.token.clone(),
        tls,
    };
    let conn = dialer
        .open_any(0)
        .await
        .map_err(|last| match last.untrusted {
            Some(reason) => ClientError::UntrustedCertificate {
                url: last.url,
                reason,
            },
            None => ClientError::Unreachable {
                urls: options.urls.clone(),
                last: last.to_string(),
            },
        })?;
    let (commands, rx) = mpsc::unbounded_channel();
    let task = Task {
        options,
        dialer,
        commands: rx,
        subs: HashMap::new(),
    };
    tokio::spawn(task.run(conn));
    Ok(commands)
}

struct Task {
    options: Options,
    dialer: Dialer,
    commands: mpsc::UnboundedReceiver<Command>,
    subs: HashMap<Uuid, Sub>,
}

/// How serving one connection ended.
enum Outcome {
    Lost { reason: String, next_url: usize },
    Done,
}

/// A second connection being prepared during a shutdown handover.
struct Standby {
    conn: Conn,
    /// Subscriptions that have not yet had their first message on it.
    pending: HashSet<Uuid>,
    deadline: Instant,
}

fn unit_of(result: &ComputeUnitResult) -> Option<String> {
    match result {
        ComputeUnitResult::Single(UnitResult::Success(unit)) => Some(unit.clone()),
        _ => None,
    }
}

impl Task {
    async fn run(mut self, first: Conn) {
        let mut conn = Some(first);
        loop {
            let current = match conn.take() {
                Some(c) => c,
                None => match self.reconnect(0).await {
                    Some(c) => c,
                    None => return,
                },
            };
            match self.serve(current).await {
                Outcome::Done => return,
                Outcome::Lost { reason, next_url } => {
                    tracing::debug!(%reason, "connection lost; reconnecting");
                    self.broadcast(ConnectionEvent::Lost { reason });
                    match self.reconnect(next_url).await {
                        Some(c) => conn = Some(c),
                        None => return,
                    }
                }
            }
        }
    }

    fn broadcast(&mut self, event: ConnectionEvent) {
        for sub in self.subs.values() {
            // A full queue means the reader lags; it is resynced on the next connection.
            let _ = sub.events.try_send(Incoming::Connection(event.clone()));
        }
    }

    /// Retries with exponential backoff until a server answers; `None` once every handle
    /// is dropped.
    async fn reconnect(&mut self, first: usize) -> Option<Conn> {
        let mut delay = self.options.backoff_min;
        loop {
            match self.dialer.open_any(first).await {
                Ok(conn) => return Some(conn),
                Err(e) => tracing::debug!(error = %e, ?delay, "no server answered; retrying"),
            }
            let wake = Instant::now() + delay;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep_until(wake) => break,
                    cmd = self.commands.recv() => match cmd {
                        None => return None,
                        Some(cmd) => self.command_offline(cmd),
                    },
                }
            }
            delay = (delay * 2).min(self.options.backoff_max);
        }
    }

    /// Bookkeeping of a command while no socket is open; the next connection subscribes.
    fn command_offline(&mut self, cmd: Command) {
        match cmd {
            Command::Subscribe {
                id,
                request,
                events,
            } => {
                self.subs.insert(
                    id,
                    Sub {
                        request: *request,
                        events,
                        resyncing: false,
                    },
                );
            }
            Command::Unsubscribe(id) => {
                self.subs.remove(&id);
            }
            Command::Resync(_) => {}
        }
    }

    fn subscribe_all(&self) -> Option<ClientMessage> {
        if self.subs.is_empty() {
            return None;
        }
        Some(ClientMessage::Subscribe(
            self.subs
                .iter()
                .map(|(id, s)| (*id, s.request.clone()))
                .collect(),
        ))
    }

    fn subscribe_one(&self, id: Uuid) -> Option<ClientMessage> {
        let sub = self.subs.get(&id)?;
        Some(ClientMessage::Subscribe(BTreeMap::from([(
            id,
            sub.request.clone(),
        )])))
    }

    async fn serve(&mut self, mut primary: Conn) -> Outcome {
        for sub in self.subs.values_mut() {
            sub.resyncing = true;
        }
        if let Some(msg) = self.subscribe_all() {
            if let Err(e) = primary.send(&msg).await {
                return Outcome::Lost {
                    reason: e,
                    next_url: primary.index,
                };
            }
        }
        self.broadcast(ConnectionEvent::Connected {
            url: primary.url.clone(),
        });
        let mut standby: Option<Standby> = None;
        let mut handover: Option<oneshot::Receiver<Result<Conn, String>>> = None;
        // A zero period would panic in `interval`; anything under 10 ms is pointless anyway.
        let mut tick =
            tokio::time::interval((self.options.keepalive / 3).max(Duration::from_millis(10)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            // `Err(reason)`: the primary socket failed.
            let step: Result<(), String> = tokio::select! {
                frame = primary.socket.next() => {
                    primary.last_heard = Instant::now();
                    match frame {
                        None => Err("the server closed the connection".into()),
                        Some(Err(e)) => Err(e.to_string()),
                        Some(Ok(msg)) => {
                            let pending = standby.as_mut().map(|s| &mut s.pending);
                            match self.frame(&mut primary, msg, pending, false).await {
                                Ok(Some(Signal::Shutdown)) => {
                                    if handover.is_none() && standby.is_none() {
                                        handover = Some(self.start_handover(primary.index + 1));
                                    }
                                    Ok(())
                                }
                                Ok(None) => Ok(()),
                                Err(e) => Err(e),
                            }
                        }
                    }
                }
                frame = next_standby(&mut standby) => {
                    if let Some(s) = standby.as_mut() {
                        s.conn.last_heard = Instant::now();
                        let ok = match frame {
                            Some(Ok(m)) => self.frame(&mut s.conn, m, Some(&mut s.pending), true).await.is_ok(),
                            _ => false,
                        };
                        if !ok {
                            tracing::debug!("handover connection failed; staying on the draining one");
                            standby = None;
                        }
                    }
                    Ok(())
                }
                ready = wait_handover(&mut handover) => {
                    handover = None;
                    match ready {
                        Ok(mut conn) => {
                            let ok = match self.subscribe_all() {
                                Some(msg) => conn.send(&msg).await.is_ok(),
                                None => true,
                            };
                            if ok {
                                standby = Some(Standby {
                                    pending: self.subs.keys().copied().collect(),
                                    deadline: Instant::now() + self.options.handover_timeout,
                                    conn,
                                });
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, "no second server for the handover; staying until the drain ends"),
                    }
                    Ok(())
                }
                cmd = self.commands.recv() => {
                    let Some(cmd) = cmd else {
                        let _ = primary.socket.close(None).await;
                        if let Some(mut s) = standby.take() {
                            let _ = s.conn.socket.close(None).await;
                        }
                        return Outcome::Done;
                    };
                    self.command(cmd, &mut primary, standby.as_mut()).await
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if now.duration_since(primary.last_heard) > self.options.keepalive * 3 {
                        Err("the server stopped answering".into())
                    } else if now.duration_since(primary.last_sent) >= self.options.keepalive {
                        primary.send(&ClientMessage::Ping(Ping { sent_at: DateTime::now() })).await
                    } else {
                        Ok(())
                    }
                }
            };
            let ready = standby
                .as_ref()
                .is_some_and(|s| s.pending.is_empty() || Instant::now() >= s.deadline);
            match step {
                // Switch once the standby has fresh updates for every subscription, at the
                // deadline, or at once if the draining server went away first.
                Err(reason) if standby.is_none() => {
                    return Outcome::Lost {
                        reason,
                        next_url: primary.index,
                    }
                }
                Err(_) => {}
                Ok(()) if ready => {}
                Ok(()) => continue,
            }
            if let Some(s) = standby.take() {
                let mut old = std::mem::replace(&mut primary, s.conn);
                let _ = old.socket.close(None).await;
                tracing::debug!(url = %primary.url, "handed over after a shutdown notice");
                self.broadcast(ConnectionEvent::HandedOver {
                    url: primary.url.clone(),
                });
            }
        }
    }

    fn start_handover(&self, first: usize) -> oneshot::Receiver<Result<Conn, String>> {
        let (tx, rx) = oneshot::channel();
        let dialer = self.dialer.clone();
        tokio::spawn(async move {
            let first = first % dialer.urls.len().max(1);
            let _ = tx.send(dialer.open_any(first).await.map_err(|e| e.to_string()));
        });
        rx
    }

    async fn command(
        &mut self,
        cmd: Command,
        primary: &mut Conn,
        standby: Option<&mut Standby>,
    ) -> Result<(), String> {
        match cmd {
            Command::Subscribe {
                id,
                request,
                events,
            } => {
                let msg = ClientMessage::Subscribe(BTreeMap::from([(id, (*request).clone())]));
                // A subscription made on an open connection learns where it is connected.
                let _ = events.try_send(Incoming::Connection(ConnectionEvent::Connected {
                    url: primary.url.clone(),
                }));
                self.subs.insert(
                    id,
                    Sub {
                        request: *request,
                        events,
                        resyncing: false,
                    },
                );
                if let Some(s) = standby {
                    s.pending.insert(id);
                    // A failed standby shows when it is next read; the primary still serves.
                    let _ = s.conn.send(&msg).await;
                }
                primary.send(&msg).await
            }
            Command::Resync(id) => {
                if let Some(sub) = self.subs.get_mut(&id) {
                    sub.resyncing = true;
                }
                match self.subscribe_one(id) {
                    Some(msg) => primary.send(&msg).await,
                    None => Ok(()),
                }
            }
            Command::Unsubscribe(id) => {
                if self.subs.remove(&id).is_none() {
                    return Ok(());
                }
                let msg = ClientMessage::Unsubscribe(vec![id]);
                if let Some(s) = standby {
                    s.pending.remove(&id);
                    let _ = s.conn.send(&msg).await;
                }
                primary.send(&msg).await
            }
        }
    }

    /// Handles one frame from `conn`. `pending` is the standby's set of subscriptions not
    /// yet switched; `from_standby` says which socket this is.
    async fn frame(
        &mut self,
        conn: &mut Conn,
        msg: Message,
        pending: Option<&mut HashSet<Uuid>>,
        from_standby: bool,
    ) -> Result<Option<Signal>, String> {
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(frame) => {
                return Err(frame.map_or_else(
                    || "the server closed the connection".to_string(),
                    |f| {
                        format!(
                            "the server closed the connection ({} {})",
                            u16::from(f.code),
                            f.reason
                        )
                    },
                ))
            }
            _ => return Ok(None),
        };
        let msg: ServerMessage = match sightline_wire::from_json(text.as_str()) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "ignoring a server message the client does not understand");
                return Ok(None);
            }
        };
        let (id, incoming) = match msg {
            ServerMessage::Health(HealthMessage::Ping(p)) => {
                let pong = ClientMessage::Pong(Pong {
                    ping_originally_sent_at: p.sent_at,
                    sent_at: DateTime::now(),
                });
                conn.send(&pong).await?;
                return Ok(None);
            }
            ServerMessage::Health(HealthMessage::ShutdownNotice(_)) => {
                return Ok((!from_standby).then_some(Signal::Shutdown))
            }
            ServerMessage::Health(HealthMessage::ClientMessageError(e)) => {
                tracing::warn!(name = %e.error.name, message = ?e.error.message, "the server refused a client message");
                return Ok(None);
            }
            ServerMessage::Health(_) => return Ok(None),
            ServerMessage::SubscriptionCreation(c) => {
                let created = match c.creation {
                    SubscriptionCreation::Success(s) => Ok(unit_of(&s.unit_result)),
                    SubscriptionCreation::Error(e) => Err(e.serializable_error),
                    SubscriptionCreation::Unknown(u) => {
                        tracing::warn!(variant = %u.type_name, "ignoring a subscription creation kind the client does not know");
                        return Ok(None);
                    }
                };
                (c.subscription_id, Incoming::Created(created))
            }
            ServerMessage::SubscriptionUpdate(u) => (u.subscription_id, Incoming::Update(u.update)),
            _ => return Ok(None),
        };
        // During a handover each subscription listens to the draining socket until the new
        // one has sent it a full result (its updates are fresh there), then only to the new
        // one. A refusal on the new socket switches it too, so the caller hears of it.
        if let Some(pending) = pending {
            if from_standby {
                if matches!(
                    incoming,
                    Incoming::Update(SubscriptionUpdate::Full(_)) | Incoming::Created(Err(_))
                ) {
                    pending.remove(&id);
                }
            } else if !pending.contains(&id) {
                return Ok(None);
            }
        }
        let Some(sub) = self.subs.get_mut(&id) else {
            return Ok(None);
        };
        if let Incoming::Created(_) = incoming {
            sub.resyncing = false;
        } else if sub.resyncing {
            return Ok(None);
        }
        if let Err(mpsc::error::TrySendError::Full(_)) = sub.events.try_send(incoming) {
            // The reader lags: ask for a fresh full result instead of queueing without bound.
            sub.resyncing = true;
            if let Some(msg) = self.subscribe_one(id) {
                conn.send(&msg).await?;
            }
        }
        Ok(None)
    }
}

/// What a frame asks the connection loop to do.
enum Signal {
    Shutdown,
}

async fn next_standby(
    standby: &mut Option<Standby>,
) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match standby {
        Some(s) => s.conn.socket.next().await,
        None => std::future::pending().await,
    }
}

async fn wait_handover(
    rx: &mut Option<oneshot::Receiver<Result<Conn, String>>>,
) -> Result<Conn, String> {
    match rx {
        Some(rx) => rx
            .await
            .unwrap_or_else(|_| Err("handover task ended".into())),
        None => std::future::pending().await,
    }
}

/// The bounded queue of one subscription.
pub(crate) fn queue() -> (mpsc::Sender<Incoming>, mpsc::Receiver<Incoming>) {
    mpsc::channel(QUEUE)
}
