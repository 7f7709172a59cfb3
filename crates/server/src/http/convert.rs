//! Turns upstream write requests into store writes, validating the whole request first so a
//! rejected write stores nothing.

use crate::error::IngestError;
use sightline_store::{LogEntry, SeriesWrite, Tags, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::storage_writer::{
    ColumnValues, LogPoint, PointsExternal, WriteBatchesRequestExternal, WriteColumnBatchesRequest,
    WriteLogsRequest,
};
use sightline_wire::time::timestamp_to_nanos;
use std::sync::Arc;

/// Channel name used by `writeLogs` when the request names none.
pub(crate) const DEFAULT_LOG_CHANNEL: &str = "logs";

/// Row-shaped write (`POST /storage/writer/v1`).
pub(crate) fn row_request(
    req: WriteBatchesRequestExternal,
) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(&req.data_source_rid)?;
    let mut out = Vec::with_capacity(req.batches.len());
    for batch in req.batches {
        let channel = channel_name(&batch.channel)?;
        let (timestamps, values) = match batch.points {
            PointsExternal::Double(points) => {
                let ts = timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?;
                (ts, Values::Double(points.iter().map(|p| p.value).collect()))
            }
            PointsExternal::Int(points) => {
                let ts = timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?;
                (
                    ts,
                    Values::Int(points.iter().map(|p| i64::from(p.value)).collect()),
                )
            }
            PointsExternal::Uint64(points) => {
                let ts = timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?;
                (
                    ts,
                    Values::Uint64(uint64s(&channel, points.iter().map(|p| p.value.0))?),
                )
            }
            PointsExternal::String(points) => {
                let ts = timestamps_of(&channel, points.iter().map(|p| &p.timestamp))?;
                (
                    ts,
                    Values::String(points.iter().map(|p| Arc::from(p.value.as_str())).collect()),
                )
            }
            other => return Err(unsupported(&channel, other.variant_name())),
        };
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(channel.as_str()),
            tags: batch.tags,
            unit: batch.unit.filter(|u| !u.is_empty()).map(Arc::from),
            timestamps,
            values,
        });
    }
    Ok(out)
}

/// Column-shaped write (`POST /storage/writer/v1/columnar`).
pub(crate) fn column_request(
    req: WriteColumnBatchesRequest,
) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(&req.data_source_rid)?;
    let mut out = Vec::with_capacity(req.batches.len());
    for batch in req.batches {
        let channel = channel_name(&batch.channel)?;
        let values = match batch.values {
            ColumnValues::Doubles(v) => Values::Double(v.into_iter().map(|d| d.0).collect()),
            ColumnValues::Ints(v) => Values::Int(v.into_iter().map(i64::from).collect()),
            ColumnValues::Uint64s(v) => {
                Values::Uint64(uint64s(&channel, v.into_iter().map(|x| x.0))?)
            }
            ColumnValues::Strings(v) => {
                Values::String(v.into_iter().map(|s| Arc::from(s.as_str())).collect())
            }
            other => return Err(unsupported(&channel, other.variant_name())),
        };
        if values.len() != batch.timestamps.len() {
            return Err(IngestError::MismatchedLengths {
                channel,
                timestamps: batch.timestamps.len(),
                values: values.len(),
            });
        }
        let timestamps = timestamps_of(&channel, batch.timestamps.iter())?;
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

/// Log write (`POST /storage/writer/v1/logs/{dataSourceRid}`).
pub(crate) fn logs_request(
    rid: &str,
    req: WriteLogsRequest,
) -> Result<Vec<SeriesWrite>, IngestError> {
    let dataset = dataset_rid(rid)?;
    let channel = match req.channel {
        Some(c) => channel_name(&c)?,
        None => DEFAULT_LOG_CHANNEL.to_string(),
    };
    let timestamps = timestamps_of(&channel, req.logs.iter().map(|p: &LogPoint| &p.timestamp))?;
    let values = req
        .logs
        .into_iter()
        .map(|p| LogEntry {
            message: Arc::from(p.value.message.as_str()),
            args: Arc::new(p.value.args),
        })
        .collect();
    Ok(vec![SeriesWrite {
        dataset,
        channel: Arc::from(channel.as_str()),
        tags: Tags::new(),
        unit: None,
        timestamps,
        values: Values::Log(values),
    }])
}

/// The nanosecond timestamps of `items`, each read by `stamp`, in one pass with no
/// intermediate column (the protobuf writers' hot loop).
pub(crate) fn timestamps_from<T>(
    channel: &str,
    items: &[T],
    stamp: impl Fn(&T) -> Timestamp,
) -> Result<Vec<i64>, IngestError> {
    nanos_of(channel, items.len(), items.iter().map(stamp))
}

pub(crate) fn timestamps_of<'a>(
    channel: &str,
    stamps: impl Iterator<Item = &'a Timestamp>,
) -> Result<Vec<i64>, IngestError> {
    let len = stamps.size_hint().0;
    nanos_of(channel, len, stamps.cloned())
}

/// Every timestamp in nanoseconds; the first one out of range names its channel and index.
fn nanos_of(
    channel: &str,
    len: usize,
    stamps: impl Iterator<Item = Timestamp>,
) -> Result<Vec<i64>, IngestError> {
    let mut out = Vec::with_capacity(len);
    for (index, t) in stamps.enumerate() {
        let nanos = timestamp_to_nanos(&t).map_err(|source| IngestError::InvalidTimestamp {
            channel: channel.to_string(),
            index,
            seconds: t.seconds.0,
            nanos: t.nanos.0,
            source,
        })?;
        out.push(nanos);
    }
    Ok(out)
}

/// Safelongs are signed on the wire; a negative uint64 is a client bug, not a wrap-around.
pub(crate) fn uint64s(
    channel: &str,
    values: impl Iterator<Item = i64>,
) -> Result<Vec<u64>, IngestError> {
    values
        .map(|v| u64::try_from(v).map_err(|_| unsupported(channel, "negative uint64")))
        .collect()
}

pub(crate) fn unsupported(channel: &str, variant: &str) -> IngestError {
    IngestError::UnsupportedPoints {
        channel: channel.to_string(),
        variant: variant.to_string(),
    }
}

pub(crate) fn channel_name(name: &str) -> Result<String, IngestError> {
    if name.is_empty() {
        return Err(IngestError::EmptyChannelName);
    }
    Ok(name.to_string())
}

/// Accepts `ri.<service>.<instance>.<type>.<locator>` with non-empty parts.
pub(crate) fn dataset_rid(rid: &str) -> Result<Arc<str>, IngestError> {
    let parts: Vec<&str> = rid.splitn(5, '.').collect();
    let valid = parts.len() == 5 && parts[0] == "ri" && parts.iter().all(|p| !p.is_empty());
    if !valid {
        return Err(IngestError::InvalidDataSource {
            rid: rid.to_string(),
        });
    }
    Ok(Arc::from(rid))
}

/// Total points of a converted request.
pub(crate) fn point_count(writes: &[SeriesWrite]) -> u64 {
    writes.iter().map(|w| w.timestamps.len() as u64).sum()
}
