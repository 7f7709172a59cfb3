//! `--scenario abuse`: the server's peak memory under hostile requests.
//!
//! Each probe is a request (or a burst of them) a careless or hostile client can send: zstd
//! bombs, millions of empty series, bodies at the size limit, eight of them at once, the
//! widest computation the limits admit, and hundreds of connections that never finish their
//! headers. Before each probe the server's peak resident set (`VmHWM`) is reset through
//! `/proc/PID/clear_refs`; after it the peak is read back, so every row is that probe's own
//! peak. The report compares it with the documented target: at most 4× `--max-body-bytes`
//! above the idle server, whatever the body.
//!
//! Must not know: server internals; it sends what any client could send.

use crate::process::Server;
use anyhow::Context as _;
use prost::Message as _;
use serde_json::{json, Value};
use sightline_wire::proto::{
    Channel, DoublePoint, DoublePoints, Points, PointsType, ProtoTimestamp, Series,
    WriteRequestNominal,
};
use std::fmt::{self, Write as _};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

const DATASET: &str = "ri.sightline.bench.dataset.abuse";
const SEC: i64 = 1_000_000_000;
const MIB: usize = 1024 * 1024;
/// Points of the channel the computation probes read (a 100 s window at 1 kHz).
const CHANNEL_POINTS: usize = 100_000;

/// One probe's outcome.
struct Row {
    probe: String,
    answer: String,
    peak_bytes: Option<u64>,
    growth_bytes: Option<u64>,
    /// Whether the single-request target applies (bursts are bounded by the in-flight
    /// budget instead, computations by the point limit).
    single: bool,
}

/// Figures of the abuse scenario.
pub(crate) struct AbuseReport {
    max_body_bytes: usize,
    idle_rss: Option<u64>,
    rows: Vec<Row>,
}

impl fmt::Display for AbuseReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = 4 * self.max_body_bytes as u64;
        writeln!(
            f,
            "abuse: peak server memory per probe (--max-body-bytes {}; target for one body: growth ≤ {}; \
             bursts are bounded by --max-inflight-bytes, computations by --max-points-per-computation)",
            mib(self.max_body_bytes as u64),
            mib(target)
        )?;
        if let Some(idle) = self.idle_rss {
            writeln!(f, "  idle server RSS {}", mib(idle))?;
        }
        writeln!(
            f,
            "  {:<58} {:<42} {:>10} {:>10}",
            "probe", "answer", "peak RSS", "growth"
        )?;
        for row in &self.rows {
            let over = match row.growth_bytes {
                Some(g) if row.single && g > target => "  OVER TARGET",
                Some(_) if row.single => "  ok",
                _ => "",
            };
            writeln!(
                f,
                "  {:<58} {:<42} {:>10} {:>10}{over}",
                row.probe,
                row.answer,
                row.peak_bytes.map_or("n/a".into(), mib),
                row.growth_bytes.map_or("n/a".into(), mib),
            )?;
        }
        Ok(())
    }
}

fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / MIB as f64)
}

