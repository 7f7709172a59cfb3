//! The durable engine: the store contract, reopen and recovery (torn tails, corruption,
//! repair), flush/compaction/retention, and a property test against the naive model across
//! flushes, compactions and restarts.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::model::Model;
use common::{all_numeric, dbl, id_of, strs, tags};
use proptest::prelude::*;
use sightline_store::{Clock, DurableStore, FsyncPolicy, OpenError, Store, StoreConfig};

fn cfg(dir: &Path) -> StoreConfig {
    StoreConfig::new(dir)
}

fn open(dir: &Path) -> DurableStore {
    DurableStore::open(cfg(dir)).unwrap()
}

fn wal_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| std::fs::metadata(p).unwrap().len() > 0)
        .collect();
    v.sort();
    v
}

fn segment_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("segments"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "sls"))
        .collect();
    v.sort();
    v
}

#[test]
fn durable_store_meets_the_contract() {
    let root = tempfile::tempdir().unwrap();
    let n = AtomicUsize::new(0);
    common::contract::run_all(&|| {
        let dir = root
            .path()
            .join(n.fetch_add(1, Ordering::Relaxed).to_string());
        Box::new(open(&dir))
    });
    // Again with a tiny head, so every write flushes and reads go through segments.
    let n = AtomicUsize::new(100);
    common::contract::run_all(&|| {
        let dir = root
            .path()
            .join(n.fetch_add(1, Ordering::Relaxed).to_string());
        let mut c = cfg(&dir);
        c.head_limit_bytes = 1;
        Box::new(DurableStore::open(c).unwrap())
    });
}

#[test]
fn reopen_replays_the_log_and_keeps_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let t = tags(&[("stand", "a")]);
    {
        let s = open(dir.path());
        let mut w = dbl("ds", "p", t.clone(), &[3, 1, 2], &[3., 1., 2.]);
        w.unit = Some("bar".into());
        s.write(vec![w, strs("ds", "valve", tags(&[]), &[1], &["open"])])
            .unwrap();
        s.write(vec![dbl("ds", "p", t.clone(), &[2, 4], &[20., 4.])])
            .unwrap();
        // Dropped without close: like a crash after the acknowledgements.
    }
    let s = open(dir.path());
    assert_eq!(s.recovery_report().records_replayed, 2);
    assert_eq!(s.recovery_report().bytes_truncated, 0);
    let id = id_of(&s, "ds", "p", &t).unwrap();
    let got: Vec<(i64, f64)> = all_numeric(&s, id)
        .into_iter()
        .map(|(t, b)| (t, f64::from_bits(b)))
        .collect();
    assert_eq!(got, vec![(1, 1.), (2, 20.), (3, 3.), (4, 4.)]);
    assert_eq!(s.channel("ds", "p").unwrap().unit.as_deref(), Some("bar"));
    assert_eq!(s.channels("ds").len(), 2);
    // A new series after reopen gets a fresh id.
    s.write(vec![dbl("ds", "p", tags(&[("stand", "b")]), &[1], &[1.])])
        .unwrap();
    let ids: Vec<u64> = s
        .series("ds", "p", &tags(&[]))
        .iter()
        .map(|x| x.id.0)
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    s.close().unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(
        s.recovery_report().records_replayed,
        0,
        "close flushed everything"
    );
    assert!(!segment_files(dir.path()).is_empty());
    assert_eq!(s.series("ds", "p", &tags(&[])).len(), 2);
    assert_eq!(s.channel("ds", "p").unwrap().unit.as_deref(), Some("bar"));
    assert_eq!(all_numeric(&s, id).len(), 4);
}

