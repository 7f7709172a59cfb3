//! Channel discovery over real HTTP: upstream `search-channels` (fuzzy text, exact terms,
//! data sources, data types, paging, unit and type on every result) and Sightline's dataset
//! and channel facts endpoints.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Context as _, Result};
use common::*;
use serde_json::{json, Value};

const SEARCH: &str = "/data-source/v1/data-sources/search-channels";
const SEARCH_RESPONSE: &str = "io.nominal.datasource.api.SearchChannelsResponse";

/// Two datasets: a test stand (pressure with unit and tags, a valve enum, a log) and a rig.
async fn seed(server: &TestServer) -> Result<(String, String)> {
    let (stand, rig) = (rid(), rid());
    let body = json!({"dataSourceRid": stand, "batches": [
        {"channel": "chamber.pressure", "tags": {"stand": "A"}, "unit": "bar", "points": {"type": "double", "double": [
            {"timestamp": ts(BASE), "value": 1.0}, {"timestamp": ts(BASE + SEC), "value": 2.0}]}},
        {"channel": "chamber.pressure", "tags": {"stand": "B"}, "unit": "bar", "points": {"type": "double", "double": [
            {"timestamp": ts(BASE - 5 * SEC), "value": 3.0}]}},
        {"channel": "chamber.temperature", "unit": "°C", "points": {"type": "double", "double": [
            {"timestamp": ts(BASE), "value": 400.0}]}},
        {"channel": "valve.state", "points": {"type": "string", "string": [
            {"timestamp": ts(BASE), "value": "OPEN"}]}},
    ]});
    server.write_rows(&body).await?.no_content()?;
    server
        .write_log_lines(&stand, "events", &[(BASE, "ignition")])
        .await?;
    server.write_doubles(&rig, "thrust", &[(BASE, 5.0)]).await?;
    server
        .write_doubles(&rig, "pressure.raw", &[(BASE, 5.0)])
        .await?;
    Ok((stand, rig))
}

async fn search(server: &TestServer, body: Value) -> Result<Value> {
    let reply = server.post_json(SEARCH, &body).await?;
    ensure!(reply.status == 200, "{}: {}", reply.status, reply.text());
    let value = reply.json()?;
    conjure::definition()
        .check(SEARCH_RESPONSE, &value)
        .map_err(|e| anyhow::anyhow!("breaks the upstream definition: {e}\n{value}"))?;
    Ok(value)
}

