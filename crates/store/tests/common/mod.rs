//! Helpers shared by the store's integration tests: batch builders, a naive reference model,
//! and the contract every engine must meet.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

pub mod contract;
pub mod model;

use std::collections::BTreeMap;
use std::sync::Arc;

use sightline_store::{SeriesId, SeriesWrite, Store, Tags, Values};

/// Tags from pairs.
pub fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A double write.
pub fn dbl(ds: &str, ch: &str, t: Tags, ts: &[i64], v: &[f64]) -> SeriesWrite {
    SeriesWrite {
        dataset: ds.into(),
        channel: ch.into(),
        tags: t,
        unit: None,
        timestamps: ts.to_vec(),
        values: Values::Double(v.to_vec()),
    }
}

/// A string write.
pub fn strs(ds: &str, ch: &str, t: Tags, ts: &[i64], v: &[&str]) -> SeriesWrite {
    SeriesWrite {
        dataset: ds.into(),
        channel: ch.into(),
        tags: t,
        unit: None,
        timestamps: ts.to_vec(),
        values: Values::String(v.iter().map(|s| Arc::<str>::from(*s)).collect()),
    }
}

/// The id of the series with exactly these tags.
pub fn id_of(store: &dyn Store, ds: &str, ch: &str, t: &Tags) -> Option<SeriesId> {
    store
        .series(ds, ch, t)
        .into_iter()
        .find(|s| &s.tags == t)
        .map(|s| s.id)
}

/// All numeric points of a series.
pub fn all_numeric(store: &dyn Store, id: SeriesId) -> BTreeMap<i64, u64> {
    let (mut ts, mut vs) = (Vec::new(), Vec::new());
    store.read_numeric(id, i64::MIN, i64::MAX, &mut ts, &mut vs);
    assert_eq!(ts.len(), vs.len());
    assert!(
        ts.windows(2).all(|w| w[0] < w[1]),
        "timestamps not strictly sorted"
    );
    ts.into_iter()
        .zip(vs.into_iter().map(f64::to_bits))
        .collect()
}
