//! Channel discovery: which datasets and channels exist, found by text, type and dataset.
//!
//! Owns the ranking of channel search (pure, over store metadata) and the per-channel facts
//! (tags, point counts, first and last timestamps). Knows nothing of HTTP: `http::search`
//! and `http::datasets` render these results on the wire.

mod rank;

pub(crate) use rank::{rank, Candidate, Query};

use sightline_store::{Store, Tags, ValueType};
use sightline_wire::api::SeriesDataType;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The upstream data type of a stored value type.
pub(crate) fn data_type(value_type: ValueType) -> SeriesDataType {
    match value_type {
        ValueType::Double => SeriesDataType::Double,
        ValueType::Int => SeriesDataType::Int,
        ValueType::Uint64 => SeriesDataType::Uint,
        ValueType::String => SeriesDataType::String,
        ValueType::Log => SeriesDataType::Log,
    }
}

/// Every channel of the given datasets (all datasets when `datasets` is empty).
pub(crate) fn candidates(store: &dyn Store, datasets: &[String]) -> Vec<Candidate> {
    let rids: Vec<Arc<str>> = if datasets.is_empty() {
        store.datasets()
    } else {
        let wanted: BTreeSet<&str> = datasets.iter().map(String::as_str).collect();
        wanted.into_iter().map(Arc::from).collect()
    };
    let mut out = Vec::new();
    for rid in rids {
        for info in store.channels(&rid) {
            out.push(Candidate {
                dataset: rid.clone(),
                channel: info.channel,
                data_type: data_type(info.value_type),
                unit: info.unit,
            });
        }
    }
    out
}

/// One series of a channel: its tags and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SeriesFacts {
    /// The series' tags.
    pub(crate) tags: Tags,
    /// Points stored, over all time.
    pub(crate) points: u64,
    /// First and last timestamp (ns), if it holds any point.
    pub(crate) bounds: Option<(i64, i64)>,
}

/// What the store knows of one channel.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ChannelFacts {
    /// The channel's data type.
    pub(crate) data_type: SeriesDataType,
    /// The latest unit written, if any.
    pub(crate) unit: Option<Arc<str>>,
    /// Each tag key with every value its series carry.
    pub(crate) tags: BTreeMap<String, BTreeSet<String>>,
    /// One entry per series, in the store's order.
    pub(crate) series: Vec<SeriesFacts>,
}

impl ChannelFacts {
    /// Points over every series.
    pub(crate) fn points(&self) -> u64 {
        self.series.iter().map(|s| s.points).sum()
    }

    /// First and last timestamp over every series.
    pub(crate) fn bounds(&self) -> Option<(i64, i64)> {
        self.series
            .iter()
            .filter_map(|s| s.bounds)
            .reduce(|(a, b), (lo, hi)| (a.min(lo), b.max(hi)))
    }
}

/// Facts about a channel, or `None` if the dataset has no such channel. Counts come from
/// the store's block index, so this stays cheap for long histories.
pub(crate) fn channel_facts(
    store: &dyn Store,
    dataset: &str,
    channel: &str,
) -> Option<ChannelFacts> {
    let info = store.channel(dataset, channel)?;
    let mut tags: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let series = store
        .series(dataset, channel, &Tags::new())
        .into_iter()
        .map(|s| {
            for (k, v) in &s.tags {
                tags.entry(k.clone()).or_default().insert(v.clone());
            }
            SeriesFacts {
                points: store.count(s.id, i64::MIN, i64::MAX),
                bounds: store.time_bounds(s.id),
                tags: s.tags,
            }
        })
        .collect();
    Some(ChannelFacts {
        data_type: data_type(info.value_type),
        unit: info.unit,
        tags,
        series,
    })
}
