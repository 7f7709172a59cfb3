//! `POST /compute/v2/compute` for raw channel data: inclusive ranges, raw vs bucketed,
//! bucket statistics against a naive reference, the series sources of issue 2, and errors.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Result};
use common::merge::Plot;
use common::*;
use serde_json::json;
use sightline_wire::scout_compute::ComputeNodeResponse;
use sightline_wire::time::timestamp_to_nanos;
use std::collections::BTreeMap;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_range_is_inclusive_at_both_ends() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let (start, end) = (BASE - 10 * SEC, BASE - 5 * SEC);
    server
        .write_doubles(
            &rid,
            "x",
            &[(start - 1, 0.0), (start, 1.0), (end, 2.0), (end + 1, 3.0)],
        )
        .await?;
    let got = numeric_points(&server.compute(&numeric_node(&rid, "x"), start, end).await?)?;
    ensure!(got == vec![(start, 1.0), (end, 2.0)], "{got:?}");
    // A single-instant range.
    let got = numeric_points(&server.compute(&numeric_node(&rid, "x"), end, end).await?)?;
    ensure!(got == vec![(end, 2.0)], "{got:?}");
    Ok(())
}

/// Naive population statistics of one bucket.
#[derive(Debug)]
struct Reference {
    count: i64,
    min: f64,
    max: f64,
    mean: f64,
    variance: f64,
    first: (i64, f64),
    last: (i64, f64),
}

