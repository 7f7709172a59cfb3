//! The in-memory engine against the store contract and the naive model.

#![allow(clippy::unwrap_used)]

mod common;

use common::model::Model;
use common::{dbl, strs, tags};
use proptest::prelude::*;
use sightline_store::{MemoryStore, SeriesWrite, Store};

#[test]
fn memory_store_meets_the_contract() {
    common::contract::run_all(&|| Box::new(MemoryStore::new()));
}

#[test]
fn concurrent_writers_and_readers() {
    let s = std::sync::Arc::new(MemoryStore::new());
    let handles: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..200i64 {
                    let t = tags(&[("w", &w.to_string())]);
                    s.write(vec![dbl("ds", "c", t, &[i * 2, i * 2 + 1], &[1., 2.])])
                        .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let series = s.series("ds", "c", &tags(&[]));
    assert_eq!(series.len(), 4);
    for si in series {
        assert_eq!(s.count(si.id, i64::MIN, i64::MAX), 400);
    }
}

/// One generated write: which series (0..6; 5 is the string channel), timestamps, values.
pub fn arb_write() -> impl Strategy<Value = SeriesWrite> {
    (
        0usize..6,
        prop::collection::vec((0i64..120, -1000i32..1000), 0..12),
    )
        .prop_map(|(k, pts)| {
            let ts: Vec<i64> = pts.iter().map(|p| p.0).collect();
            if k == 5 {
                let labels = ["open", "closed", "fault"];
                let v: Vec<&str> = pts
                    .iter()
                    .map(|p| labels[p.1.unsigned_abs() as usize % 3])
                    .collect();
                strs("ds", "valve", tags(&[]), &ts, &v)
            } else {
                let v: Vec<f64> = pts.iter().map(|p| f64::from(p.1) / 8.0).collect();
                let ch = if k < 3 { "a" } else { "b" };
                dbl("ds", ch, tags(&[("n", &(k % 3).to_string())]), &ts, &v)
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn memory_store_matches_model(batches in prop::collection::vec(prop::collection::vec(arb_write(), 1..4), 1..20), bad in 0usize..20) {
        let store = MemoryStore::new();
        let mut model = Model::default();
        for (i, mut batch) in batches.into_iter().enumerate() {
            if i == bad {
                // A conflicting entry: the whole batch must be refused.
                batch.push(strs("ds", "a", tags(&[("n", "9")]), &[1], &["x"]));
            }
            let want = model.write(&batch);
            prop_assert_eq!(store.write(batch).is_ok(), want);
        }
        model.check(&store);
    }
}
