//! `sightline import` through the real binary against a real server (`sightline serve` on a
//! temporary data directory): every time format, tags, units, text columns and empty cells,
//! an import killed midway then resumed (every point present once with its value), and
//! malformed files refused with the line and column of the bad cell.

mod common;

use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const DATASET: &str = "ri.sightline.import.dataset.test";
/// 2026-12-01T00:00:00Z.
const T0: i64 = 1_796_083_200_000_000_000;
const SEC: i64 = 1_000_000_000;

fn sightline() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
}

fn import(url: &str, files: &[&Path], extra: &[&str]) -> Output {
    sightline()
        .arg("import")
        .args(files)
        .args(["--dataset", DATASET, "--url", url])
        .args(extra)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run sightline import")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(
        output.status.success(),
        "import failed: {}\n{}",
        text(&output.stdout),
        text(&output.stderr)
    );
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn source(channel: &str, tags: &[(&str, &str)]) -> Value {
    let mut ds = json!({"dataSourceRid": {"type": "literal", "literal": DATASET},
                        "channel": {"type": "literal", "literal": channel}});
    if !tags.is_empty() {
        ds["tags"] = tags
            .iter()
            .map(|(k, v)| (k.to_string(), json!({"type": "literal", "literal": v})))
            .collect::<serde_json::Map<_, _>>()
            .into();
    }
    json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": ds}})
}

fn compute(url: &str, kind: &str, channel: &str, tags: &[(&str, &str)]) -> Value {
    let request = json!({
        "start": {"seconds": T0 / SEC - 100_000, "nanos": 0},
        "end": {"seconds": T0 / SEC + 1_000_000, "nanos": 0},
        "context": {},
        "node": {"type": "series", "series": {"buckets": 100_000_000,
                 "input": {"type": kind, kind: source(channel, tags)}}}
    });
    let response = client()
        .post(format!("{url}/compute/v2/compute"))
        .json(&request)
        .send()
        .expect("compute");
    assert_eq!(response.status().as_u16(), 200, "compute of {channel}");
    response.json().expect("compute JSON")
}

fn nanos(t: &Value) -> i64 {
    t["seconds"].as_i64().expect("seconds") * SEC + t["nanos"].as_i64().expect("nanos")
}

/// The raw points of a numeric channel (empty when it has none).
fn doubles(url: &str, channel: &str, tags: &[(&str, &str)]) -> Vec<(i64, f64)> {
    let response = compute(url, "numeric", channel, tags);
    let plot = &response["numeric"];
    let ts = plot["timestamps"].as_array().cloned().unwrap_or_default();
    let vs = plot["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(ts.len(), vs.len(), "{response}");
    ts.iter()
        .zip(vs)
        .map(|(t, v)| (nanos(t), v.as_f64().expect("value")))
        .collect()
}

/// The raw points of a string channel.
fn strings(url: &str, channel: &str) -> Vec<(i64, String)> {
    let response = compute(url, "enum", channel, &[]);
    let plot = &response["enum"];
    let categories = plot["categories"].as_array().cloned().unwrap_or_default();
    let ts = plot["timestamps"].as_array().cloned().unwrap_or_default();
    let vs = plot["values"].as_array().cloned().unwrap_or_default();
    ts.iter()
        .zip(vs)
        .map(|(t, v)| {
            let i = v.as_u64().expect("category index") as usize;
            (
                nanos(t),
                categories[i].as_str().expect("category").to_string(),
            )
        })
        .collect()
}

fn unit(url: &str, channel: &str) -> Value {
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": source(channel, &[])}}});
    client()
        .post(format!("{url}/compute/v2/compute/units"))
        .json(&json!({"node": node, "context": {}}))
        .send()
        .expect("units")
        .json()
        .expect("units JSON")
}

#[test]
fn every_time_format_imports_exactly() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    // Three points per format: whole, fractional, and sub-second.
    let expected = [T0, T0 + SEC + 250_000_000, T0 + 2 * SEC + 1_000];
    type Render = fn(i64) -> String;
    let cases: [(&str, Render); 5] = [
        ("rfc3339", |t| {
            let s = t.div_euclid(SEC);
            let n = t.rem_euclid(SEC);
            let base = [
                "2026-12-01T00:00:00",
                "2026-12-01T00:00:01",
                "2026-12-01T00:00:02",
            ][(s - T0 / SEC) as usize];
            format!("{base}.{n:09}Z")
        }),
        ("s", |t| format!("{}.{:09}", t / SEC, t % SEC)),
        ("ms", |t| format!("{}.{:06}", t / 1_000_000, t % 1_000_000)),
        ("us", |t| format!("{}.{:03}", t / 1_000, t % 1_000)),
        ("ns", |t| t.to_string()),
    ];
    for (format, render) in cases {
        let path = files.path().join(format!("{format}.csv"));
        let mut csv = format!("time,{format}\n");
        for (i, t) in expected.iter().enumerate() {
            csv.push_str(&format!("{},{}.5\n", render(*t), i));
        }
        std::fs::write(&path, csv).expect("write csv");
        // Auto-detected, then the same file again with the format given.
        assert_ok(&import(&server.url, &[&path], &[]));
        assert_ok(&import(&server.url, &[&path], &["--time-format", format]));
        let got = doubles(&server.url, format, &[]);
        let want: Vec<(i64, f64)> = expected
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as f64 + 0.5))
            .collect();
        assert_eq!(got, want, "{format}: every point once with its value");
    }
}

