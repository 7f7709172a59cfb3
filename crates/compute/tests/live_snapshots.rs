//! A late joiner's full result of a bucketed live series (issue 9) is rendered from the
//! buckets the computation holds: it reads no point, and it equals a fresh full result of
//! the window the others hold (ending at the last update), bucket for bucket, after
//! in-order appends, late writes (rebuilt buckets) and points leaving the window.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{channel_node, empty_context, parse_node, Counting, MemSource, Val, DATASET};
use sightline_compute::{plan, ChannelKind, LiveMode};
use wire::scout_compute::ComputeNodeResponse;

fn derivative_node(grouped: bool) -> String {
    let group = if grouped {
        r#","tagsToGroupBy":["stand"]"#
    } else {
        ""
    };
    format!(
        r#"{{"type":"series","series":{{"buckets":50,"input":{{"type":"numeric","numeric":{{"type":"derivative","derivative":{{"input":{{"type":"channel","channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},"channel":{{"type":"literal","literal":"x"}}{group}}}}}}}}}}}}}}}}}"#
    )
}

#[test]
fn bucketed_snapshots_come_from_held_buckets() {
    for (name, node) in [
        ("channel", channel_node("numeric", "x", &[], Some(50))),
        ("derivative", parse_node(&derivative_node(false))),
        ("grouped derivative", parse_node(&derivative_node(true))),
    ] {
        let mut source = MemSource::new();
        MemSource::channel(&mut source, "x", ChannelKind::Numeric, None);
        let stands = ["a", "b"];
        let value = |t: i64| Val::Num(((t * 7_919) % 1_000) as f64 * 0.37);
        for t in 0..5_000 {
            source.write("x", &[("stand", stands[(t % 2) as usize])], t, value(t));
        }
        let p = plan(&node, &empty_context(), &source).unwrap();
        let mut live = p.live(2_000, LiveMode::Bucketed);
        live.full(&source, 4_999).unwrap();
        let mut now = 4_999;
        for step in 0..60 {
            for t in now + 1..=now + 37 {
                source.write("x", &[("stand", stands[(t % 2) as usize])], t, value(t));
            }
            let mut earliest = now + 1;
            if step % 7 == 3 {
                // A late write: the buckets from the one holding it on are rebuilt.
                let t = now - 500 - step;
                source.write("x", &[("stand", "b")], t, Val::Num(-1.0));
                earliest = t;
            }
            now += 37;
            live.update(&source, earliest, now).unwrap();
            let counting = Counting {
                inner: &source,
                points: AtomicU64::new(0),
            };
            let snapshot = live.snapshot(&counting, now + 5).unwrap();
            assert_eq!(
                counting.points.load(Ordering::Relaxed),
                0,
                "{name}: the snapshot read points"
            );
            let fresh = p
                .live(2_000, LiveMode::Bucketed)
                .full(&source, live.last_end().unwrap())
                .unwrap();
            assert!(
                !matches!(snapshot, ComputeNodeResponse::Numeric(_)),
                "{name}: a bucketed snapshot"
            );
            assert_eq!(
                format!("{snapshot:?}"),
                format!("{fresh:?}"),
                "{name}: snapshot differs from a fresh full result after step {step}"
            );
        }
    }
}
