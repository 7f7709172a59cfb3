//! Sightline's discovery endpoints for what upstream keeps in other services: the datasets
//! in the store and, for one channel, its tags, point count and time span.
//!
//! ```text
//! GET /sightline/v1/datasets                              → {"datasets": [{rid, channels}]}
//! GET /sightline/v1/datasets/{rid}/channels/{channel}     → ChannelDetails
//! ```

use crate::app::App;
use crate::discovery::{self, ChannelFacts};
use crate::error::{blocking, ApiError, DiscoveryError};
use axum::extract::{Path, State};
use axum::Json;
use serde::Serialize;
use sightline_wire::api::{SeriesDataType, Timestamp};
use sightline_wire::time::nanos_to_timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// One dataset and how many channels it holds.
#[derive(Debug, Serialize)]
pub(crate) struct DatasetSummary {
    rid: String,
    channels: usize,
}

/// `GET /sightline/v1/datasets`.
#[derive(Debug, Serialize)]
pub(crate) struct DatasetList {
    datasets: Vec<DatasetSummary>,
}

/// When a series or channel holds points: wire timestamps plus RFC 3339 for people.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Span {
    first: Timestamp,
    last: Timestamp,
    first_time: String,
    last_time: String,
}

impl Span {
    fn new(bounds: Option<(i64, i64)>) -> Option<Span> {
        let (first, last) = bounds?;
        Some(Span {
            first: nanos_to_timestamp(first),
            last: nanos_to_timestamp(last),
            first_time: rfc3339(first),
            last_time: rfc3339(last),
        })
    }
}

fn rfc3339(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// One series of the channel.
#[derive(Debug, Serialize)]
pub(crate) struct SeriesDetails {
    tags: BTreeMap<String, String>,
    points: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<Span>,
}

/// `GET /sightline/v1/datasets/{rid}/channels/{channel}`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ChannelDetails {
    data_source: String,
    name: String,
    data_type: SeriesDataType,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    /// Each tag key with all the values its series carry.
    tags: BTreeMap<String, BTreeSet<String>>,
    points: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    span: Option<Span>,
    series: Vec<SeriesDetails>,
}

/// `GET /sightline/v1/datasets`.
pub(crate) async fn list_datasets(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
) -> Result<Json<DatasetList>, ApiError> {
    let store = app.store.clone();
    let datasets = blocking(move || {
        Ok(store
            .datasets()
            .into_iter()
            .filter(|rid| caller.can_read(rid))
            .map(|rid| DatasetSummary {
                channels: store.channels(&rid).len(),
                rid: rid.to_string(),
            })
            .collect())
    })
    .await?;
    Ok(Json(DatasetList { datasets }))
}

/// `GET /sightline/v1/datasets/{rid}/channels/{channel}`.
pub(crate) async fn channel_details(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
    Path((rid, channel)): Path<(String, String)>,
) -> Result<Json<ChannelDetails>, ApiError> {
    caller.require_read([rid.as_str()])?;
    let store = app.store.clone();
    blocking(move || {
        let facts = discovery::channel_facts(store.as_ref(), &rid, &channel);
        match facts {
            Some(facts) => Ok(Json(details(rid, channel, facts))),
            None if store.channels(&rid).is_empty() => {
                Err(DiscoveryError::UnknownDataset { rid }.into())
            }
            None => Err(DiscoveryError::UnknownChannel {
                dataset: rid,
                channel,
            }
            .into()),
        }
    })
    .await
}

fn details(data_source: String, name: String, facts: ChannelFacts) -> ChannelDetails {
    ChannelDetails {
        points: facts.points(),
        span: Span::new(facts.bounds()),
        data_source,
        name,
        data_type: facts.data_type,
        unit: facts.unit.map(|u| u.to_string()),
        tags: facts.tags,
        series: facts
            .series
            .into_iter()
            .map(|s| SeriesDetails {
                tags: s.tags.into_iter().collect(),
                points: s.points,
                span: Span::new(s.bounds),
            })
            .collect(),
    }
}
