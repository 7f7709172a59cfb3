//! Cardinality limits: series per dataset, tags per series and tag lengths. Each refusal
//! names its limit and stores nothing of the write, in both engines and across a reopen.

#![allow(clippy::unwrap_used)]

mod common;

use common::{dbl, tags};
use sightline_store::{DurableStore, Limits, MemoryStore, Store, StoreConfig, StoreError, TagPart};

fn limits() -> Limits {
    Limits {
        max_series_per_dataset: 3,
        max_tags_per_series: 2,
        max_tag_key_bytes: 8,
        max_tag_value_bytes: 16,
    }
}

fn engines(dir: &std::path::Path) -> Vec<(&'static str, Box<dyn Store>)> {
    let mut config = StoreConfig::new(dir);
    config.limits = limits();
    vec![
        ("memory", Box::new(MemoryStore::with_limits(limits()))),
        ("durable", Box::new(DurableStore::open(config).unwrap())),
    ]
}

fn series_count(store: &dyn Store, ds: &str, ch: &str) -> usize {
    store.series(ds, ch, &tags(&[])).len()
}

#[test]
fn the_series_limit_refuses_the_whole_write_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in engines(dir.path()) {
        store
            .write(vec![
                dbl("ds", "a", tags(&[("n", "1")]), &[1], &[1.0]),
                dbl("ds", "a", tags(&[("n", "2")]), &[1], &[1.0]),
            ])
            .unwrap();
        // Two more new series (and points for a known one) exceed 3: nothing is stored.
        // `validate` (what the cluster checks before publishing) refuses it the same way.
        let over = vec![
            dbl("ds", "a", tags(&[("n", "1")]), &[2], &[2.0]),
            dbl("ds", "b", tags(&[]), &[1], &[1.0]),
            dbl("ds", "a", tags(&[("n", "3")]), &[1], &[1.0]),
        ];
        let err = store.validate(&over).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooManySeries {
                    existing: 2,
                    added: 2,
                    limit: 3,
                    ..
                }
            ),
            "{name}: {err}"
        );
        assert!(store.validate(&over[..2]).is_ok(), "{name}");
        let err = store
            .write(vec![
                dbl("ds", "a", tags(&[("n", "1")]), &[2], &[2.0]),
                dbl("ds", "b", tags(&[]), &[1], &[1.0]),
                dbl("ds", "a", tags(&[("n", "3")]), &[1], &[1.0]),
            ])
            .unwrap_err();
        match err {
            StoreError::TooManySeries {
                dataset,
                existing,
                added,
                limit,
            } => {
                assert_eq!(
                    (dataset.as_str(), existing, added, limit),
                    ("ds", 2, 2, 3),
                    "{name}"
                );
            }
            other => panic!("{name}: {other}"),
        }
        assert_eq!(series_count(&*store, "ds", "a"), 2, "{name}");
        assert!(
            store.channel("ds", "b").is_none(),
            "{name}: a refused write made a channel"
        );
        let id = common::id_of(&*store, "ds", "a", &tags(&[("n", "1")])).unwrap();
        assert_eq!(
            common::all_numeric(&*store, id).len(),
            1,
            "{name}: a refused write stored a point"
        );
        // Writing known series, or one new series, still works; other datasets are separate.
        store
            .write(vec![
                dbl("ds", "a", tags(&[("n", "1")]), &[3], &[3.0]),
                dbl("ds", "b", tags(&[]), &[1], &[1.0]),
            ])
            .unwrap();
        store
            .write(vec![dbl("other", "a", tags(&[("n", "1")]), &[1], &[1.0])])
            .unwrap();
        // The same new series twice in one write counts once.
        let err = store
            .write(vec![
                dbl("ds", "c", tags(&[]), &[1], &[1.0]),
                dbl("ds", "c", tags(&[]), &[2], &[1.0]),
            ])
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::TooManySeries {
                    added: 1,
                    existing: 3,
                    ..
                }
            ),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("`ds`") && msg.contains("limit of 3"),
            "{name}: {msg}"
        );
    }
}

#[test]
fn tag_limits_refuse_the_whole_write() {
    let dir = tempfile::tempdir().unwrap();
    for (name, store) in engines(dir.path()) {
        let ok = dbl("ds", "ok", tags(&[]), &[1], &[1.0]);
        let cases = [
            (tags(&[("a", "1"), ("b", "2"), ("c", "3")]), "too many tags"),
            (tags(&[("longer_key", "1")]), "long key"),
            (tags(&[("k", "a value of 17 bytes")]), "long value"),
        ];
        for (t, what) in cases {
            let batch = vec![ok.clone(), dbl("ds", "bad", t, &[1], &[1.0])];
            let checked = store.validate(&batch).unwrap_err();
            let err = store.write(batch).unwrap_err();
            assert_eq!(checked.to_string(), err.to_string(), "{name}, {what}");
            match (&err, what) {
                (
                    StoreError::TooManyTags {
                        tags: 3, limit: 2, ..
                    },
                    "too many tags",
                )
                | (
                    StoreError::TagTooLong {
                        part: TagPart::Key,
                        length: 10,
                        limit: 8,
                        ..
                    },
                    "long key",
                )
                | (
                    StoreError::TagTooLong {
                        part: TagPart::Value,
                        length: 19,
                        limit: 16,
                        ..
                    },
                    "long value",
                ) => {}
                _ => panic!("{name}, {what}: {err:?}"),
            }
            assert!(
                store.channel("ds", "ok").is_none(),
                "{name}, {what}: stored part of a refused write"
            );
            assert!(store.channel("ds", "bad").is_none(), "{name}, {what}");
        }
        // At the limits exactly, writes pass.
        store
            .write(vec![dbl(
                "ds",
                "edge",
                tags(&[("12345678", "0123456789abcdef"), ("b", "")]),
                &[1],
                &[1.0],
            )])
            .unwrap();
    }
}

#[test]
fn series_restored_from_disk_count_against_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let open = || {
        let mut config = StoreConfig::new(dir.path());
        config.limits = limits();
        DurableStore::open(config).unwrap()
    };
    let store = open();
    store
        .write(vec![
            dbl("ds", "a", tags(&[("n", "1")]), &[1], &[1.0]),
            dbl("ds", "a", tags(&[("n", "2")]), &[1], &[1.0]),
            dbl("ds", "a", tags(&[("n", "3")]), &[1], &[1.0]),
        ])
        .unwrap();
    store.close().unwrap();
    drop(store);
    let store = open();
    let err = store
        .write(vec![dbl("ds", "a", tags(&[("n", "4")]), &[1], &[1.0])])
        .unwrap_err();
    assert!(
        matches!(err, StoreError::TooManySeries { existing: 3, .. }),
        "{err}"
    );
}
