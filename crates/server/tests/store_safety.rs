//! The store's safety over the wire: `/metrics` scraped while writes and subscriptions run
//! never deadlocks the server (a durable store, as in production), and the cardinality
//! limits answer a clear 400 naming the limit, with nothing of the request stored.

mod common;

use anyhow::{ensure, Context as _, Result};
use common::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use sightline_store::{DurableStore, Limits, MemoryStore, Store, StoreConfig};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

const RID: &str = "ri.sightline.test.dataset.safety";

/// How long writers, scrapers and subscribers run together.
const RUN: Duration = Duration::from_secs(4);
/// Bound on every wait after the run: a deadlocked server fails here instead of hanging.
const AFTER: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn metrics_scrapes_writes_and_subscriptions_together_never_deadlock() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = StoreConfig::new(dir.path());
    // A small head: writers also freeze heads and the background thread flushes them.
    config.head_limit_bytes = 32 << 10;
    let store = tokio::task::spawn_blocking(move || DurableStore::open(config)).await??;
    let server = Arc::new(
        TestServer::start_with_store(Arc::new(store), ServerConfig::default(), None).await?,
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writes = Arc::new(AtomicU64::new(0));
    let scrapes = Arc::new(AtomicU64::new(0));
    let subscribed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..3i64 {
        let (server, stop, writes) = (server.clone(), stop.clone(), writes.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0i64;
            while !stop.load(Ordering::Relaxed) {
                i += 1;
                // A new series every few writes: the index's write lock is taken too.
                let unit = format!("u{}", (i / 4) % 40 + w * 100);
                let t = server.now();
                server
                    .write_columns(&columnar(
                        RID,
                        vec![
                            double_column("load", &[("unit", &unit)], &[(t, i as f64)]),
                            double_column("watched", &[], &[(t, i as f64)]),
                        ],
                    ))
                    .await?
                    .no_content()?;
                writes.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    for _ in 0..2 {
        let (server, stop, scrapes) = (server.clone(), stop.clone(), scrapes.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let reply = server.get("/metrics").await?;
                ensure!(reply.status == 200, "/metrics answered {}", reply.status);
                ensure!(reply.text().contains("sightline_store_series"));
                scrapes.fetch_add(1, Ordering::Relaxed);
            }
            anyhow::Ok(())
        }));
    }
    {
        let (server, stop, subscribed) = (server.clone(), stop.clone(), subscribed.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut ws = server.connect().await?;
                let id = Uuid::new_v4();
                let node = numeric_node(RID, "watched");
                ws.subscribe_ok(id, subscription(node, 60 * SEC, options(0, Some(true))))
                    .await?;
                // Only the full result is awaited: an append needs a write, and the writers
                // may already have stopped.
                subscribed.fetch_add(1, Ordering::Relaxed);
                ws.close().await;
            }
            anyhow::Ok(())
        }));
    }
    tokio::time::sleep(RUN).await;
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        tokio::time::timeout(AFTER, task)
            .await
            .context("a client was still waiting on the server after the run: deadlock")???;
    }
    ensure!(writes.load(Ordering::Relaxed) > 0, "no write completed");
    ensure!(scrapes.load(Ordering::Relaxed) > 0, "no scrape completed");
    ensure!(
        subscribed.load(Ordering::Relaxed) > 0,
        "no subscription started"
    );

    // The server still answers everything.
    let after = async {
        let text = server.get("/metrics").await?.text();
        ensure!(
            text.contains("sightline_store_points_ingested_total"),
            "{text}"
        );
        let t = server.now();
        server.write_doubles(RID, "after", &[(t, 1.0)]).await?;
        let result = server
            .compute(&numeric_node(RID, "after"), t - SEC, t + SEC)
            .await?;
        ensure!(numeric_points(&result)? == vec![(t, 1.0)]);
        let mut ws = server.connect().await?;
        let id = Uuid::new_v4();
        ws.subscribe_ok(
            id,
            subscription(numeric_node(RID, "after"), 60 * SEC, options(0, Some(true))),
        )
        .await?;
        ws.close().await;
        anyhow::Ok(())
    };
    tokio::time::timeout(AFTER, after)
        .await
        .context("the server stopped answering after the run: deadlock")??;
    Ok(())
}

/// Tags of the refused series, error name, `limitName`, `limit`.
type TagCase<'a> = (&'a [(&'a str, &'a str)], &'a str, &'a str, &'a str);

fn limits() -> Limits {
    Limits {
        max_series_per_dataset: 3,
        max_tags_per_series: 2,
        max_tag_key_bytes: 8,
        max_tag_value_bytes: 16,
    }
}

