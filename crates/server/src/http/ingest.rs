//! Writer endpoints. Each validates the whole request, then stores it in one store write;
//! 204 means durable and visible to every later computation.

use super::convert;
use super::read_json;
use crate::app::App;
use crate::auth::Caller;
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
    caller: Caller,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(
        body,
        app.config.max_body_bytes,
        "WriteBatchesRequestExternal",
    )
    .await?;
    store(&app, &caller, convert::row_request(req)?).await
}

/// `POST /storage/writer/v1/columnar`.
pub(crate) async fn write_column_batches(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(body, app.config.max_body_bytes, "WriteColumnBatchesRequest").await?;
    store(&app, &caller, convert::column_request(req)?).await
}

/// `POST /storage/writer/v1/logs/{dataSourceRid}`.
pub(crate) async fn write_logs(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(rid): Path<String>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    // Refuse before reading a body that could not be stored anyway.
    caller.require_write([rid.as_str()])?;
    let req = read_json(body, app.config.max_body_bytes, "WriteLogsRequest").await?;
    store(&app, &caller, convert::logs_request(&rid, req)?).await
}

/// Checks that `caller` may write every dataset of `writes` (403 and nothing stored
/// otherwise), then hands the writes to the store off the runtime (a write may wait for an
/// fsync).
pub(crate) async fn store(
    app: &Arc<App>,
    caller: &Caller,
    writes: Vec<SeriesWrite>,
) -> Result<StatusCode, ApiError> {
    let points = admit(app, caller, &writes)?;
    if points == 0 {
        return Ok(StatusCode::NO_CONTENT);
    }
    let app = app.clone();
    blocking(move || write(&app, writes, points)).await
}

/// [`store`] on the calling thread, for a caller already off the runtime (the protobuf
/// writers decode and store in one blocking task); it may wait for an fsync.
pub(crate) fn store_here(
    app: &App,
    caller: &Caller,
    writes: Vec<SeriesWrite>,
) -> Result<StatusCode, ApiError> {
    let points = admit(app, caller, &writes)?;
    if points == 0 {
        return Ok(StatusCode::NO_CONTENT);
    }
    write(app, writes, points)
}

/// The caller's write grants and the request limits; the points to store.
fn admit(app: &App, caller: &Caller, writes: &[SeriesWrite]) -> Result<u64, ApiError> {
    caller.require_write(writes.iter().map(|w| &*w.dataset))?;
    let points = convert::point_count(writes);
    check_counts(app, writes.len(), points)?;
    Ok(points)
}

fn write(app: &App, writes: Vec<SeriesWrite>, points: u64) -> Result<StatusCode, ApiError> {
    app.store.write(writes)?;
    app.points_written.fetch_add(points, Ordering::Relaxed);
    Ok(StatusCode::NO_CONTENT)
}

/// The per-request series and point limits, for writes whose counts are known only once
/// parsed (JSON: its own size bounds the parsed form to about its size; protobuf is
/// counted from its wire bytes before decoding, `proto_scan.rs`).
fn check_counts(app: &App, series: usize, points: u64) -> Result<(), ApiError> {
    let config = &app.config;
    if series > config.max_series_per_request {
        return Err(ApiError::TooManyInRequest {
            what: "series",
            count: series,
            limit: config.max_series_per_request,
        });
    }
    let points = usize::try_from(points).unwrap_or(usize::MAX);
    if points > config.max_points_per_request {
        return Err(ApiError::TooManyInRequest {
            what: "points",
            count: points,
            limit: config.max_points_per_request,
        });
    }
    Ok(())
}
