//! `POST /sightline/v1/expressions/compile` over real HTTP: channel types come from the
//! store, the graph it returns is valid upstream JSON that the server then evaluates, and a
//! bad expression is a 400 `Sightline:InvalidExpression` that points at the column.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Result};
use common::*;
use serde_json::{json, Value};

const PATH: &str = "/sightline/v1/expressions/compile";

async fn compile(server: &TestServer, expression: &str, dataset: &str) -> Result<(Value, String)> {
    let reply = server
        .post_json(PATH, &json!({"expression": expression, "dataset": dataset}))
        .await?;
    ensure!(
        reply.status == 200,
        "`{expression}` answered {}: {}",
        reply.status,
        reply.text()
    );
    let body = reply.json()?;
    let node = body["node"].clone();
    conjure::definition()
        .check("io.nominal.scout.compute.api.ComputableNode", &node)
        .map_err(|e| {
            anyhow::anyhow!("`{expression}` compiled to non-upstream JSON: {e}\n{node}")
        })?;
    Ok((node, body["kind"].as_str().unwrap_or_default().to_string()))
}

async fn refused(server: &TestServer, body: &Value) -> Result<Value> {
    let reply = server.post_json(PATH, body).await?;
    ensure!(
        reply.status == 400,
        "{body} answered {}: {}",
        reply.status,
        reply.text()
    );
    let error = reply.json()?;
    ensure!(error["errorCode"] == "INVALID_ARGUMENT", "{error}");
    Ok(error)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channel_types_come_from_the_store_and_the_graph_evaluates() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let t = BASE - 10 * SEC;
    server
        .write_doubles(
            &rid,
            "chamber.pressure",
            &[(t, 10.0), (t + SEC, 40.0), (t + 2 * SEC, 20.0)],
        )
        .await?;
    server
        .write_strings(&rid, "valve.state", &[(t, "closed"), (t + SEC, "open")])
        .await?;
    server
        .write_log_lines(
            &rid,
            "events",
            &[(t, "ignition"), (t + SEC, "ABORT requested")],
        )
        .await?;

    let (node, kind) = compile(&server, "derivative(chamber.pressure)", &rid).await?;
    ensure!(kind == "numeric", "{kind}");
    let result = server.compute(&node, t, t + 5 * SEC).await?;
    let json = serde_json::to_value(&result)?;
    ensure!(json["numeric"]["values"] == json!([30.0, -20.0]), "{json}");

    let (node, kind) = compile(&server, "chamber.pressure > 30", &rid).await?;
    ensure!(kind == "ranges", "{kind}");
    let json = serde_json::to_value(server.compute(&node, t, t + 5 * SEC).await?)?;
    ensure!(json["type"] == "range", "{json}");
    ensure!(json["range"].as_array().map(Vec::len) == Some(1), "{json}");

    let (node, kind) = compile(&server, "valve.state", &rid).await?;
    ensure!(kind == "enum", "{kind}");
    let json = serde_json::to_value(server.compute(&node, t, t + 5 * SEC).await?)?;
    ensure!(json["type"] == "enum", "{json}");

    let (_, kind) = compile(&server, "valve.state == \"open\"", &rid).await?;
    ensure!(kind == "ranges", "{kind}");

    let (node, kind) = compile(&server, "events ~ \"abort\"", &rid).await?;
    ensure!(kind == "log", "{kind}");
    let json = serde_json::to_value(server.compute(&node, t, t + 5 * SEC).await?)?;
    ensure!(
        json["pagedLog"]["values"].as_array().map(Vec::len) == Some(1),
        "{json}"
    );
    ensure!(
        json["pagedLog"]["values"][0]["message"] == "ABORT requested",
        "{json}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_expression_names_line_column_and_reason() -> Result<()> {
    let server = TestServer::manual().await?;
    let error = refused(
        &server,
        &json!({"expression": "rolling_mean(thrust, 1s", "dataset": rid()}),
    )
    .await?;
    ensure!(
        error["errorName"] == "Sightline:InvalidExpression",
        "{error}"
    );
    let params = &error["parameters"];
    ensure!(params["line"] == "1", "{error}");
    ensure!(params["column"] == "24", "{error}");
    ensure!(
        params["reason"] == "expected ',' or ')', found end of input",
        "{error}"
    );

    let error = refused(
        &server,
        &json!({"expression": "abs(\n  thrust +\n)", "dataset": rid()}),
    )
    .await?;
    ensure!(error["parameters"]["line"] == "3", "{error}");
    ensure!(error["parameters"]["column"] == "1", "{error}");

    // A stored log channel is not numeric.
    let rid = rid();
    server
        .write_log_lines(&rid, "events", &[(BASE, "ignition")])
        .await?;
    let error = refused(
        &server,
        &json!({"expression": "derivative(events)", "dataset": rid}),
    )
    .await?;
    ensure!(
        error["errorName"] == "Sightline:InvalidExpression",
        "{error}"
    );
    ensure!(error["parameters"]["column"] == "12", "{error}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_channel_without_any_dataset_is_refused_and_an_explicit_one_works() -> Result<()> {
    let server = TestServer::manual().await?;
    let error = refused(&server, &json!({"expression": "thrust"})).await?;
    ensure!(
        error["errorName"] == "Sightline:InvalidExpression",
        "{error}"
    );
    ensure!(error["parameters"]["column"] == "1", "{error}");

    let rid = rid();
    let reply = server
        .post_json(PATH, &json!({"expression": format!("\"{rid}\":thrust")}))
        .await?;
    ensure!(reply.status == 200, "{}", reply.text());
    let node = reply.json()?["node"].clone();
    let dataset =
        &node["series"]["input"]["numeric"]["channel"]["dataSource"]["dataSourceRid"]["literal"];
    ensure!(*dataset == json!(rid), "{node}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_body_is_refused_with_the_path() -> Result<()> {
    let server = TestServer::manual().await?;
    let error = refused(&server, &json!({"expr": "thrust"})).await?;
    ensure!(error["errorName"] == "Default:InvalidArgument", "{error}");
    let huge = "x".repeat(sightline_expr::MAX_EXPRESSION_BYTES + 1);
    let reply = server
        .post_json(PATH, &json!({"expression": huge, "dataset": rid()}))
        .await?;
    ensure!(
        reply.status == 400 || reply.status == 413,
        "{}",
        reply.status
    );
    Ok(())
}
