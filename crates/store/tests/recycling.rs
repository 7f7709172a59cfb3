//! Recycled log files: a flushed log file becomes a spare, the next log file starts as it,
//! and after a crash only the records written to it since are replayed, never the ones its
//! earlier use left behind them.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{all_numeric, dbl, id_of, tags};
use sightline_store::{DurableStore, Store, StoreConfig};

fn open(dir: &Path) -> DurableStore {
    DurableStore::open(StoreConfig::new(dir)).unwrap()
}

/// Names of the files in `dir/wal` starting with `prefix`, sorted.
fn names(dir: &Path, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("wal"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

fn wal_path(dir: &Path, n: u64) -> PathBuf {
    dir.join("wal").join(format!("wal-{n:016}.log"))
}

/// Copies a data directory as a `kill -9` would leave it: every byte written so far, no file
/// cut back, no clean close.
fn crash_copy(from: &Path, to: &Path) {
    for sub in ["", "wal", "segments"] {
        std::fs::create_dir_all(to.join(sub)).unwrap();
        for e in std::fs::read_dir(from.join(sub)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), to.join(sub).join(e.file_name())).unwrap();
            }
        }
    }
}

/// Compacts the segments the flushes left now (they overlap), so the background thread
/// does not rewrite them while [`crash_copy`] reads the directory.
fn settle(s: &DurableStore) {
    s.compact_overlapping().unwrap();
}

/// Writes points 0..n of `p` with value `v`.
fn write(s: &DurableStore, n: i64, v: f64) {
    let ts: Vec<i64> = (0..n).collect();
    s.write(vec![dbl("ds", "p", tags(&[]), &ts, &vec![v; n as usize])])
        .unwrap();
}

/// Values of `p` by timestamp.
fn values(s: &DurableStore) -> BTreeMap<i64, f64> {
    let id = id_of(s, "ds", "p", &tags(&[])).unwrap();
    all_numeric(s, id)
        .into_iter()
        .map(|(t, bits)| (t, f64::from_bits(bits)))
        .collect()
}

/// What `p` should read: `new` on `0..cut`, `old` on `cut..100`.
fn expected(cut: i64, new: f64, old: f64) -> BTreeMap<i64, f64> {
    (0..100)
        .map(|t| (t, if t < cut { new } else { old }))
        .collect()
}

/// A store whose newest log file (3) is log file 1 recycled: file 1 held three records
/// (values 1, 2, 3 on points 0..100), file 2 one (value 10); file 3 gets one record of
/// `points` points with value 20, written over the start of file 1's.
fn recycled_store(dir: &Path, points: i64) -> DurableStore {
    let s = open(dir);
    for v in [1., 2., 3.] {
        write(&s, 100, v);
    }
    s.flush().unwrap();
    assert_eq!(names(dir, "spare-"), ["spare-0000000000000001.log"]);
    write(&s, 100, 10.);
    s.flush().unwrap();
    settle(&s);
    assert_eq!(
        names(dir, "spare-"),
        ["spare-0000000000000002.log"],
        "file 3 started as spare 1, file 2 became a spare"
    );
    write(&s, points, 20.);
    let metrics: BTreeMap<&str, f64> = s.metrics().into_iter().collect();
    let spare = std::fs::metadata(dir.join("wal/spare-0000000000000002.log")).unwrap();
    assert_eq!(metrics["store_wal_spare_bytes"], spare.len() as f64);
    s
}

#[test]
fn a_recycled_file_replays_only_its_own_records_after_a_crash() {
    // 100 points: the new record lands exactly over the first old one, so an intact old
    // record follows it. 37: it ends inside the first old record.
    for points in [100, 37] {
        let dir = tempfile::tempdir().unwrap();
        let s = recycled_store(dir.path(), points);
        let crashed = tempfile::tempdir().unwrap();
        crash_copy(dir.path(), crashed.path());
        let newest = wal_path(crashed.path(), 3);
        let len = std::fs::metadata(&newest).unwrap().len();
        assert!(
            len > 2_000,
            "the old records are still behind the new one ({len} bytes)"
        );

        let again = open(crashed.path());
        let r = again.recovery_report().clone();
        assert_eq!(r.records_replayed, 1, "{points} points: {r:?}");
        assert_eq!(r.records_dropped, 0);
        assert_eq!(
            values(&again),
            expected(points, 20., 10.),
            "{points} points"
        );
        drop(again);
        assert!(
            std::fs::metadata(&newest).unwrap().len() < len,
            "the old records are cut off"
        );
        // The clean original reads the same.
        drop(s);
        let s = open(dir.path());
        assert_eq!(s.recovery_report().bytes_truncated, 0);
        assert_eq!(values(&s), expected(points, 20., 10.));
    }
}

