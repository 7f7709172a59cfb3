//! `sightline watch` as a user runs it, against a real `sightline serve`: `--json` prints
//! merged window states of numeric, enum and ranges expressions and of a graph JSON file,
//! merges live appends, a bad expression fails with a caret under the column, and it works
//! over `wss://` with `--ca-cert` (and says to pass it when the certificate is not trusted).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use serde_json::{json, Value};
use std::io::{BufRead as _, BufReader};
use std::process::{Command, Output, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

const RID: &str = "ri.sightline.test.dataset.watch";

fn write(base: &str, body: Value, path: &str) {
    let status = reqwest::blocking::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .expect("write")
        .status();
    assert_eq!(status.as_u16(), 204, "write to {path}");
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i64
}

fn stamp(t: i64) -> Value {
    json!({"seconds": t / 1_000_000_000, "nanos": t % 1_000_000_000})
}

fn seed(base: &str) {
    let now = now();
    let ts = |k: i64| stamp(now - (5 - k) * 1_000_000_000);
    write(
        base,
        json!({"dataSourceRid": RID, "batches": [
            {"channel": "pressure", "timestamps": [ts(0), ts(1), ts(2), ts(3)],
             "values": {"type": "doubles", "doubles": [10.0, 40.0, 45.0, 20.0]}},
            {"channel": "valve", "timestamps": [ts(0), ts(2)],
             "values": {"type": "strings", "strings": ["closed", "open"]}}]}),
        "/storage/writer/v1/columnar",
    );
}

fn watch(base: &str, args: &[&str]) -> Output {
    watch_command(base, args)
        .output()
        .expect("run sightline watch")
}

fn watch_command(base: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sightline"));
    command.arg("watch").args(args).args([
        "--dataset",
        RID,
        "--url",
        base,
        "--window",
        "1m",
        "--min-delay",
        "50ms",
    ]);
    command
}

fn json_lines(out: &Output) -> Vec<Value> {
    assert!(
        out.status.success(),
        "watch failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

#[test]
fn json_output_holds_the_merged_window_of_each_kind() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    seed(&server.url);

    let lines = json_lines(&watch(
        &server.url,
        &["pressure * 2", "--json", "--updates", "1"],
    ));
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["kind"], "numeric");
    let values: Vec<f64> = lines[0]["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p[1].as_f64().unwrap())
        .collect();
    assert_eq!(values, [20.0, 80.0, 90.0, 40.0]);

    // The server's catalogue types `valve` as an enum.
    let lines = json_lines(&watch(&server.url, &["valve", "--json", "--updates", "1"]));
    assert_eq!(lines[0]["kind"], "enum");
    assert_eq!(lines[0]["points"][1][1], "open");

    let lines = json_lines(&watch(
        &server.url,
        &["pressure > 30", "--json", "--updates", "1"],
    ));
    assert_eq!(lines[0]["kind"], "range");
    assert_eq!(lines[0]["count"], 1);
}

#[test]
fn a_bad_expression_fails_with_a_caret_under_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    let out = watch(&server.url, &["rolling_mean(pressure, 1s", "--json"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid expression at 1:26"), "{stderr}");
    assert!(
        stderr.contains(
            "rolling_mean(pressure, 1s\n                         ^ expected ',' or ')', found end of input"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "nothing printed on stdout");
}

#[test]
fn live_appends_are_merged_into_the_printed_window() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    seed(&server.url);
    let mut child = watch_command(&server.url, &["pressure", "--json", "--updates", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start sightline watch");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["count"], 4, "{first}");
    assert_eq!(first["fulls"], 1);
    write(
        &server.url,
        json!({"dataSourceRid": RID, "batches": [{"channel": "pressure",
            "timestamps": [stamp(now())], "values": {"type": "doubles", "doubles": [99.0]}}]}),
        "/storage/writer/v1/columnar",
    );
    // The next lines are appends; a spurious one (no change) may come first.
    let values = |line: &Value| -> Vec<f64> {
        line["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[1].as_f64().unwrap())
            .collect()
    };
    let second = lines
        .by_ref()
        .take(3)
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap())
        .find(|line| values(line).len() == 5)
        .expect("a line with the new point");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(values(&second), [10.0, 40.0, 45.0, 20.0, 99.0]);
    assert_eq!(second["fulls"], 1, "merged from appends: {second}");
    assert!(second["end"].as_i64().is_some(), "{second}");
}

#[test]
fn a_graph_json_file_is_watched_as_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &[]);
    seed(&server.url);
    let graph = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "literal", "literal": RID},
            "channel": {"type": "literal", "literal": "pressure"}}}}}}});
    let file = dir.path().join("graph.json");
    std::fs::write(&file, graph.to_string()).unwrap();
    let arg = format!("@{}", file.display());
    let lines = json_lines(&watch(&server.url, &[&arg, "--json", "--updates", "1"]));
    assert_eq!(lines[0]["kind"], "numeric");
    assert_eq!(lines[0]["count"], 4);
}

#[test]
fn json_over_wss_with_a_ca_cert() {
    let dir = tempfile::tempdir().unwrap();
    let certified =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let server = common::start(
        &dir.path().join("data"),
        &["--demo", "--tls-cert", cert, "--tls-key", key],
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);

    // The demo's stand A pressure, once a full result holds points.
    let watch = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_sightline"))
            .args([
                "watch",
                "chamber.pressure{stand=A}",
                "--json",
                "--updates",
                "3",
            ])
            .args(["--url", &server.url, "--min-delay", "50ms"])
            .args(extra)
            .output()
            .expect("run sightline watch")
    };
    let lines = json_lines(&watch(&["--ca-cert", cert]));
    let last = lines.last().expect("a state line");
    assert_eq!(last["kind"], "numeric");
    assert!(
        !last["points"].as_array().unwrap().is_empty(),
        "the demo's points arrive over wss: {last}"
    );

    // Without the CA, a clear error that says what to do; no hang.
    let out = watch(&[]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not trusted") && stderr.contains("--ca-cert"),
        "{stderr}"
    );
}
