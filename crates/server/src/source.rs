//! The store seen through compute's `DataSource` trait: the one seam between the layers.

use sightline_compute::{ChannelKind, ChannelMeta, DataSource, SeriesMeta};
use sightline_store::{SeriesId, Store, ValueType};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Adapts a store to compute reads.
pub(crate) struct StoreSource<'a>(pub(crate) &'a dyn Store);

impl DataSource for StoreSource<'_> {
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta> {
        let info = self.0.channel(dataset, channel)?;
        let kind = match info.value_type {
            ValueType::Double | ValueType::Int | ValueType::Uint64 => ChannelKind::Numeric,
            ValueType::String => ChannelKind::Enum,
            ValueType::Log => ChannelKind::Log,
        };
        Some(ChannelMeta {
            kind,
            unit: info.unit.map(|u| u.to_string()),
        })
    }

    fn series(
        &self,
        dataset: &str,
        channel: &str,
        filter: &BTreeMap<String, String>,
    ) -> Vec<SeriesMeta> {
        self.0
            .series(dataset, channel, filter)
            .into_iter()
            .map(|s| SeriesMeta {
                id: s.id.0,
                tags: s.tags,
            })
            .collect()
    }

    fn read_numeric(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        self.0
            .read_numeric(SeriesId(series), start, end, ts, values);
    }

    fn read_strings(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        self.0
            .read_strings(SeriesId(series), start, end, ts, values);
    }

    fn read_logs(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        logs: &mut Vec<(Arc<str>, Arc<BTreeMap<String, String>>)>,
    ) {
        let mut entries = Vec::new();
        self.0
            .read_logs(SeriesId(series), start, end, ts, &mut entries);
        logs.extend(entries.into_iter().map(|e| (e.message, e.args)));
    }

    fn nth_before(&self, series: u64, t: i64, n: usize) -> Option<i64> {
        self.0.nth_before(SeriesId(series), t, n)
    }

    fn count(&self, series: u64, start: i64, end: i64) -> u64 {
        self.0.count(SeriesId(series), start, end)
    }

    fn count_bounds(&self, series: u64, start: i64, end: i64) -> (u64, u64) {
        self.0.count_bounds(SeriesId(series), start, end)
    }
}
