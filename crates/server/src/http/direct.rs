//! `POST /storage/direct-writer/v1`: the upstream's internal row write (`WriteBatchesRequest`
//! of `RecordsBatch`), which unlike the external row write also carries log points per
//! batch. Sightline has one durable path, so a direct write is exactly as durable as any
//! other: validate all, store once, 204.

use super::convert::{channel_name, dataset_rid, timestamps_of, uint64s, unsupported};
use super::read_json;
use crate::app::App;
use crate::error::{ApiError, IngestError};
use axum::body::Body;
use axum::extract::State;
use axum::http::StatusCode;
use sightline_store::{LogEntry, SeriesWrite, Values};
use sightline_wire::storage_writer::{Points, WriteBatchesRequest};
use std::sync::Arc;

/// The handler.
pub(crate) async fn write_direct(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(body, app.config.max_body_bytes, "WriteBatchesRequest").await?;
    super::ingest::store(&app, convert(req)?).await
}

/// Checks and converts the whole request; the first problem refuses all of it.
pub(crate) fn convert(req: WriteBatchesRequest) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(&req.data_source_rid)?;
    let mut out = Vec::with_capacity(req.batches.len());
    for batch in req.batches {
        let channel = channel_name(&batch.channel)?;
        let (timestamps, values) = match batch.points {
            Points::Double(points) => (
                timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?,
                Values::Double(points.iter().map(|p| p.value).collect()),
            ),
            Points::Int(points) => (
                timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?,
                Values::Int(points.iter().map(|p| i64::from(p.value)).collect()),
            ),
            Points::Uint64(points) => (
                timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?,
                Values::Uint64(uint64s(&channel, points.iter().map(|p| p.value.0))?),
            ),
            Points::String(points) => (
                timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?,
                Values::String(points.iter().map(|p| Arc::from(p.value.as_str())).collect()),
            ),
            Points::Log(points) => (
                timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?,
                Values::Log(
                    points
                        .into_iter()
                        .map(|p| LogEntry {
                            message: Arc::from(p.value.message.as_str()),
                            args: Arc::new(p.value.args),
                        })
                        .collect(),
                ),
            ),
            other => return Err(unsupported(&channel, other.variant_name())),
        };
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags: batch.tags,
            unit: None,
            timestamps,
            values,
        });
    }
    Ok(out)
}
