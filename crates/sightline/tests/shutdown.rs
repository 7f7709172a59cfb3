//! SIGTERM with many series: the binary exits within the drain period plus the shutdown
//! flush budget (and a margin), whatever the series count, and the next start finds every
//! series and every point (from segments, or replayed from the log if the flush gave up).
//! A SIGKILL in the middle of that flush loses nothing either.

mod common;

use common::http::metric;
use common::start;
use std::time::{Duration, Instant};

/// As many series as a debug-build test writes in a few seconds.
const SERIES: usize = 50_000;
const PER_REQUEST: usize = 10_000;
const RID: &str = "ri.sightline.test.dataset.shutdown";
const T0: i64 = 1_767_225_600;
/// Past drain (0 s) and flush budget (2 s): exiting later means shutdown still grows with
/// the series count (it took tens of seconds per million series before the budget).
const EXIT_BOUND: Duration = Duration::from_secs(15);

/// A gauge from the server's `/metrics`.
fn gauge(client: &reqwest::blocking::Client, url: &str, name: &str) -> f64 {
    metric(client, url, name).unwrap_or_else(|| panic!("no {name} in /metrics"))
}

#[test]
fn sigterm_with_many_series_is_prompt_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    let mut server = start(dir.path(), &["--drain-secs", "0"]);
    write_many_series(&client, &server.url);
    let started = Instant::now();
    let _ = std::process::Command::new("kill")
        .arg(server.child.id().to_string())
        .status();
    let exit = loop {
        if let Some(exit) = server.child.try_wait().expect("wait") {
            break exit;
        }
        assert!(
            started.elapsed() < EXIT_BOUND,
            "SIGTERM with {SERIES} series did not finish within {EXIT_BOUND:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(exit.success(), "graceful stop failed: {exit:?}");
    eprintln!(
        "SIGTERM to exit with {SERIES} series: {:?}",
        started.elapsed()
    );

    assert_everything_is_back(&client, dir.path());
}

#[test]
fn sigkill_in_the_middle_of_the_shutdown_flush_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()
        .expect("client");
    // A long budget, so the flush is surely still running when the SIGKILL arrives.
    let mut server = start(
        dir.path(),
        &["--drain-secs", "0", "--shutdown-flush-budget", "60s"],
    );
    write_many_series(&client, &server.url);
    let _ = std::process::Command::new("kill")
        .arg(server.child.id().to_string())
        .status();
    std::thread::sleep(Duration::from_millis(300));
    let _ = server.child.kill();
    let _ = server.child.wait();
    assert_everything_is_back(&client, dir.path());
}

/// Writes [`SERIES`] series of two points each and checks the server counts them.
fn write_many_series(client: &reqwest::blocking::Client, url: &str) {
    for first in (0..SERIES).step_by(PER_REQUEST) {
        let batches: Vec<serde_json::Value> = (first..first + PER_REQUEST)
            .map(|i| {
                serde_json::json!({
                    "channel": format!("c{}", i % 10),
                    "tags": {"sensor": format!("s{i}")},
                    "timestamps": [{"seconds": T0, "nanos": 0}, {"seconds": T0 + 1, "nanos": 0}],
                    "values": {"type": "doubles", "doubles": [i as f64, -(i as f64)]},
                })
            })
            .collect();
        let status = client
            .post(format!("{url}/storage/writer/v1/columnar"))
            .json(&serde_json::json!({"dataSourceRid": RID, "batches": batches}))
            .send()
            .expect("write")
            .status();
        assert_eq!(status.as_u16(), 204);
    }
    assert_eq!(gauge(client, url, "sightline_store_series"), SERIES as f64);
}

/// Starts the server again on `dir` and finds every series and point.
fn assert_everything_is_back(client: &reqwest::blocking::Client, dir: &std::path::Path) {
    let server = start(dir, &[]);
    let url = &server.url;
    assert_eq!(gauge(client, url, "sightline_store_series"), SERIES as f64);
    let points = gauge(client, url, "sightline_store_head_points")
        + gauge(client, url, "sightline_store_segment_points");
    // Nothing lost. A kill after some of the flush's segments but before the log is
    // retired leaves those points in a segment *and* in the replayed log: reads merge the
    // two (newest wins), but these gauges count both until the next flush (a known issue:
    // recovery should skip log records the segments already hold).
    assert!(
        ((2 * SERIES) as f64..=(4 * SERIES) as f64).contains(&points),
        "{points} points after the restart, {} written",
        2 * SERIES
    );
    // One series, read back through compute.
    let i = 43_217;
    let query = serde_json::json!({
        "start": {"seconds": T0 - 1, "nanos": 0}, "end": {"seconds": T0 + 2, "nanos": 0},
        "context": {},
        "node": {"type": "series", "series": {"input": {"type": "numeric", "numeric": {"type": "channel",
            "channel": {"type": "dataSource", "dataSource": {
                "dataSourceRid": {"type": "literal", "literal": RID},
                "channel": {"type": "literal", "literal": format!("c{}", i % 10)},
                "tags": {"sensor": {"type": "literal", "literal": format!("s{i}")}}}}}}}}});
    let result: serde_json::Value = client
        .post(format!("{}/compute/v2/compute", server.url))
        .json(&query)
        .send()
        .expect("compute")
        .json()
        .expect("json");
    assert_eq!(
        result["numeric"]["values"],
        serde_json::json!([i as f64, -(i as f64)]),
        "{result}"
    );
}
