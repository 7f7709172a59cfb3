//! Rust client for Sightline's live computations over the upstream persistent-compute
//! WebSocket API.
//!
//! ```no_run
//! # async fn demo(node: sightline_wire::scout_compute::ComputableNode) -> Result<(), sightline_client::ClientError> {
//! use std::time::Duration;
//! let session = sightline_client::connect(["ws://127.0.0.1:8080/persistent-compute/ws"], None).await?;
//! let mut sub = session.subscribe(sightline_client::Request::new(node, Duration::from_secs(30)))?;
//! while let Some(event) = sub.next().await {
//!     event?;
//!     if let Some(state) = sub.state() {
//!         println!("{} points", state.plot.len());
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Owns: connecting (several URLs, bearer token), subscribing, the merge of full and
//! append results into window states (PROTOCOL §4, in [`merge`]), pings and keep-alives,
//! reconnect with backoff and resubscribe, the shutdown handover, unsubscribe on drop.
//!
//! A runnable example is `examples/live.rs`; behaviour and guarantees are described in
//! `docs/client.md`.
//!
//! Must not know: the server, the store or evaluation. Depends on `wire` only (plus tokio,
//! a WebSocket client and rustls).
//!
//! Modules, imported one way: [`merge`] (pure) ← `subscription` ← `session`, with
//! `request`, `error` and `tls` (trust for `wss://`) as leaves.

mod error;
pub mod merge;
mod request;
mod session;
mod subscription;
mod tls;

pub use error::ClientError;
pub use merge::{MergeError, Plot, WindowState};
pub use request::Request;
pub use session::{ConnectionEvent, Options};
pub use subscription::{Event, Subscription};

use tokio::sync::mpsc;

/// A connection to one of several Sightline servers, kept open in the background. Cheap
/// to clone; the connection closes when the session and all its subscriptions are dropped.
#[derive(Clone)]
pub struct Session {
    commands: mpsc::UnboundedSender<session::Command>,
}

/// Connects to the first server of `urls` that answers (`ws://host:port/persistent-compute/ws`,
/// or `wss://` trusting the platform's roots; see [`Options::ca_cert`] for more),
/// sending `token` as `Authorization: Bearer`. Later failures reconnect in the background.
pub async fn connect<I, S>(urls: I, token: Option<String>) -> Result<Session, ClientError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    connect_with(Options::new(
        urls.into_iter().map(Into::into).collect(),
        token,
    ))
    .await
}

/// [`connect`] with every knob.
pub async fn connect_with(options: Options) -> Result<Session, ClientError> {
    Ok(Session {
        commands: session::start(options).await?,
    })
}

impl Session {
    /// Subscribes; the first event is the server's answer. Must be called inside the tokio
    /// runtime the session was made in.
    pub fn subscribe(&self, request: Request) -> Result<Subscription, ClientError> {
        let id = uuid::Uuid::new_v4();
        let (tx, rx) = session::queue();
        self.commands
            .send(session::Command::Subscribe {
                id,
                request: Box::new(request.to_wire()),
                events: tx,
            })
            .map_err(|_| ClientError::Closed)?;
        Ok(Subscription::new(
            id,
            request.window_nanos(),
            rx,
            self.commands.clone(),
        ))
    }
}
