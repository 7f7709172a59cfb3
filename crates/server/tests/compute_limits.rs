//! HTTP compute limits: graph size, fan-in and the point limit are checked before
//! evaluation, for `/compute/v2/compute` (and the graph limits for units and subscriptions).
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Result};
use common::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use uuid::Uuid;

fn sum_of_copies(rid: &str, channel: &str, copies: usize) -> Value {
    let inputs: Vec<Value> = (0..copies)
        .map(|_| channel_source(rid, channel, &[]))
        .collect();
    json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "sum", "sum": {"inputs": inputs},
    }}}})
}

async fn server_with_points(config: ServerConfig, points: i64) -> Result<(TestServer, String)> {
    let server = TestServer::start_with(config, None).await?;
    let rid = rid();
    let data = series(server.now() - points * MS, MS, 0..points);
    server
        .write_columns(&columnar(&rid, vec![double_column("speed", &[], &data)]))
        .await?
        .no_content()?;
    Ok((server, rid))
}

#[tokio::test]
async fn a_sum_of_two_thousand_copies_is_refused_as_too_complex() -> Result<()> {
    let (server, rid) = server_with_points(ServerConfig::default(), 10_000).await?;
    let node = sum_of_copies(&rid, "speed", 2_000);
    let now = server.now();
    let reply = server.compute_reply(&node, now - 60 * SEC, now).await?;
    let error = reply.conjure_error(400)?;
    ensure!(
        error.error_name == "Compute:ComputationTooComplex",
        "{error:?}"
    );
    let units = server
        .post_json(
            "/compute/v2/compute/units",
            &json!({"node": node, "context": {}}),
        )
        .await?;
    let error = units.conjure_error(400)?;
    ensure!(
        error.error_name == "Compute:ComputationTooComplex",
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn fan_in_and_node_count_are_each_limited() -> Result<()> {
    let config = ServerConfig {
        max_compute_fan_in: 3,
        ..ServerConfig::default()
    };
    let (server, rid) = server_with_points(config, 100).await?;
    let now = server.now();
    let ok = server
        .compute(&sum_of_copies(&rid, "speed", 3), now - 60 * SEC, now)
        .await?;
    ensure!(numeric_points(&ok)?.len() == 100);
    let reply = server
        .compute_reply(&sum_of_copies(&rid, "speed", 4), now - 60 * SEC, now)
        .await?;
    let error = reply.conjure_error(400)?;
    ensure!(error.param("fanIn") == Some("4"), "{error:?}");
    ensure!(error.param("limit") == Some("3"), "{error:?}");

    let config = ServerConfig {
        max_compute_nodes: 10,
        ..ServerConfig::default()
    };
    let (server, rid) = server_with_points(config, 100).await?;
    let reply = server
        .compute_reply(&sum_of_copies(&rid, "speed", 3), now - 60 * SEC, now)
        .await?;
    let error = reply.conjure_error(400)?;
    ensure!(
        error.error_name == "Compute:ComputationTooComplex",
        "{error:?}"
    );
    ensure!(error.param("limit") == Some("10"), "{error:?}");
    ensure!(error.param("nodes").is_some(), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn http_compute_over_the_point_limit_is_too_many_points() -> Result<()> {
    let config = ServerConfig {
        max_points_per_subscription: 500,
        max_compute_fan_in: 10_000,
        max_compute_nodes: 1_000_000,
        ..ServerConfig::default()
    };
    let (server, rid) = server_with_points(config, 100).await?;
    let now = server.now();
    // 100 points each: 5 copies are at the limit (and under the raw-plot bucket count).
    let at_limit = server
        .compute(&sum_of_copies(&rid, "speed", 5), now - 60 * SEC, now)
        .await?;
    ensure!(!numeric_points(&at_limit)?.is_empty());
    let reply = server
        .compute_reply(&sum_of_copies(&rid, "speed", 2_000), now - 60 * SEC, now)
        .await?;
    let error = reply.conjure_error(400)?;
    ensure!(error.error_name == "Compute:TooManyPoints", "{error:?}");
    ensure!(error.param("limit") == Some("500"), "{error:?}");
    Ok(())
}

#[tokio::test]
async fn a_subscription_over_the_fan_in_limit_is_refused() -> Result<()> {
    let config = ServerConfig {
        max_compute_fan_in: 3,
        ..ServerConfig::default()
    };
    let (server, rid) = server_with_points(config, 10).await?;
    let mut ws = server.connect().await?;
    let e = ws
        .creation_error(
            Uuid::new_v4(),
            appends(sum_of_copies(&rid, "speed", 4), 60 * SEC),
        )
        .await?;
    ensure!(e.name == "Compute:ComputationTooComplex", "{e:?}");
    Ok(())
}
