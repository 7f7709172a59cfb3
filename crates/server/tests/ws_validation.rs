//! PROTOCOL §5: every row that applies to raw channel data, checked through the
//! `SubscriptionCreationError` a real client receives (name, status, params).
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Result};
use common::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use sightline_wire::api::SerializableError;
use sightline_wire::persistent_compute::{
    ComputeNodeAppendResponse, SubscriptionCreation, SubscriptionUpdate,
};
use std::time::Duration;
use uuid::Uuid;

const W: i64 = 60 * SEC;

/// A server with one numeric channel `x` (10 points in the last 10 s) and one string
/// channel `state`, and a connection to it.
async fn setup(config: ServerConfig) -> Result<(TestServer, WsClient, String)> {
    let server = TestServer::start_with(config, Some(BASE)).await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &series(BASE - 10 * SEC, SEC, 0..10))
        .await?;
    server
        .write_strings(&rid, "state", &[(BASE - SEC, "OPEN")])
        .await?;
    let ws = server.connect().await?;
    Ok((server, ws, rid))
}

fn expect(error: &SerializableError, name: &str) -> Result<()> {
    ensure!(error.name == name, "expected {name}, got {error:?}");
    ensure!(
        error.status_code == 400,
        "status {} for {name}",
        error.status_code
    );
    ensure!(
        Uuid::parse_str(&error.error_instance_id).is_ok(),
        "errorInstanceId {}",
        error.error_instance_id
    );
    Ok(())
}

/// `node.series.input.numeric.<variant>` wrapping the numeric channel `x`.
fn wrapped(rid: &str, variant: &str, mut payload: Value) -> Value {
    payload["input"] = channel_source(rid, "x", &[]);
    json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {"type": variant, variant: payload}}}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cumulative_sum_is_an_invalid_computation() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let node = wrapped(
        &rid,
        "cumulativeSum",
        json!({"startTimestamp": {"type": "literal", "literal": ts(BASE - W)}}),
    );
    // Refused with and without appends: it cannot stream at all.
    for opts in [options(250, Some(true)), options(250, None)] {
        let e = ws
            .creation_error(Uuid::new_v4(), subscription(node.clone(), W, opts))
            .await?;
        expect(&e, "PersistentCompute:InvalidComputation")?;
        ensure!(
            e.params.get("invalidTypes").map(String::as_str) == Some("[CUMULATIVE_SUM]"),
            "params {:?}",
            e.params
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_types_are_found_deep_in_the_graph_and_all_listed() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let cumsum = json!({"type": "cumulativeSum", "cumulativeSum": {
        "input": channel_source(&rid, "x", &[]),
        "startTimestamp": {"type": "literal", "literal": ts(BASE - W)},
    }});
    let integral = json!({"type": "integral", "integral": {
        "input": channel_source(&rid, "x", &[]),
        "startTimestamp": {"type": "literal", "literal": ts(BASE - W)},
    }});
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "sum", "sum": {"inputs": [cumsum, integral]},
    }}}});
    let e = ws.creation_error(Uuid::new_v4(), appends(node, W)).await?;
    expect(&e, "PersistentCompute:InvalidComputation")?;
    let types = e.params.get("invalidTypes").cloned().unwrap_or_default();
    ensure!(
        types == "[CUMULATIVE_SUM, INTEGRAL]" || types == "[INTEGRAL, CUMULATIVE_SUM]",
        "invalidTypes {types}"
    );
    Ok(())
}

