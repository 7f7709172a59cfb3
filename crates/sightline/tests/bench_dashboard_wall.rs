//! `sightline bench --scenario dashboard-wall`, run tiny against the debug binary so the
//! scenario cannot rot: it starts its own server, writes live, streams and polls the same
//! panels, and reports figures in which every frame parsed with the upstream wire types,
//! no connection dropped, and both modes delivered results. (Figures are not judged here:
//! speed is measured by the benchmark, never asserted in tests.)

mod common;

use common::bench::run_bench;

/// The number before `/s` on the line starting with `label`.
fn rate(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.trim_start().starts_with(label))
        .unwrap_or_else(|| panic!("no {label} line in:\n{report}"));
    let figure = line
        .trim_start()
        .trim_start_matches(label)
        .split("/s")
        .next()
        .unwrap_or_default()
        .trim()
        .replace(',', "");
    figure
        .parse()
        .unwrap_or_else(|_| panic!("no rate in {line:?}"))
}

#[test]
fn tiny_dashboard_wall_streams_and_polls_with_every_frame_parsed() {
    let (ok, report) = run_bench(&[
        "--scenario",
        "dashboard-wall",
        "--channels",
        "3",
        "--rate-hz",
        "100",
        "--writes-per-sec",
        "5",
        "--subscriptions",
        "8",
        "--connections",
        "2",
        "--subs-per-message",
        "3",
        "--window-secs",
        "10",
        "--baseline-secs",
        "1",
        "--measure-secs",
        "3",
        "--min-delay-ms",
        "200",
        "--mode",
        "both",
        "--distinct",
    ]);
    assert!(ok, "bench failed:\n{report}");
    assert!(
        report.contains("created        8 of 8 in"),
        "every subscription is created:\n{report}"
    );
    assert!(report.contains("0 refused"), "{report}");
    assert!(
        report.contains("connections    0 of 2 dropped"),
        "no connection dropped:\n{report}"
    );
    let parse_lines: Vec<&str> = report
        .lines()
        .filter(|l| l.trim_start().starts_with("parse failures"))
        .collect();
    assert_eq!(parse_lines.len(), 2, "one per mode:\n{report}");
    for line in parse_lines {
        assert!(line.contains("parse failures 0 "), "{line}");
        assert!(line.ends_with("errors 0"), "{line}");
    }
    assert!(
        rate(&report, "updates") > 0.0,
        "streamed updates:\n{report}"
    );
    assert!(
        rate(&report, "refreshes") > 0.0,
        "polled refreshes:\n{report}"
    );
    assert!(
        report.contains("poll / stream server CPU per refresh:"),
        "the ratio of one run:\n{report}"
    );
    assert!(report.contains("server peak RSS "), "{report}");
    assert!(
        !report.contains("peak RSS n/a"),
        "read from /proc:\n{report}"
    );
    assert!(
        report.contains("writes refused or failed 0"),
        "every live write was acknowledged:\n{report}"
    );
    assert!(
        report.contains("panels         2 raw, 2 derivative, 2 rolling mean, 2 threshold ranges"),
        "{report}"
    );
}
