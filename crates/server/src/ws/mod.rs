//! The persistent-compute WebSocket (PROTOCOL §4): one connection task per socket, one
//! task per subscription, and a bounded outbound queue between them and the socket.

mod connection;
mod outbound;
mod subscribe;
mod subscription;

use crate::app::{App, Phase};
use crate::error::{wire_response, ErrorName};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sightline_wire::persistent_compute::IsEnabledResponse;
use std::sync::Arc;

/// `GET /persistent-compute/enabled`.
pub(crate) async fn enabled() -> Json<IsEnabledResponse> {
    Json(IsEnabledResponse {})
}

/// `GET /persistent-compute/ws`: upgrades unless the server is shutting down.
pub(crate) async fn upgrade(State(app): State<Arc<App>>, ws: WebSocketUpgrade) -> Response {
    if app.phase() != Phase::Running {
        return wire_response(
            &ErrorName::SightlineShuttingDown
                .error("the server is shutting down; connect to another instance or retry later"),
        );
    }
    let max = app.config.max_ws_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::run(socket, app))
        .into_response()
}
