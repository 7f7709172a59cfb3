//! The binary with its durable store: `/metrics` reports store figures in the Prometheus
//! text format, data survives a graceful restart, and a second server on the same data
//! directory is refused.

mod common;

use common::start;
use std::time::Duration;

fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.trim().parse().ok())
}

#[test]
fn metrics_restart_and_directory_lock() {
    let dir = tempfile::tempdir().expect("tempdir");
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    let body = serde_json::json!({"dataSourceRid": "ri.sightline.test.dataset.metrics", "batches": [
        {"channel": "x", "timestamps": [{"seconds": 1_767_225_600, "nanos": 0}, {"seconds": 1_767_225_601, "nanos": 0}],
         "values": {"type": "doubles", "doubles": [1.0, 2.0]}}]});

    let mut server = start(dir.path(), &["--drain-secs", "0"]);
    let status = client
        .post(format!("{}/storage/writer/v1/columnar", server.url))
        .json(&body)
        .send()
        .expect("write")
        .status();
    assert_eq!(status.as_u16(), 204);
    let text = client
        .get(format!("{}/metrics", server.url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert_eq!(
        metric(&text, "sightline_store_points_ingested_total"),
        Some(2.0),
        "{text}"
    );
    assert!(
        metric(&text, "sightline_store_wal_bytes").unwrap_or(0.0) > 0.0,
        "{text}"
    );
    assert!(
        metric(&text, "sightline_store_head_points").is_some(),
        "{text}"
    );
    assert!(
        metric(&text, "sightline_store_disk_bytes").is_some(),
        "{text}"
    );

    // A second server on the same directory must refuse to start.
    let second = std::process::Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .expect("run second server");
    assert!(
        !second.status.success(),
        "a second server opened a locked directory"
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("in use"));

    // Graceful stop flushes the head to segments; the points come back.
    let _ = std::process::Command::new("kill")
        .arg(server.child.id().to_string())
        .status();
    let exit = server.child.wait().expect("wait");
    assert!(exit.success(), "graceful stop failed: {exit:?}");
    let server = start(dir.path(), &[]);
    let text = client
        .get(format!("{}/metrics", server.url))
        .send()
        .expect("metrics")
        .text()
        .expect("text");
    assert!(
        metric(&text, "sightline_store_segments").unwrap_or(0.0) >= 1.0,
        "{text}"
    );
    let query = serde_json::json!({
        "start": {"seconds": 1_767_225_599, "nanos": 0}, "end": {"seconds": 1_767_225_602, "nanos": 0},
        "context": {},
        "node": {"type": "series", "series": {"input": {"type": "numeric", "numeric": {"type": "channel",
            "channel": {"type": "dataSource", "dataSource": {
                "dataSourceRid": {"type": "literal", "literal": "ri.sightline.test.dataset.metrics"},
                "channel": {"type": "literal", "literal": "x"}}}}}}}});
    let result: serde_json::Value = client
        .post(format!("{}/compute/v2/compute", server.url))
        .json(&query)
        .send()
        .expect("compute")
        .json()
        .expect("json");
    assert_eq!(
        result["numeric"]["values"],
        serde_json::json!([1.0, 2.0]),
        "{result}"
    );
}
