//! The accept loop: owns every TCP connection from `accept` to close, so the limits that
//! `axum::serve` cannot set live here — a cap on concurrent connections (past it a
//! connection gets a 503 and is closed), header, body and idle timeouts
//! (`connection.rs`, `activity.rs`, `deadline_body.rs`), TLS when configured (the
//! handshake under the header timeout), and the graceful close at shutdown.

mod activity;
mod connection;
mod deadline_body;

pub(crate) use deadline_body::BodyDeadlineExceeded;

use crate::app::App;
use axum::Router;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

/// How long, after the drain, open HTTP connections get to finish their requests.
const CLOSE_GRACE: Duration = Duration::from_secs(5);
/// How long a refused connection gets to take its 503.
const REFUSAL_WRITE: Duration = Duration::from_secs(1);
/// Pause after a failed `accept` (e.g. out of descriptors), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Accepts connections on `listener` and serves `router` on each until `stop` resolves;
/// then stops accepting, asks every connection to close once its request is answered and
/// waits for them (at most [`CLOSE_GRACE`]).
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    app: Arc<App>,
    stop: impl Future<Output = ()>,
) {
    let config = Arc::new(app.config.clone());
    let slots = Arc::new(Semaphore::new(config.max_connections.max(1)));
    let (stopping_tx, stopping) = watch::channel(false);
    let refusals = Refusals::default();
    let mut connections = JoinSet::new();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept failed; retrying shortly");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Reap finished connection tasks so the set stays as small as the open connections.
        while connections.try_join_next().is_some() {}
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            refusals.note(peer, config.max_connections);
            if config.tls.is_none() {
                tokio::spawn(refuse(stream));
            }
            // Over TLS a plain 503 would be noise to the client; the close says enough.
            continue;
        };
        let _ = stream.set_nodelay(true);
        let (router, config, stopping) = (router.clone(), config.clone(), stopping.clone());
        match config.tls.clone() {
            None => {
                connections.spawn(connection::serve_connection(
                    stream, peer, slot, router, config, stopping,
                ));
            }
            Some(tls) => {
                connections.spawn(async move {
                    // The handshake is part of the request head: same deadline.
                    let handshake = tokio_rustls::TlsAcceptor::from(tls).accept(stream);
                    match tokio::time::timeout(config.header_read_timeout, handshake).await {
                        Ok(Ok(stream)) => {
                            connection::serve_connection(
                                stream, peer, slot, router, config, stopping,
                            )
                            .await;
                        }
                        Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        }
    }
    drop(listener);
    stopping_tx.send_replace(true);
    let closed = tokio::time::timeout(CLOSE_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if closed.is_err() {
        tracing::warn!(
            open = connections.len(),
            "connections still busy after the close grace; closing them"
        );
        connections.abort_all();
    }
}

/// Answers a connection over the cap with a 503 and closes it, without reading it.
async fn refuse(mut stream: TcpStream) {
    let body = crate::error::overloaded_body(
        "the server has reached its connection limit (--max-connections); retry shortly",
    );
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(REFUSAL_WRITE, async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    })
    .await;
}

/// Logs refusals at most once a second, so a flood does not flood the log too.
#[derive(Default)]
struct Refusals {
    last_logged_sec: AtomicU64,
    since_last_log: AtomicU64,
}

impl Refusals {
    fn note(&self, peer: SocketAddr, cap: usize) {
        let count = self.since_last_log.fetch_add(1, Ordering::Relaxed) + 1;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if self.last_logged_sec.swap(now, Ordering::Relaxed) != now {
            self.since_last_log.store(0, Ordering::Relaxed);
            tracing::warn!(
                %peer,
                cap,
                refused = count,
                "connection limit reached; refusing new connections with 503"
            );
        }
    }
}
