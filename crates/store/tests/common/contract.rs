//! The behaviour every [`Store`] engine owes its callers, written once and run against each.

use std::sync::Arc;

use sightline_store::{LogEntry, SeriesWrite, Store, StoreError, ValueType, Values};

use super::{all_numeric, dbl, id_of, strs, tags};

/// Runs every contract check on fresh stores from `make`.
pub fn run_all(make: &dyn Fn() -> Box<dyn Store>) {
    out_of_order_and_replace(&*make());
    batch_rejections_store_nothing(&*make());
    tag_filters(&*make());
    units_latest_wins(&*make());
    change_feed_after_visible(&*make());
    strings_and_logs(&*make());
    ints_read_as_numeric(&*make());
    closed_rejects_writes(&*make());
    datasets_and_time_bounds(&*make());
}

fn datasets_and_time_bounds(s: &dyn Store) {
    assert!(s.datasets().is_empty());
    let t = tags(&[("stand", "a")]);
    s.write(vec![dbl("ds.b", "p", t.clone(), &[30, 10], &[3., 1.])])
        .unwrap();
    s.write(vec![dbl("ds.a", "q", tags(&[]), &[5], &[0.5])])
        .unwrap();
    // A late point before the first and a newer one after the last widen the bounds.
    s.write(vec![dbl("ds.b", "p", t.clone(), &[40, 2], &[4., 0.2])])
        .unwrap();
    let names: Vec<String> = s.datasets().iter().map(|d| d.to_string()).collect();
    assert_eq!(names, ["ds.a", "ds.b"]);
    let id = id_of(s, "ds.b", "p", &t).unwrap();
    assert_eq!(s.time_bounds(id), Some((2, 40)));
    assert_eq!(s.count(id, i64::MIN, i64::MAX), 4);
    assert_eq!(s.time_bounds(sightline_store::SeriesId(u64::MAX)), None);
}

fn out_of_order_and_replace(s: &dyn Store) {
    let t = tags(&[("stand", "a")]);
    s.write(vec![dbl(
        "ds",
        "p",
        t.clone(),
        &[30, 10, 20],
        &[3., 1., 2.],
    )])
    .unwrap();
    // Late, duplicate within the batch (last wins), and a replace of an existing point.
    let r = s
        .write(vec![dbl(
            "ds",
            "p",
            t.clone(),
            &[15, 20, 15, 40],
            &[1.5, 20., 1.6, 4.],
        )])
        .unwrap();
    assert_eq!(r.points, 4);
    let id = id_of(s, "ds", "p", &t).unwrap();
    let got: Vec<(i64, f64)> = all_numeric(s, id)
        .into_iter()
        .map(|(t, b)| (t, f64::from_bits(b)))
        .collect();
    assert_eq!(
        got,
        vec![(10, 1.), (15, 1.6), (20, 20.), (30, 3.), (40, 4.)]
    );
    assert_eq!(s.count(id, 15, 30), 3);
    assert_eq!(s.count(id, 31, 39), 0);
    assert_eq!(s.nth_before(id, 30, 1), Some(20));
    assert_eq!(s.nth_before(id, 30, 3), Some(10));
    assert_eq!(s.nth_before(id, 30, 4), None);
    let (mut ts, mut vs) = (vec![], vec![]);
    s.read_numeric(id, 15, 20, &mut ts, &mut vs);
    assert_eq!((ts, vs), (vec![15, 20], vec![1.6, 20.]));
}

fn batch_rejections_store_nothing(s: &dyn Store) {
    s.write(vec![dbl("ds", "p", tags(&[]), &[1], &[1.])])
        .unwrap();
    // Conflict with the store: the good first entry must not be stored either.
    let e = s
        .write(vec![
            dbl("ds", "q", tags(&[]), &[1], &[1.]),
            strs("ds", "p", tags(&[("x", "1")]), &[2], &["on"]),
        ])
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::TypeConflict {
                existing: "double",
                attempted: "string",
                ..
            }
        ),
        "{e}"
    );
    assert!(s.channel("ds", "q").is_none());
    // Conflict within the batch, on a channel the store has never seen.
    let e = s
        .write(vec![
            dbl("ds", "new", tags(&[("a", "1")]), &[1], &[1.]),
            strs("ds", "new", tags(&[("a", "2")]), &[1], &["x"]),
        ])
        .unwrap_err();
    assert!(matches!(e, StoreError::TypeConflict { .. }), "{e}");
    assert!(s.channel("ds", "new").is_none());
    // Length mismatch.
    let mut w = dbl("ds", "p", tags(&[]), &[5, 6], &[1.]);
    let e = s
        .write(vec![dbl("ds", "p", tags(&[]), &[3], &[3.]), w.clone()])
        .unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::LengthMismatch {
                timestamps: 2,
                values: 1,
                ..
            }
        ),
        "{e}"
    );
    let id = id_of(s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(s.count(id, i64::MIN, i64::MAX), 1);
    w.values = Values::Double(vec![5., 6.]);
    s.write(vec![w]).unwrap();
    assert_eq!(s.count(id, i64::MIN, i64::MAX), 3);
    assert_eq!(s.channels("ds").len(), 1);
}