#[test]
fn writes_after_a_crash_in_a_recycled_file_survive_the_next_one() {
    let dir = tempfile::tempdir().unwrap();
    let s = recycled_store(dir.path(), 40);
    let crashed = tempfile::tempdir().unwrap();
    crash_copy(dir.path(), crashed.path());
    drop(s);
    {
        let again = open(crashed.path());
        write(&again, 60, 30.);
        // Flushes recycle the spare left before the crash and the files written since.
        again.flush().unwrap();
        write(&again, 10, 40.);
        again.flush().unwrap();
        settle(&again);
        write(&again, 5, 50.);
        let twice = tempfile::tempdir().unwrap();
        crash_copy(crashed.path(), twice.path());
        let s = open(twice.path());
        let mut want = expected(60, 30., 10.);
        want.extend((0..10).map(|t| (t, 40.)));
        want.extend((0..5).map(|t| (t, 50.)));
        assert_eq!(values(&s), want);
    }
}

#[test]
fn log_files_from_before_a_restart_are_deleted_not_recycled() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        write(&s, 100, 1.);
    }
    // File 1 may come from an older version (frames without a file number): once its
    // points are flushed it goes, and only files this process started (2, still empty)
    // become spares.
    let s = open(dir.path());
    assert_eq!(s.recovery_report().records_replayed, 1);
    s.flush().unwrap();
    assert_eq!(names(dir.path(), "spare-"), ["spare-0000000000000002.log"]);
    assert!(!wal_path(dir.path(), 1).exists());
    write(&s, 10, 2.);
    s.flush().unwrap();
    assert_eq!(
        names(dir.path(), "spare-"),
        ["spare-0000000000000003.log"],
        "file 4 started as spare 2"
    );
    drop(s);
    // Spares outlive a restart and are used by it.
    let s = open(dir.path());
    assert!(names(dir.path(), "spare-").is_empty());
    assert_eq!(
        names(dir.path(), "wal-"),
        ["wal-0000000000000004.log", "wal-0000000000000005.log"]
    );
    assert_eq!(values(&s), expected(10, 2., 1.));
}

/// Rewrites every record of a log file in the format of versions before recycling: magic
/// "SLWL" and a 16-byte header without the file number.
fn to_old_format(path: &Path) {
    let bytes = std::fs::read(path).unwrap();
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        assert_eq!(&bytes[pos..pos + 4], b"SLW2");
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        let mut header = Vec::from(*b"SLWL");
        header.extend_from_slice(&bytes[pos + 4..pos + 12]);
        let hcrc = crc32fast::hash(&header);
        header.extend_from_slice(&hcrc.to_le_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(&bytes[pos + 24..pos + 24 + len]);
        pos += 24 + len;
    }
    std::fs::write(path, out).unwrap();
}

#[test]
fn a_log_written_before_recycling_is_replayed() {
    let dir = tempfile::tempdir().unwrap();
    {
        let s = open(dir.path());
        for (n, v) in [(100, 1.), (50, 2.), (10, 3.)] {
            write(&s, n, v);
        }
    }
    to_old_format(&wal_path(dir.path(), 1));
    let s = open(dir.path());
    let r = s.recovery_report().clone();
    assert_eq!((r.records_replayed, r.bytes_truncated), (3, 0), "{r:?}");
    let mut want = expected(50, 2., 1.);
    want.extend((0..10).map(|t| (t, 3.)));
    assert_eq!(values(&s), want);
    // New records go to a new file in the new format; both replay after a crash.
    write(&s, 5, 4.);
    let crashed = tempfile::tempdir().unwrap();
    crash_copy(dir.path(), crashed.path());
    let again = open(crashed.path());
    assert_eq!(again.recovery_report().records_replayed, 4);
    want.extend((0..5).map(|t| (t, 4.)));
    assert_eq!(values(&again), want);
}
