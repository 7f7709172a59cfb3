//! Closing in bounded time: a head too big for the shutdown flush budget stays in the synced
//! log, and the next open replays every point of every series.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{dbl, tags};
use sightline_store::{DurableStore, Store, StoreConfig};

const SERIES: usize = 20_000;

fn open(dir: &std::path::Path, budget: Duration) -> DurableStore {
    let mut config = StoreConfig::new(dir);
    config.shutdown_flush_budget = budget;
    DurableStore::open(config).unwrap()
}

fn metric(store: &dyn Store, name: &str) -> f64 {
    store
        .metrics()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
        .unwrap()
}

#[test]
fn a_close_without_flush_budget_loses_nothing_and_the_next_close_flushes() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path(), Duration::ZERO);
    for chunk in (0..SERIES).collect::<Vec<_>>().chunks(2_000) {
        let batch = chunk
            .iter()
            .map(|&i| {
                let t = i as i64;
                dbl(
                    "ds",
                    "ch",
                    tags(&[("n", &i.to_string())]),
                    &[t, t + 1],
                    &[1.0, 2.0],
                )
            })
            .collect();
        store.write(batch).unwrap();
    }
    store.close().unwrap();
    assert_eq!(
        metric(&store, "store_segments"),
        0.0,
        "a zero budget flushed anyway"
    );
    drop(store);

    // Everything comes back from the log; this time the close has time to flush.
    let store = open(dir.path(), Duration::from_secs(600));
    assert!(store.recovery_report().records_replayed > 0);
    assert_eq!(store.series("ds", "ch", &tags(&[])).len(), SERIES);
    assert_eq!(metric(&store, "store_head_points"), (2 * SERIES) as f64);
    let id = common::id_of(&store, "ds", "ch", &tags(&[("n", "12345")])).unwrap();
    assert_eq!(
        common::all_numeric(&store, id)
            .into_iter()
            .collect::<Vec<_>>(),
        vec![(12345, 1.0f64.to_bits()), (12346, 2.0f64.to_bits())]
    );
    store.close().unwrap();
    drop(store);

    let store = open(dir.path(), Duration::ZERO);
    assert_eq!(
        store.recovery_report().records_replayed,
        0,
        "the second close flushed"
    );
    assert_eq!(store.series("ds", "ch", &tags(&[])).len(), SERIES);
    assert_eq!(metric(&store, "store_segment_points"), (2 * SERIES) as f64);
}
