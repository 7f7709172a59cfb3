//! Numbered write batches whose every point can be checked afterwards: writer `w` posts
//! batch `k` of `points` points to channel `writer{w}`, at timestamps no other batch uses and
//! with values that name the writer, batch and point. Reading a channel back then shows
//! whether each acknowledged batch is there whole, exactly once, with its values.

use std::collections::{BTreeMap, BTreeSet};

/// 2026-01-01T00:00:00Z: the first batch's first timestamp.
pub const T0: i64 = 1_767_225_600_000_000_000;

/// The batches of one test.
#[derive(Debug, Clone, Copy)]
pub struct Batches {
    /// Dataset every batch goes to.
    pub dataset: &'static str,
    /// Points per batch (1 ms apart).
    pub points: i64,
}

impl Batches {
    /// Timestamp of point `i` of batch `k` (of any writer: each has its own channel).
    pub fn timestamp(&self, k: i64, i: i64) -> i64 {
        T0 + (k * self.points + i) * 1_000_000
    }

    /// Value of point `i` of batch `k` of writer `w`.
    pub fn value(&self, w: usize, k: i64, i: i64) -> f64 {
        (w as i64 * 1_000_000 + k * self.points + i) as f64 + 0.25
    }

    /// Channel of writer `w`.
    pub fn channel(w: usize) -> String {
        format!("writer{w}")
    }

    /// Range that holds every batch, for reading them back.
    pub fn range(&self) -> (i64, i64) {
        (T0 - 1_000_000_000, T0 + 100_000 * 1_000_000_000)
    }

    /// The columnar write body of batch `k` of writer `w`.
    pub fn body(&self, w: usize, k: i64) -> serde_json::Value {
        let ts: Vec<_> = (0..self.points)
            .map(|i| {
                let t = self.timestamp(k, i);
                serde_json::json!({"seconds": t / 1_000_000_000, "nanos": t % 1_000_000_000})
            })
            .collect();
        let vs: Vec<f64> = (0..self.points).map(|i| self.value(w, k, i)).collect();
        serde_json::json!({"dataSourceRid": self.dataset, "batches": [
            {"channel": Self::channel(w), "timestamps": ts, "values": {"type": "doubles", "doubles": vs}}
        ]})
    }

    /// Groups points read from writer `w`'s channel by batch.
    pub fn by_batch(&self, points: &[(i64, f64)]) -> BTreeMap<i64, Vec<(i64, f64)>> {
        let mut by_batch: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
        for &(t, v) in points {
            let slot = (t - T0) / 1_000_000;
            by_batch
                .entry(slot / self.points)
                .or_default()
                .push((slot % self.points, v));
        }
        by_batch
    }

    /// Asserts that `points` (writer `w`'s channel read back from `place`) hold every batch
    /// of `acknowledged` and no partial, duplicated or altered batch.
    pub fn check(
        &self,
        place: &str,
        w: usize,
        points: &[(i64, f64)],
        acknowledged: &BTreeSet<i64>,
    ) {
        let by_batch = self.by_batch(points);
        for (k, got) in &by_batch {
            assert_eq!(
                got.len() as i64,
                self.points,
                "{place}: writer {w} batch {k} is partial or duplicated"
            );
            for (i, v) in got {
                assert_eq!(
                    *v,
                    self.value(w, *k, *i),
                    "{place}: writer {w} batch {k} point {i} changed"
                );
            }
        }
        for k in acknowledged {
            assert!(
                by_batch.contains_key(k),
                "{place}: writer {w}'s acknowledged batch {k} is missing"
            );
        }
    }
}
