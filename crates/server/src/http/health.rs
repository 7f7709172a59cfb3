//! `GET /health`: whether this instance takes traffic, for load balancers and probes. Open
//! without a token; says nothing about data.

use crate::app::{App, Phase};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;

/// The health body.
#[derive(Serialize)]
pub(crate) struct Health {
    /// `ok` while serving, `draining` after SIGTERM (then the status is 503, so a balancer
    /// stops sending new clients here).
    status: &'static str,
}

/// The handler.
pub(crate) async fn health(State(app): State<Arc<App>>) -> (StatusCode, Json<Health>) {
    match app.phase() {
        Phase::Running => (StatusCode::OK, Json(Health { status: "ok" })),
        Phase::Draining | Phase::Closing => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health { status: "draining" }),
        ),
    }
}
