//! `POST /storage/writer/v1/telegraf/{dataSourceRid}`: Telegraf's JSON batch format
//! (`outputs.http` with `data_format = "json"`, `json_timestamp_units = "1ns"`).
//!
//! Each metric `{name, tags, fields, timestamp}` becomes one point per field on channel
//! `<name>.<field>` with the metric's tags. Numbers are stored as doubles (Telegraf switches
//! a field between integer and float freely; one channel keeps one type), booleans as
//! 1.0/0.0, strings as enum values. The timestamp is integer nanoseconds since the epoch, as
//! a JSON number or a string of digits. Validate all, then store.

use super::convert::{dataset_rid, unsupported};
use super::read_json;
use crate::app::App;
use crate::error::{ApiError, IngestError};
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::Value;
use sightline_store::{SeriesWrite, Tags, Values};
use sightline_wire::storage_writer::WriteTelegrafBatchesRequest;
use sightline_wire::time::{nanos_to_timestamp, timestamp_to_nanos};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The handler.
pub(crate) async fn write_telegraf(
    State(app): State<Arc<App>>,
    Path(rid): Path<String>,
    body: Body,
) -> Result<StatusCode, ApiError> {
    let req = read_json(
        body,
        app.config.max_body_bytes,
        "WriteTelegrafBatchesRequest",
    )
    .await?;
    super::ingest::store(&app, convert(&rid, req)?).await
}

/// One series being gathered: its timestamps and one column of a single kind.
enum Column {
    Double(Vec<f64>),
    String(Vec<Arc<str>>),
}

/// Checks and converts the whole request; the first problem refuses all of it.
pub(crate) fn convert(
    rid: &str,
    req: WriteTelegrafBatchesRequest,
) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(rid)?;
    // Keyed by kind too: a field that is a number in one metric and a string in another
    // yields two writes to one channel, which the store refuses as conflicting types.
    let mut series: BTreeMap<(String, Tags, bool), (Vec<i64>, Column)> = BTreeMap::new();
    for (index, metric) in req.metrics.into_iter().enumerate() {
        if metric.name.is_empty() {
            return Err(IngestError::EmptyChannelName);
        }
        let t =
            timestamp(&metric.timestamp).ok_or_else(|| IngestError::InvalidTelegrafTimestamp {
                index,
                value: metric.timestamp.to_string(),
            })?;
        for (field, value) in metric.fields {
            if field.is_empty() {
                return Err(IngestError::EmptyChannelName);
            }
            let channel = format!("{}.{field}", metric.name);
            let is_string = value.is_string();
            let key = (channel, metric.tags.clone(), is_string);
            let (stamps, column) = series.entry(key).or_insert_with(|| {
                let column = if is_string {
                    Column::String(Vec::new())
                } else {
                    Column::Double(Vec::new())
                };
                (Vec::new(), column)
            });
            match (column, value) {
                (Column::String(v), Value::String(s)) => v.push(Arc::from(s.as_str())),
                (Column::Double(v), Value::Number(n)) => {
                    // Every JSON number serde_json parses has an f64 form.
                    v.push(n.as_f64().unwrap_or(f64::NAN));
                }
                (Column::Double(v), Value::Bool(b)) => v.push(if b { 1.0 } else { 0.0 }),
                (_, other) => {
                    let channel = format!("{}.{field}", metric.name);
                    return Err(unsupported(&channel, json_kind(&other)));
                }
            }
            stamps.push(t);
        }
    }
    let out = series
        .into_iter()
        .map(|((channel, tags, _), (timestamps, column))| SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags,
            unit: None,
            timestamps,
            values: match column {
                Column::Double(v) => Values::Double(v),
                Column::String(v) => Values::String(v),
            },
        })
        .collect();
    Ok(out)
}

/// Integer nanoseconds (a JSON integer or a string of digits) inside 1900..2262.
fn timestamp(value: &Value) -> Option<i64> {
    let nanos = match value {
        Value::Number(n) => n.as_i64()?,
        Value::String(s) => s.trim().parse::<i64>().ok()?,
        _ => return None,
    };
    // The same range every other writer enforces.
    timestamp_to_nanos(&nanos_to_timestamp(nanos)).ok()
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