/// Runs every probe against `server`, which was started with `--max-body-bytes
/// max_body_bytes`. Memory figures need a server this harness started (its pid).
pub(crate) async fn run(
    client: &reqwest::Client,
    server: &Server,
    max_body_bytes: usize,
) -> anyhow::Result<AbuseReport> {
    let memory = Memory {
        pid: server.pids.first().copied(),
    };
    write_channel(client, server).await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let idle_rss = memory.current();
    let nominal = format!("{}/storage/writer/v1/nominal/{DATASET}", server.url);
    let columnar = format!("{}/storage/writer/v1/columnar", server.url);
    let compute = format!("{}/compute/v2/compute", server.url);

    let declared_bomb = zstd::bulk::compress(&empty_series(64 * MIB), 19)?;
    let streamed_bomb = zstd::stream::encode_all(empty_series(64 * MIB).as_slice(), 19)?;
    let zeros_bomb = zstd::stream::encode_all(vec![0u8; 64 * MIB].as_slice(), 19)?;
    let mut many_series = one_point_request().encode_to_vec();
    many_series.extend(empty_series(max_body_bytes.saturating_sub(64)));
    let json_at_limit = json_body_of(max_body_bytes);
    let widest = compute_request(256);
    let too_complex = compute_request(2_000);

    let mut rows = Vec::new();
    let mut probe = async |name: String, run: Probe<'_>| -> anyhow::Result<()> {
        memory.reset_peak();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let before = memory.current();
        let answer = run.send(client).await;
        let peak = memory.peak();
        let growth = match (peak, before) {
            (Some(p), Some(b)) => Some(p.saturating_sub(b)),
            _ => None,
        };
        println!("  {name}: {answer}");
        rows.push(Row {
            probe: name,
            answer,
            peak_bytes: peak,
            growth_bytes: growth,
            single: run.is_single(),
        });
        Ok(())
    };
    let kib = |b: &[u8]| b.len().div_ceil(1024);
    let probes: Vec<(String, Probe<'_>)> = vec![
        (
            format!(
                "zstd bomb, size declared: 64 MiB of empty Series in {} KiB",
                kib(&declared_bomb)
            ),
            Probe::post(&nominal, "application/x-protobuf", true, &declared_bomb, 1),
        ),
        (
            format!(
                "zstd bomb, streamed: 64 MiB of empty Series in {} KiB",
                kib(&streamed_bomb)
            ),
            Probe::post(&nominal, "application/x-protobuf", true, &streamed_bomb, 1),
        ),
        (
            format!(
                "zstd bomb, streamed: 64 MiB of zeros in {} KiB",
                kib(&zeros_bomb)
            ),
            Probe::post(&nominal, "application/x-protobuf", true, &zeros_bomb, 1),
        ),
        (
            "8 streamed zstd bombs at once".into(),
            Probe::post(&nominal, "application/x-protobuf", true, &streamed_bomb, 8),
        ),
        (
            format!(
                "plain protobuf at the limit: {} empty Series",
                many_series.len() / 2
            ),
            Probe::post(&nominal, "application/x-protobuf", false, &many_series, 1),
        ),
        (
            "8 such protobuf bodies at once".into(),
            Probe::post(&nominal, "application/x-protobuf", false, &many_series, 8),
        ),
        (
            "columnar JSON at the limit (one channel, all points)".into(),
            Probe::post(&columnar, "application/json", false, &json_at_limit, 1),
        ),
        (
            "8 such JSON bodies at once".into(),
            Probe::post(&columnar, "application/json", false, &json_at_limit, 8),
        ),
        (
            "compute: sum of 2,000 copies of a 100k-point channel".into(),
            Probe::post(&compute, "application/json", false, &too_complex, 1),
        ),
        (
            "compute: sum of 256 copies (the fan-in limit), admitted".into(),
            Probe::post(&compute, "application/json", false, &widest, 1),
        ),
        (
            "400 connections that never finish their headers".into(),
            Probe::Slowloris {
                url: &server.url,
                connections: 400,
            },
        ),
    ];
    for (name, run) in probes {
        probe(name, run).await?;
    }
    Ok(AbuseReport {
        max_body_bytes,
        idle_rss,
        rows,
    })
}

/// The server's memory, read from `/proc` (Linux, and only for a server we started).
struct Memory {
    pid: Option<u32>,
}

impl Memory {
    fn status_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid?)).ok()?;
        let line = status.lines().find(|l| l.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    fn current(&self) -> Option<u64> {
        self.status_kib("VmRSS:").map(|k| k * 1024)
    }

    fn peak(&self) -> Option<u64> {
        self.status_kib("VmHWM:").map(|k| k * 1024)
    }

    /// Writing 5 to `clear_refs` resets the peak to the current resident set.
    fn reset_peak(&self) {
        if let Some(pid) = self.pid {
            let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
        }
    }
}

/// A request (or burst) of one probe.
enum Probe<'a> {
    Post {
        url: &'a str,
        content_type: &'static str,
        zstd: bool,
        body: &'a [u8],
        copies: usize,
    },
    Slowloris {
        url: &'a str,
        connections: usize,
    },
}

impl<'a> Probe<'a> {
    fn post(
        url: &'a str,
        content_type: &'static str,
        zstd: bool,
        body: &'a [u8],
        copies: usize,
    ) -> Self {
        Probe::Post {
            url,
            content_type,
            zstd,
            body,
            copies,
        }
    }

    /// One request body (the target of 4× `--max-body-bytes` applies).
    fn is_single(&self) -> bool {
        matches!(self, Probe::Post { copies: 1, url, .. } if !url.ends_with("/compute"))
    }

    /// Sends the probe; the answer as a person reads it (`413 NominalChannelWriter:...`).
    async fn send(&self, client: &reqwest::Client) -> String {
        match self {
            Probe::Post {
                url,
                content_type,
                zstd,
                body,
                copies,
            } => {
                let sends = (0..*copies).map(|_| {
                    let mut request = client
                        .post(*url)
                        .header("content-type", *content_type)
                        .timeout(Duration::from_secs(60))
                        .body(body.to_vec());
                    if *zstd {
                        request = request.header("content-encoding", "zstd");
                    }
                    async move { answer(request.send().await).await }
                });
                let answers = futures::future::join_all(sends).await;
                summarize(&answers)
            }
            Probe::Slowloris { url, connections } => slowloris(url, *connections)
                .await
                .unwrap_or_else(|e| format!("error: {e:#}")),
        }
    }
}

async fn answer(response: reqwest::Result<reqwest::Response>) -> String {
    let response = match response {
        Ok(r) => r,
        Err(e) if e.is_timeout() => return "no answer in 60 s".into(),
        Err(_) => return "connection closed".into(),
    };
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    let name = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("errorName")?.as_str().map(str::to_string));
    match name {
        Some(name) => format!("{status} {name}"),
        None => status.to_string(),
    }
}