async fn limited_server() -> Result<(TestServer, Arc<dyn Store>)> {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::with_limits(limits()));
    let server =
        TestServer::start_with_store(store.clone(), ServerConfig::default(), Some(BASE)).await?;
    Ok((server, store))
}

fn column(channel: &str, tags: &[(&str, &str)]) -> Value {
    double_column(channel, tags, &[(BASE, 1.0)])
}

/// Every series of the dataset, over all channels.
fn stored_series(store: &dyn Store) -> usize {
    store
        .channels(RID)
        .iter()
        .map(|c| store.series(RID, &c.channel, &Default::default()).len())
        .sum()
}

#[tokio::test]
async fn too_many_series_is_a_400_naming_the_limit_and_stores_nothing() -> Result<()> {
    let (server, store) = limited_server().await?;
    server
        .write_columns(&columnar(
            RID,
            vec![column("a", &[("n", "1")]), column("a", &[("n", "2")])],
        ))
        .await?
        .no_content()?;
    let reply = server
        .write_columns(&columnar(
            RID,
            vec![
                double_column("a", &[("n", "1")], &[(BASE + SEC, 2.0)]),
                column("b", &[]),
                column("a", &[("n", "3")]),
            ],
        ))
        .await?;
    let error = reply.conjure_error(400)?;
    ensure!(error.error_name == "Sightline:TooManySeries", "{error:?}");
    ensure!(error.param("dataSourceRid") == Some(RID), "{error:?}");
    ensure!(error.param("limit") == Some("3"), "{error:?}");
    ensure!(
        error.param("limitName") == Some("maxSeriesPerDataset"),
        "{error:?}"
    );
    ensure!(
        reply.text().contains("limit of 3 series per dataset"),
        "{}",
        reply.text()
    );
    ensure!(
        stored_series(&*store) == 2,
        "a refused write created series"
    );
    ensure!(store.channel(RID, "b").is_none());
    let result = server
        .compute(
            &series_node("numeric", RID, "a", &[("n", "1")], None),
            BASE - SEC,
            BASE + 2 * SEC,
        )
        .await?;
    ensure!(
        numeric_points(&result)? == vec![(BASE, 1.0)],
        "a refused write stored a point"
    );
    // The row endpoint is held to the same limit.
    let reply = server
        .write_rows(&rows(
            RID,
            vec![
                json!({"channel": "c", "tags": {"n": "1"}, "points": {"type": "double", "double": [{"timestamp": ts(BASE), "value": 1.0}]}}),
                json!({"channel": "c", "tags": {"n": "2"}, "points": {"type": "double", "double": [{"timestamp": ts(BASE), "value": 1.0}]}}),
            ],
        ))
        .await?;
    ensure!(reply.conjure_error(400)?.error_name == "Sightline:TooManySeries");
    ensure!(stored_series(&*store) == 2);
    // One more series fits.
    server
        .write_columns(&columnar(RID, vec![column("b", &[])]))
        .await?
        .no_content()?;
    ensure!(stored_series(&*store) == 3);
    Ok(())
}

#[tokio::test]
async fn tag_limits_are_400s_naming_the_limit_and_store_nothing() -> Result<()> {
    let (server, store) = limited_server().await?;
    let cases: [TagCase<'_>; 3] = [
        (
            &[("a", "1"), ("b", "2"), ("c", "3")],
            "Sightline:TooManyTags",
            "maxTagsPerSeries",
            "2",
        ),
        (
            &[("longer_key", "1")],
            "Sightline:TagTooLong",
            "maxTagKeyBytes",
            "8",
        ),
        (
            &[("k", "a value of 17 bytes")],
            "Sightline:TagTooLong",
            "maxTagValueBytes",
            "16",
        ),
    ];
    for (tags, name, limit_name, limit) in cases {
        let reply = server
            .write_columns(&columnar(
                RID,
                vec![column("fine", &[]), column("bad", tags)],
            ))
            .await?;
        let error = reply.conjure_error(400)?;
        ensure!(error.error_name == name, "{tags:?}: {error:?}");
        ensure!(
            error.param("limitName") == Some(limit_name),
            "{tags:?}: {error:?}"
        );
        ensure!(error.param("limit") == Some(limit), "{tags:?}: {error:?}");
        ensure!(
            error.param("dataSourceRid") == Some(RID),
            "{tags:?}: {error:?}"
        );
        ensure!(error.param("channel") == Some("bad"), "{tags:?}: {error:?}");
        ensure!(
            stored_series(&*store) == 0,
            "{tags:?}: a refused write stored something"
        );
    }
    Ok(())
}