#[test]
fn late_points_into_flushed_ranges_merge_then_compact() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let t = tags(&[]);
    let ts: Vec<i64> = (0..20_000).map(|i| i * 10).collect();
    let v: Vec<f64> = (0..20_000).map(|i| i as f64).collect();
    s.write(vec![dbl("ds", "x", t.clone(), &ts, &v)]).unwrap();
    s.flush().unwrap();
    // Late points: one replacing a flushed point, one new between flushed points.
    s.write(vec![dbl("ds", "x", t.clone(), &[50, 55], &[-5., -5.5])])
        .unwrap();
    let id = id_of(&s, "ds", "x", &t).unwrap();
    let check = |s: &DurableStore| {
        let all = all_numeric(s, id);
        assert_eq!(all.len(), 20_001);
        assert_eq!(f64::from_bits(all[&50]), -5.);
        assert_eq!(f64::from_bits(all[&55]), -5.5);
        assert_eq!(f64::from_bits(all[&60]), 6.);
        assert_eq!(s.count(id, 40, 60), 4);
        assert_eq!(s.count(id, 0, 199_990), 20_001);
        assert_eq!(s.nth_before(id, 60, 1), Some(55));
        assert_eq!(s.nth_before(id, 60, 3), Some(40));
        let (mut a, mut b) = (vec![], vec![]);
        s.read_numeric(id, 45, 70, &mut a, &mut b);
        assert_eq!(a, vec![50, 55, 60, 70]);
    };
    check(&s);
    s.flush().unwrap();
    // Two overlapping segments now (unless background compaction already merged them).
    assert!(segment_files(dir.path()).len() <= 2);
    check(&s);
    s.compact().unwrap();
    assert_eq!(
        segment_files(dir.path()).len(),
        1,
        "overlapping segments merged"
    );
    check(&s);
    drop(s);
    let s = open(dir.path());
    check(&s);
}

fn metrics_of(s: &DurableStore) -> std::collections::HashMap<&'static str, f64> {
    s.metrics().into_iter().collect()
}

#[test]
fn compaction_judges_overlap_per_series_and_rewrites_only_overlapping_blocks() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let t = tags(&[]);
    // 20,000 points per series: blocks of 8192, 8192 and 3616 points, all in one partition.
    let ts: Vec<i64> = (0..20_000).map(|i| i * 10).collect();
    let v: Vec<f64> = (0..20_000).map(|i| f64::from(i) / 4.0).collect();
    s.write(vec![dbl("ds-a", "x", t.clone(), &ts, &v)]).unwrap();
    s.flush().unwrap();
    // Another dataset over the very same time range: the two segments overlap in time but
    // share no series, so there is nothing to merge.
    s.write(vec![dbl("ds-b", "x", t.clone(), &ts, &v)]).unwrap();
    s.flush().unwrap();
    s.compact_overlapping().unwrap();
    assert_eq!(
        segment_files(dir.path()).len(),
        2,
        "disjoint series: no rewrite"
    );
    let m = metrics_of(&s);
    assert_eq!(m["store_compaction_rewritten_points_total"], 0.0);
    assert_eq!(m["store_compaction_copied_points_total"], 0.0);

    // Late points into the first block of ds-a's series: only that block is rewritten.
    s.write(vec![dbl("ds-a", "x", t.clone(), &[50, 55], &[-5., -5.5])])
        .unwrap();
    s.flush().unwrap();
    s.compact_overlapping().unwrap();
    assert_eq!(
        segment_files(dir.path()).len(),
        1,
        "overlapping blocks merged"
    );
    let m = metrics_of(&s);
    assert_eq!(
        m["store_compaction_rewritten_points_total"], 8193.0,
        "the first block and the one new point"
    );
    assert_eq!(
        m["store_compaction_copied_points_total"],
        (8192 + 3616 + 20_000) as f64,
        "every other block copied as it was"
    );
    let a = id_of(&s, "ds-a", "x", &t).unwrap();
    let b = id_of(&s, "ds-b", "x", &t).unwrap();
    let check = |s: &DurableStore| {
        let all = all_numeric(s, a);
        assert_eq!(all.len(), 20_001);
        assert_eq!(f64::from_bits(all[&50]), -5.);
        assert_eq!(f64::from_bits(all[&55]), -5.5);
        assert_eq!(f64::from_bits(all[&81_910]), 8191.0 / 4.0);
        assert_eq!(f64::from_bits(all[&199_990]), 19_999.0 / 4.0);
        let all = all_numeric(s, b);
        assert_eq!(all.len(), 20_000);
        assert!(all
            .iter()
            .all(|(t, v)| f64::from_bits(*v) == (*t / 10) as f64 / 4.0));
        assert_eq!(s.count(a, 0, 199_990), 20_001);
        assert_eq!(s.count(a, 40, 60), 4);
    };
    check(&s);
    drop(s);
    check(&open(dir.path()));
}