#[test]
fn tags_units_text_columns_and_empty_cells() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("rig.csv");
    std::fs::write(
        &path,
        "timestamp,pressure,valve,temp,note\n\
         2026-12-01T00:00:00Z,1.5,open,20,\n\
         2026-12-01T00:00:01Z,,closed,21,\"a, quoted\"\n\
         \n\
         2026-12-01T00:00:02Z,2.5,,,\n",
    )
    .expect("write csv");
    let output = import(
        &server.url,
        &[&path],
        &[
            "--tag",
            "rig=A",
            "--tag",
            "run=42",
            "--units",
            "pressure=bar,temp=degC",
        ],
    );
    assert_ok(&output);
    let summary = text(&output.stdout);
    assert!(
        summary.contains("7 points (3 rows) into 4 channels"),
        "{summary}"
    );
    assert!(
        summary.contains("2026-12-01T00:00:00Z → 2026-12-01T00:00:02Z"),
        "{summary}"
    );

    let tagged = [("rig", "A"), ("run", "42")];
    assert_eq!(
        doubles(&server.url, "pressure", &tagged),
        vec![(T0, 1.5), (T0 + 2 * SEC, 2.5)]
    );
    assert_eq!(
        doubles(&server.url, "temp", &[("run", "42")]),
        vec![(T0, 20.0), (T0 + SEC, 21.0)]
    );
    assert!(doubles(&server.url, "pressure", &[("run", "43")]).is_empty());
    assert_eq!(
        strings(&server.url, "valve"),
        vec![(T0, "open".to_string()), (T0 + SEC, "closed".to_string())]
    );
    assert_eq!(
        strings(&server.url, "note"),
        vec![(T0 + SEC, "a, quoted".to_string())]
    );
    assert_eq!(unit(&server.url, "pressure")["single"]["success"], "bar");
    assert_eq!(unit(&server.url, "temp")["single"]["success"], "degC");
}

#[test]
fn string_columns_flag_forces_text() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("codes.csv");
    let ms = T0 / 1_000_000;
    std::fs::write(&path, format!("ts,code\n{ms},007\n{},42\n", ms + 1000)).expect("write");
    assert_ok(&import(
        &server.url,
        &[&path],
        &["--string-columns", "code"],
    ));
    assert_eq!(
        strings(&server.url, "code"),
        vec![(T0, "007".to_string()), (T0 + SEC, "42".to_string())]
    );
}

/// A value that identifies its row, so a misplaced or duplicated point shows.
fn row_value(row: i64, column: i64) -> f64 {
    (row * 10 + column) as f64 + 0.25
}

