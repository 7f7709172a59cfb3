//! The series index: (dataset, channel, tags) → dense [`SeriesId`], the one value type of each
//! channel, its latest unit, and the validation that turns a write batch into a [`Plan`].
//!
//! Validation is pure (nothing changes until [`Index::commit`]), which is what lets a batch
//! that fails anywhere store nothing.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::api::{
    ChannelInfo, Limits, SeriesId, SeriesInfo, SeriesWrite, StoreError, TagPart, Tags, ValueType,
};
use crate::points::{merge_newer, Points};

/// What identifies a series, and its channel's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SeriesMeta {
    /// Dataset RID.
    pub(crate) dataset: Arc<str>,
    /// Channel name.
    pub(crate) channel: Arc<str>,
    /// Tags.
    pub(crate) tags: Tags,
    /// The channel's type.
    pub(crate) value_type: ValueType,
}

#[derive(Debug)]
struct ChannelEntry {
    value_type: ValueType,
    unit: Option<Arc<str>>,
    /// Lookup by tags without building a full key per write.
    by_tags: HashMap<Tags, SeriesId>,
    series: Vec<SeriesId>,
}

/// One series' share of a validated batch.
#[derive(Debug, Clone)]
pub(crate) struct PlannedSeries {
    /// Existing or newly assigned id.
    pub(crate) id: SeriesId,
    /// The series' identity (kept so the WAL can recreate the series on replay).
    pub(crate) meta: Arc<SeriesMeta>,
    /// The unit this batch gives, if any.
    pub(crate) unit: Option<Arc<str>>,
    /// Sorted, deduplicated points (all entries of the batch for this series merged).
    pub(crate) points: Points,
}

/// A validated batch, ready to log and apply.
#[derive(Debug, Clone, Default)]
pub(crate) struct Plan {
    /// One entry per distinct series, in first-appearance order.
    pub(crate) series: Vec<PlannedSeries>,
    /// Points accepted, replacements included.
    pub(crate) points: u64,
}

/// Series and channel metadata of a store.
#[derive(Debug, Default)]
pub(crate) struct Index {
    /// By id; `None` only for ids lost to a repaired log.
    series: Vec<Option<Arc<SeriesMeta>>>,
    datasets: HashMap<Arc<str>, BTreeMap<Arc<str>, ChannelEntry>>,
    /// Series per dataset, kept so the series limit is checked without counting.
    dataset_series: HashMap<Arc<str>, u64>,
}

impl Index {
    /// Number of id slots (the next new id).
    pub(crate) fn len(&self) -> u64 {
        self.series.len() as u64
    }

    /// The series with this id.
    pub(crate) fn meta(&self, id: SeriesId) -> Option<&Arc<SeriesMeta>> {
        self.series.get(usize::try_from(id.0).ok()?)?.as_ref()
    }

    /// Every series slot, for persisting the catalog.
    pub(crate) fn slots(&self) -> &[Option<Arc<SeriesMeta>>] {
        &self.series
    }

    /// Every channel with its unit, for persisting the catalog.
    pub(crate) fn units(&self) -> Vec<(Arc<str>, Arc<str>, Arc<str>)> {
        let mut out = Vec::new();
        for (ds, chans) in &self.datasets {
            for (ch, e) in chans {
                if let Some(u) = &e.unit {
                    out.push((ds.clone(), ch.clone(), u.clone()));
                }
            }
        }
        out
    }

    /// The channel's type and unit.
    pub(crate) fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo> {
        let (name, e) = self.datasets.get(dataset)?.get_key_value(channel)?;
        Some(info(name, e))
    }

    /// Datasets with at least one channel, sorted by RID.
    pub(crate) fn datasets(&self) -> Vec<Arc<str>> {
        let mut out: Vec<Arc<str>> = self
            .datasets
            .iter()
            .filter(|(_, chans)| !chans.is_empty())
            .map(|(ds, _)| ds.clone())
            .collect();
        out.sort_unstable();
        out
    }

    /// Channels of a dataset, sorted by name.
    pub(crate) fn channels(&self, dataset: &str) -> Vec<ChannelInfo> {
        self.datasets
            .get(dataset)
            .map(|m| m.iter().map(|(n, e)| info(n, e)).collect())
            .unwrap_or_default()
    }

    /// Series of a channel whose tags contain every pair of `filter`.
    pub(crate) fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo> {
        let Some(e) = self.datasets.get(dataset).and_then(|m| m.get(channel)) else {
            return Vec::new();
        };
        e.series
            .iter()
            .filter_map(|&id| self.meta(id).map(|m| (id, m)))
            .filter(|(_, m)| filter.iter().all(|(k, v)| m.tags.get(k) == Some(v)))
            .map(|(id, m)| SeriesInfo {
                id,
                tags: m.tags.clone(),
            })
            .collect()
    }

