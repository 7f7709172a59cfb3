//! Server limits and timings. Every number a user may want to tune lives here, with the
//! default the protocol documents.

use crate::auth::AuthMode;
use std::time::Duration;

/// Configuration of one server instance.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Largest accepted request body; larger writes get 413 and store nothing.
    pub max_body_bytes: usize,
    /// Largest accepted subscription window (PROTOCOL §5, default 7 days).
    pub max_window: Duration,
    /// Most points a subscription's inputs may hold in its window at creation, and an
    /// HTTP computation's inputs in its range.
    pub max_points_per_subscription: u64,
    /// Most raw points per window for `appendOnly{decimateResults: false}`.
    pub max_undecimated_points: u64,
    /// How often the server pings a connection it has heard nothing from.
    pub ping_interval: Duration,
    /// How long connections keep working after SIGTERM before they are closed.
    pub drain_period: Duration,
    /// Messages that may wait for a slow WebSocket reader: connection messages wait for
    /// room, subscription updates that do not fit are coalesced into one later full result.
    pub connection_queue: usize,
    /// Whether requests need a token (see `auth`); off by default, which only a loopback
    /// listener should run with.
    pub auth: AuthMode,
    /// Serve `GET /metrics` without a token even when auth is on, for a Prometheus that
    /// scrapes without credentials.
    pub public_metrics: bool,
    /// Bytes of subscription updates that may wait for a slow WebSocket reader; past this a
    /// subscriber's updates coalesce into one fresh full result sent when it catches up.
    pub connection_queue_bytes: usize,
    /// Every endpoint is served at the root and again under this path (`/api`, where the
    /// upstream clients' default base URL points); `/` or empty serves the root only.
    pub base_path: String,
    /// Open connections at most (WebSockets included); past it a new connection gets 503
    /// and is closed, so idle sockets cannot use up the process's file descriptors.
    pub max_connections: usize,
    /// Time a client has to send a request's headers once their first byte arrived.
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's whole body, counted from its headers.
    pub body_read_timeout: Duration,
    /// A connection with no request in flight and no bytes moving is closed after this.
    pub idle_timeout: Duration,
    /// Bytes of request bodies (as received and decompressed) held by all requests at
    /// once; a request that does not fit waits briefly, then gets 503 with Retry-After.
    pub max_inflight_bytes: usize,
    /// Series (channel + tags batches) one write request may carry; checked before the
    /// series are decoded (protobuf) or stored (JSON).
    pub max_series_per_request: usize,
    /// Points one write request may carry, checked like `max_series_per_request`.
    pub max_points_per_request: usize,
    /// Union values (nodes, sources, literals) one computation's graph may hold; checked
    /// before planning, for HTTP compute and subscriptions.
    pub max_compute_nodes: usize,
    /// Inputs one node of a computation may take (e.g. the series of one `sum`).
    pub max_compute_fan_in: usize,
    /// Largest WebSocket message (and frame) a client may send; larger ones close the
    /// connection with 1009. Client messages are small JSON; 1 MiB holds hundreds of
    /// subscriptions.
    pub max_ws_message_bytes: usize,
    /// Serve HTTPS and WSS with this certificate and key (`tls::load`); `None` is plain.
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_body_bytes: 64 * 1024 * 1024,
            max_window: Duration::from_secs(7 * 24 * 3600),
            max_points_per_subscription: 50_000_000,
            max_undecimated_points: 100_000,
            ping_interval: Duration::from_secs(20),
            drain_period: Duration::from_secs(10),
            connection_queue: 1024,
            connection_queue_bytes: 8 * 1024 * 1024,
            auth: AuthMode::Off,
            public_metrics: false,
            base_path: "/api".to_string(),
            max_connections: 512,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(60),
            idle_timeout: Duration::from_secs(60),
            max_inflight_bytes: 256 * 1024 * 1024,
            max_series_per_request: 100_000,
            max_points_per_request: 5_000_000,
            max_compute_nodes: 5_000,
            max_compute_fan_in: 256,
            max_ws_message_bytes: 1024 * 1024,
            tls: None,
        }
    }
}
