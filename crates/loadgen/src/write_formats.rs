//! Write formats on the same data: server CPU per point of each writer endpoint.
//!
//! Every format carries the same points (channels × points per channel per request,
//! doubles on a 1 ms grid so Prometheus's millisecond timestamps lose nothing) to its own
//! dataset, from two concurrent writers, for a fixed number of requests. Bodies are built
//! before the timed run, so only the server's work is on the clock; server CPU comes from
//! `/proc/<pid>/stat`, so the load generator's own CPU is not counted.

use crate::process::Server;
use prost::Message as _;
use sightline_wire::prometheus::{Label, Sample, TimeSeries, WriteRequest};
use sightline_wire::proto::{self, columnar};
use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::time::{Duration, Instant};

/// The writer formats compared (`--write-format` picks some, e.g. to profile one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// JSON rows, `POST /storage/writer/v1`.
    JsonRows,
    /// JSON columnar, `POST /storage/writer/v1/columnar`.
    JsonColumnar,
    /// Protobuf rows with zstd, `POST /storage/writer/v1/nominal/{rid}`.
    ProtobufRowsZstd,
    /// Columnar protobuf, `POST /storage/writer/v1/nominal-columnar`.
    ProtobufColumnar,
    /// Columnar protobuf with zstd, `POST /storage/writer/v1/nominal-columnar`.
    ProtobufColumnarZstd,
    /// Prometheus remote write 1.0 (snappy).
    Prometheus,
}

const FORMATS: [Format; 6] = [
    Format::JsonRows,
    Format::JsonColumnar,
    Format::ProtobufRowsZstd,
    Format::ProtobufColumnar,
    Format::ProtobufColumnarZstd,
    Format::Prometheus,
];

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::JsonRows => "JSON rows (/storage/writer/v1)",
            Format::JsonColumnar => "JSON columnar (/columnar)",
            Format::ProtobufRowsZstd => "protobuf rows, zstd (/nominal)",
            Format::ProtobufColumnar => "protobuf columnar (/nominal-columnar)",
            Format::ProtobufColumnarZstd => "protobuf columnar, zstd (/nominal-columnar)",
            Format::Prometheus => "Prometheus remote write, snappy",
        }
    }

    fn dataset(self) -> String {
        format!("ri.sightline.bench.dataset.format-{self:?}").to_lowercase()
    }

    fn path(self) -> String {
        match self {
            Format::JsonRows => "/storage/writer/v1".to_string(),
            Format::JsonColumnar => "/storage/writer/v1/columnar".to_string(),
            Format::ProtobufRowsZstd => format!("/storage/writer/v1/nominal/{}", self.dataset()),
            Format::ProtobufColumnar | Format::ProtobufColumnarZstd => {
                "/storage/writer/v1/nominal-columnar".to_string()
            }
            Format::Prometheus => format!("/storage/writer/v1/prometheus/{}", self.dataset()),
        }
    }

    fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Format::JsonRows | Format::JsonColumnar => &[("content-type", "application/json")],
            Format::ProtobufColumnar => &[("content-type", "application/x-protobuf")],
            Format::ProtobufRowsZstd | Format::ProtobufColumnarZstd => &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "zstd"),
            ],
            Format::Prometheus => &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "0.1.0"),
            ],
        }
    }
}

/// One request's data: per channel, timestamps (ns) and values.
struct Batch {
    channels: Vec<(String, Vec<i64>, Vec<f64>)>,
}

impl Batch {
    fn new(writer: usize, request: usize, channels: usize, per_channel: usize) -> Batch {
        const MS: i64 = 1_000_000;
        // Each (writer, request) owns its own stretch of time: no point replaces another.
        let t0 = 1_700_000_000_000_000_000
            + (writer as i64 * 1_000_000 + request as i64) * per_channel as i64 * MS;
        let channels = (0..channels)
            .map(|c| {
                let ts: Vec<i64> = (0..per_channel).map(|i| t0 + i as i64 * MS).collect();
                let vs = ts
                    .iter()
                    .map(|&t| {
                        let v = 100.0 + (t as f64 * 1e-9 + c as f64).sin();
                        (v * 1e6).round() / 1e6
                    })
                    .collect();
                (format!("ch{c:03}"), ts, vs)
            })
            .collect();
        Batch { channels }
    }

