//! Prometheus remote write 1.0 at `/storage/writer/v1/prometheus/{dataSourceRid}`: a
//! snappy-compressed protobuf `WriteRequest` from Prometheus, Grafana Agent, Vector or any
//! other remote-write sender, plus the `GET` health check some senders call first.
//!
//! Mapping: the `__name__` label is the channel, every other label a tag, each sample a
//! double point at its millisecond timestamp. Staleness markers (the NaN with bits
//! `0x7ff0000000000002` that Prometheus writes when a series disappears from its target)
//! are not measurements and are not stored; an ordinary NaN sample is stored as NaN.
//!
//! Status codes follow the remote write spec's retry rules: 204 only once stored; 400/413
//! for a body that can never be accepted (the sender drops it); 503 only while the store is
//! shutting down, which a retry fixes.

use super::convert::{dataset_rid, timestamps_of};
use super::encoded::{self, Encoding, Format};
use super::proto_scan::Shape;
use crate::app::App;
use crate::error::{ApiError, IngestError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use prost::Message as _;
use sightline_store::{SeriesWrite, Tags, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::conjure::SafeLong;
use sightline_wire::prometheus::{is_stale_marker, WriteRequest};
use std::sync::Arc;

const EXPECTED: &str = "Prometheus remote write WriteRequest (snappy protobuf)";

/// The body: always snappy block-compressed (some senders omit the header). Parsed-form
/// bytes per sample: prost's sample plus the store's columns; per series: its labels.
static FORMAT: Format = Format {
    expected: EXPECTED,
    accepts: &[Encoding::Snappy],
    absent: Encoding::Snappy,
    shape: Shape::Prometheus,
    parsed_bytes: (40, 200),
};

/// The label that names the metric.
const METRIC_NAME_LABEL: &str = "__name__";

/// `POST`: the remote write.
pub(crate) async fn write_prometheus(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
    Path(rid): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<StatusCode, ApiError> {
    encoded::write(&app, &caller, &headers, body, &FORMAT, move |raw| {
        let request =
            WriteRequest::decode(raw).map_err(|e| encoded::malformed(EXPECTED, e.to_string()))?;
        Ok(convert(&rid, request)?)
    })
    .await
}

/// `GET`: the health check of remote-write senders (Vector); `true` while the server runs.
pub(crate) async fn health(Path(rid): Path<String>) -> Result<Json<bool>, ApiError> {
    dataset_rid(&rid)?;
    Ok(Json(true))
}

/// Checks and converts the whole request; the first problem refuses all of it.
pub(crate) fn convert(rid: &str, request: WriteRequest) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(rid)?;
    let mut out = Vec::with_capacity(request.timeseries.len());
    for series in request.timeseries {
        let mut channel = None;
        let mut tags = Tags::new();
        for label in series.labels {
            if label.name == METRIC_NAME_LABEL {
                channel = Some(label.value);
            } else {
                tags.insert(label.name, label.value);
            }
        }
        let channel = match channel {
            Some(name) if !name.is_empty() => name,
            _ => return Err(IngestError::MissingMetricName { labels: tags }),
        };
        let samples: Vec<_> = series
            .samples
            .iter()
            .filter(|s| !is_stale_marker(s.value))
            .collect();
        if samples.is_empty() {
            continue;
        }
        let stamps: Vec<Timestamp> = samples
            .iter()
            .map(|s| Timestamp {
                seconds: SafeLong(s.timestamp.div_euclid(1_000)),
                nanos: SafeLong(s.timestamp.rem_euclid(1_000) * 1_000_000),
            })
            .collect();
        let timestamps = timestamps_of(&channel, stamps.iter())?;
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags,
            unit: None,
            timestamps,
            values: Values::Double(samples.iter().map(|s| s.value).collect()),
        });
    }
    Ok(out)
}
