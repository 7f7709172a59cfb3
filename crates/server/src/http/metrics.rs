//! `GET /metrics`: store and server figures in the Prometheus text format.

use crate::app::App;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// Renders every figure as `sightline_<name>`: a counter when the name ends in `_total`
/// (Prometheus naming), else a gauge.
pub(crate) async fn metrics(State(app): State<Arc<App>>) -> impl IntoResponse {
    let mut figures: Vec<(&'static str, f64)> = vec![
        (
            "server_connections",
            app.connections.load(Ordering::Relaxed) as f64,
        ),
        (
            "server_subscriptions",
            app.subscriptions.load(Ordering::Relaxed) as f64,
        ),
        ("server_live_computations", app.computations.len() as f64),
        (
            "server_ws_queued_bytes",
            app.ws_queued_bytes.load(Ordering::Relaxed) as f64,
        ),
        (
            "server_inflight_body_bytes",
            app.body_budget.in_use() as f64,
        ),
        (
            "server_points_written_total",
            app.points_written.load(Ordering::Relaxed) as f64,
        ),
    ];
    let store = app.store.clone();
    if let Ok(store_figures) = tokio::task::spawn_blocking(move || store.metrics()).await {
        figures.extend(store_figures);
    }
    let mut text = String::new();
    for (name, value) in figures {
        let kind = if name.ends_with("_total") {
            "counter"
        } else {
            "gauge"
        };
        let _ = writeln!(
            text,
            "# TYPE sightline_{name} {kind}\nsightline_{name} {value}"
        );
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
