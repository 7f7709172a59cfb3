//! HTTP routes: the writer API, HTTP compute, `/metrics`, the WebSocket upgrade, and
//! Sightline's own endpoints (expression compilation).

mod body;
mod compute;
mod convert;
mod datasets;
mod expressions;
mod ingest;
mod metrics;
mod nominal;
mod search;

use crate::app::App;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub(crate) use body::read_json;

/// All routes of the server.
pub(crate) fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/persistent-compute/enabled", get(crate::ws::enabled))
        .route("/persistent-compute/ws", get(crate::ws::upgrade))
        .route("/storage/writer/v1", post(ingest::write_batches))
        .route(
            "/storage/writer/v1/columnar",
            post(ingest::write_column_batches),
        )
        .route(
            "/storage/writer/v1/logs/{data_source_rid}",
            post(ingest::write_logs),
        )
        .route(
            "/storage/writer/v1/nominal/{data_source_rid}",
            post(nominal::write_nominal),
        )
        .route("/compute/v2/compute", post(compute::compute))
        .route("/compute/v2/compute/units", post(compute::compute_units))
        .route(
            "/sightline/v1/expressions/compile",
            post(expressions::compile),
        )
        .route("/metrics", get(metrics::metrics))
        .route(
            "/data-source/v1/data-sources/search-channels",
            post(search::search_channels),
        )
        .route("/sightline/v1/datasets", get(datasets::list_datasets))
        .route(
            "/sightline/v1/datasets/{rid}/channels/{channel}",
            get(datasets::channel_details),
        )
        .merge(crate::web::routes())
        .with_state(app)
}
