//! `POST /storage/writer/v1/nominal-columnar`: the upstream's most efficient write, a
//! columnar protobuf `WriteBatchesRequest` (one packed value column per channel), plain or
//! `Content-Encoding: zstd`. The dataset is named inside the body. Validate all, then store.
//! Decoding: `columnar_decode.rs` for valid requests in the usual layout, prost + [`convert`]
//! for everything else.

use super::columnar_decode;
use super::convert::{dataset_rid, timestamps_from, unsupported};
use super::encoded::{self, Encoding, Format};
use super::proto_scan::Shape;
use crate::app::App;
use crate::error::{ApiError, IngestError};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use prost::Message as _;
use sightline_store::{SeriesWrite, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::conjure::SafeLong;
use sightline_wire::proto::columnar::{self, WriteBatchesRequest};
use std::sync::Arc;

/// The body: plain or zstd, counted as a `WriteBatchesRequest`. Parsed-form bytes per point:
/// prost's timestamp (two optional i64) and value plus the store's columns; per series: the
/// batch struct, channel and tag map.
static FORMAT: Format = Format {
    expected: "WriteBatchesRequest (columnar protobuf)",
    accepts: &[Encoding::Identity, Encoding::Zstd],
    absent: Encoding::Identity,
    shape: Shape::Columnar,
    parsed_bytes: (56, 200),
};

/// The handler.
pub(crate) async fn write_nominal_columnar(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    encoded::write(&app, &caller, &headers, body, &FORMAT, |raw| {
        // Valid requests in the usual layout decode without a message per timestamp; the
        // rest (and every error) goes through prost and `convert`.
        if let Some(writes) = columnar_decode::decode(raw) {
            return Ok(writes);
        }
        let request = WriteBatchesRequest::decode(raw)
            .map_err(|e| encoded::malformed(FORMAT.expected, e.to_string()))?;
        Ok(convert(request)?)
    })
    .await
}

/// Checks and converts the whole request; the first problem refuses all of it.
pub(crate) fn convert(request: WriteBatchesRequest) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(&request.data_source_rid)?;
    let mut out = Vec::with_capacity(request.batches.len());
    for batch in request.batches {
        if batch.channel.is_empty() {
            return Err(IngestError::EmptyChannelName);
        }
        let channel = batch.channel;
        let points = batch.points.unwrap_or_default();
        let values = match points.values {
            None => Values::Double(Vec::new()),
            Some(columnar::Values::DoublePoints(v)) => Values::Double(v.points),
            Some(columnar::Values::IntPoints(v)) => Values::Int(v.points),
            Some(columnar::Values::Uint64Points(v)) => Values::Uint64(v.points),
            Some(columnar::Values::StringPoints(v)) => {
                Values::String(v.points.iter().map(|s| Arc::from(s.as_str())).collect())
            }
            Some(columnar::Values::ArrayPoints(_)) => return Err(unsupported(&channel, "array")),
            Some(columnar::Values::StructPoints(_)) => return Err(unsupported(&channel, "struct")),
        };
        if values.len() != points.timestamps.len() {
            return Err(IngestError::MismatchedLengths {
                channel,
                timestamps: points.timestamps.len(),
                values: values.len(),
            });
        }
        if values.is_empty() {
            continue;
        }
        let timestamps = timestamps_from(&channel, &points.timestamps, |t| Timestamp {
            // Absent fields read as zero, as protobuf defaults do.
            seconds: SafeLong(t.seconds.unwrap_or(0)),
            nanos: SafeLong(t.nanos.unwrap_or(0)),
        })?;
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags: batch.tags.into_iter().collect(),
            unit: None,
            timestamps,
            values,
        });
    }
    Ok(out)
}
