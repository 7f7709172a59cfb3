//! `sightline bench --scenario write-formats`, run tiny against the debug binary so the
//! scenario cannot rot: it starts its own server and writes the same points in every writer
//! format, each refused body failing the run. (Figures are not judged here: speed is
//! measured by the benchmark, never asserted in tests.)

mod common;

use common::bench::run_bench;

#[test]
fn tiny_write_formats_run_stores_every_format() {
    let (ok, report) = run_bench(&[
        "--scenario",
        "write-formats",
        "--format-requests",
        "4",
        "--batch-points",
        "1000",
        "--channels",
        "10",
    ]);
    assert!(ok, "bench failed:\n{report}");
    for format in [
        "JSON rows",
        "JSON columnar",
        "protobuf rows, zstd",
        "protobuf columnar (",
        "protobuf columnar, zstd",
        "Prometheus remote write",
    ] {
        let line = report
            .lines()
            .find(|l| l.trim_start().starts_with(format))
            .unwrap_or_else(|| panic!("no {format} line in:\n{report}"));
        let points: Vec<&str> = line.split_whitespace().collect();
        assert!(
            points.contains(&"4000"),
            "{format}: 4 requests of 1,000 points: {line}"
        );
    }
}
