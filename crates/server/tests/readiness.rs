//! `/health` reports the store's readiness, and a store that refuses (a cluster node whose
//! unapplied writes expired from its log) keeps data endpoints closed. The store here is the
//! real in-memory engine; only its readiness is set by the test, standing in for a cluster
//! node's replication state (the cluster tests of `crates/sightline` drive the real one).

mod common;

use anyhow::{ensure, Result};
use common::TestServer;
use serde_json::json;
use sightline_server::ServerConfig;
use sightline_store::{
    Change, ChannelInfo, LogEntry, MemoryStore, Readiness, SeriesId, SeriesInfo, SeriesWrite,
    Store, StoreError, Tags, WriteReceipt,
};
use std::sync::{Arc, Mutex};

/// A [`MemoryStore`] whose readiness the test sets.
struct Staged {
    inner: MemoryStore,
    readiness: Mutex<Readiness>,
}

impl Staged {
    fn set(&self, readiness: Readiness) {
        *self.readiness.lock().expect("lock") = readiness;
    }
}

impl Store for Staged {
    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError> {
        self.inner.write(batch)
    }
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo> {
        self.inner.channel(dataset, channel)
    }
    fn channels(&self, dataset: &str) -> Vec<ChannelInfo> {
        self.inner.channels(dataset)
    }
    fn datasets(&self) -> Vec<Arc<str>> {
        self.inner.datasets()
    }
    fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo> {
        self.inner.series(dataset, channel, filter)
    }
    fn read_numeric(&self, id: SeriesId, s: i64, e: i64, t: &mut Vec<i64>, v: &mut Vec<f64>) {
        self.inner.read_numeric(id, s, e, t, v)
    }
    fn read_strings(&self, id: SeriesId, s: i64, e: i64, t: &mut Vec<i64>, v: &mut Vec<Arc<str>>) {
        self.inner.read_strings(id, s, e, t, v)
    }
    fn read_logs(&self, id: SeriesId, s: i64, e: i64, t: &mut Vec<i64>, v: &mut Vec<LogEntry>) {
        self.inner.read_logs(id, s, e, t, v)
    }
    fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64> {
        self.inner.nth_before(id, t, n)
    }
    fn count(&self, id: SeriesId, start: i64, end: i64) -> u64 {
        self.inner.count(id, start, end)
    }
    fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)> {
        self.inner.time_bounds(id)
    }
    fn changes(&self) -> tokio::sync::broadcast::Receiver<Arc<Vec<Change>>> {
        self.inner.changes()
    }
    fn readiness(&self) -> Readiness {
        *self.readiness.lock().expect("lock")
    }
    fn metrics(&self) -> Vec<(&'static str, f64)> {
        self.inner.metrics()
    }
    fn close(&self) -> Result<(), StoreError> {
        self.inner.close()
    }
}

const DATASET: &str = "ri.sightline.test.dataset.readiness";

fn write_body() -> serde_json::Value {
    json!({"dataSourceRid": DATASET, "batches": [{"channel": "x",
        "timestamps": [{"seconds": 1_764_345_600, "nanos": 0}],
        "values": {"type": "doubles", "doubles": [1.0]}}]})
}

#[tokio::test]
async fn health_follows_the_stores_readiness_and_a_refusing_store_serves_no_data() -> Result<()> {
    let store = Arc::new(Staged {
        inner: MemoryStore::new(),
        readiness: Mutex::new(Readiness::Ready),
    });
    let s = TestServer::start_with_store(store.clone(), ServerConfig::default(), None).await?;

    let health = s.get("/health").await?;
    ensure!(health.status == 200, "{}", health.text());
    ensure!(
        health.json()? == json!({"status": "ok"}),
        "{}",
        health.text()
    );

    store.set(Readiness::CatchingUp {
        applied: 40,
        target: 1000,
    });
    let health = s.get("/health").await?;
    ensure!(health.status == 503, "catching up: {}", health.text());
    let body = health.json()?;
    ensure!(body["status"] == "catching-up", "{body}");
    ensure!(body["appliedSequence"] == 40, "{body}");
    ensure!(body["targetSequence"] == 1000, "{body}");
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("40 of 1000")),
        "{body}"
    );
    // A node catching up still serves (its data is stale, not wrong; balancers keep away).
    s.write_columns(&write_body()).await?.no_content()?;

    store.set(Readiness::Refusing {
        applied: 12,
        first_available: 500,
    });
    let health = s.get("/health").await?;
    ensure!(health.status == 503, "refusing: {}", health.text());
    let body = health.json()?;
    ensure!(body["status"] == "refusing", "{body}");
    ensure!(body["appliedSequence"] == 12, "{body}");
    ensure!(body["firstAvailableSequence"] == 500, "{body}");
    ensure!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("Re-seed it")),
        "the body says how to re-seed: {body}"
    );
    // Writes and reads are refused with a name and the positions; /metrics still answers.
    let refused = s.write_columns(&write_body()).await?.conjure_error(503)?;
    ensure!(refused.error_name == "Sightline:StoreUnavailable");
    ensure!(refused.param("appliedSequence") == Some("12"));
    ensure!(refused.param("firstAvailableSequence") == Some("500"));
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "literal", "literal": DATASET},
            "channel": {"type": "literal", "literal": "x"}}}}}}});
    let read = s
        .compute_reply(&node, 1_764_345_599_000_000_000, 1_764_345_601_000_000_000)
        .await?;
    ensure!(
        read.conjure_error(503)?.error_name == "Sightline:StoreUnavailable",
        "{}",
        read.text()
    );
    let upgrade = s.try_connect().await?;
    ensure!(
        matches!(upgrade, Err((503, _))),
        "a refusing node takes no subscriptions"
    );
    ensure!(s.get("/metrics").await?.status == 200);

    store.set(Readiness::Ready);
    ensure!(s.get("/health").await?.status == 200);
    let read = s
        .compute(&node, 1_764_345_599_000_000_000, 1_764_345_601_000_000_000)
        .await?;
    ensure!(
        serde_json::to_value(&read)?["numeric"]["values"] == json!([1.0]),
        "the write made while catching up is there"
    );
    Ok(())
}
