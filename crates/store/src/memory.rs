//! [`MemoryStore`]: the whole [`Store`] contract in memory, with nothing written to disk.
//! Used by tests and by `sightline serve` without a data directory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tokio::sync::broadcast;

use crate::api::{
    Change, ChannelInfo, Limits, LogEntry, SeriesId, SeriesInfo, SeriesWrite, Store, StoreError,
    Tags, WriteReceipt,
};
use crate::head::Head;
use crate::index::Index;
use crate::points::push_numeric;

/// Change-feed buffer per receiver; a receiver further behind gets `Lagged`.
pub(crate) const FEED_CAPACITY: usize = 4096;

/// An in-memory store. Cheap to create; data lives until the store is dropped.
#[derive(Debug)]
pub struct MemoryStore {
    index: RwLock<Index>,
    head: Head,
    /// Serializes writers so that concurrent writes to one series replace in a single,
    /// well-defined order (the one the change feed reports).
    writer: Mutex<()>,
    feed: broadcast::Sender<Arc<Vec<Change>>>,
    closed: AtomicBool,
    ingested: AtomicU64,
    /// What writes may create.
    limits: Limits,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    /// An empty store with the default [`Limits`].
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    /// An empty store that refuses writes past `limits`.
    pub fn with_limits(limits: Limits) -> Self {
        MemoryStore {
            limits,
            index: RwLock::new(Index::default()),
            head: Head::default(),
            writer: Mutex::new(()),
            feed: broadcast::channel(FEED_CAPACITY).0,
            closed: AtomicBool::new(false),
            ingested: AtomicU64::new(0),
        }
    }
}

impl Store for MemoryStore {
    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError> {
        let changes = {
            let _w = self.writer.lock();
            if self.closed.load(Ordering::Acquire) {
                return Err(StoreError::Closed);
            }
            let plan = self.index.read().plan(batch, &self.limits)?;
            self.index.write().commit(&plan);
            self.ingested.fetch_add(plan.points, Ordering::Relaxed);
            let points = plan.points;
            (self.head.apply(plan), points)
        };
        let (changes, points) = changes;
        if !changes.is_empty() {
            // No receivers is fine: nobody is subscribed.
            let _ = self.feed.send(Arc::new(changes));
        }
        Ok(WriteReceipt { points })
    }

    fn validate(&self, batch: &[SeriesWrite]) -> Result<(), StoreError> {
        self.index.read().check(batch, &self.limits)
    }

    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo> {
        self.index.read().channel(dataset, channel)
    }

    fn channels(&self, dataset: &str) -> Vec<ChannelInfo> {
        self.index.read().channels(dataset)
    }

    fn datasets(&self) -> Vec<Arc<str>> {
        self.index.read().datasets()
    }

    fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo> {
        self.index.read().series(dataset, channel, filter)
    }

    fn read_numeric(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        if let Some(slot) = self.head.get(id) {
            let d = slot.read();
            d.points
                .for_each_in(start, end, |p, r| push_numeric(p, r, timestamps, values));
        }
    }

    fn read_strings(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        if let Some(slot) = self.head.get(id) {
            let d = slot.read();
            d.points.for_each_in(start, end, |p, r| {
                if let crate::api::Values::String(v) = &p.values {
                    timestamps.extend_from_slice(&p.ts[r.clone()]);
                    values.extend_from_slice(&v[r]);
                }
            });
        }
    }

    fn read_logs(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<LogEntry>,
    ) {
        if let Some(slot) = self.head.get(id) {
            let d = slot.read();
            d.points.for_each_in(start, end, |p, r| {
                if let crate::api::Values::Log(v) = &p.values {
                    timestamps.extend_from_slice(&p.ts[r.clone()]);
                    values.extend_from_slice(&v[r]);
                }
            });
        }
    }

    fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64> {
        self.head.get(id)?.read().points.nth_before(t, n)
    }

    fn count(&self, id: SeriesId, start: i64, end: i64) -> u64 {
        self.head
            .get(id)
            .and_then(|s| s.read().points.bounds_in(start, end))
            .map_or(0, |(_, _, n)| n)
    }

    fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)> {
        let slot = self.head.get(id)?;
        let d = slot.read();
        d.points.bounds()
    }

    fn changes(&self) -> broadcast::Receiver<Arc<Vec<Change>>> {
        self.feed.subscribe()
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        // The index guard ends with this statement, before anything else is read.
        let series = self.index.read().len();
        vec![
            (
                "store_points_ingested_total",
                self.ingested.load(Ordering::Relaxed) as f64,
            ),
            ("store_series", series as f64),
            ("store_head_points", self.head.points() as f64),
            ("store_head_bytes", self.head.bytes() as f64),
        ]
    }

    fn close(&self) -> Result<(), StoreError> {
        let _w = self.writer.lock();
        self.closed.store(true, Ordering::Release);
        Ok(())
    }
}
