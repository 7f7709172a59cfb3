//! Writer endpoints. Each validates the whole request, then stores it in one store write;
//! 204 means durable and visible to every later computation.

use super::convert;
use super::read_json;
use crate::app::App;
use crate::error::{blocking, ApiError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use sightline_store::SeriesWrite;
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// `POST /storage/writer/v1`.
pub(crate) async fn write_batches(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(
        body,
        app.config.max_body_bytes,
        "WriteBatchesRequestExternal",
    )
    .await?;
    store(&app, convert::row_request(req)?).await
}

/// `POST /storage/writer/v1/columnar`.
pub(crate) async fn write_column_batches(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(body, app.config.max_body_bytes, "WriteColumnBatchesRequest").await?;
    store(&app, convert::column_request(req)?).await
}

/// `POST /storage/writer/v1/logs/{dataSourceRid}`.
pub(crate) async fn write_logs(
    State(app): State<Arc<App>>,
    Path(rid): Path<String>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(body, app.config.max_body_bytes, "WriteLogsRequest").await?;
    store(&app, convert::logs_request(&rid, req)?).await
}

/// Hands the writes to the store off the runtime (a write may wait for an fsync).
pub(crate) async fn store(
    app: &Arc<App>,
    writes: Vec<SeriesWrite>,
) -> Result<StatusCode, ApiError> {
    let points = convert::point_count(&writes);
    if points == 0 {
        return Ok(StatusCode::NO_CONTENT);
    }
    let store = app.store.clone();
    blocking(move || Ok(store.write(writes)?)).await?;
    app.points_written.fetch_add(points, Ordering::Relaxed);
    Ok(StatusCode::NO_CONTENT)
}