fn reference_buckets(points: &[(i64, f64)], width: i64) -> BTreeMap<i64, Reference> {
    let mut groups: BTreeMap<i64, Vec<(i64, f64)>> = BTreeMap::new();
    for &(t, v) in points {
        groups
            .entry((t.div_euclid(width) + 1) * width)
            .or_default()
            .push((t, v));
    }
    groups
        .into_iter()
        .map(|(stamp, pts)| {
            let n = pts.len() as f64;
            let mean = pts.iter().map(|p| p.1).sum::<f64>() / n;
            let variance = pts.iter().map(|p| (p.1 - mean).powi(2)).sum::<f64>() / n;
            let r = Reference {
                count: pts.len() as i64,
                min: pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
                max: pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
                mean,
                variance,
                first: pts[0],
                last: *pts.last().unwrap(),
            };
            (stamp, r)
        })
        .collect()
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() <= 1e-9 * b.abs().max(1.0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn more_points_than_buckets_gives_aligned_buckets_equal_to_a_naive_reference() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    // 20 s over 10 buckets: 2 s buckets; the range starts on a bucket boundary.
    let (start, end) = (BASE - 20 * SEC, BASE);
    // Irregular spacing and values, some buckets empty.
    let points: Vec<(i64, f64)> = (0..200)
        .map(|i| {
            let t = start + (i * i * 7_919_000) % (20 * SEC);
            (t, ((i * 37) % 101) as f64 - 50.0 + 0.25 * i as f64)
        })
        .filter(|(t, _)| !(BASE - 9 * SEC..BASE - 7 * SEC).contains(t))
        .collect::<BTreeMap<_, _>>()
        .into_iter()
        .collect();
    server.write_doubles(&rid, "x", &points).await?;
    let node = series_node("numeric", &rid, "x", &[], Some(10));
    let result = server.compute(&node, start, end).await?;
    let ComputeNodeResponse::BucketedNumeric(plot) = &result else {
        bail!(
            "{} points over 10 buckets gave {}",
            points.len(),
            result.variant_name()
        )
    };
    let expected = reference_buckets(&points, 2 * SEC);
    ensure!(
        plot.buckets.len() == expected.len(),
        "{} buckets, expected {}",
        plot.buckets.len(),
        expected.len()
    );
    for ((t, b), (stamp, r)) in plot.timestamps.iter().zip(&plot.buckets).zip(&expected) {
        let t = timestamp_to_nanos(t)?;
        ensure!(t == *stamp, "bucket end {t}, expected {stamp}");
        ensure!(
            b.count.map(|c| c.0) == Some(r.count),
            "bucket {t}: count {:?} vs {r:?}",
            b.count
        );
        ensure!(
            close(b.min, r.min) && close(b.max, r.max),
            "bucket {t}: min/max {b:?} vs {r:?}"
        );
        ensure!(
            close(b.mean, r.mean),
            "bucket {t}: mean {:?} vs {r:?}",
            b.mean
        );
        ensure!(
            close(b.variance, r.variance),
            "bucket {t}: variance {:?} vs {r:?}",
            b.variance
        );
        let first = b
            .first_point
            .as_ref()
            .map(|p| (timestamp_to_nanos(&p.timestamp).unwrap(), p.value));
        ensure!(
            first == Some(r.first),
            "bucket {t}: first {first:?} vs {r:?}"
        );
        let last = b
            .last_point
            .as_ref()
            .map(|p| (timestamp_to_nanos(&p.timestamp).unwrap(), p.value));
        let expected_last = (r.count > 1).then_some(r.last);
        ensure!(last == expected_last, "bucket {t}: last {last:?} vs {r:?}");
    }
    // Exactly `buckets` points stay raw.
    let ten: Vec<(i64, f64)> = points.iter().copied().take(10).collect();
    let (lo, hi) = (ten[0].0, ten[9].0);
    let raw = server.compute(&node, lo, hi).await?;
    ensure!(
        numeric_points(&raw)? == ten,
        "10 points with buckets = 10 must be raw: {raw:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolution_sets_the_bucket_width() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &series(BASE - 10 * SEC, 100 * MS, 0..100))
        .await?;
    let mut node = series_node("numeric", &rid, "x", &[], Some(10));
    node["series"]["resolution"] = json!(5 * SEC);
    let result = server.compute(&node, BASE - 10 * SEC, BASE).await?;
    let ComputeNodeResponse::BucketedNumeric(plot) = &result else {
        bail!("got {}", result.variant_name())
    };
    let stamps: Vec<i64> = plot
        .timestamps
        .iter()
        .map(|t| timestamp_to_nanos(t).unwrap())
        .collect();
    ensure!(stamps == vec![BASE - 5 * SEC, BASE], "stamps {stamps:?}");
    ensure!(
        plot.buckets
            .iter()
            .all(|b| b.count.map(|c| c.0) == Some(50)),
        "{plot:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enum_buckets_histogram_the_values() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let states = ["A", "B", "C"];
    let points: Vec<(i64, &str)> = (0..30)
        .map(|i| (BASE - 30 * SEC + i * SEC, states[(i * i % 3) as usize]))
        .collect();
    server.write_strings(&rid, "s", &points).await?;
    let node = series_node("enum", &rid, "s", &[], Some(3));
    let result = server.compute(&node, BASE - 30 * SEC, BASE).await?;
    let ComputeNodeResponse::BucketedEnum(plot) = &result else {
        bail!("got {}", result.variant_name())
    };
    let mut total: BTreeMap<String, i64> = BTreeMap::new();
    for b in &plot.buckets {
        for (code, n) in &b.histogram {
            let name = plot
                .categories
                .get(*code as usize)
                .cloned()
                .unwrap_or_default();
            *total.entry(name).or_default() += n.0;
        }
    }
    let mut expected: BTreeMap<String, i64> = BTreeMap::new();
    for (_, s) in &points {
        *expected.entry(s.to_string()).or_default() += 1;
    }
    ensure!(
        total == expected,
        "histograms {total:?}, written {expected:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_are_never_bucketed() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let lines: Vec<(i64, String)> = (0..50)
        .map(|i| (BASE - 50 * SEC + i * SEC, format!("line {i}")))
        .collect();
    let refs: Vec<(i64, &str)> = lines.iter().map(|(t, m)| (*t, m.as_str())).collect();
    server.write_log_lines(&rid, "events", &refs).await?;
    let result = server
        .compute(
            &series_node("log", &rid, "events", &[], Some(10)),
            BASE - 60 * SEC,
            BASE,
        )
        .await?;
    let ComputeNodeResponse::PagedLog(plot) = &result else {
        bail!("got {}", result.variant_name())
    };
    ensure!(plot.values.len() == 50, "{} log lines", plot.values.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_series_on_a_saved_dataset_and_context_variables_resolve() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    server
        .write_strings(&rid, "s", &[(BASE - SEC, "ON")])
        .await?;
    server
        .write_log_lines(&rid, "l", &[(BASE - SEC, "hello")])
        .await?;
    let select = |kind: &str, variant: &str, name: &str| {
        json!({"type": "series", "series": {"input": {"type": kind, kind: {"type": variant, variant: {
            "dataset": {"type": "saved", "saved": {"rid": literal(&rid)}},
            "name": literal(name),
        }}}}})
    };
    let cases = [
        (select("numeric", "selectNumeric", "x"), "numeric"),
        (select("enum", "selectEnum", "s"), "enum"),
        (select("log", "selectLogs", "l"), "log"),
    ];
    for (node, kind) in cases {
        let result = server.compute(&node, BASE - 10 * SEC, BASE).await?;
        let plot = Plot::from_full(&result).map_err(anyhow::Error::msg)?;
        ensure!(plot.kind() == kind && plot.len() == 1, "{kind}: {plot:?}");
    }
    // Channel name and dataset from context variables.
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "variable", "variable": "ds"},
            "channel": {"type": "variable", "variable": "ch"},
        }},
    }}}});
    let request = json!({
        "node": node, "start": ts(BASE - 10 * SEC), "end": ts(BASE),
        "context": {"variables": {
            "ds": {"type": "string", "string": rid},
            "ch": {"type": "string", "string": "x"},
        }},
    });
    let reply = server.post_json("/compute/v2/compute", &request).await?;
    ensure!(reply.status == 200, "{}", reply.text());
    let result: ComputeNodeResponse = sightline_wire::from_json(&reply.text())?;
    ensure!(
        numeric_points(&result)? == vec![(BASE - SEC, 1.0)],
        "{result:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_builders_writing_null_for_absent_fields_work() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    let node = json!({"type": "series", "series": {
        "input": {"type": "numeric", "numeric": {"type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": literal(&rid), "channel": literal("x"),
            "tags": null, "tagFilters": null, "tagsToGroupBy": null, "groupByTags": null, "storage": null,
        }}}},
        "outputFormat": null, "numericOutputFields": null, "numericAggregations": null,
        "numericOutputFieldsV2": null, "resolution": null, "buckets": null, "summarizationStrategy": null,
    }});
    let request = json!({
        "node": node, "start": ts(BASE - 10 * SEC), "end": ts(BASE),
        "context": {"variables": null, "functionVariables": null, "datasetReferences": null},
        "sourceRid": null, "requestId": null,
    });
    let reply = server.post_json("/compute/v2/compute", &request).await?;
    ensure!(reply.status == 200, "{}", reply.text());
    let result: ComputeNodeResponse = sightline_wire::from_json(&reply.text())?;
    ensure!(
        numeric_points(&result)? == vec![(BASE - SEC, 1.0)],
        "{result:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_conjure_bodies_with_upstream_names() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 1.0)])
        .await?;
    server
        .write_strings(&rid, "s", &[(BASE - SEC, "ON")])
        .await?;

    // A channel that does not exist yet reads as empty, so a dashboard can open first.
    let empty = server
        .compute(&numeric_node(&rid, "nope"), BASE - SEC, BASE)
        .await?;
    ensure!(numeric_points(&empty)?.is_empty(), "{empty:?}");

    let e = server
        .compute_reply(&numeric_node(&rid, "s"), BASE - SEC, BASE)
        .await?
        .conjure_error(400)?;
    ensure!(e.error_name == "Compute:ChannelHasWrongType", "{e:?}");

    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "frobnicate", "frobnicate": {}}}}});
    let e = server
        .compute_reply(&node, BASE - SEC, BASE)
        .await?
        .conjure_error(400)?;
    ensure!(e.error_name == "Sightline:UnsupportedComputeNode", "{e:?}");
    ensure!(e.param("variant") == Some("frobnicate"), "{e:?}");
    ensure!(
        e.param("path") == Some("node.series.input.numeric.frobnicate"),
        "{e:?}"
    );

    // start after end: refused, or an empty result.
    let reply = server
        .compute_reply(&numeric_node(&rid, "x"), BASE, BASE - SEC)
        .await?;
    if reply.status == 200 {
        let result: ComputeNodeResponse = sightline_wire::from_json(&reply.text())?;
        ensure!(
            numeric_points(&result)?.is_empty(),
            "inverted range gave {result:?}"
        );
    } else {
        reply.conjure_error(400)?;
    }

    // Not a ComputeNodeRequest.
    for body in [
        json!({"node": 1}),
        json!("text"),
        json!({"start": ts(BASE)}),
    ] {
        let e = server
            .post_json("/compute/v2/compute", &body)
            .await?
            .conjure_error(400)?;
        ensure!(e.error_name == "Default:InvalidArgument", "{body}: {e:?}");
    }
    let e = server
        .post_bytes("/compute/v2/compute", "{")
        .await?
        .conjure_error(400)?;
    ensure!(e.error_name == "Default:InvalidArgument", "{e:?}");
    Ok(())
}