    /// Series the dataset holds.
    pub(crate) fn dataset_series(&self, dataset: &str) -> u64 {
        self.dataset_series.get(dataset).copied().unwrap_or(0)
    }

    /// Counts one more new series of `dataset` in a write (`added`: its new series so far);
    /// refused past the dataset's series limit.
    fn admit_new_series(
        &self,
        dataset: &str,
        added: &mut u64,
        limits: &Limits,
    ) -> Result<(), StoreError> {
        let existing = self.dataset_series(dataset);
        *added += 1;
        if existing.saturating_add(*added) > limits.max_series_per_dataset {
            return Err(StoreError::TooManySeries {
                dataset: dataset.to_string(),
                existing,
                added: *added,
                limit: limits.max_series_per_dataset,
            });
        }
        Ok(())
    }

    /// Validates a batch against the index, the limits and itself. Nothing changes.
    ///
    /// One pass: each series write is looked up once (dataset, channel, tags) and checked
    /// on the spot with the same rules, in the same order, as [`Index::check`], so the
    /// first problem refused is the same either way.
    pub(crate) fn plan(
        &self,
        batch: Vec<SeriesWrite>,
        limits: &Limits,
    ) -> Result<Plan, StoreError> {
        let mut plan = Plan {
            series: Vec::with_capacity(batch.len()),
            points: 0,
        };
        // Channels this batch creates, so two series of a new channel must agree on a type.
        let mut new_channels: HashMap<(Arc<str>, Arc<str>), ValueType> = HashMap::new();
        let mut new_series: HashMap<(Arc<str>, Arc<str>, Tags), SeriesId> = HashMap::new();
        let mut added: HashMap<Arc<str>, u64> = HashMap::new();
        let mut slot_of: HashMap<SeriesId, usize> = HashMap::with_capacity(plan.series.capacity());
        for w in batch {
            if w.timestamps.len() != w.values.len() {
                return Err(StoreError::LengthMismatch {
                    channel: w.channel.to_string(),
                    timestamps: w.timestamps.len(),
                    values: w.values.len(),
                });
            }
            check_tags(&w, limits)?;
            let attempted = w.values.value_type();
            let entry = self
                .datasets
                .get(&*w.dataset)
                .and_then(|m| m.get(&*w.channel));
            let existing = match entry {
                Some(e) => Some(e.value_type),
                None => new_channels
                    .get(&(w.dataset.clone(), w.channel.clone()))
                    .copied(),
            };
            if let Some(existing) = existing.filter(|&t| t != attempted) {
                return Err(StoreError::TypeConflict {
                    dataset: w.dataset.to_string(),
                    channel: w.channel.to_string(),
                    existing: existing.name(),
                    attempted: attempted.name(),
                });
            }
            if entry.is_none() {
                new_channels
                    .entry((w.dataset.clone(), w.channel.clone()))
                    .or_insert(attempted);
            }
            let known = entry.and_then(|e| e.by_tags.get(&w.tags).copied());
            let id = match known {
                Some(id) => id,
                None => {
                    let key = (w.dataset.clone(), w.channel.clone(), w.tags.clone());
                    let next = SeriesId(self.len() + new_series.len() as u64);
                    match new_series.get(&key) {
                        Some(&id) => id,
                        None => {
                            let n = added.entry(w.dataset.clone()).or_insert(0);
                            self.admit_new_series(&w.dataset, n, limits)?;
                            new_series.insert(key, next);
                            next
                        }
                    }
                }
            };
            plan.points += w.timestamps.len() as u64;
            let points = Points::normalize(w.timestamps, w.values);
            match slot_of.get(&id).copied() {
                Some(i) => {
                    let s = &mut plan.series[i];
                    let older = std::mem::replace(&mut s.points, Points::empty(attempted));
                    s.points = merge_newer(older, points);
                    if w.unit.is_some() {
                        s.unit = w.unit;
                    }
                }
                None => {
                    let meta = match self.meta(id) {
                        Some(m) => m.clone(),
                        None => Arc::new(SeriesMeta {
                            dataset: w.dataset,
                            channel: w.channel,
                            tags: w.tags,
                            value_type: attempted,
                        }),
                    };
                    slot_of.insert(id, plan.series.len());
                    plan.series.push(PlannedSeries {
                        id,
                        meta,
                        unit: w.unit,
                        points,
                    });
                }
            }
        }
        Ok(plan)
    }

