//! Blocking HTTP helpers for binary tests: a client, reading a channel back through
//! `POST /compute/v2/compute`, scraping `/metrics` and waiting on `/health`.

use std::time::{Duration, Instant};

/// A blocking client with a timeout, so a hung server fails the test instead of hanging it.
pub fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

/// Every point of `channel` in `dataset` between `start` and `end` (nanoseconds), as
/// (timestamp, value), read as one raw plot.
pub fn read_channel(
    client: &reqwest::blocking::Client,
    url: &str,
    dataset: &str,
    channel: &str,
    (start, end): (i64, i64),
) -> Vec<(i64, f64)> {
    let request = serde_json::json!({
        "start": {"seconds": start.div_euclid(1_000_000_000), "nanos": start.rem_euclid(1_000_000_000)},
        "end": {"seconds": end.div_euclid(1_000_000_000), "nanos": end.rem_euclid(1_000_000_000)},
        "context": {},
        "node": {"type": "series", "series": {"buckets": 100_000_000, "input": {"type": "numeric", "numeric": {
            "type": "channel", "channel": {"type": "dataSource", "dataSource": {
                "dataSourceRid": {"type": "literal", "literal": dataset},
                "channel": {"type": "literal", "literal": channel}}}}}}}
    });
    let response: serde_json::Value = client
        .post(format!("{url}/compute/v2/compute"))
        .json(&request)
        .send()
        .expect("compute")
        .json()
        .expect("compute JSON");
    let plot = &response["numeric"];
    let ts = plot["timestamps"].as_array().cloned().unwrap_or_default();
    let vs = plot["values"].as_array().cloned().unwrap_or_default();
    assert_eq!(ts.len(), vs.len(), "malformed plot: {response}");
    ts.iter()
        .zip(vs)
        .map(|(t, v)| {
            let t = t["seconds"].as_i64().expect("seconds") * 1_000_000_000
                + t["nanos"].as_i64().expect("nanos");
            (t, v.as_f64().expect("value"))
        })
        .collect()
}

/// The value of the unlabelled metric `name` in `/metrics`, if the server answers.
pub fn metric(client: &reqwest::blocking::Client, url: &str, name: &str) -> Option<f64> {
    let text = client
        .get(format!("{url}/metrics"))
        .send()
        .ok()?
        .text()
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// `GET /health`: the status code and the JSON body, if the server answers.
pub fn health(client: &reqwest::blocking::Client, url: &str) -> Option<(u16, serde_json::Value)> {
    let response = client.get(format!("{url}/health")).send().ok()?;
    let status = response.status().as_u16();
    Some((status, response.json().ok()?))
}

/// Waits until `/health` answers 200 `ok` (a cluster node caught up with the write log).
pub fn wait_ready(client: &reqwest::blocking::Client, url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let answer = health(client, url);
        if let Some((200, body)) = &answer {
            assert_eq!(body["status"], "ok", "200 with {body}");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never became ready; last /health: {answer:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
