//! HTTP routes: the writer API, HTTP compute, `/metrics`, the WebSocket upgrade, and
//! Sightline's own endpoints (expression compilation).

mod batch;
mod body;
mod compute;
mod convert;
mod datasets;
mod direct;
mod encoded;
mod expressions;
mod ingest;
mod metrics;
mod nominal;
mod nominal_columnar;
mod prometheus;
mod search;
mod telegraf;

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
        .route(
            "/storage/writer/v1/nominal-columnar",
            post(nominal_columnar::write_nominal_columnar),
        )
        .route(
            "/storage/writer/v1/telegraf/{data_source_rid}",
            post(telegraf::write_telegraf),
        )
        .route(
            "/storage/writer/v1/prometheus/{data_source_rid}",
            post(prometheus::write_prometheus).get(prometheus::health),
        )
        .route("/storage/direct-writer/v1", post(direct::write_direct))
        .route("/compute/v2/compute", post(compute::compute))
        .route("/compute/v2/compute/units", post(compute::compute_units))
        .route(
            "/sightline/v1/expressions/compile",
            post(expressions::compile),
        )
        .route(
            "/compute/v2/computeWithUnits",
            post(batch::compute_with_units),
        )
        .route("/compute/v2/compute/batch", post(batch::batch))
        .route("/compute/v2/compute/batch-units", post(batch::batch_units))
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