#[test]
fn torn_tail_is_truncated() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for i in 0..3 {
            s.write(vec![dbl("ds", "p", tags(&[]), &[i], &[i as f64])])
                .unwrap();
        }
    }
    let f = wal_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&f).unwrap().len();
    // The last write was cut off half way.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&f)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    let s = open(dir.path());
    let r = s.recovery_report().clone();
    assert_eq!(r.records_replayed, 2);
    assert!(r.bytes_truncated > 0);
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![0, 1]
    );
    // New writes after the cut survive the next restart.
    s.write(vec![dbl("ds", "p", tags(&[]), &[9], &[9.])])
        .unwrap();
    drop(s);
    let s = open(dir.path());
    assert_eq!(s.recovery_report().bytes_truncated, 0);
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![0, 1, 9]
    );
}

/// A store closed after one one-point write, and its newest log file.
fn one_record_closed() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.write(vec![dbl("ds", "p", tags(&[]), &[1], &[1.])])
            .unwrap();
    }
    let f = wal_files(dir.path()).pop().unwrap();
    (dir, f)
}

#[test]
fn garbage_after_the_last_record_is_a_torn_tail() {
    let (dir, f) = one_record_closed();
    let mut bytes = std::fs::read(&f).unwrap();
    bytes.extend_from_slice(&[0xab; 100]);
    bytes.extend_from_slice(&[0; 4096]);
    std::fs::write(&f, &bytes).unwrap();
    let s = open(dir.path());
    // The zeros after the garbage are space written ahead, not lost bytes.
    assert_eq!(s.recovery_report().bytes_truncated, 100);
    assert_eq!(s.recovery_report().records_replayed, 1);
}

/// Pads a log file with zeros, as a crash leaves the space written ahead of its records.
fn pad_with_zeros(f: &Path, bytes: usize) -> u64 {
    let len = std::fs::metadata(f).unwrap().len();
    let file = std::fs::OpenOptions::new().append(true).open(f).unwrap();
    std::io::Write::write_all(&mut &file, &vec![0; bytes]).unwrap();
    len
}

#[test]
fn a_closed_log_file_holds_only_its_records() {
    let (_dir, f) = one_record_closed();
    let bytes = std::fs::read(&f).unwrap();
    // One small record, not the chunk of zeros the file grew by.
    assert!(bytes.len() < 4096, "{} bytes", bytes.len());
    assert_ne!(bytes.last(), Some(&0));
}

#[test]
fn zeros_after_the_records_of_any_log_file_are_unused_space() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        let s = open(dir.path());
        s.write(vec![dbl("ds", "p", tags(&[]), &[i], &[i as f64])])
            .unwrap();
    }
    let files = wal_files(dir.path());
    assert_eq!(files.len(), 2);
    // The older file too: a crash between starting the next file and cutting the old one
    // back leaves its zeros.
    let lens: Vec<u64> = files.iter().map(|f| pad_with_zeros(f, 3 << 20)).collect();
    let s = open(dir.path());
    let r = s.recovery_report().clone();
    assert_eq!(
        (r.records_replayed, r.bytes_truncated, r.records_dropped),
        (2, 0, 0)
    );
    for (f, len) in files.iter().zip(lens) {
        assert_eq!(std::fs::metadata(f).unwrap().len(), len);
    }
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![0, 1]
    );
}

