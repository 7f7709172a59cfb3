//! Batch HTTP compute over real HTTP with upstream-shaped JSON: one result per entry in
//! order, an entry's error in its own slot without failing the others, units alongside, and
//! the same results as the single-computation endpoint.

mod common;

use anyhow::ensure;
use common::*;
use serde_json::{json, Value};
use sightline_wire::scout_compute::{
    BatchComputeUnitResult, BatchComputeWithUnitsResponse, ComputeNodeResult, ComputeUnitResult,
    ComputeWithUnitsResponse, UnitResult,
};

fn entry(node: &Value, start: i64, end: i64) -> Value {
    json!({"node": node, "start": ts(start), "end": ts(end), "context": {}})
}

async fn write_with_unit(
    server: &TestServer,
    rid: &str,
    channel: &str,
    unit: &str,
) -> anyhow::Result<()> {
    let points: Vec<Value> = (0..10)
        .map(|i| json!({"timestamp": ts(BASE + i * SEC), "value": i as f64}))
        .collect();
    let mut batch = row_batch(channel, "double", points);
    batch["unit"] = json!(unit);
    server
        .write_rows(&rows(rid, vec![batch]))
        .await?
        .no_content()
}

fn unit_symbol(unit: &ComputeUnitResult) -> Option<&str> {
    match unit {
        ComputeUnitResult::Single(UnitResult::Success(symbol)) => Some(symbol),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_each_entry_in_order_and_an_error_fails_only_its_own() -> anyhow::Result<()>
{
    let server = TestServer::start().await?;
    let rid = rid();
    write_with_unit(&server, &rid, "pressure", "bar").await?;
    write_with_unit(&server, &rid, "temperature", "C").await?;
    let pressure = numeric_node(&rid, "pressure");
    let temperature = numeric_node(&rid, "temperature");
    server
        .write_strings(&rid, "mode", &[(BASE, "idle")])
        .await?;
    // A numeric computation over an enum channel: refused at planning.
    let wrong_type = numeric_node(&rid, "mode");
    let body = json!({"requests": [
        entry(&pressure, BASE, BASE + 4 * SEC),
        entry(&wrong_type, BASE, BASE + 4 * SEC),
        entry(&temperature, BASE + 5 * SEC, BASE + 9 * SEC),
        entry(&pressure, BASE + 5 * SEC, BASE + 4 * SEC),
        entry(&pressure, BASE, BASE + 4 * SEC),
    ]});
    let reply = server.post_json("/compute/v2/compute/batch", &body).await?;
    ensure!(
        reply.status == 200,
        "batch answered {}: {}",
        reply.status,
        reply.text()
    );
    let response: BatchComputeWithUnitsResponse = sightline_wire::from_json(&reply.text())?;
    assert_eq!(response.results.len(), 5);
    let ok = |i: usize| -> anyhow::Result<Vec<(i64, f64)>> {
        match &response.results[i].compute_result {
            ComputeNodeResult::Success(result) => numeric_points(result),
            other => anyhow::bail!("entry {i} failed: {other:?}"),
        }
    };
    let first: Vec<(i64, f64)> = (0..=4).map(|i| (BASE + i * SEC, i as f64)).collect();
    assert_eq!(ok(0)?, first);
    assert_eq!(unit_symbol(&response.results[0].unit_result), Some("bar"));
    let third: Vec<(i64, f64)> = (5..=9).map(|i| (BASE + i * SEC, i as f64)).collect();
    assert_eq!(ok(2)?, third);
    assert_eq!(unit_symbol(&response.results[2].unit_result), Some("C"));
    // The same series over the same range as entry 0, read once for both: same answer.
    assert_eq!(ok(4)?, first);
    for (i, status) in [(1, 400), (3, 400)] {
        match &response.results[i].compute_result {
            ComputeNodeResult::Error(e) => {
                assert_eq!(e.code, status, "entry {i}");
                check_error_name(&e.error_type, "INVALID_ARGUMENT")?;
            }
            other => anyhow::bail!("entry {i} succeeded: {other:?}"),
        }
        match &response.results[i].unit_result {
            ComputeUnitResult::Single(UnitResult::NoUnitAvailable(errors)) => {
                assert_eq!(errors.len(), 1, "entry {i}");
            }
            other => anyhow::bail!("entry {i} has a unit: {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_entries_equal_single_computations() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    write_with_unit(&server, &rid, "pressure", "bar").await?;
    let derived = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "derivative", "derivative": {"input": channel_source(&rid, "pressure", &[])}}}}});
    let nodes = [numeric_node(&rid, "pressure"), derived];
    let requests: Vec<Value> = (0..100)
        .map(|i| entry(&nodes[i % 2], BASE + (i as i64 % 3) * SEC, BASE + 9 * SEC))
        .collect();
    let reply = server
        .post_json("/compute/v2/compute/batch", &json!({"requests": requests}))
        .await?;
    ensure!(
        reply.status == 200,
        "batch answered {}: {}",
        reply.status,
        reply.text()
    );
    let response: BatchComputeWithUnitsResponse = sightline_wire::from_json(&reply.text())?;
    assert_eq!(response.results.len(), 100);
    for (i, result) in response.results.iter().enumerate() {
        let single = server
            .compute(&nodes[i % 2], BASE + (i as i64 % 3) * SEC, BASE + 9 * SEC)
            .await?;
        match &result.compute_result {
            ComputeNodeResult::Success(batch) => assert_eq!(batch, &single, "entry {i}"),
            other => anyhow::bail!("entry {i} failed: {other:?}"),
        }
    }
    Ok(())
}

