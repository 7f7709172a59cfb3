//! `POST /storage/writer/v1/nominal/{dataSourceRid}`: the protobuf write of the upstream
//! streaming clients (Rust and Python), optionally zstd-compressed. They time out after 2 s
//! and retry, so the same validate-all-then-store rule and idempotent replace apply.

use super::convert::{dataset_rid, timestamps_from, unsupported};
use super::encoded::{self, Encoding, Format};
use super::proto_scan::Shape;
use crate::app::App;
use crate::auth::Caller;
use crate::error::{ApiError, IngestError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use prost::Message as _;
use sightline_store::{SeriesWrite, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::conjure::SafeLong;
use sightline_wire::proto::{PointsType, ProtoTimestamp, WriteRequestNominal};
use std::sync::Arc;

/// The body: plain or zstd, counted as a `WriteRequestNominal`. Parsed-form bytes per point
/// and per series: prost's point struct plus the store's column entries, and a series'
/// struct, channel and tag map.
static FORMAT: Format = Format {
    expected: "WriteRequestNominal (protobuf)",
    accepts: &[Encoding::Identity, Encoding::Zstd],
    absent: Encoding::Identity,
    shape: Shape::Nominal,
    parsed_bytes: (48, 160),
};

/// The handler.
pub(crate) async fn write_nominal(
    State(app): State<Arc<App>>,
    caller: Caller,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    // Refuse before reading a body that could not be stored anyway.
    caller.require_write([rid.as_str()])?;
    encoded::write(&app, &caller, &headers, body, &FORMAT, move |raw| {
        let request = WriteRequestNominal::decode(raw)
            .map_err(|e| encoded::malformed(FORMAT.expected, e.to_string()))?;
        Ok(convert(&rid, request)?)
    })
    .await
}

fn convert(rid: &str, request: WriteRequestNominal) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(rid)?;
    let mut out = Vec::with_capacity(request.series.len());
    for series in request.series {
        let channel = series.channel.map(|c| c.name).unwrap_or_default();
        if channel.is_empty() {
            return Err(IngestError::EmptyChannelName);
        }
        let Some(points) = series.points.and_then(|p| p.points_type) else {
            continue;
        };
        let (timestamps, values) = match points {
            PointsType::DoublePoints(p) => (
                timestamps_from(&channel, &p.points, |x| wire_ts(x.timestamp))?,
                Values::Double(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::IntegerPoints(p) => (
                timestamps_from(&channel, &p.points, |x| wire_ts(x.timestamp))?,
                Values::Int(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::Uint64Points(p) => (
                timestamps_from(&channel, &p.points, |x| wire_ts(x.timestamp))?,
                Values::Uint64(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::StringPoints(p) => (
                timestamps_from(&channel, &p.points, |x| wire_ts(x.timestamp))?,
                Values::String(
                    p.points
                        .iter()
                        .map(|x| Arc::from(x.value.as_str()))
                        .collect(),
                ),
            ),
            PointsType::ArrayPoints(_) => return Err(unsupported(&channel, "array")),
            PointsType::StructPoints(_) => return Err(unsupported(&channel, "struct")),
        };
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags: series.tags.into_iter().collect(),
            unit: None,
            timestamps,
            values,
        });
    }
    Ok(out)
}

/// A missing protobuf timestamp reads as an invalid (negative-nanos) wire timestamp, so it
/// is refused with the same error as any other bad timestamp.
fn wire_ts(t: Option<ProtoTimestamp>) -> Timestamp {
    let t = t.unwrap_or(ProtoTimestamp {
        seconds: 0,
        nanos: -1,
    });
    Timestamp {
        seconds: SafeLong(t.seconds),
        nanos: SafeLong(i64::from(t.nanos)),
    }
}
