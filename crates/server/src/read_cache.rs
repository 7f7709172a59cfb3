//! A per-request read cache over the store's compute adapter: the computations of one batch
//! request that read the same series over the same range share one store read.
//!
//! Lock order: the map lock is held only to find or insert a key's cell, never across a
//! store read; the store read happens inside the cell's one-time initialization, so two
//! entries that race for one key wait for the single read instead of doing two.
//!
//! Memory: the cache lives as long as its request and holds what the request's
//! computations read anyway, each column once.

use crate::source::StoreSource;
use parking_lot::Mutex;
use sightline_compute::{ChannelMeta, DataSource, LogEntry, SeriesMeta};
use sightline_store::Store;
use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

/// One read: a series over an inclusive range.
type ReadKey = (u64, i64, i64);

/// Read once, shared by every computation of the request that asks for the same key.
type Cells<T> = Mutex<HashMap<ReadKey, Arc<OnceLock<Arc<(Vec<i64>, Vec<T>)>>>>>;

/// The store as a compute `DataSource`, with point reads shared across computations.
pub(crate) struct CachedSource {
    store: Arc<dyn Store>,
    numeric: Cells<f64>,
    strings: Cells<Arc<str>>,
    /// Point reads that went to the store (the rest were served from the cache).
    store_reads: AtomicU64,
}

impl CachedSource {
    pub(crate) fn new(store: Arc<dyn Store>) -> CachedSource {
        CachedSource {
            store,
            numeric: Mutex::new(HashMap::new()),
            strings: Mutex::new(HashMap::new()),
            store_reads: AtomicU64::new(0),
        }
    }

    fn inner(&self) -> StoreSource<'_> {
        StoreSource(self.store.as_ref())
    }

    /// Point reads that reached the store so far.
    pub(crate) fn store_reads(&self) -> u64 {
        self.store_reads.load(Ordering::Relaxed)
    }

    /// The cached columns for `key`, reading them with `read` on the first request.
    fn shared<T>(
        &self,
        cells: &Cells<T>,
        key: ReadKey,
        read: impl FnOnce(&mut Vec<i64>, &mut Vec<T>),
    ) -> Arc<(Vec<i64>, Vec<T>)> {
        let cell = cell_for(cells, key);
        cell.get_or_init(|| {
            self.store_reads.fetch_add(1, Ordering::Relaxed);
            let (mut ts, mut values) = (Vec::new(), Vec::new());
            read(&mut ts, &mut values);
            Arc::new((ts, values))
        })
        .clone()
    }
}

/// Finds or inserts the cell of `key`; the map lock ends with this function.
fn cell_for<K: Eq + Hash, V>(
    cells: &Mutex<HashMap<K, Arc<OnceLock<V>>>>,
    key: K,
) -> Arc<OnceLock<V>> {
    cells.lock().entry(key).or_default().clone()
}

impl DataSource for CachedSource {
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta> {
        self.inner().channel(dataset, channel)
    }

    fn series(
        &self,
        dataset: &str,
        channel: &str,
        filter: &BTreeMap<String, String>,
    ) -> Vec<SeriesMeta> {
        self.inner().series(dataset, channel, filter)
    }

    fn read_numeric(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        let cols = self.shared(&self.numeric, (series, start, end), |t, v| {
            self.inner().read_numeric(series, start, end, t, v)
        });
        ts.extend_from_slice(&cols.0);
        values.extend_from_slice(&cols.1);
    }

    fn read_strings(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        let cols = self.shared(&self.strings, (series, start, end), |t, v| {
            self.inner().read_strings(series, start, end, t, v)
        });
        ts.extend_from_slice(&cols.0);
        values.extend_from_slice(&cols.1);
    }

    fn read_logs(
        &self,
        series: u64,
        start: i64,
        end: i64,
        ts: &mut Vec<i64>,
        logs: &mut Vec<LogEntry>,
    ) {
        // Log reads are rare in dashboards and their entries are large: not cached.
        self.store_reads.fetch_add(1, Ordering::Relaxed);
        self.inner().read_logs(series, start, end, ts, logs);
    }

    fn nth_before(&self, series: u64, t: i64, n: usize) -> Option<i64> {
        self.inner().nth_before(series, t, n)
    }

    fn count(&self, series: u64, start: i64, end: i64) -> u64 {
        self.inner().count(series, start, end)
    }
}