fn tag_filters(s: &dyn Store) {
    s.write(vec![
        dbl(
            "ds",
            "t",
            tags(&[("stand", "a"), ("loc", "x")]),
            &[1],
            &[1.],
        ),
        dbl(
            "ds",
            "t",
            tags(&[("stand", "b"), ("loc", "x")]),
            &[1],
            &[2.],
        ),
        dbl("ds", "t", tags(&[]), &[1], &[3.]),
    ])
    .unwrap();
    assert_eq!(s.series("ds", "t", &tags(&[])).len(), 3);
    assert_eq!(s.series("ds", "t", &tags(&[("loc", "x")])).len(), 2);
    let a = s.series("ds", "t", &tags(&[("loc", "x"), ("stand", "a")]));
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].tags, tags(&[("stand", "a"), ("loc", "x")]));
    assert!(s.series("ds", "t", &tags(&[("stand", "c")])).is_empty());
    assert!(s.series("ds", "nope", &tags(&[])).is_empty());
    assert!(s.series("other", "t", &tags(&[])).is_empty());
}

fn units_latest_wins(s: &dyn Store) {
    let mut w = dbl("ds", "u", tags(&[]), &[1], &[1.]);
    w.unit = Some("bar".into());
    s.write(vec![w.clone()]).unwrap();
    w.unit = None;
    s.write(vec![w.clone()]).unwrap();
    assert_eq!(s.channel("ds", "u").unwrap().unit.as_deref(), Some("bar"));
    w.unit = Some("psi".into());
    s.write(vec![w]).unwrap();
    let c = s.channel("ds", "u").unwrap();
    assert_eq!(
        (c.unit.as_deref(), c.value_type),
        (Some("psi"), ValueType::Double)
    );
    s.write(vec![dbl("ds", "a", tags(&[]), &[1], &[1.])])
        .unwrap();
    let names: Vec<String> = s
        .channels("ds")
        .iter()
        .map(|c| c.channel.to_string())
        .collect();
    assert_eq!(names, vec!["a", "u"]);
}

fn change_feed_after_visible(s: &dyn Store) {
    let mut rx = s.changes();
    s.write(vec![
        dbl("ds", "c", tags(&[("k", "1")]), &[50, 20, 70], &[1., 2., 3.]),
        dbl("ds", "c", tags(&[("k", "2")]), &[5], &[1.]),
    ])
    .unwrap();
    let got = rx.try_recv().unwrap();
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].earliest, got[0].latest), (20, 70));
    assert_eq!(
        s.count(got[0].series, 20, 70),
        3,
        "data visible when the change arrives"
    );
    assert_eq!((got[1].earliest, got[1].latest), (5, 5));
    assert!(s
        .write(vec![strs("ds", "c", tags(&[]), &[1], &["x"])])
        .is_err());
    assert!(rx.try_recv().is_err(), "a failed write publishes nothing");
}

fn strings_and_logs(s: &dyn Store) {
    s.write(vec![strs(
        "ds",
        "valve",
        tags(&[]),
        &[3, 1, 2],
        &["c", "a", "b"],
    )])
    .unwrap();
    let id = id_of(s, "ds", "valve", &tags(&[])).unwrap();
    let (mut ts, mut vs) = (vec![], vec![]);
    s.read_strings(id, 2, 3, &mut ts, &mut vs);
    assert_eq!(ts, vec![2, 3]);
    assert_eq!(vs, vec![Arc::<str>::from("b"), Arc::from("c")]);
    let (mut nts, mut nvs) = (vec![], vec![]);
    s.read_numeric(id, 0, 10, &mut nts, &mut nvs);
    assert!(nts.is_empty() && nvs.is_empty(), "strings are not numeric");
    let entry = LogEntry {
        message: "ignition".into(),
        args: Arc::new([("k".to_string(), "v".to_string())].into_iter().collect()),
    };
    s.write(vec![SeriesWrite {
        dataset: "ds".into(),
        channel: "log".into(),
        tags: tags(&[]),
        unit: None,
        timestamps: vec![7],
        values: Values::Log(vec![entry.clone()]),
    }])
    .unwrap();
    let id = id_of(s, "ds", "log", &tags(&[])).unwrap();
    let (mut ts, mut vs) = (vec![], vec![]);
    s.read_logs(id, 0, 10, &mut ts, &mut vs);
    assert_eq!((ts, vs), (vec![7], vec![entry]));
}

fn ints_read_as_numeric(s: &dyn Store) {
    let mut w = dbl("ds", "i", tags(&[]), &[1, 2], &[0., 0.]);
    w.values = Values::Int(vec![-3, 4]);
    let mut u = dbl("ds", "u64", tags(&[]), &[1], &[0.]);
    u.values = Values::Uint64(vec![u64::MAX]);
    s.write(vec![w, u]).unwrap();
    let id = id_of(s, "ds", "i", &tags(&[])).unwrap();
    let (mut ts, mut vs) = (vec![], vec![]);
    s.read_numeric(id, 0, 10, &mut ts, &mut vs);
    assert_eq!(vs, vec![-3., 4.]);
    let id = id_of(s, "ds", "u64", &tags(&[])).unwrap();
    let (mut ts, mut vs) = (vec![], vec![]);
    s.read_numeric(id, 0, 10, &mut ts, &mut vs);
    assert_eq!(vs, vec![u64::MAX as f64]);
}

fn closed_rejects_writes(s: &dyn Store) {
    s.write(vec![dbl("ds", "p", tags(&[]), &[1], &[1.])])
        .unwrap();
    s.close().unwrap();
    let e = s
        .write(vec![dbl("ds", "p", tags(&[]), &[2], &[1.])])
        .unwrap_err();
    assert!(matches!(e, StoreError::Closed));
    let id = id_of(s, "ds", "p", &tags(&[])).unwrap();
    assert_eq!(s.count(id, 0, 10), 1, "reads still work after close");
}
