//! Columnar ingest load: writers post 10,000-point batches over 100 channels as fast as the
//! server acknowledges them.

use crate::process::Server;
use crate::BenchArgs;
use std::fmt::{self, Write as _};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Figures of the ingest phase.
pub(crate) struct IngestReport {
    points: u64,
    requests: u64,
    elapsed: Duration,
    server_cpu: Option<f64>,
    /// CPU of the helper services (NATS), when their pids were given.
    service_cpu: Option<f64>,
    /// Servers written to (cluster nodes share the load).
    nodes: usize,
    latencies_ms: Vec<f64>,
}

impl fmt::Display for IngestReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "ingest: {} points in {} requests over {secs:.1} s to {} server(s)",
            self.points, self.requests, self.nodes
        )?;
        writeln!(
            f,
            "  throughput      {:.2} M points/s",
            self.points as f64 / secs / 1e6
        )?;
        if let Some(cpu) = self.server_cpu {
            writeln!(f, "  server CPU      {cpu:.2} s = {:.3} µs/point ({:.2} M points per server-core-second)",
                cpu * 1e6 / self.points.max(1) as f64,
                self.points as f64 / cpu.max(1e-9) / 1e6)?;
        }
        if let Some(cpu) = self.service_cpu {
            writeln!(
                f,
                "  services CPU    {cpu:.2} s = {:.3} µs/point (NATS)",
                cpu * 1e6 / self.points.max(1) as f64
            )?;
        }
        let (p50, p99) = (
            percentile(&self.latencies_ms, 0.5),
            percentile(&self.latencies_ms, 0.99),
        );
        write!(f, "  request latency p50 {p50:.1} ms, p99 {p99:.1} ms")
    }
}

pub(crate) fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs the phase.
pub(crate) async fn run(
    client: &reqwest::Client,
    server: &Server,
    args: &BenchArgs,
) -> anyhow::Result<IngestReport> {
    let urls: Vec<String> = server
        .urls
        .iter()
        .map(|u| format!("{u}/storage/writer/v1/columnar"))
        .collect();
    let per_channel = (args.batch_points / args.channels.max(1)).max(1);
    let points = Arc::new(AtomicU64::new(0));
    let requests = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(args.ingest_secs);
    let cpu_before = (server.cpu_seconds(), server.service_cpu_seconds());
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..args.writers.max(1) {
        let (client, url, points, requests) = (
            client.clone(),
            // Writers take turns over the nodes, so a cluster shares the load.
            urls[writer % urls.len().max(1)].clone(),
            points.clone(),
            requests.clone(),
        );
        let channels = args.channels.max(1);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            // Each writer owns its time line so batches never overwrite each other.
            let mut t = 1_700_000_000_000_000_000i64 + writer as i64 * 1_000_000_000_000_000;
            while Instant::now() < deadline {
                let body = column_body(writer, channels, per_channel, t);
                t += per_channel as i64 * 1_000;
                let sent = Instant::now();
                let response = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .body(body)
                    .send()
                    .await?;
                anyhow::ensure!(
                    response.status().is_success(),
                    "write refused: {}",
                    response.status()
                );
                latencies.push(sent.elapsed().as_secs_f64() * 1e3);
                points.fetch_add((channels * per_channel) as u64, Ordering::Relaxed);
                requests.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<_, anyhow::Error>(latencies)
        }));
    }
    let mut latencies_ms = Vec::new();
    for task in tasks {
        latencies_ms.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    let since = |before: Option<f64>, after: Option<f64>| Some(after? - before?);
    let server_cpu = since(cpu_before.0, server.cpu_seconds());
    let service_cpu = since(cpu_before.1, server.service_cpu_seconds());
    Ok(IngestReport {
        points: points.load(Ordering::Relaxed),
        requests: requests.load(Ordering::Relaxed),
        elapsed,
        server_cpu,
        service_cpu,
        nodes: urls.len(),
        latencies_ms,
    })
}

/// A `WriteColumnBatchesRequest` body: smooth sine telemetry at 1 µs spacing per channel.
fn column_body(writer: usize, channels: usize, per_channel: usize, t0: i64) -> String {
    let mut s = String::with_capacity(channels * per_channel * 48);
    s.push_str(r#"{"dataSourceRid":"ri.sightline.bench.dataset.load","batches":["#);
    for c in 0..channels {
        if c > 0 {
            s.push(',');
        }
        let _ = write!(s, r#"{{"channel":"w{writer}.ch{c:03}","timestamps":["#);
        for i in 0..per_channel {
            let t = t0 + i as i64 * 1_000;
            let sep = if i > 0 { "," } else { "" };
            let _ = write!(
                s,
                r#"{sep}{{"seconds":{},"nanos":{}}}"#,
                t.div_euclid(1_000_000_000),
                t.rem_euclid(1_000_000_000)
            );
        }
        s.push_str(r#"],"values":{"type":"doubles","doubles":["#);
        for i in 0..per_channel {
            let sep = if i > 0 { "," } else { "" };
            let v = 100.0 + ((t0 + i as i64 * 1_000) as f64 * 1e-9 + c as f64).sin();
            let _ = write!(s, "{sep}{v:.6}");
        }
        s.push_str("]}}");
    }
    s.push_str("]}");
    s
}
