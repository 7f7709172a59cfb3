//! A naive reference store: one `BTreeMap` per series, the data model's rules spelled out
//! the obvious way. Property tests compare engines against it.

use std::collections::BTreeMap;

use sightline_store::{SeriesWrite, Store, Tags, Values};

use super::id_of;

/// Key of a series.
pub type Key = (String, String, Tags);

/// Value bits (doubles compared bitwise so NaN round-trips count) or a string.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// f64 bits.
    F(u64),
    /// A string.
    S(String),
}

/// The reference model.
#[derive(Debug, Default, Clone)]
pub struct Model {
    /// Points per series.
    pub series: BTreeMap<Key, BTreeMap<i64, Val>>,
    /// Type name per (dataset, channel).
    pub types: BTreeMap<(String, String), &'static str>,
}

impl Model {
    /// Applies a batch with the store's rules; `false` if it must be rejected whole.
    pub fn write(&mut self, batch: &[SeriesWrite]) -> bool {
        let mut types = self.types.clone();
        for w in batch {
            if w.timestamps.len() != w.values.len() {
                return false;
            }
            let key = (w.dataset.to_string(), w.channel.to_string());
            let t = w.values.value_type().name();
            if *types.entry(key).or_insert(t) != t {
                return false;
            }
        }
        self.types = types;
        for w in batch {
            let key = (w.dataset.to_string(), w.channel.to_string(), w.tags.clone());
            let s = self.series.entry(key).or_default();
            for (i, &t) in w.timestamps.iter().enumerate() {
                let v = match &w.values {
                    Values::Double(v) => Val::F(v[i].to_bits()),
                    Values::String(v) => Val::S(v[i].to_string()),
                    other => panic!("model does not do {:?}", other.value_type()),
                };
                s.insert(t, v);
            }
        }
        true
    }

    /// Asserts that `store` holds exactly the model's points, and that range reads,
    /// `count` and `nth_before` agree at a few probe points.
    pub fn check(&self, store: &dyn Store) {
        for ((ds, ch, tags), pts) in &self.series {
            let id = id_of(store, ds, ch, tags).expect("series missing");
            let t = self.types[&(ds.clone(), ch.clone())];
            let got = read_all(store, id, t, i64::MIN, i64::MAX);
            let want: Vec<(i64, Val)> = pts.iter().map(|(k, v)| (*k, v.clone())).collect();
            assert_eq!(got, want, "series {ds}/{ch}/{tags:?}");
            let keys: Vec<i64> = pts.keys().copied().collect();
            let probes = [i64::MIN, -5, 0, 7, 50, 99, 150, 1000, i64::MAX];
            for &a in &probes {
                for &b in &probes {
                    let n = keys.iter().filter(|&&k| a <= k && k <= b).count() as u64;
                    assert_eq!(store.count(id, a, b), n, "count [{a},{b}]");
                }
                for n in [1usize, 2, 5] {
                    let before: Vec<i64> = keys.iter().copied().filter(|&k| k < a).collect();
                    let want = before.len().checked_sub(n).map(|i| before[i]);
                    assert_eq!(store.nth_before(id, a, n), want, "nth_before({a},{n})");
                }
            }
            let mid = read_all(store, id, t, 10, 60);
            let want_mid: Vec<(i64, Val)> =
                pts.range(10..=60).map(|(k, v)| (*k, v.clone())).collect();
            assert_eq!(mid, want_mid, "window [10,60]");
        }
    }
}

/// Reads a series of the given type name as model values.
pub fn read_all(
    store: &dyn Store,
    id: sightline_store::SeriesId,
    t: &str,
    a: i64,
    b: i64,
) -> Vec<(i64, Val)> {
    let mut ts = Vec::new();
    if t == "string" {
        let mut v = Vec::new();
        store.read_strings(id, a, b, &mut ts, &mut v);
        ts.into_iter()
            .zip(v.into_iter().map(|s| Val::S(s.to_string())))
            .collect()
    } else {
        let mut v = Vec::new();
        store.read_numeric(id, a, b, &mut ts, &mut v);
        ts.into_iter()
            .zip(v.into_iter().map(|f| Val::F(f.to_bits())))
            .collect()
    }
}