#[tokio::test]
async fn compute_with_units_answers_the_result_and_its_unit() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    write_with_unit(&server, &rid, "pressure", "bar").await?;
    server
        .write_strings(&rid, "mode", &[(BASE, "idle")])
        .await?;
    let reply = server
        .post_json(
            "/compute/v2/computeWithUnits",
            &entry(&numeric_node(&rid, "pressure"), BASE, BASE + SEC),
        )
        .await?;
    ensure!(
        reply.status == 200,
        "answered {}: {}",
        reply.status,
        reply.text()
    );
    let response: ComputeWithUnitsResponse = sightline_wire::from_json(&reply.text())?;
    assert_eq!(
        numeric_points(&response.compute_result)?,
        vec![(BASE, 0.0), (BASE + SEC, 1.0)]
    );
    assert_eq!(unit_symbol(&response.compute_unit), Some("bar"));
    // A failing single computation is an HTTP error, as on `/compute/v2/compute`.
    let reply = server
        .post_json(
            "/compute/v2/computeWithUnits",
            &entry(&numeric_node(&rid, "mode"), BASE, BASE + SEC),
        )
        .await?;
    reply.conjure_error(400)?;
    Ok(())
}

#[tokio::test]
async fn batch_units_answers_each_unit_in_order() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    write_with_unit(&server, &rid, "pressure", "bar").await?;
    write_with_unit(&server, &rid, "temperature", "C").await?;
    server
        .write_strings(&rid, "mode", &[(BASE, "idle")])
        .await?;
    let body = json!({"requests": [
        {"node": numeric_node(&rid, "temperature"), "context": {}},
        {"node": numeric_node(&rid, "mode"), "context": {}},
        {"node": numeric_node(&rid, "pressure"), "context": {}},
    ]});
    let reply = server
        .post_json("/compute/v2/compute/batch-units", &body)
        .await?;
    ensure!(
        reply.status == 200,
        "answered {}: {}",
        reply.status,
        reply.text()
    );
    let response: BatchComputeUnitResult = sightline_wire::from_json(&reply.text())?;
    assert_eq!(response.results.len(), 3);
    assert_eq!(unit_symbol(&response.results[0]), Some("C"));
    assert!(matches!(
        &response.results[1],
        ComputeUnitResult::Single(UnitResult::NoUnitAvailable(e)) if e.len() == 1
    ));
    assert_eq!(unit_symbol(&response.results[2]), Some("bar"));
    Ok(())
}

#[tokio::test]
async fn an_empty_batch_answers_no_results_and_a_malformed_one_is_refused() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let reply = server
        .post_json("/compute/v2/compute/batch", &json!({"requests": []}))
        .await?;
    ensure!(
        reply.status == 200,
        "answered {}: {}",
        reply.status,
        reply.text()
    );
    let response: BatchComputeWithUnitsResponse = sightline_wire::from_json(&reply.text())?;
    assert!(response.results.is_empty());
    let reply = server
        .post_json(
            "/compute/v2/compute/batch",
            &json!({"requests": [{"node": 3}]}),
        )
        .await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );
    Ok(())
}
