//! Shared server state: the store, compute source, change hub, clock, limits and the
//! shutdown phase every connection watches.

use crate::auth::{AuthMode, Registry};
use crate::budget::Budget;
use crate::clock::Clock;
use crate::config::ServerConfig;
use crate::eval_pool::EvalPool;
use crate::hub::ChangeHub;
use crate::ws::shared::Computations;
use sightline_store::Store;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::sync::watch;

/// How often the drain checks whether every WebSocket has gone.
const DRAIN_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Where the server is in its life; connections react to changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Normal operation.
    Running,
    /// SIGTERM seen: notices sent, updates and writes continue, new sockets get 503.
    Draining,
    /// Drain over: connections close with 1001.
    Closing,
}

/// Everything a request handler or connection needs.
pub struct App {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) config: ServerConfig,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) hub: Arc<ChangeHub>,
    phase: watch::Sender<Phase>,
    /// Open WebSocket connections, for `/metrics` and for waiting on close at shutdown.
    pub(crate) connections: AtomicU64,
    /// Live subscriptions across connections, for `/metrics`.
    pub(crate) subscriptions: AtomicU64,
    /// Points accepted through the HTTP writer endpoints.
    pub(crate) points_written: AtomicU64,
    /// HTTP computations (batch entries) running at once: one per core, so a batch of
    /// hundreds queues for CPU instead of each taking a blocking thread.
    pub(crate) compute_slots: tokio::sync::Semaphore,
    /// The live token set when auth is on; `None` lets every request do everything.
    pub(crate) auth: Option<Arc<Registry>>,
    /// Subscription evaluations run here: one named thread per core, so thousands of live
    /// subscriptions queue for CPU instead of each taking a blocking thread.
    pub(crate) eval: EvalPool,
    /// The live computations, each shared by every subscription of the same request.
    pub(crate) computations: Computations,
    /// Bytes of WebSocket frames queued for readers on every connection, for `/metrics`.
    pub(crate) ws_queued_bytes: Arc<std::sync::atomic::AtomicUsize>,
    /// Bytes of request bodies held at once across all requests (`budget.rs`).
    pub(crate) body_budget: Budget,
    /// Subscribe entries not yet answered on any connection: results wait for it to reach
    /// zero, briefly (`ws/answers.rs`).
    pub(crate) unanswered_entries: watch::Sender<usize>,
}

impl App {
    /// Builds the state and starts routing the store's change feed to subscriptions.
    /// Must be called inside a tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: ServerConfig, clock: Arc<dyn Clock>) -> Arc<Self> {
        let hub = ChangeHub::start(store.changes());
        let (phase, _) = watch::channel(Phase::Running);
        let auth = match &config.auth {
            AuthMode::Off => None,
            AuthMode::Tokens(file) => Some(Registry::start(file.clone())),
        };
        let body_budget = Budget::new(config.max_inflight_bytes.max(config.max_body_bytes));
        Arc::new(App {
            auth,
            store,
            config,
            clock,
            hub,
            phase,
            connections: AtomicU64::new(0),
            subscriptions: AtomicU64::new(0),
            points_written: AtomicU64::new(0),
            computations: Computations::default(),
            ws_queued_bytes: Arc::default(),
            eval: EvalPool::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
            compute_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get()),
            ),
            body_budget,
            unanswered_entries: watch::channel(0).0,
        })
    }

    /// The store this server writes to.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The current phase.
    pub fn phase(&self) -> Phase {
        *self.phase.borrow()
    }

    pub(crate) fn watch_phase(&self) -> watch::Receiver<Phase> {
        self.phase.subscribe()
    }

    /// Starts the drain and returns when the drain period is over and sockets were told to
    /// close.
    pub(crate) async fn drain(&self) {
        tracing::info!(
            drain_secs = self.config.drain_period.as_secs_f64(),
            connections = self.connections.load(Ordering::SeqCst),
            "shutdown requested; draining connections"
        );
        self.phase.send_replace(Phase::Draining);
        // The drain exists for connected clients; with none left there is nothing to wait
        // for, so Ctrl-C on an idle server exits at once.
        let deadline = tokio::time::Instant::now() + self.config.drain_period;
        while self.connections.load(Ordering::SeqCst) > 0 && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(DRAIN_POLL.min(deadline - tokio::time::Instant::now())).await;
        }
        self.phase.send_replace(Phase::Closing);
    }

    /// Waits briefly for WebSocket tasks to send their close frames.
    pub(crate) async fn finish(&self) {
        self.phase.send_replace(Phase::Closing);
        for _ in 0..50 {
            if self.connections.load(Ordering::SeqCst) == 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}
