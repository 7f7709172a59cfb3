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
    /// Most points a subscription's inputs may hold in its window at creation.
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
        }
    }
}