/// Writes three one-point batches, then flips a byte inside the second record.
fn corrupt_middle_record(dir: &Path) -> (PathBuf, Vec<u8>) {
    {
        let s = open(dir);
        for i in 0..3 {
            s.write(vec![dbl("ds", "p", tags(&[]), &[i], &[i as f64])])
                .unwrap();
        }
    }
    let f = wal_files(dir).pop().unwrap();
    let mut bytes = std::fs::read(&f).unwrap();
    let frame = bytes.len() / 3;
    bytes[frame + frame / 2] ^= 0xff;
    std::fs::write(&f, &bytes).unwrap();
    (f, bytes)
}

#[test]
fn mid_log_corruption_refuses_without_repair() {
    let dir = tempfile::tempdir().unwrap();
    let (f, bytes) = corrupt_middle_record(dir.path());
    let err = DurableStore::open(cfg(dir.path())).unwrap_err();
    assert!(matches!(err, OpenError::WalCorrupt { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("--repair") && msg.contains("corrupt"), "{msg}");
    assert_eq!(std::fs::read(&f).unwrap(), bytes, "nothing overwritten");
    assert_eq!(wal_files(dir.path()).len(), 1, "no new files either");
}

#[test]
fn mid_log_corruption_recovers_with_repair() {
    let dir = tempfile::tempdir().unwrap();
    corrupt_middle_record(dir.path());
    let mut c = cfg(dir.path());
    c.repair = true;
    let s = DurableStore::open(c).unwrap();
    assert_eq!(s.recovery_report().records_dropped, 1);
    assert_eq!(s.recovery_report().records_replayed, 2);
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![0, 2]
    );
    drop(s);
    // Repair flushed what it salvaged: a plain open works now.
    let s = open(dir.path());
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![0, 2]
    );
}

#[test]
fn corrupt_segment_refuses_then_is_moved_aside_with_repair() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        s.write(vec![dbl("ds", "p", tags(&[]), &[1, 2], &[1., 2.])])
            .unwrap();
        s.close().unwrap();
    }
    let seg = segment_files(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&seg).unwrap();
    let n = bytes.len();
    bytes[n - 30] ^= 0x55; // inside the index
    std::fs::write(&seg, &bytes).unwrap();
    let err = DurableStore::open(cfg(dir.path())).unwrap_err();
    assert!(matches!(err, OpenError::SegmentCorrupt { .. }), "{err}");
    let mut c = cfg(dir.path());
    c.repair = true;
    let s = DurableStore::open(c).unwrap();
    assert_eq!(s.recovery_report().segments_quarantined, 1);
    assert!(segment_files(dir.path()).is_empty());
    assert_eq!(
        s.channels("ds").len(),
        1,
        "the catalog still knows the channel"
    );
}

#[derive(Debug)]
struct ManualClock(AtomicI64);