fn lttb(rid: &str) -> Value {
    json!({"type": "series", "series": {
        "input": {"type": "numeric", "numeric": channel_source(rid, "x", &[])},
        "summarizationStrategy": {"type": "largestTriangleThreeBuckets",
            "largestTriangleThreeBuckets": {"maxPointsPerGroup": 100}},
    }})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only_type_with_appends_is_refused() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let mut opts = options(250, None);
    opts["resultConfiguration"] = append_only(true);
    for opts in [options(250, Some(true)), opts] {
        let e = ws
            .creation_error(Uuid::new_v4(), subscription(lttb(&rid), W, opts))
            .await?;
        expect(&e, "PersistentCompute:PollingOnlyComputation")?;
        ensure!(
            e.params.get("pollingOnlyTypes").map(String::as_str)
                == Some("[LTTB_SUMMARIZATION_STRATEGY]"),
            "params {:?}",
            e.params
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_only_type_without_appends_streams_full_results() -> Result<()> {
    let (server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let id = Uuid::new_v4();
    ws.subscribe_ok(id, subscription(lttb(&rid), W, options(0, Some(false))))
        .await?;
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + SEC, 5.0)])
        .await?;
    match ws.update(id).await? {
        SubscriptionUpdate::Full(_) => Ok(()),
        other => bail!("polling-only subscription sent {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn negative_window_is_refused() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let e = ws
        .creation_error(Uuid::new_v4(), appends(numeric_node(&rid, "x"), -5 * SEC))
        .await?;
    expect(&e, "PersistentCompute:WindowNegative")?;
    ensure!(
        e.params.contains_key("window"),
        "no `window` param: {:?}",
        e.params
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn window_over_the_configured_maximum_is_refused() -> Result<()> {
    let config = ServerConfig {
        max_window: Duration::from_secs(60),
        ..ServerConfig::default()
    };
    let (_server, mut ws, rid) = setup(config).await?;
    let e = ws
        .creation_error(Uuid::new_v4(), appends(numeric_node(&rid, "x"), 61 * SEC))
        .await?;
    expect(&e, "PersistentCompute:WindowTooLarge")?;
    // The maximum itself is fine.
    let ok = ws
        .subscribe(Uuid::new_v4(), appends(numeric_node(&rid, "x"), 60 * SEC))
        .await?;
    ensure!(
        matches!(ok, SubscriptionCreation::Success(_)),
        "window == max refused: {ok:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn default_maximum_window_is_seven_days() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let week = 7 * 24 * 3600 * SEC;
    let e = ws
        .creation_error(
            Uuid::new_v4(),
            appends(numeric_node(&rid, "x"), 365 * 24 * 3600 * SEC),
        )
        .await?;
    expect(&e, "PersistentCompute:WindowTooLarge")?;
    // People read durations; programs read the exact nanoseconds in the params.
    ensure!(
        e.message.as_deref() == Some("windowWidth 365 d exceeds the maximum 7 d"),
        "{:?}",
        e.message
    );
    ensure!(
        e.params.get("maxNanos").map(String::as_str) == Some("604800000000000"),
        "{:?}",
        e.params
    );
    let e = ws
        .creation_error(Uuid::new_v4(), appends(numeric_node(&rid, "x"), week + SEC))
        .await?;
    expect(&e, "PersistentCompute:WindowTooLarge")?;
    let ok = ws
        .subscribe(Uuid::new_v4(), appends(numeric_node(&rid, "x"), week))
        .await?;
    ensure!(
        matches!(ok, SubscriptionCreation::Success(_)),
        "a 7-day window was refused: {ok:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_points_in_the_window_is_refused_with_the_limit() -> Result<()> {
    let config = ServerConfig {
        max_points_per_subscription: 5,
        ..ServerConfig::default()
    };
    let (_server, mut ws, rid) = setup(config).await?;
    let e = ws
        .creation_error(Uuid::new_v4(), appends(numeric_node(&rid, "x"), W))
        .await?;
    expect(&e, "PersistentCompute:TooManyPoints")?;
    ensure!(
        e.params.get("limit").map(String::as_str) == Some("5"),
        "params {:?}",
        e.params
    );
    // A window holding 5 of the 10 points is within the limit.
    let ok = ws
        .subscribe(Uuid::new_v4(), appends(numeric_node(&rid, "x"), 4 * SEC))
        .await?;
    ensure!(
        matches!(ok, SubscriptionCreation::Success(_)),
        "5 points refused: {ok:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_node_variant_names_variant_and_path() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "frobnicate", "frobnicate": {"input": channel_source(&rid, "x", &[])},
    }}}});
    let e = ws.creation_error(Uuid::new_v4(), appends(node, W)).await?;
    expect(&e, "Sightline:UnsupportedComputeNode")?;
    ensure!(
        e.params.get("variant").map(String::as_str) == Some("frobnicate"),
        "{:?}",
        e.params
    );
    ensure!(
        e.params.get("path").map(String::as_str) == Some("node.series.input.numeric.frobnicate"),
        "{:?}",
        e.params
    );
    // An unknown top-level ComputableNode variant.
    let e = ws
        .creation_error(
            Uuid::new_v4(),
            appends(json!({"type": "hologram", "hologram": {}}), W),
        )
        .await?;
    expect(&e, "Sightline:UnsupportedComputeNode")?;
    ensure!(
        e.params.get("variant").map(String::as_str) == Some("hologram"),
        "{:?}",
        e.params
    );
    ensure!(
        e.params.get("path").map(String::as_str) == Some("node.hologram"),
        "{:?}",
        e.params
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_node_sightline_does_not_evaluate_names_variant_and_path() -> Result<()> {
    let (server, mut ws, rid) = setup(ServerConfig::default()).await?;
    // A valid upstream node (PROTOCOL §6 lists it) that this build may not evaluate yet.
    let node = wrapped(&rid, "derivative", json!({}));
    match ws
        .subscribe(Uuid::new_v4(), appends(node.clone(), W))
        .await?
    {
        SubscriptionCreation::Error(e) => {
            expect(&e.serializable_error, "Sightline:UnsupportedComputeNode")?;
            let p = &e.serializable_error.params;
            ensure!(
                p.get("variant").map(String::as_str) == Some("derivative"),
                "{p:?}"
            );
            ensure!(
                p.get("path").map(String::as_str) == Some("node.series.input.numeric.derivative"),
                "{p:?}"
            );
        }
        // Once compute evaluates derivatives, the subscription must work.
        SubscriptionCreation::Success(_) => {
            let _ = &server;
            ensure!(matches!(
                ws.next().await?,
                sightline_wire::persistent_compute::ServerMessage::SubscriptionUpdate(_)
            ));
        }
        other => bail!("unexpected creation {other:?}"),
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecimated_append_only_over_too_many_points_is_unavailable() -> Result<()> {
    let config = ServerConfig {
        max_undecimated_points: 5,
        ..ServerConfig::default()
    };
    let (_server, mut ws, rid) = setup(config).await?;
    let mut opts = options(0, None);
    opts["resultConfiguration"] = append_only(false);
    let e = ws
        .creation_error(
            Uuid::new_v4(),
            subscription(numeric_node(&rid, "x"), W, opts),
        )
        .await?;
    expect(&e, "PersistentCompute:UnavailableResultConfiguration")?;
    ensure!(
        e.params.get("reason").map(String::as_str)
            == Some("TOO_MANY_POINTS_FOR_UNDECIMATED_APPENDS"),
        "params {:?}",
        e.params
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecimated_append_only_within_the_limit_sends_raw_appends() -> Result<()> {
    let (server, mut ws, rid) = setup(ServerConfig::default()).await?;
    // buckets = 5 would bucket 10 points in Auto mode; appendOnly raw must not.
    let node = series_node("numeric", &rid, "x", &[], Some(5));
    let mut opts = options(0, None);
    opts["resultConfiguration"] = append_only(false);
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, subscription(node.clone(), W, opts))
        .await?;
    ensure!(
        sub.merged()?.plot.kind() == "numeric",
        "got {}",
        sub.merged()?.plot.kind()
    );
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + SEC, 1.0), (BASE - 2 * SEC - 1, 2.0)])
        .await?;
    for _ in 0..=SPURIOUS {
        let update = sub.next(&mut ws).await?;
        let SubscriptionUpdate::Append(a) = &update else {
            bail!("append-only sent {update:?}")
        };
        ensure!(
            matches!(a.result, ComputeNodeAppendResponse::Numeric(_)),
            "append {}",
            a.result.variant_name()
        );
        if sub.merged()?.plot.len() == 12 {
            return Ok(());
        }
    }
    bail!("merged window {:?}", sub.merged()?.plot)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn numeric_series_over_a_string_channel_is_a_compute_error() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let e = ws
        .creation_error(Uuid::new_v4(), appends(numeric_node(&rid, "state"), W))
        .await?;
    ensure!(
        e.name.starts_with("Compute:"),
        "expected a Compute:* error, got {e:?}"
    );
    ensure!(e.name == "Compute:ChannelHasWrongType", "got {}", e.name);
    ensure!(e.status_code == 400);
    // And an enum series over a numeric channel.
    let e = ws
        .creation_error(Uuid::new_v4(), appends(enum_node(&rid, "x"), W))
        .await?;
    ensure!(e.name == "Compute:ChannelHasWrongType", "got {e:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_context_variable_is_a_compute_error() -> Result<()> {
    let (_server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": literal(&rid),
            "channel": {"type": "variable", "variable": "channelName"},
        }},
    }}}});
    let e = ws.creation_error(Uuid::new_v4(), appends(node, W)).await?;
    ensure!(e.name == "Compute:MissingVariable", "got {e:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn select_numeric_on_a_saved_dataset_streams() -> Result<()> {
    let (server, mut ws, rid) = setup(ServerConfig::default()).await?;
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "selectNumeric", "selectNumeric": {
            "dataset": {"type": "saved", "saved": {"rid": literal(&rid)}},
            "name": literal("x"),
        },
    }}}});
    let mut sub = Tracked::new(W);
    sub.start(&mut ws, appends(node.clone(), W)).await?;
    ensure!(sub.merged()?.plot.len() == 10);
    server.advance(SEC);
    server
        .write_doubles(&rid, "x", &[(BASE + SEC, 1.0)])
        .await?;
    sub.settle(&mut ws, &server, &node, "selectNumeric").await?;
    Ok(())
}
