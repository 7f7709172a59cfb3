//! Every endpoint answers at the root and under the base path (`/api` by default, the
//! upstream clients' default base URL), and an unknown path is a Conjure 404.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Result};
use common::*;
use serde_json::json;
use sightline_server::ServerConfig;
use uuid::Uuid;

#[tokio::test]
async fn writes_computations_and_websockets_work_under_api() -> Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let now = server.now();
    let points = series(now - 10 * SEC, SEC, 0..5);
    server
        .post_json(
            "/api/storage/writer/v1/columnar",
            &columnar(&rid, vec![double_column("a", &[], &points)]),
        )
        .await?
        .no_content()?;
    server
        .post_json(
            "/api/storage/writer/v1",
            &rows(
                &rid,
                vec![row_batch(
                    "b",
                    "double",
                    vec![json!({"timestamp": ts(now - SEC), "value": 2.0})],
                )],
            ),
        )
        .await?
        .no_content()?;

    let request = json!({"node": numeric_node(&rid, "a"), "start": ts(now - 20 * SEC),
                         "end": ts(now + SEC), "context": {}});
    let at_api = server
        .post_json("/api/compute/v2/compute", &request)
        .await?;
    let at_root = server.post_json("/compute/v2/compute", &request).await?;
    ensure!(
        at_api.status == 200,
        "compute under /api: {}",
        at_api.text()
    );
    ensure!(
        at_api.json()? == at_root.json()?,
        "/api and the root answer differently"
    );
    let enabled = server.get("/api/persistent-compute/enabled").await?;
    ensure!(
        enabled.status == 200,
        "enabled under /api: {}",
        enabled.status
    );

    let url = format!("ws://{}/api/persistent-compute/ws", server.addr);
    let mut ws = server.connect_url(&url).await?;
    let full = ws
        .subscribe_ok(Uuid::new_v4(), appends(numeric_node(&rid, "a"), 60 * SEC))
        .await?;
    ensure!(
        numeric_points(&full)?.len() == points.len(),
        "subscription under /api saw {:?}",
        numeric_points(&full)?
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_path_is_a_conjure_not_found() -> Result<()> {
    let server = TestServer::start().await?;
    let reply = server.post_json("/v1/storage/writer", &json!({})).await?;
    let error = reply.conjure_error(404)?;
    ensure!(error.error_name == "Default:NotFound", "{error:?}");
    ensure!(
        error.param("path") == Some("/v1/storage/writer"),
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_configured_base_path_replaces_api() -> Result<()> {
    let config = ServerConfig {
        base_path: "/sightline/".to_string(),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(config, None).await?;
    let moved = server.get("/sightline/persistent-compute/enabled").await?;
    ensure!(moved.status == 200, "under the base path: {}", moved.status);
    let api = server.get("/api/persistent-compute/enabled").await?;
    ensure!(
        api.status == 404,
        "/api with another base path: {}",
        api.status
    );
    let root = server.get("/persistent-compute/enabled").await?;
    ensure!(root.status == 200, "root: {}", root.status);
    Ok(())
}

#[tokio::test]
async fn base_path_root_serves_the_root_only() -> Result<()> {
    let config = ServerConfig {
        base_path: "/".to_string(),
        ..ServerConfig::default()
    };
    let server = TestServer::start_with(config, None).await?;
    ensure!(server.get("/api/persistent-compute/enabled").await?.status == 404);
    ensure!(server.get("/persistent-compute/enabled").await?.status == 200);
    Ok(())
}
