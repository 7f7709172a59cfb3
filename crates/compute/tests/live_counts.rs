//! The raw-vs-bucketed decision of an `Auto` live series (issue 9): while the window holds
//! far more input points than `buckets`, an update counts only the range that entered
//! it, never the whole window; once data stops and the window empties, the computation
//! still falls back to raw.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{channel_node, empty_context, MemSource, Val};
use sightline_compute::{
    plan, ChannelKind, ChannelMeta, DataSource, LiveMode, LiveUpdate, LogEntry, SeriesMeta,
};
use wire::scout_compute::ComputeNodeResponse;

/// A source that records the widest range it was asked to count.
struct Counting<'a> {
    inner: &'a MemSource,
    widest: Mutex<i64>,
}

impl Counting<'_> {
    fn note(&self, start: i64, end: i64) {
        let mut w = self.widest.lock().unwrap();
        *w = (*w).max(end.saturating_sub(start));
    }
}

impl DataSource for Counting<'_> {
    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelMeta> {
        self.inner.channel(dataset, channel)
    }
    fn series(&self, d: &str, c: &str, f: &BTreeMap<String, String>) -> Vec<SeriesMeta> {
        self.inner.series(d, c, f)
    }
    fn read_numeric(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, vs: &mut Vec<f64>) {
        self.inner.read_numeric(id, a, b, ts, vs);
    }
    fn read_strings(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, v: &mut Vec<Arc<str>>) {
        self.inner.read_strings(id, a, b, ts, v);
    }
    fn read_logs(&self, id: u64, a: i64, b: i64, ts: &mut Vec<i64>, v: &mut Vec<LogEntry>) {
        self.inner.read_logs(id, a, b, ts, v);
    }
    fn nth_before(&self, id: u64, t: i64, n: usize) -> Option<i64> {
        self.inner.nth_before(id, t, n)
    }
    fn count(&self, id: u64, a: i64, b: i64) -> u64 {
        self.note(a, b);
        self.inner.count(id, a, b)
    }
    fn count_bounds(&self, id: u64, a: i64, b: i64) -> (u64, u64) {
        self.note(a, b);
        self.inner.count_bounds(id, a, b)
    }
}

#[test]
fn staying_bucketed_counts_only_the_new_range() {
    let mut source = MemSource::new();
    MemSource::channel(&mut source, "x", ChannelKind::Numeric, None);
    for t in 0..20_000 {
        source.write("x", &[], t, Val::Num(t as f64));
    }
    let p = plan(
        &channel_node("numeric", "x", &[], Some(1_000)),
        &empty_context(),
        &source,
    )
    .unwrap();
    let mut live = p.live(10_000, LiveMode::Auto);
    let full = live.full(&source, 19_999).unwrap();
    assert!(matches!(full, ComputeNodeResponse::BucketedNumeric(_)));
    let mut now = 19_999;
    for _ in 0..100 {
        for t in now + 1..=now + 10 {
            source.write("x", &[], t, Val::Num(t as f64));
        }
        let counting = Counting {
            inner: &source,
            widest: Mutex::new(0),
        };
        let update = live.update(&counting, now + 1, now + 10).unwrap();
        now += 10;
        assert!(matches!(update, LiveUpdate::Append(_)), "{update:?}");
        let widest = *counting.widest.lock().unwrap();
        assert!(
            widest < 10,
            "an update of 10 points counted a range {widest} ns wide"
        );
    }
    // No more data: as the window empties the result goes back to raw (below 80 % of
    // `buckets`), through a full result.
    let mut went_raw = false;
    for _ in 0..120 {
        now += 100;
        if let LiveUpdate::Full(ComputeNodeResponse::Numeric(_)) =
            live.update(&source, i64::MAX, now).unwrap()
        {
            went_raw = true;
            // 799 points or fewer remain: the window starts after 20,999 − 800.
            assert!(now - 10_000 >= 20_999 - 800, "raw too early, at {now}");
            break;
        }
    }
    assert!(went_raw, "the emptied window stayed bucketed");
}
