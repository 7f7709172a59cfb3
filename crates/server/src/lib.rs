//! Sightline's HTTP and WebSocket server: the composition root that joins store and compute.
//!
//! Owns: routes, request parsing and validation, the mapping of every layer's errors to
//! upstream error names, subscriptions and their scheduling (`minDelay`, coalescing,
//! backpressure), pings, and graceful shutdown.
//!
//! Must not know: how the store lays out data, or how a compute node is evaluated. It talks
//! to the store through `sightline_store::Store` and to compute through its `Plan` API.

mod app;
mod clock;
mod config;
pub mod demo;
mod discovery;
mod error;
mod http;
mod hub;
pub mod human;
mod read_cache;
mod source;
mod web;
mod ws;

pub use app::{App, Phase};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::ServerConfig;

use std::future::Future;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Serves `app` on `listener` until `shutdown` resolves, then drains: every WebSocket gets
/// a shutdown notice, updates and writes continue for the drain period while new
/// WebSocket connections get 503, then connections close with code 1001.
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = http::router(app.clone());
    let drain_app = app.clone();
    let graceful = async move {
        shutdown.await;
        drain_app.drain().await;
    };
    axum::serve(listener, router)
        .with_graceful_shutdown(graceful)
        .await?;
    app.finish().await;
    Ok(())
}
