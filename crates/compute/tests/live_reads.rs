//! Live threshold ranges read what entered the window, not the run they extend (issue 9):
//! while a threshold has held for 20,000 points, each in-order update of 10 points reads
//! about those points, whether its window ends at its newest point or a little after
//! (then the next write lands partly before the previous end, as a writer's batch taken
//! before an update and written after it does). The re-read this replaced went back to
//! the run's start on every update. While the run stays open nothing is sent (the client
//! holds it already); the append that closes it carries its true start.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::sync::atomic::{AtomicU64, Ordering};

use common::{empty_context, parse_node, Counting, MemSource, Val, DATASET};
use sightline_compute::{plan, ChannelKind, LiveMode, LiveUpdate};
use wire::persistent_compute::ComputeNodeAppendResponse;

fn threshold_ranges() -> String {
    format!(
        r#"{{"type":"ranges","ranges":{{"input":{{"type":"threshold","threshold":{{"input":{{"type":"channel","channel":{{"type":"dataSource","dataSource":{{"dataSourceRid":{{"type":"literal","literal":"{DATASET}"}},"channel":{{"type":"literal","literal":"x"}}}}}}}},"threshold":{{"type":"literal","literal":100.0}},"operator":"GREATER_THAN"}}}},"maxRanges":1000}}}}"#
    )
}

#[test]
fn a_long_true_run_is_not_read_again_on_every_update() {
    for lag in [0, 5] {
        let mut source = MemSource::new();
        source.channel("x", ChannelKind::Numeric, None);
        source.write("x", &[], 0, Val::Num(0.0));
        for t in 1..20_000 {
            source.write("x", &[], t, Val::Num(200.0));
        }
        let p = plan(&parse_node(&threshold_ranges()), &empty_context(), &source).unwrap();
        let mut live = p.live(30_000, LiveMode::Auto);
        live.full(&source, 19_999).unwrap();
        let mut newest = 19_999;
        let mut end = 19_999;
        let mut read = 0;
        let updates = 50;
        for _ in 0..updates {
            for t in newest + 1..=newest + 10 {
                source.write("x", &[], t, Val::Num(200.0));
            }
            let counting = Counting {
                inner: &source,
                points: AtomicU64::new(0),
            };
            end = (end + 1).max(newest + 10 + lag);
            let update = live.update(&counting, newest + 1, end).unwrap();
            newest += 10;
            read += counting.points.load(Ordering::Relaxed);
            // The open run [1, ..) is what the client holds already: nothing to send.
            assert_eq!(update, LiveUpdate::Unchanged, "lag {lag}");
        }
        let per_update = read / updates;
        assert!(
            per_update <= 40,
            "lag {lag}: {per_update} points read per update of 10"
        );
        // The run ends: the append carries it whole, with the held start.
        newest += 1;
        source.write("x", &[], newest, Val::Num(0.0));
        let update = live.update(&source, newest, (end + 1).max(newest)).unwrap();
        let LiveUpdate::Append(a) = update else {
            panic!("expected an append, got {update:?}");
        };
        let ComputeNodeAppendResponse::Range(ranges) = a.result else {
            panic!("expected ranges");
        };
        assert_eq!(ranges.len(), 1, "lag {lag}");
        assert_eq!(ranges[0].start.as_ref().map(|t| t.nanos.0), Some(1));
        assert_eq!(ranges[0].end.as_ref().map(|t| t.nanos.0), Some(newest));
    }
}
