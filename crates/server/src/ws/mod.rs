//! The persistent-compute WebSocket (PROTOCOL §4): one connection task per socket, shared
//! computations that evaluate and encode each distinct subscribed computation once, and a
//! queue bounded by bytes between them and each socket.
//!
//! Modules point one way: `connection` → `subscription` → `shared` → `frame`, `outbound`;
//! `subscribe` (validation and planning) is used by `subscription` alone, `answers` (the
//! entries of a subscribe message answered before their results) by both.

mod answers;
mod connection;
mod frame;
mod outbound;
pub(crate) mod shared;
mod subscribe;
mod subscription;

use crate::app::{App, Phase};
use crate::auth::Caller;
use crate::error::{wire_response, ErrorName};
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Json;
use sightline_wire::persistent_compute::IsEnabledResponse;
use std::sync::Arc;

/// `GET /persistent-compute/enabled`.
pub(crate) async fn enabled() -> Json<IsEnabledResponse> {
    Json(IsEnabledResponse {})
}

/// `GET /persistent-compute/ws`: upgrades unless the server is shutting down. A browser that
/// sent its token as a subprotocol gets the subprotocol echoed, as the handshake requires.
pub(crate) async fn upgrade(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if app.phase() != Phase::Running {
        return wire_response(
            &ErrorName::SightlineShuttingDown
                .error("the server is shutting down; connect to another instance or retry later"),
        );
    }
    let ws = match crate::auth::websocket_protocol(&headers) {
        Some(protocol) => ws.protocols([protocol]),
        None => ws,
    };
    let max = app.config.max_ws_message_bytes;
    ws.max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| connection::run(socket, app, caller))
        .into_response()
}