/// `413 X` or `6× 413 X, 2× 503 Y`.
fn summarize(answers: &[String]) -> String {
    let mut counted: Vec<(&String, usize)> = Vec::new();
    for a in answers {
        match counted.iter_mut().find(|(x, _)| *x == a) {
            Some((_, n)) => *n += 1,
            None => counted.push((a, 1)),
        }
    }
    if counted.len() == 1 && answers.len() == 1 {
        return answers[0].clone();
    }
    counted
        .iter()
        .map(|(a, n)| format!("{n}× {a}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Opens `connections` sockets that send half a request line, holds them two seconds, then
/// reports how many the server had closed (a capped server refuses those past its limit).
async fn slowloris(url: &str, connections: usize) -> anyhow::Result<String> {
    let address = url
        .strip_prefix("http://")
        .context("the slowloris probe needs an http:// URL")?
        .trim_end_matches('/')
        .to_string();
    let mut sockets = Vec::new();
    for _ in 0..connections {
        let mut socket = tokio::net::TcpStream::connect(&address).await?;
        socket
            .write_all(b"POST /storage/writer/v1/columnar HTTP/1.1\r\nHost: x\r\n")
            .await?;
        sockets.push(socket);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut closed = 0;
    for socket in &sockets {
        let mut byte = [0u8; 1];
        if let Ok(Ok(_)) =
            tokio::time::timeout(Duration::from_millis(5), socket.peek(&mut byte)).await
        {
            closed += 1;
        }
    }
    Ok(format!(
        "{closed} of {connections} answered or closed at once"
    ))
}

fn empty_series(bytes: usize) -> Vec<u8> {
    // Field 1 (series), length 0: two bytes each.
    [0x0au8, 0x00].repeat(bytes / 2)
}

fn one_point_request() -> WriteRequestNominal {
    WriteRequestNominal {
        series: vec![Series {
            channel: Some(Channel {
                name: "abuse".to_string(),
            }),
            tags: Default::default(),
            points: Some(Points {
                points_type: Some(PointsType::DoublePoints(DoublePoints {
                    points: vec![DoublePoint {
                        timestamp: Some(ProtoTimestamp {
                            seconds: 1_700_000_000,
                            nanos: 0,
                        }),
                        value: 1.0,
                    }],
                })),
            }),
        }],
        session_name: None,
    }
}

/// A columnar JSON write of one channel just under `bytes`.
fn json_body_of(bytes: usize) -> Vec<u8> {
    let mut timestamps = String::new();
    let mut values = String::new();
    let mut i = 0i64;
    // Each point costs about 40 bytes of timestamp and 4 of value.
    while timestamps.len() + values.len() + 200 < bytes.saturating_sub(48) {
        let sep = if i > 0 { "," } else { "" };
        let _ = write!(
            timestamps,
            r#"{sep}{{"seconds":{},"nanos":{}}}"#,
            1_600_000_000 + i / 1000,
            (i % 1000) * 1_000_000
        );
        let _ = write!(values, "{sep}{}", i % 10);
        i += 1;
    }
    format!(
        r#"{{"dataSourceRid":"{DATASET}","batches":[{{"channel":"wide","timestamps":[{timestamps}],"values":{{"type":"doubles","doubles":[{values}]}}}}]}}"#
    )
    .into_bytes()
}

fn compute_request(copies: usize) -> Vec<u8> {
    let source = json!({"type": "channel", "channel": {"type": "dataSource", "dataSource": {
        "dataSourceRid": {"type": "literal", "literal": DATASET},
        "channel": {"type": "literal", "literal": "big"}}}});
    let node = json!({"type": "series", "series": {"input": {"type": "numeric", "numeric": {
        "type": "sum", "sum": {"inputs": vec![source; copies]}}}, "buckets": 1000}});
    let t0 = 1_700_000_000i64;
    json!({"node": node, "start": {"seconds": t0, "nanos": 0},
        "end": {"seconds": t0 + 200, "nanos": 0}, "context": {}})
    .to_string()
    .into_bytes()
}

/// Writes the 100k-point channel `big` the computation probes read.
async fn write_channel(client: &reqwest::Client, server: &Server) -> anyhow::Result<()> {
    let url = format!("{}/storage/writer/v1/columnar", server.url);
    const CHUNK: usize = 10_000;
    for first in (0..CHANNEL_POINTS).step_by(CHUNK) {
        let mut timestamps = String::new();
        let mut values = String::new();
        for i in first..first + CHUNK {
            let sep = if i > first { "," } else { "" };
            let t = 1_700_000_000 * SEC + i as i64 * 1_000_000;
            let _ = write!(
                timestamps,
                r#"{sep}{{"seconds":{},"nanos":{}}}"#,
                t / SEC,
                t % SEC
            );
            let _ = write!(values, "{sep}{:.4}", (i as f64 * 1e-3).sin());
        }
        let body = format!(
            r#"{{"dataSourceRid":"{DATASET}","batches":[{{"channel":"big","timestamps":[{timestamps}],"values":{{"type":"doubles","doubles":[{values}]}}}}]}}"#
        );
        let response = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await?;
        anyhow::ensure!(
            response.status().is_success(),
            "writing the probe channel answered {}",
            response.status()
        );
    }
    Ok(())
}