impl Clock for ManualClock {
    fn now_ns(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[test]
fn a_series_written_in_order_across_many_runs_and_partitions_flushes_whole() {
    let dir = tempfile::tempdir().unwrap();
    let hour = 3_600_000_000_000i64;
    // 12,000 points over three hours in batches of 100: the head holds them as several
    // runs of 4,096, and the hour boundaries fall inside runs.
    let step = 3 * hour / 12_000;
    let mut want = std::collections::BTreeMap::new();
    {
        let s = open(dir.path());
        for batch in 0..120i64 {
            let ts: Vec<i64> = (0..100).map(|i| (batch * 100 + i) * step).collect();
            let v: Vec<f64> = ts.iter().map(|&t| (t / step) as f64).collect();
            want.extend(ts.iter().copied().zip(v.iter().map(|x| x.to_bits())));
            s.write(vec![dbl("ds", "p", tags(&[]), &ts, &v)]).unwrap();
        }
        s.flush().unwrap();
        assert_eq!(segment_files(dir.path()).len(), 3, "one per hour");
        s.close().unwrap();
    }
    let s = open(dir.path());
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(all_numeric(&s, id), want);
}

#[test]
fn retention_drops_whole_expired_segments() {
    let dir = tempfile::tempdir().unwrap();
    let hour = 3_600_000_000_000i64;
    let clock = Arc::new(ManualClock(AtomicI64::new(0)));
    let mut c = cfg(dir.path());
    c.retention = Some(Duration::from_secs(2 * 3600));
    c.clock = clock.clone();
    let s = DurableStore::open(c).unwrap();
    let ts: Vec<i64> = (0..5).map(|h| h * hour + 1).collect();
    s.write(vec![dbl("ds", "p", tags(&[]), &ts, &[0., 1., 2., 3., 4.])])
        .unwrap();
    s.flush().unwrap();
    assert_eq!(
        segment_files(dir.path()).len(),
        5,
        "one segment per hour partition"
    );
    clock.0.store(5 * hour, Ordering::Relaxed);
    s.apply_retention().unwrap();
    assert_eq!(segment_files(dir.path()).len(), 2);
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(
        all_numeric(&s, id).keys().copied().collect::<Vec<_>>(),
        vec![3 * hour + 1, 4 * hour + 1]
    );
    let m: std::collections::HashMap<_, _> = s.metrics().into_iter().collect();
    assert_eq!(m["store_segments"], 2.0);
}

#[test]
fn concurrent_writers_share_syncs_and_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = Arc::new(open(dir.path()));
        let hs: Vec<_> = (0..4)
            .map(|w| {
                let s = s.clone();
                std::thread::spawn(move || {
                    for i in 0..50i64 {
                        let t = tags(&[("w", &w.to_string())]);
                        s.write(vec![dbl("ds", "c", t, &[i], &[i as f64])]).unwrap();
                    }
                })
            })
            .collect();
        for h in hs {
            h.join().unwrap();
        }
    }
    let s = open(dir.path());
    for si in s.series("ds", "c", &tags(&[])) {
        assert_eq!(s.count(si.id, i64::MIN, i64::MAX), 50);
    }
    assert_eq!(s.series("ds", "c", &tags(&[])).len(), 4);
}

#[test]
fn interval_policy_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let mut c = cfg(dir.path());
    c.fsync = FsyncPolicy::Interval(Duration::from_millis(5));
    let s = DurableStore::open(c).unwrap();
    s.write(vec![dbl("ds", "p", tags(&[]), &[1, 2, 3], &[1., 2., 3.])])
        .unwrap();
    let m: std::collections::HashMap<_, _> = s.metrics().into_iter().collect();
    assert_eq!(m["store_points_ingested_total"], 3.0);
    assert_eq!(m["store_head_points"], 3.0);
    assert!(m["store_wal_bytes"] > 0.0);
    s.close().unwrap();
    let m: std::collections::HashMap<_, _> = s.metrics().into_iter().collect();
    assert_eq!(m["store_head_points"], 0.0);
    assert_eq!(m["store_segments"], 1.0);
    assert!(m["store_disk_bytes"] > 0.0);
}

#[test]
fn every_acknowledged_write_is_covered_by_a_counted_sync() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    let syncs = |s: &DurableStore| {
        let m: std::collections::HashMap<_, _> = s.metrics().into_iter().collect();
        m["store_wal_syncs_total"]
    };
    let before = syncs(&s);
    for i in 0..3 {
        s.write(vec![dbl("ds", "p", tags(&[]), &[i], &[1.])])
            .unwrap();
    }
    // One writer at a time: nothing to merge, one sync per acknowledged write.
    assert_eq!(syncs(&s) - before, 3.0);
}

#[test]
fn fsync_policy_parses() {
    assert_eq!(
        "always".parse::<FsyncPolicy>().unwrap(),
        FsyncPolicy::Always
    );
    assert_eq!(
        "interval=250".parse::<FsyncPolicy>().unwrap(),
        FsyncPolicy::Interval(Duration::from_millis(250))
    );
    assert!("interval=0".parse::<FsyncPolicy>().is_err());
    assert!("sometimes".parse::<FsyncPolicy>().is_err());
    assert_eq!(
        sightline_store::parse_duration("30d").unwrap(),
        Duration::from_secs(30 * 86400)
    );
    assert!(sightline_store::parse_duration("30").is_err());
}

