//! `POST /storage/writer/v1/nominal/{dataSourceRid}`: the protobuf write of the upstream
//! streaming clients (Rust and Python), optionally zstd-compressed. They time out after 2 s
//! and retry, so the same validate-all-then-store rule and idempotent replace apply.

use super::convert::{dataset_rid, timestamps_of, unsupported};
use super::proto_scan::{check_counts, Limits, ScanStop};
use crate::app::App;
use crate::auth::Caller;
use crate::budget::{Budget, Reservation};
use crate::error::{blocking, ApiError, IngestError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use prost::Message as _;
use sightline_store::{SeriesWrite, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::conjure::SafeLong;
use sightline_wire::proto::{PointsType, ProtoTimestamp, WriteRequestNominal};
use sightline_wire::ParseError;
use std::io::Read as _;
use std::sync::Arc;

/// Parsed-form bytes budgeted per point and per series: prost's point struct plus the
/// store's column entries, and a series' struct, channel and tag map.
const PARSED_BYTES_PER_POINT: usize = 48;
const PARSED_BYTES_PER_SERIES: usize = 160;

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
    let limit = app.config.max_body_bytes;
    let bytes = super::read_body(body, limit).await?;
    let zstd = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"zstd"));
    let budget = app.body_budget.clone();
    let limits = Limits {
        series: app.config.max_series_per_request,
        points: app.config.max_points_per_request,
    };
    let (writes, _held) = blocking(move || {
        let mut held = Reservation::default();
        let decoded;
        let raw: &[u8] = if zstd {
            decoded = decompress(&bytes, limit, &budget, &mut held)?;
            &decoded
        } else {
            &bytes
        };
        let counts = check_counts(raw, &limits).map_err(|stop| scan_error(stop, &limits))?;
        budget.grow(
            &mut held,
            counts.points.saturating_mul(PARSED_BYTES_PER_POINT)
                + counts.series.saturating_mul(PARSED_BYTES_PER_SERIES),
        )?;
        let request = WriteRequestNominal::decode(raw).map_err(|e| malformed(e.to_string()))?;
        Ok::<_, ApiError>((convert(&rid, request)?, held))
    })
    .await?;
    super::ingest::store(&app, &caller, writes).await
}

fn scan_error(stop: ScanStop, limits: &Limits) -> ApiError {
    match stop {
        ScanStop::Malformed(what) => malformed(format!("malformed protobuf: {what}")),
        ScanStop::TooManySeries { seen } => ApiError::TooManyInRequest {
            what: "series",
            count: seen,
            limit: limits.series,
        },
        ScanStop::TooManyPoints { seen } => ApiError::TooManyInRequest {
            what: "points",
            count: seen,
            limit: limits.points,
        },
    }
}

/// Read size while decompressing; also the first allocation when the frame declares no size.
const DECODE_CHUNK: usize = 64 * 1024;

/// Decompresses at most `limit` bytes, streaming, with every byte of the output buffer
/// reserved from the shared budget first: a small bomb cannot exhaust memory, and many at
/// once are refused with 503 instead. A frame that declares a decoded size over `limit`
/// is refused before any decoding.
fn decompress(
    bytes: &[u8],
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
) -> Result<Vec<u8>, ApiError> {
    let declared = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    let mut decoder =
        zstd::stream::read::Decoder::new(bytes).map_err(|e| malformed(format!("zstd: {e}")))?;
    let first = declared.unwrap_or(DECODE_CHUNK).clamp(1, limit + 1);
    budget.grow(held, first)?;
    let mut out: Vec<u8> = Vec::with_capacity(first);
    let mut reserved = first;
    loop {
        if out.len() == reserved {
            if reserved > limit {
                return Err(ApiError::BodyTooLarge { limit });
            }
            // Double, but never past one byte over the limit (which proves "too large").
            let next = reserved.saturating_mul(2).min(limit + 1);
            budget.grow(held, next - reserved)?;
            out.reserve_exact(next - out.len());
            reserved = next;
        }
        let start = out.len();
        let end = (start + DECODE_CHUNK).min(reserved);
        out.resize(end, 0);
        let n = decoder
            .read(&mut out[start..end])
            .map_err(|e| malformed(format!("zstd: {e}")))?;
        out.truncate(start + n);
        if n == 0 {
            return Ok(out);
        }
    }
}

fn malformed(message: String) -> ApiError {
    ApiError::MalformedBody {
        expected: "WriteRequestNominal (protobuf)",
        source: ParseError {
            path: ".".to_string(),
            message,
        },
    }
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
        let (stamps, values): (Vec<Timestamp>, Values) = match points {
            PointsType::DoublePoints(p) => (
                p.points.iter().map(|x| wire_ts(x.timestamp)).collect(),
                Values::Double(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::IntegerPoints(p) => (
                p.points.iter().map(|x| wire_ts(x.timestamp)).collect(),
                Values::Int(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::Uint64Points(p) => (
                p.points.iter().map(|x| wire_ts(x.timestamp)).collect(),
                Values::Uint64(p.points.iter().map(|x| x.value).collect()),
            ),
            PointsType::StringPoints(p) => (
                p.points.iter().map(|x| wire_ts(x.timestamp)).collect(),
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
        let timestamps = timestamps_of(&channel, stamps.iter())?;
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
