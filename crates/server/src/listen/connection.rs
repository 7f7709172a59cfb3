//! One accepted connection: HTTP/1.1 through hyper (with upgrades, for the WebSocket),
//! every request's body under a deadline, and a watchdog that closes the connection when
//! it idles or trickles its headers past the configured timeouts.

use super::activity::{Activity, Tracked, Watchdog};
use super::deadline_body::DeadlineBody;
use crate::config::ServerConfig;
use axum::body::Body;
use axum::Router;
use hyper::body::Incoming;
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::{watch, OwnedSemaphorePermit};
use tower::ServiceExt as _;

/// Serves `io` until the client closes, a timeout ends it, or shutdown closes it once idle.
pub(super) async fn serve_connection<S>(
    io: S,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    router: Router,
    config: Arc<ServerConfig>,
    mut stopping: watch::Receiver<bool>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let activity = Arc::new(Activity::default());
    let io = TokioIo::new(Tracked::new(io, activity.clone(), slot));
    let body_timeout = config.body_read_timeout;
    let service_activity = activity.clone();
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let guard = service_activity.start_request();
        let request = request.map(|body| Body::new(DeadlineBody::new(body, body_timeout)));
        let router = router.clone();
        async move {
            let response = router.oneshot(request).await;
            drop(guard);
            response
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .serve_connection(io, service)
        .with_upgrades();
    tokio::pin!(connection);

    let mut watchdog = Watchdog::new(activity, config.header_read_timeout, config.idle_timeout);
    let mut ticks = tokio::time::interval(watchdog.tick_period());
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut shutting_down = *stopping.borrow();
    if shutting_down {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(%peer, %error, "connection ended with an error");
                }
                return;
            }
            _ = stopping.changed(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().graceful_shutdown();
            }
            _ = ticks.tick() => {
                if let Some(why) = watchdog.check(tokio::time::Instant::now()) {
                    tracing::debug!(%peer, reason = why.as_str(), "closing connection");
                    return;
                }
            }
        }
    }
}
