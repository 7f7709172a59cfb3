//! The in-memory head: per-series sorted columns behind one lock each, so readers of one
//! series never wait for writers of another. [`crate::MemoryStore`] is a head that is never
//! flushed; the durable engine keeps one active head and at most one frozen head being
//! written to segments.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::api::{Change, SeriesId, Values};
use crate::index::Plan;
use crate::points::Points;
use crate::runs::Runs;

/// Distinct strings interned per series before it is deemed high-cardinality and left alone;
/// enum channels have a handful, so this bounds the set without hurting them.
const MAX_INTERNED: usize = 4096;

/// One series in a head.
#[derive(Debug)]
pub(crate) struct SeriesData {
    /// The sorted points.
    pub(crate) points: Runs,
    /// Shared copies of this series' strings, so an enum channel holds each text once.
    dict: HashSet<Arc<str>>,
}

impl SeriesData {
    fn intern(&mut self, values: &mut Values) {
        let Values::String(v) = values else {
            return;
        };
        for s in v.iter_mut() {
            if let Some(shared) = self.dict.get(s) {
                *s = shared.clone();
            } else if self.dict.len() < MAX_INTERNED {
                self.dict.insert(s.clone());
            }
        }
    }
}

/// Shared handle to one series' data.
pub(crate) type SeriesSlot = Arc<RwLock<SeriesData>>;

/// Per-series columns plus size accounting.
#[derive(Debug, Default)]
pub(crate) struct Head {
    slots: RwLock<Vec<Option<SeriesSlot>>>,
    points: AtomicU64,
    bytes: AtomicU64,
}

impl Head {
    /// The series' slot, if the head holds it.
    pub(crate) fn get(&self, id: SeriesId) -> Option<SeriesSlot> {
        let i = usize::try_from(id.0).ok()?;
        self.slots.read().get(i)?.clone()
    }

    /// Every series held, for flushing.
    pub(crate) fn all(&self) -> Vec<(SeriesId, SeriesSlot)> {
        self.slots
            .read()
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((SeriesId(i as u64), s.clone()?)))
            .collect()
    }

    /// Points written (replacements counted twice: an upper bound, which is what a limit needs).
    pub(crate) fn points(&self) -> u64 {
        self.points.load(Ordering::Relaxed)
    }

    /// Approximate bytes held.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// Applies a committed plan's points and returns the changes to publish.
    pub(crate) fn apply(&self, plan: Plan) -> Vec<Change> {
        let mut changes = Vec::with_capacity(plan.series.len());
        for s in plan.series {
            let (Some(&earliest), Some(&latest)) = (s.points.ts.first(), s.points.ts.last()) else {
                continue;
            };
            changes.push(Change {
                dataset: s.meta.dataset.clone(),
                channel: s.meta.channel.clone(),
                series: s.id,
                earliest,
                latest,
            });
            self.insert(s.id, s.points);
        }
        changes
    }

    /// Inserts sorted, deduplicated points into one series.
    pub(crate) fn insert(&self, id: SeriesId, mut points: Points) {
        let Ok(i) = usize::try_from(id.0) else {
            return;
        };
        self.points
            .fetch_add(points.len() as u64, Ordering::Relaxed);
        self.bytes
            .fetch_add(points.approx_bytes(), Ordering::Relaxed);
        let slot = self.get(id).unwrap_or_else(|| {
            let mut slots = self.slots.write();
            if slots.len() <= i {
                slots.resize(i + 1, None);
            }
            slots[i]
                .get_or_insert_with(|| {
                    Arc::new(RwLock::new(SeriesData {
                        points: Runs::empty(points.value_type()),
                        dict: HashSet::new(),
                    }))
                })
                .clone()
        });
        let mut data = slot.write();
        data.intern(&mut points.values);
        data.points.upsert(points);
    }
}