    /// Checks a batch against the index, the limits and itself without building anything:
    /// lengths, one type per channel, tag limits, and the series limit (distinct new series
    /// per dataset). What [`Index::plan`] refuses, this refuses; the cluster calls it (through
    /// `Store::validate`) before it publishes a write every node must accept.
    pub(crate) fn check(&self, batch: &[SeriesWrite], limits: &Limits) -> Result<(), StoreError> {
        let mut types: HashMap<(&str, &str), ValueType> = HashMap::new();
        let mut new_series: std::collections::HashSet<(&str, &str, &Tags)> =
            std::collections::HashSet::new();
        let mut added: HashMap<&str, u64> = HashMap::new();
        for w in batch {
            if w.timestamps.len() != w.values.len() {
                return Err(StoreError::LengthMismatch {
                    channel: w.channel.to_string(),
                    timestamps: w.timestamps.len(),
                    values: w.values.len(),
                });
            }
            check_tags(w, limits)?;
            let attempted = w.values.value_type();
            let entry = self
                .datasets
                .get(&*w.dataset)
                .and_then(|m| m.get(&*w.channel));
            let key = (&*w.dataset, &*w.channel);
            let existing = entry
                .map(|e| e.value_type)
                .or_else(|| types.get(&key).copied());
            if let Some(existing) = existing.filter(|&t| t != attempted) {
                return Err(StoreError::TypeConflict {
                    dataset: w.dataset.to_string(),
                    channel: w.channel.to_string(),
                    existing: existing.name(),
                    attempted: attempted.name(),
                });
            }
            types.entry(key).or_insert(attempted);
            let known = entry.is_some_and(|e| e.by_tags.contains_key(&w.tags));
            if known || !new_series.insert((&w.dataset, &w.channel, &w.tags)) {
                continue;
            }
            self.admit_new_series(&w.dataset, added.entry(&w.dataset).or_insert(0), limits)?;
        }
        Ok(())
    }

    /// Applies a validated plan's metadata: new series, channels and units.
    pub(crate) fn commit(&mut self, plan: &Plan) {
        for s in &plan.series {
            self.register(s.id, &s.meta);
            if let Some(u) = &s.unit {
                self.set_unit(&s.meta.dataset, &s.meta.channel, u.clone());
            }
        }
    }

    /// Records a series under `id` (used by commit, catalog load and log replay). Returns
    /// false if the id is already taken by another series or the type clashes: the caller
    /// decides whether that is corruption.
    pub(crate) fn register(&mut self, id: SeriesId, meta: &Arc<SeriesMeta>) -> bool {
        let Ok(slot) = usize::try_from(id.0) else {
            return false;
        };
        if let Some(Some(existing)) = self.series.get(slot) {
            return **existing == **meta;
        }
        let chans = self.datasets.entry(meta.dataset.clone()).or_default();
        let entry = chans
            .entry(meta.channel.clone())
            .or_insert_with(|| ChannelEntry {
                value_type: meta.value_type,
                unit: None,
                by_tags: HashMap::new(),
                series: Vec::new(),
            });
        if entry.value_type != meta.value_type || entry.by_tags.contains_key(&meta.tags) {
            return false;
        }
        entry.by_tags.insert(meta.tags.clone(), id);
        entry.series.push(id);
        *self.dataset_series.entry(meta.dataset.clone()).or_insert(0) += 1;
        if self.series.len() <= slot {
            self.series.resize(slot + 1, None);
        }
        self.series[slot] = Some(meta.clone());
        true
    }

    /// Sets a channel's unit (the latest given wins).
    pub(crate) fn set_unit(&mut self, dataset: &str, channel: &str, unit: Arc<str>) {
        if let Some(e) = self
            .datasets
            .get_mut(dataset)
            .and_then(|m| m.get_mut(channel))
        {
            e.unit = Some(unit);
        }
    }
}

/// The tag limits, which hold for every series write (new or not), so a write is refused
/// the same way whether or not its series exists.
fn check_tags(w: &SeriesWrite, limits: &Limits) -> Result<(), StoreError> {
    if w.tags.len() > limits.max_tags_per_series {
        return Err(StoreError::TooManyTags {
            dataset: w.dataset.to_string(),
            channel: w.channel.to_string(),
            tags: w.tags.len(),
            limit: limits.max_tags_per_series,
        });
    }
    for (key, value) in &w.tags {
        let (part, length, limit) = if key.len() > limits.max_tag_key_bytes {
            (TagPart::Key, key.len(), limits.max_tag_key_bytes)
        } else if value.len() > limits.max_tag_value_bytes {
            (TagPart::Value, value.len(), limits.max_tag_value_bytes)
        } else {
            continue;
        };
        return Err(StoreError::TagTooLong {
            dataset: w.dataset.to_string(),
            channel: w.channel.to_string(),
            part,
            key: cut(key, limits.max_tag_key_bytes.min(128)),
            length,
            limit,
        });
    }
    Ok(())
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn info(name: &Arc<str>, e: &ChannelEntry) -> ChannelInfo {
    ChannelInfo {
        channel: name.clone(),
        value_type: e.value_type,
        unit: e.unit.clone(),
    }
}