    fn encode(&self, format: Format) -> anyhow::Result<Vec<u8>> {
        let rid = format.dataset();
        Ok(match format {
            Format::JsonRows => self.json_rows(&rid).into_bytes(),
            Format::JsonColumnar => self.json_columnar(&rid).into_bytes(),
            Format::ProtobufRowsZstd => {
                zstd::encode_all(&self.nominal_rows().encode_to_vec()[..], 3)?
            }
            Format::ProtobufColumnar => self.nominal_columnar(&rid).encode_to_vec(),
            Format::ProtobufColumnarZstd => {
                zstd::encode_all(&self.nominal_columnar(&rid).encode_to_vec()[..], 3)?
            }
            Format::Prometheus => {
                snap::raw::Encoder::new().compress_vec(&self.prometheus().encode_to_vec())?
            }
        })
    }

    fn json_rows(&self, rid: &str) -> String {
        let mut s = format!(r#"{{"dataSourceRid":"{rid}","batches":["#);
        for (c, (name, ts, vs)) in self.channels.iter().enumerate() {
            let sep = if c > 0 { "," } else { "" };
            let _ = write!(
                s,
                r#"{sep}{{"channel":"{name}","points":{{"type":"double","double":["#
            );
            for (i, (t, v)) in ts.iter().zip(vs).enumerate() {
                let sep = if i > 0 { "," } else { "" };
                let (sec, ns) = (t.div_euclid(1_000_000_000), t.rem_euclid(1_000_000_000));
                let _ = write!(
                    s,
                    r#"{sep}{{"timestamp":{{"seconds":{sec},"nanos":{ns}}},"value":{v}}}"#
                );
            }
            s.push_str("]}}");
        }
        s.push_str("]}");
        s
    }

    fn json_columnar(&self, rid: &str) -> String {
        let mut s = format!(r#"{{"dataSourceRid":"{rid}","batches":["#);
        for (c, (name, ts, vs)) in self.channels.iter().enumerate() {
            let sep = if c > 0 { "," } else { "" };
            let _ = write!(s, r#"{sep}{{"channel":"{name}","timestamps":["#);
            for (i, t) in ts.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                let (sec, ns) = (t.div_euclid(1_000_000_000), t.rem_euclid(1_000_000_000));
                let _ = write!(s, r#"{sep}{{"seconds":{sec},"nanos":{ns}}}"#);
            }
            s.push_str(r#"],"values":{"type":"doubles","doubles":["#);
            for (i, v) in vs.iter().enumerate() {
                let sep = if i > 0 { "," } else { "" };
                let _ = write!(s, "{sep}{v}");
            }
            s.push_str("]}}");
        }
        s.push_str("]}");
        s
    }

    fn nominal_rows(&self) -> proto::WriteRequestNominal {
        let series = self
            .channels
            .iter()
            .map(|(name, ts, vs)| proto::Series {
                channel: Some(proto::Channel { name: name.clone() }),
                tags: HashMap::new(),
                points: Some(proto::Points {
                    points_type: Some(proto::PointsType::DoublePoints(proto::DoublePoints {
                        points: ts
                            .iter()
                            .zip(vs)
                            .map(|(&t, &value)| proto::DoublePoint {
                                timestamp: Some(proto::ProtoTimestamp {
                                    seconds: t.div_euclid(1_000_000_000),
                                    nanos: t.rem_euclid(1_000_000_000) as i32,
                                }),
                                value,
                            })
                            .collect(),
                    })),
                }),
            })
            .collect();
        proto::WriteRequestNominal {
            series,
            session_name: None,
        }
    }

    fn nominal_columnar(&self, rid: &str) -> columnar::WriteBatchesRequest {
        let batches = self
            .channels
            .iter()
            .map(|(name, ts, vs)| columnar::RecordsBatch {
                channel: name.clone(),
                tags: HashMap::new(),
                points: Some(columnar::Points {
                    timestamps: ts
                        .iter()
                        .map(|&t| columnar::Timestamp {
                            seconds: Some(t.div_euclid(1_000_000_000)),
                            nanos: Some(t.rem_euclid(1_000_000_000)),
                        })
                        .collect(),
                    values: Some(columnar::Values::DoublePoints(columnar::DoublePoints {
                        points: vs.clone(),
                    })),
                }),
            })
            .collect();
        columnar::WriteBatchesRequest {
            batches,
            data_source_rid: rid.to_string(),
        }
    }

    fn prometheus(&self) -> WriteRequest {
        let timeseries = self
            .channels
            .iter()
            .map(|(name, ts, vs)| TimeSeries {
                labels: vec![Label {
                    name: "__name__".to_string(),
                    value: name.clone(),
                }],
                samples: ts
                    .iter()
                    .zip(vs)
                    .map(|(&t, &value)| Sample {
                        value,
                        timestamp: t / 1_000_000,
                    })
                    .collect(),
            })
            .collect();
        WriteRequest { timeseries }
    }
}

/// Figures of one format.
struct FormatFigures {
    format: Format,
    points: u64,
    body_bytes: u64,
    elapsed: Duration,
    server_cpu: Option<f64>,
}

/// Figures of the write-formats scenario.
pub(crate) struct WriteFormatsReport {
    rows: Vec<FormatFigures>,
}

impl fmt::Display for WriteFormatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "write formats (same points, server CPU per point):")?;
        writeln!(
            f,
            "  {:<44} {:>10} {:>12} {:>14} {:>12}",
            "format", "points", "bytes/point", "server µs/pt", "M points/s"
        )?;
        let json_columnar = self
            .rows
            .iter()
            .find(|r| r.format == Format::JsonColumnar)
            .and_then(|r| r.server_cpu.map(|c| c / r.points.max(1) as f64));
        for r in &self.rows {
            let per_point = r.server_cpu.map(|c| c * 1e6 / r.points.max(1) as f64);
            let vs_json = match (r.server_cpu, json_columnar) {
                (Some(c), Some(j)) if j > 0.0 => {
                    format!("  ({:.2}× JSON columnar)", c / r.points.max(1) as f64 / j)
                }
                _ => String::new(),
            };
            writeln!(
                f,
                "  {:<44} {:>10} {:>12.2} {:>14} {:>12.2}{vs_json}",
                r.format.name(),
                r.points,
                r.body_bytes as f64 / r.points.max(1) as f64,
                per_point.map_or("n/a".to_string(), |p| format!("{p:.3}")),
                r.points as f64 / r.elapsed.as_secs_f64() / 1e6,
            )?;
        }
        Ok(())
    }
}

/// Runs each of `formats` (every format if empty) for `requests` requests of
/// `channels × per_channel` points.
pub(crate) async fn run(
    client: &reqwest::Client,
    server: &Server,
    formats: &[Format],
    requests: usize,
    channels: usize,
    per_channel: usize,
) -> anyhow::Result<WriteFormatsReport> {
    const WRITERS: usize = 2;
    let per_writer = requests.div_ceil(WRITERS).max(1);
    let mut rows = Vec::new();
    for format in FORMATS {
        if !formats.is_empty() && !formats.contains(&format) {
            continue;
        }
        let mut bodies = Vec::with_capacity(WRITERS);
        let mut body_bytes = 0u64;
        for writer in 0..WRITERS {
            let mut mine = Vec::with_capacity(per_writer);
            for request in 0..per_writer {
                let body = Batch::new(writer, request, channels, per_channel).encode(format)?;
                body_bytes += body.len() as u64;
                mine.push(body);
            }
            bodies.push(mine);
        }
        let url = format!("{}{}", server.url, format.path());
        let cpu_before = server.cpu_seconds();
        let started = Instant::now();
        let tasks: Vec<_> = bodies
            .into_iter()
            .map(|mine| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    for body in mine {
                        let mut request = client.post(&url);
                        for (k, v) in format.headers() {
                            request = request.header(*k, *v);
                        }
                        let response = request.body(body).send().await?;
                        let status = response.status();
                        anyhow::ensure!(
                            status.is_success(),
                            "{} write refused: {status}: {}",
                            format.name(),
                            response.text().await.unwrap_or_default()
                        );
                    }
                    Ok::<_, anyhow::Error>(())
                })
            })
            .collect();
        for task in tasks {
            task.await??;
        }
        let elapsed = started.elapsed();
        let server_cpu = match (cpu_before, server.cpu_seconds()) {
            (Some(a), Some(b)) => Some(b - a),
            _ => None,
        };
        rows.push(FormatFigures {
            format,
            points: (WRITERS * per_writer * channels * per_channel) as u64,
            body_bytes,
            elapsed,
            server_cpu,
        });
    }
    Ok(WriteFormatsReport { rows })
}