/// HTTP compute lays buckets from `start`, so they hold exactly the points of the range
/// (PROTOCOL §6), even when the range starts in the middle of an epoch-aligned bucket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buckets_hold_only_points_inside_the_requested_range() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let points = series(BASE - 20 * SEC, 100 * MS, 0..200);
    server.write_doubles(&rid, "x", &points).await?;
    let (start, end) = (BASE - 9500 * MS, BASE + 500 * MS);
    let node = series_node("numeric", &rid, "x", &[], Some(10));
    let result = server.compute(&node, start, end).await?;
    let ComputeNodeResponse::BucketedNumeric(plot) = &result else {
        bail!("got {}", result.variant_name())
    };
    let inside = points
        .iter()
        .filter(|(t, _)| (start..=end).contains(t))
        .count() as i64;
    let counted: i64 = plot
        .buckets
        .iter()
        .map(|b| b.count.map_or(0, |c| c.0))
        .sum();
    ensure!(
        counted == inside,
        "buckets count {counted} points, the range holds {inside}"
    );
    for b in &plot.buckets {
        let first = timestamp_to_nanos(&b.first_point.as_ref().unwrap().timestamp)?;
        ensure!(
            first >= start,
            "bucket first point {first} before the range start {start}"
        );
    }
    // One bucket over a batch's slot counts exactly that slot.
    let one = series_node("numeric", &rid, "x", &[], Some(1));
    let result = server.compute(&one, start, end - 1).await?;
    let ComputeNodeResponse::BucketedNumeric(plot) = &result else {
        bail!("got {}", result.variant_name())
    };
    ensure!(
        plot.buckets.len() == 1,
        "{} buckets for buckets: 1",
        plot.buckets.len()
    );
    ensure!(
        plot.buckets[0].count.map(|c| c.0) == Some(inside),
        "one bucket counts {:?}, the range holds {inside}",
        plot.buckets[0].count
    );
    Ok(())
}