#[test]
fn killed_import_resumes_with_every_point_once() {
    const ROWS: i64 = 60_000;
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("long.csv");
    let mut csv = String::from("time_ms,a,b\n");
    for row in 0..ROWS {
        csv.push_str(&format!(
            "{},{},{}\n",
            T0 / 1_000_000 + row,
            row_value(row, 1),
            row_value(row, 2)
        ));
    }
    std::fs::write(&path, csv).expect("write csv");
    let checkpoint = files.path().join("long.csv.sightline-import");

    // Small requests, one at a time, so the import is still running when it is killed.
    let mut child = sightline()
        .arg("import")
        .arg(&path)
        .args(["--dataset", DATASET, "--url", &server.url])
        .args([
            "--time-column",
            "time_ms",
            "--batch-points",
            "200",
            "--in-flight",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start import");
    let deadline = Instant::now() + Duration::from_secs(60);
    let stopped_at = loop {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        let line = std::fs::read(&checkpoint)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|c| c["position"]["line"].as_u64());
        if let Some(line) = line.filter(|l| *l > 2_000) {
            break line;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().expect("kill -9 the importer");
    let _ = child.wait();
    assert!(checkpoint.exists(), "the checkpoint survives the kill");
    let partial = doubles(&server.url, "a", &[]).len() as i64;
    assert!(
        partial >= stopped_at as i64 - 2 && partial < ROWS,
        "killed midway: {partial} of {ROWS} rows stored, checkpoint at line {stopped_at}"
    );

    let output = import(
        &server.url,
        &[&path],
        &["--resume", "--time-column", "time_ms"],
    );
    assert_ok(&output);
    let summary = text(&output.stdout);
    assert!(summary.contains("resumed at line"), "{summary}");
    assert!(
        !checkpoint.exists(),
        "the checkpoint is removed when the file is done"
    );
    for column in [1, 2] {
        let got = doubles(&server.url, ["", "a", "b"][column as usize], &[]);
        assert_eq!(
            got.len() as i64,
            ROWS,
            "column {column}: every row exactly once"
        );
        for (row, (t, v)) in got.iter().enumerate() {
            let row = row as i64;
            assert_eq!(
                *t,
                T0 + row * 1_000_000,
                "column {column} row {row}: timestamp"
            );
            assert_eq!(
                *v,
                row_value(row, column),
                "column {column} row {row}: value"
            );
        }
    }
}

#[test]
fn malformed_files_are_refused_with_line_and_column() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");

    // A bad time cell: nothing of the file is stored (it fits in one request).
    let bad_time = files.path().join("bad_time.csv");
    std::fs::write(
        &bad_time,
        "time,x\n2026-12-01T00:00:00Z,1\n2026-12-01T00:00:01Z,2\n2026-12-01 nonsense,3\n",
    )
    .expect("write");
    let output = import(&server.url, &[&bad_time], &[]);
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(err.contains("line 4") && err.contains("\"time\""), "{err}");
    assert!(
        err.contains("RFC 3339") && err.contains("--time-format"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert!(doubles(&server.url, "x", &[]).is_empty(), "nothing stored");

    // A text cell deep in a numeric column (past the rows used to detect the kind).
    let bad_number = files.path().join("bad_number.csv");
    let mut csv = String::from("time,y\n");
    for i in 0..1500 {
        let cell = if i == 1400 {
            "n/a".to_string()
        } else {
            i.to_string()
        };
        csv.push_str(&format!("{},{cell}\n", T0 / SEC + i));
    }
    std::fs::write(&bad_number, csv).expect("write");
    let output = import(&server.url, &[&bad_number], &[]);
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(err.contains("line 1402") && err.contains("\"y\""), "{err}");
    assert!(
        err.contains("\"n/a\"") && err.contains("--string-columns y"),
        "{err}"
    );
    assert!(doubles(&server.url, "y", &[]).is_empty(), "nothing stored");

    // A missing time column.
    let output = import(&server.url, &[&bad_time], &["--time-column", "when"]);
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(
        err.contains("no column named \"when\"") && err.contains("\"time\", \"x\""),
        "{err}"
    );

    // What the server refuses comes back with its error name, and nothing is stored.
    let good = files.path().join("good.csv");
    std::fs::write(&good, "time,z\n2026-12-01T00:00:00Z,1\n").expect("write");
    let output = sightline()
        .arg("import")
        .arg(&good)
        .args(["--dataset", "not-a-rid", "--url", &server.url])
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run");
    assert!(!output.status.success());
    let err = text(&output.stderr);
    assert!(
        err.contains("NominalChannelWriter:InvalidDataSource"),
        "{err}"
    );
    assert!(err.contains("rows 2–2"), "{err}");
}

#[test]
/// The default (`nominal-columnar`) is what the other tests use; the row protobuf and the
/// JSON columnar writer import the same points.
fn every_format_imports_the_same_points() {
    for format in ["nominal", "columnar"] {
        let data = tempfile::tempdir().expect("tempdir");
        let server = common::start(data.path(), &[]);
        let files = tempfile::tempdir().expect("tempdir");
        let path = files.path().join("proto.csv");
        let s = T0 / SEC;
        std::fs::write(
            &path,
            format!(
                "time,p,mode\n{s}.5,1.25,idle\n{},,run\n{},-3,\n",
                s + 1,
                s + 2
            ),
        )
        .expect("write");
        let output = import(
            &server.url,
            &[&path],
            &["--format", format, "--tag", "rig=B", "--units", "p=bar"],
        );
        assert_ok(&output);
        assert_eq!(
            doubles(&server.url, "p", &[("rig", "B")]),
            vec![(T0 + SEC / 2, 1.25), (T0 + 2 * SEC, -3.0)]
        );
        assert_eq!(
            strings(&server.url, "mode"),
            vec![
                (T0 + SEC / 2, "idle".to_string()),
                (T0 + SEC, "run".to_string())
            ]
        );
        assert_eq!(unit(&server.url, "p")["single"]["success"], "bar");
    }
}
