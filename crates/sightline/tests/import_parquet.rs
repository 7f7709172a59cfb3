//! `sightline import` of Parquet files through the real binary against a real server (built
//! only with the `parquet` feature: `cargo test -p sightline --features parquet --test
//! import_parquet`). Nullable, text, boolean and integer columns, several row groups, and an
//! import killed midway then resumed with every point present once.
#![cfg(feature = "parquet")]

mod common;

use parquet::data_type::{BoolType, ByteArray, ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;
use serde_json::{json, Value};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const DATASET: &str = "ri.sightline.import.dataset.parquet";
/// 2026-12-01T00:00:00Z.
const T0: i64 = 1_796_083_200_000_000_000;
const SEC: i64 = 1_000_000_000;

/// Row `i`: time T0 + i ms; pressure i + 0.5 except every 3rd row (null); state `s{i%4}`;
/// `on` = i is even; count = i.
fn write_file(path: &Path, rows: i64, row_group: usize) {
    let schema = Arc::new(
        parse_message_type(
            "message m {
                required int64 time (TIMESTAMP(NANOS,true));
                optional double pressure;
                required binary state (UTF8);
                required boolean on;
                required int32 count;
            }",
        )
        .expect("schema"),
    );
    let props = Arc::new(
        WriterProperties::builder()
            .set_max_row_group_size(row_group)
            .build(),
    );
    let file = std::fs::File::create(path).expect("create");
    let mut writer = SerializedFileWriter::new(file, schema, props).expect("writer");
    let mut start = 0;
    while start < rows {
        let end = (start + row_group as i64).min(rows);
        let range = start..end;
        let mut group = writer.next_row_group().expect("row group");
        let mut column = group.next_column().expect("column").expect("time");
        let times: Vec<i64> = range.clone().map(|i| T0 + i * 1_000_000).collect();
        column
            .typed::<Int64Type>()
            .write_batch(&times, None, None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("pressure");
        let defs: Vec<i16> = range.clone().map(|i| i16::from(i % 3 != 0)).collect();
        let values: Vec<f64> = range
            .clone()
            .filter(|i| i % 3 != 0)
            .map(|i| i as f64 + 0.5)
            .collect();
        column
            .typed::<DoubleType>()
            .write_batch(&values, Some(&defs), None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("state");
        let states: Vec<ByteArray> = range
            .clone()
            .map(|i| ByteArray::from(format!("s{}", i % 4).as_str()))
            .collect();
        column
            .typed::<ByteArrayType>()
            .write_batch(&states, None, None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("on");
        let on: Vec<bool> = range.clone().map(|i| i % 2 == 0).collect();
        column
            .typed::<BoolType>()
            .write_batch(&on, None, None)
            .expect("write");
        column.close().expect("close");
        let mut column = group.next_column().expect("column").expect("count");
        let count: Vec<i32> = range.clone().map(|i| i as i32).collect();
        column
            .typed::<Int32Type>()
            .write_batch(&count, None, None)
            .expect("write");
        column.close().expect("close");
        group.close().expect("close group");
        start = end;
    }
    writer.close().expect("close file");
}

fn import(url: &str, path: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .arg("import")
        .arg(path)
        .args(["--dataset", DATASET, "--url", url])
        .args(extra)
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("run sightline import")
}

fn compute(url: &str, kind: &str, channel: &str) -> Value {
    let source = json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": {
        "dataSourceRid": {"type": "literal", "literal": DATASET},
        "channel": {"type": "literal", "literal": channel}}}});
    let request = json!({
        "start": {"seconds": T0 / SEC - 10, "nanos": 0},
        "end": {"seconds": T0 / SEC + 100_000, "nanos": 0},
        "context": {},
        "node": {"type": "series", "series": {"buckets": 100_000_000,
                 "input": {"type": kind, kind: source}}}
    });
    reqwest::blocking::Client::new()
        .post(format!("{url}/compute/v2/compute"))
        .json(&request)
        .send()
        .expect("compute")
        .json()
        .expect("compute JSON")
}

fn doubles(url: &str, channel: &str) -> Vec<(i64, f64)> {
    let response = compute(url, "numeric", channel);
    let plot = &response["numeric"];
    let ts = plot["timestamps"].as_array().cloned().unwrap_or_default();
    let vs = plot["values"].as_array().cloned().unwrap_or_default();
    ts.iter()
        .zip(vs)
        .map(|(t, v)| {
            let t = t["seconds"].as_i64().expect("s") * SEC + t["nanos"].as_i64().expect("ns");
            (t, v.as_f64().expect("value"))
        })
        .collect()
}

fn expected_pressure(rows: i64) -> Vec<(i64, f64)> {
    (0..rows)
        .filter(|i| i % 3 != 0)
        .map(|i| (T0 + i * 1_000_000, i as f64 + 0.5))
        .collect()
}

#[test]
fn parquet_columns_become_channels() {
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("rig.parquet");
    write_file(&path, 2_500, 1_000);
    let output = import(&server.url, &path, &["--units", "pressure=bar"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = String::from_utf8_lossy(&output.stdout);
    // 2,500 rows: 1,666 pressures + 3 × 2,500 others.
    assert!(
        summary.contains("9166 points (2500 rows) into 4 channels"),
        "{summary}"
    );
    assert_eq!(doubles(&server.url, "pressure"), expected_pressure(2_500));
    let on = doubles(&server.url, "on");
    assert_eq!(on.len(), 2_500);
    assert!(on
        .iter()
        .enumerate()
        .all(|(i, (_, v))| *v == if i % 2 == 0 { 1.0 } else { 0.0 }));
    let count = doubles(&server.url, "count");
    assert!(count
        .iter()
        .enumerate()
        .all(|(i, (t, v))| *v == i as f64 && *t == T0 + i as i64 * 1_000_000));
    let states = compute(&server.url, "enum", "state");
    let categories = states["enum"]["categories"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let values = states["enum"]["values"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(values.len(), 2_500);
    for (i, v) in values.iter().enumerate() {
        let name = &categories[v.as_u64().expect("index") as usize];
        assert_eq!(name, &json!(format!("s{}", i % 4)), "row {i}");
    }
}

#[test]
fn killed_parquet_import_resumes_with_every_point_once() {
    const ROWS: i64 = 60_000;
    let data = tempfile::tempdir().expect("tempdir");
    let server = common::start(data.path(), &[]);
    let files = tempfile::tempdir().expect("tempdir");
    let path = files.path().join("long.parquet");
    write_file(&path, ROWS, 7_000);
    let checkpoint = files.path().join("long.parquet.sightline-import");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .arg("import")
        .arg(&path)
        .args(["--dataset", DATASET, "--url", &server.url])
        .args(["--batch-points", "400", "--in-flight", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start import");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "no checkpoint appeared");
        let row = std::fs::read(&checkpoint)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|c| c["position"]["record"].as_u64());
        // Past the first row group, so the resume skips a whole group.
        if row.is_some_and(|r| r > 8_000) {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill -9 the importer");
    let _ = child.wait();
    assert!(
        doubles(&server.url, "count").len() < ROWS as usize,
        "killed midway"
    );

    let output = import(&server.url, &path, &["--resume"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("resumed at line"));
    assert!(!checkpoint.exists());
    assert_eq!(doubles(&server.url, "pressure"), expected_pressure(ROWS));
    let count = doubles(&server.url, "count");
    assert_eq!(count.len(), ROWS as usize, "every row exactly once");
    assert!(count
        .iter()
        .enumerate()
        .all(|(i, (t, v))| *v == i as f64 && *t == T0 + i as i64 * 1_000_000));
}