#[derive(Debug, Clone)]
enum Op {
    Write(Vec<sightline_store::SeriesWrite>),
    Flush,
    Compact,
    CompactOverlapping,
    Crash,
    CloseReopen,
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(arb_write(), 1..3).prop_map(Op::Write),
        1 => Just(Op::Flush),
        1 => Just(Op::Compact),
        1 => Just(Op::CompactOverlapping),
        1 => Just(Op::Crash),
        1 => Just(Op::CloseReopen),
    ]
}

fn arb_write() -> impl Strategy<Value = sightline_store::SeriesWrite> {
    (
        0usize..4,
        prop::collection::vec((0i64..120, -1000i32..1000), 0..10),
    )
        .prop_map(|(k, pts)| {
            let ts: Vec<i64> = pts.iter().map(|p| p.0).collect();
            if k == 3 {
                let labels = ["open", "closed", "fault"];
                let v: Vec<&str> = pts
                    .iter()
                    .map(|p| labels[p.1.unsigned_abs() as usize % 3])
                    .collect();
                strs("ds", "valve", tags(&[]), &ts, &v)
            } else {
                let v: Vec<f64> = pts.iter().map(|p| f64::from(p.1) / 8.0).collect();
                dbl("ds", "a", tags(&[("n", &k.to_string())]), &ts, &v)
            }
        })
}

fn open_small(dir: &Path) -> DurableStore {
    let mut c = cfg(dir);
    // Small head and partitions: automatic flushes and many segments per run.
    c.head_limit_bytes = 600;
    c.partition = Duration::from_nanos(40);
    DurableStore::open(c).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn durable_store_matches_model(ops in prop::collection::vec(arb_op(), 1..25)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = open_small(dir.path());
        let mut model = Model::default();
        for op in ops {
            match op {
                Op::Write(batch) => {
                    let want = model.write(&batch);
                    prop_assert_eq!(store.write(batch).is_ok(), want);
                }
                Op::Flush => store.flush().unwrap(),
                Op::Compact => store.compact().unwrap(),
                Op::CompactOverlapping => store.compact_overlapping().unwrap(),
                Op::Crash => {
                    drop(store);
                    store = open_small(dir.path());
                }
                Op::CloseReopen => {
                    store.close().unwrap();
                    drop(store);
                    store = open_small(dir.path());
                }
            }
        }
        model.check(&store);
        drop(store);
        model.check(&open_small(dir.path()));
    }
}

#[test]
fn a_second_process_cannot_open_the_same_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = open(dir.path());
    match DurableStore::open(cfg(dir.path())) {
        Err(OpenError::Locked { .. }) => {}
        other => panic!("expected Locked, got {other:?}"),
    }
    first.close().expect("close");
    drop(first);
    // The lock goes with the store.
    let again = open(dir.path());
    again.close().expect("close");
}

#[test]
fn log_files_a_flush_covered_are_not_replayed_after_a_crash_before_their_deletion() {
    let dir = tempfile::tempdir().unwrap();
    let s = open(dir.path());
    s.write(vec![dbl("ds", "p", tags(&[]), &[1, 2, 3], &[1., 2., 3.])])
        .unwrap();
    // What the log held before the flush deleted it.
    let saved: Vec<(PathBuf, Vec<u8>)> = wal_files(dir.path())
        .into_iter()
        .map(|f| {
            let bytes = std::fs::read(&f).unwrap();
            (f, bytes)
        })
        .collect();
    assert!(!saved.is_empty());
    s.flush().unwrap();
    drop(s);
    // A crash between the catalog naming the flushed files and their deletion leaves them.
    for (f, bytes) in &saved {
        std::fs::write(f, bytes).unwrap();
    }
    let s = open(dir.path());
    assert_eq!(s.recovery_report().records_replayed, 0);
    let m = metrics_of(&s);
    assert_eq!(m["store_head_points"], 0.0, "points counted once");
    assert_eq!(m["store_segment_points"], 3.0);
    let id = id_of(&s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(all_numeric(&s, id).len(), 3);
    assert!(
        saved.iter().all(|(f, _)| !f.exists()),
        "the flushed files are deleted"
    );
}
