//! Dashboard polling: 200 panels over one window as one `POST /compute/v2/compute/batch`
//! versus 200 single `POST /compute/v2/compute` requests, compared by server CPU.
//!
//! The data: `channels` channels of 1 kHz doubles filling the window. The panels: each
//! channel shown raw (bucketed, as dashboards plot it) and as its derivative, round-robin, so
//! several panels read the same series over the same range, as real dashboards do.

use crate::process::Server;
use serde_json::{json, Value};
use std::fmt::{self, Write as _};
use std::time::{Duration, Instant};

const DATASET: &str = "ri.sightline.bench.dataset.dashboard";
const SEC: i64 = 1_000_000_000;
const T0: i64 = 1_700_000_000 * SEC;

/// Figures of the batch-compute scenario.
pub(crate) struct BatchComputeReport {
    panels: usize,
    rounds: usize,
    points_in_window: usize,
    single: Measured,
    batch: Measured,
}

struct Measured {
    elapsed: Duration,
    server_cpu: Option<f64>,
}

impl fmt::Display for BatchComputeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "batch compute: {} panels over one window ({} points per channel), {} rounds",
            self.panels, self.points_in_window, self.rounds
        )?;
        for (name, m) in [
            ("single requests", &self.single),
            ("one batch", &self.batch),
        ] {
            let cpu = m.server_cpu.map_or("n/a".to_string(), |c| {
                format!(
                    "{:.1} ms server CPU per round",
                    c * 1e3 / self.rounds as f64
                )
            });
            writeln!(
                f,
                "  {name:<16} {:.1} ms wall per round, {cpu}",
                m.elapsed.as_secs_f64() * 1e3 / self.rounds as f64
            )?;
        }
        if let (Some(s), Some(b)) = (self.single.server_cpu, self.batch.server_cpu) {
            write!(
                f,
                "  server CPU ratio single/batch: {:.2}×",
                s / b.max(1e-9)
            )?;
        }
        Ok(())
    }
}

fn ts(nanos: i64) -> Value {
    json!({"seconds": nanos.div_euclid(SEC), "nanos": nanos.rem_euclid(SEC)})
}

fn channel(c: usize) -> Value {
    json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": {
        "dataSourceRid": {"type": "literal", "literal": DATASET},
        "channel": {"type": "literal", "literal": format!("ch{c:03}")}}}})
}

fn panel(i: usize, channels: usize) -> Value {
    let source = channel(i % channels);
    let input = if (i / channels).is_multiple_of(2) {
        source
    } else {
        json!({"type": "derivative", "derivative": {"input": source}})
    };
    json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": input}, "buckets": 1000}})
}

fn request(node: Value, start: i64, end: i64) -> Value {
    json!({"node": node, "start": ts(start), "end": ts(end), "context": {}})
}

/// Writes the data, then runs `rounds` rounds of each mode.
pub(crate) async fn run(
    client: &reqwest::Client,
    server: &Server,
    panels: usize,
    channels: usize,
    rounds: usize,
) -> anyhow::Result<BatchComputeReport> {
    let window_secs = 60i64;
    let per_channel = (window_secs * 1000) as usize;
    write_data(client, server, channels, per_channel).await?;
    let (start, end) = (T0, T0 + window_secs * SEC);
    let singles: Vec<String> = (0..panels)
        .map(|i| request(panel(i, channels), start, end).to_string())
        .collect();
    let batch = json!({"requests": (0..panels)
        .map(|i| request(panel(i, channels), start, end))
        .collect::<Vec<_>>()})
    .to_string();

    let single_url = format!("{}/compute/v2/compute", server.url);
    let batch_url = format!("{}/compute/v2/compute/batch", server.url);
    let single = measure(server, rounds, || async {
        // Two at a time, as a browser's connection pool would send them.
        for pair in singles.chunks(2) {
            let sent = pair
                .iter()
                .map(|body| post(client, &single_url, body.clone()));
            for result in futures::future::join_all(sent).await {
                result?;
            }
        }
        Ok(())
    })
    .await?;
    let batched = measure(server, rounds, || post(client, &batch_url, batch.clone())).await?;
    Ok(BatchComputeReport {
        panels,
        rounds,
        points_in_window: per_channel,
        single,
        batch: batched,
    })
}

async fn measure<F, Fut>(server: &Server, rounds: usize, mut round: F) -> anyhow::Result<Measured>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    for _ in 0..rounds {
        round().await?;
    }
    let elapsed = started.elapsed();
    let server_cpu = match (cpu_before, server.cpu_seconds()) {
        (Some(a), Some(b)) => Some(b - a),
        _ => None,
    };
    Ok(Measured {
        elapsed,
        server_cpu,
    })
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> anyhow::Result<()> {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await?;
    let status = response.status();
    anyhow::ensure!(status.is_success(), "{url} answered {status}");
    // Read the whole answer, as a dashboard would.
    response.bytes().await?;
    Ok(())
}

async fn write_data(
    client: &reqwest::Client,
    server: &Server,
    channels: usize,
    per_channel: usize,
) -> anyhow::Result<()> {
    let url = format!("{}/storage/writer/v1/columnar", server.url);
    const CHUNK: usize = 10_000;
    for c in 0..channels {
        for first in (0..per_channel).step_by(CHUNK) {
            let n = CHUNK.min(per_channel - first);
            let mut s = format!(
                r#"{{"dataSourceRid":"{DATASET}","batches":[{{"channel":"ch{c:03}","timestamps":["#
            );
            for i in first..first + n {
                let sep = if i > first { "," } else { "" };
                let t = T0 + i as i64 * 1_000_000;
                let _ = write!(s, r#"{sep}{{"seconds":{},"nanos":{}}}"#, t / SEC, t % SEC);
            }
            s.push_str(r#"],"values":{"type":"doubles","doubles":["#);
            for i in first..first + n {
                let sep = if i > first { "," } else { "" };
                let v = (i as f64 * 1e-3 + c as f64).sin();
                let _ = write!(s, "{sep}{v:.6}");
            }
            s.push_str("]}}]}");
            post(client, &url, s).await?;
        }
    }
    Ok(())
}