fn names(response: &Value) -> Vec<String> {
    response["results"]
        .as_array()
        .map(|r| {
            r.iter()
                .map(|c| c["name"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzy_search_ranks_and_carries_unit_and_type() -> Result<()> {
    let server = TestServer::manual().await?;
    let (stand, rig) = seed(&server).await?;
    let all = json!([stand, rig]);
    let found = search(
        &server,
        json!({"fuzzySearchText": "pressure", "dataSources": all}),
    )
    .await?;
    ensure!(
        names(&found) == ["pressure.raw", "chamber.pressure"],
        "{found}"
    );
    let first = &found["results"][1];
    ensure!(first["dataSource"] == json!(stand), "{first}");
    ensure!(first["unit"]["symbol"] == "bar", "{first}");
    ensure!(first["dataType"] == "DOUBLE", "{first}");
    ensure!(found.get("nextPageToken").is_none(), "{found}");
    // In-order letters find a channel; case does not matter.
    let found = search(
        &server,
        json!({"fuzzySearchText": "VST", "dataSources": all}),
    )
    .await?;
    ensure!(names(&found) == ["valve.state"], "{found}");
    ensure!(found["results"][0]["dataType"] == "STRING", "{found}");
    // Text that matches nothing is an empty page, not an error.
    let found = search(
        &server,
        json!({"fuzzySearchText": "zzz", "dataSources": all}),
    )
    .await?;
    ensure!(names(&found).is_empty(), "{found}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_by_data_source_type_and_exact_terms() -> Result<()> {
    let server = TestServer::manual().await?;
    let (stand, rig) = seed(&server).await?;
    let found = search(
        &server,
        json!({"fuzzySearchText": "", "dataSources": [stand]}),
    )
    .await?;
    ensure!(
        names(&found)
            == [
                "chamber.pressure",
                "chamber.temperature",
                "events",
                "valve.state"
            ],
        "{found}"
    );
    let found = search(
        &server,
        json!({"fuzzySearchText": "", "dataSources": [stand], "dataTypes": ["LOG", "STRING"]}),
    )
    .await?;
    ensure!(names(&found) == ["events", "valve.state"], "{found}");
    ensure!(found["results"][0]["dataType"] == "LOG", "{found}");
    let found = search(
        &server,
        json!({"fuzzySearchText": "", "dataSources": [stand, rig], "exactMatch": ["CHAMBER", "temp"]}),
    )
    .await?;
    ensure!(names(&found) == ["chamber.temperature"], "{found}");
    let found = search(
        &server,
        json!({"fuzzySearchText": "", "dataSources": [stand, rig], "prefix": "p"}),
    )
    .await?;
    ensure!(names(&found) == ["pressure.raw"], "{found}");
    // No data sources: every dataset in the store.
    let found = search(&server, json!({"fuzzySearchText": "thrust"})).await?;
    ensure!(names(&found) == ["thrust"], "{found}");
    ensure!(found["results"][0]["dataSource"] == json!(rig), "{found}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_cover_every_result_once() -> Result<()> {
    let server = TestServer::manual().await?;
    let (stand, rig) = seed(&server).await?;
    let mut seen = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..10 {
        let mut body = json!({"fuzzySearchText": "", "dataSources": [stand, rig], "pageSize": 2});
        if let Some(t) = &token {
            body["nextPageToken"] = json!(t);
        }
        let page = search(&server, body).await?;
        let got = names(&page);
        ensure!(got.len() <= 2, "{page}");
        seen.extend(got);
        token = page["nextPageToken"].as_str().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    ensure!(token.is_none(), "paging did not end");
    ensure!(seen.len() == 6, "{seen:?}");
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    ensure!(unique.len() == 6, "a channel came twice: {seen:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_paging_is_a_clear_400() -> Result<()> {
    let server = TestServer::manual().await?;
    for (body, param) in [
        (json!({"fuzzySearchText": "", "pageSize": 1001}), "pageSize"),
        (json!({"fuzzySearchText": "", "pageSize": 0}), "pageSize"),
        (
            json!({"fuzzySearchText": "", "nextPageToken": "not-a-token"}),
            "nextPageToken",
        ),
    ] {
        let err = server.post_json(SEARCH, &body).await?.conjure_error(400)?;
        ensure!(err.error_name == "Default:InvalidArgument", "{err:?}");
        ensure!(err.param(param).is_some(), "{err:?}");
    }
    let err = server
        .post_json(SEARCH, &json!({"dataTypes": ["DOUBLE"]}))
        .await?
        .conjure_error(400)?;
    ensure!(err.error_name == "Default:InvalidArgument", "{err:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn datasets_and_channel_facts() -> Result<()> {
    let server = TestServer::manual().await?;
    let (stand, rig) = seed(&server).await?;
    let list = server.get("/sightline/v1/datasets").await?;
    ensure!(list.status == 200, "{}", list.text());
    let list = list.json()?;
    let datasets = list["datasets"].as_array().context("datasets")?;
    let find = |r: &str| datasets.iter().find(|d| d["rid"] == json!(r)).cloned();
    ensure!(
        find(&stand).context("stand listed")?["channels"] == 4,
        "{list}"
    );
    ensure!(find(&rig).context("rig listed")?["channels"] == 2, "{list}");

    let facts = server
        .get(&format!(
            "/sightline/v1/datasets/{stand}/channels/chamber.pressure"
        ))
        .await?;
    ensure!(facts.status == 200, "{}", facts.text());
    let facts = facts.json()?;
    ensure!(
        facts["dataType"] == "DOUBLE" && facts["unit"] == "bar",
        "{facts}"
    );
    ensure!(facts["tags"] == json!({"stand": ["A", "B"]}), "{facts}");
    ensure!(facts["points"] == 3, "{facts}");
    ensure!(facts["span"]["first"] == ts(BASE - 5 * SEC), "{facts}");
    ensure!(facts["span"]["last"] == ts(BASE + SEC), "{facts}");
    ensure!(
        facts["span"]["lastTime"] == "2025-11-28T16:00:01Z",
        "{facts}"
    );
    let series = facts["series"].as_array().context("series")?;
    ensure!(series.len() == 2, "{facts}");
    let a = series
        .iter()
        .find(|s| s["tags"]["stand"] == "A")
        .context("stand A")?;
    ensure!(a["points"] == 2, "{facts}");

    let err = server
        .get(&format!("/sightline/v1/datasets/{stand}/channels/no.such"))
        .await?
        .conjure_error(404)?;
    ensure!(err.error_name == "Sightline:ChannelNotFound", "{err:?}");
    ensure!(err.param("channel") == Some("no.such"), "{err:?}");
    let err = server
        .get("/sightline/v1/datasets/ri.x.y.dataset.none/channels/p")
        .await?
        .conjure_error(404)?;
    ensure!(err.error_name == "Sightline:DatasetNotFound", "{err:?}");
    Ok(())
}
