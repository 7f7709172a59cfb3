//! HTTP routes: the writer API, HTTP compute, `/metrics`, `/health`, login, Sightline's own
//! endpoints (discovery, expression compilation) and the WebSocket upgrade.
//!
//! Every route added to `protected` goes through `auth::authenticate` (401 without a valid
//! token when auth is on) and its handler gets an `auth::Caller` to check grants with; only
//! the routes of `open` are reachable without a token.

mod batch;
mod body;
mod columnar_decode;
mod compute;
mod convert;
mod datasets;
mod decompress;
mod direct;
mod encoded;
mod expressions;
mod health;
mod ingest;
mod metrics;
mod mount;
mod nominal;
mod nominal_columnar;
mod prometheus;
mod proto_scan;
mod readiness;
mod search;
mod telegraf;

use crate::app::App;
use axum::routing::{get, post};
use axum::Router;
use std::sync::Arc;

pub(crate) use body::{read_body, read_json};

/// All routes of the server, at the root and under the configured base path.
pub(crate) fn router(app: Arc<App>) -> Router {
    let protected = Router::new()
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
            "/compute/v2/computeWithUnits",
            post(batch::compute_with_units),
        )
        .route("/compute/v2/compute/batch", post(batch::batch))
        .route("/compute/v2/compute/batch-units", post(batch::batch_units))
        .route(
            "/data-source/v1/data-sources/search-channels",
            post(search::search_channels),
        )
        .route("/sightline/v1/datasets", get(datasets::list_datasets))
        .route(
            "/sightline/v1/datasets/{rid}/channels/{channel}",
            get(datasets::channel_details),
        )
        .route(
            "/sightline/v1/expressions/compile",
            post(expressions::compile),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            readiness::refuse_when_behind,
        ));
    let protected = if app.config.public_metrics {
        protected
    } else {
        protected.route("/metrics", get(metrics::metrics))
    };
    let open = Router::new()
        .route("/persistent-compute/enabled", get(crate::ws::enabled))
        .route("/health", get(health::health))
        .route("/sightline/v1/login", post(crate::auth::login))
        .route("/sightline/v1/logout", post(crate::auth::logout))
        // The page and its assets: it asks for a token itself when the server needs one.
        .merge(crate::web::routes());
    let open = if app.config.public_metrics {
        open.route("/metrics", get(metrics::metrics))
    } else {
        open
    };
    let routes = protected
        .route_layer(axum::middleware::from_fn_with_state(
            app.clone(),
            crate::auth::authenticate,
        ))
        .merge(open)
        .with_state(app.clone());
    mount::mount(routes, &app)
}
