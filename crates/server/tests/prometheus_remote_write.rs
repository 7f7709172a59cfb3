//! Prometheus remote write 1.0: bodies built like Prometheus builds them (snappy block
//! compression of a protobuf `WriteRequest`) are stored as metric → channel, labels → tags;
//! staleness markers are not stored; malformed bodies get a 4xx and store nothing. Then a
//! real Prometheus (Debian's `prometheus`) scrapes this server's `/metrics`, remote-writes
//! into it, and a WebSocket subscription to one of those metrics sees it update.

mod common;

use anyhow::{bail, ensure, Context as _};
use common::*;
use prost::Message as _;
use sightline_wire::persistent_compute::SubscriptionUpdate;
use sightline_wire::prometheus::{Label, Sample, TimeSeries, WriteRequest, STALE_NAN_BITS};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use uuid::Uuid;

fn path(rid: &str) -> String {
    format!("/storage/writer/v1/prometheus/{rid}")
}

fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    pairs
        .iter()
        .map(|(name, value)| Label {
            name: name.to_string(),
            value: value.to_string(),
        })
        .collect()
}

fn samples(points: &[(i64, f64)]) -> Vec<Sample> {
    points
        .iter()
        .map(|&(t, value)| Sample {
            value,
            timestamp: t / MS,
        })
        .collect()
}

fn snappy(request: &WriteRequest) -> anyhow::Result<Vec<u8>> {
    Ok(snap::raw::Encoder::new().compress_vec(&request.encode_to_vec())?)
}

async fn remote_write(server: &TestServer, rid: &str, body: Vec<u8>) -> anyhow::Result<Reply> {
    let response = reqwest::Client::new()
        .post(server.url(&path(rid)))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok(Reply { status, body })
}

async fn tagged_points(
    server: &TestServer,
    rid: &str,
    channel: &str,
    tags: &[(&str, &str)],
) -> anyhow::Result<Vec<(i64, f64)>> {
    let node = series_node("numeric", rid, channel, tags, None);
    numeric_points(
        &server
            .compute(&node, BASE - 10 * SEC, BASE + 10 * SEC)
            .await?,
    )
}

#[tokio::test]
async fn samples_are_stored_by_metric_name_and_labels() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let request = WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: labels(&[("__name__", "rpm"), ("engine", "1"), ("job", "bench")]),
                samples: samples(&[(BASE, 1000.0), (BASE + SEC, 1100.0)]),
            },
            TimeSeries {
                labels: labels(&[("__name__", "rpm"), ("engine", "2"), ("job", "bench")]),
                samples: samples(&[(BASE, 900.0)]),
            },
        ],
    };
    remote_write(&server, &rid, snappy(&request)?)
        .await?
        .no_content()?;
    assert_eq!(
        tagged_points(&server, &rid, "rpm", &[("engine", "1"), ("job", "bench")]).await?,
        vec![(BASE, 1000.0), (BASE + SEC, 1100.0)]
    );
    assert_eq!(
        tagged_points(&server, &rid, "rpm", &[("engine", "2")]).await?,
        vec![(BASE, 900.0)]
    );
    // `__name__` is the channel, not a tag.
    assert!(tagged_points(&server, &rid, "rpm", &[("__name__", "rpm")])
        .await?
        .is_empty());
    Ok(())
}

#[tokio::test]
async fn staleness_markers_are_not_stored_but_nan_samples_are() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let stale = f64::from_bits(STALE_NAN_BITS);
    let request = WriteRequest {
        timeseries: vec![
            TimeSeries {
                labels: labels(&[("__name__", "temp")]),
                samples: samples(&[
                    (BASE, 20.0),
                    (BASE + SEC, f64::NAN),
                    (BASE + 2 * SEC, stale),
                ]),
            },
            // A series that only went stale stores nothing, not even a channel.
            TimeSeries {
                labels: labels(&[("__name__", "gone")]),
                samples: samples(&[(BASE, stale)]),
            },
        ],
    };
    remote_write(&server, &rid, snappy(&request)?)
        .await?
        .no_content()?;
    let temp = tagged_points(&server, &rid, "temp", &[]).await?;
    ensure!(temp.len() == 2, "the stale marker was stored: {temp:?}");
    ensure!(temp[0] == (BASE, 20.0) && temp[1].0 == BASE + SEC && temp[1].1.is_nan());
    let gone = tagged_points(&server, &rid, "gone", &[]).await?;
    ensure!(gone.is_empty(), "a stale marker was stored: {gone:?}");
    Ok(())
}

#[tokio::test]
async fn malformed_remote_writes_get_4xx_and_store_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let good = TimeSeries {
        labels: labels(&[("__name__", "rpm")]),
        samples: samples(&[(BASE, 1.0)]),
    };
    let nameless = TimeSeries {
        labels: labels(&[("engine", "1")]),
        samples: samples(&[(BASE, 2.0)]),
    };
    let body = snappy(&WriteRequest {
        timeseries: vec![good.clone(), nameless],
    })?;
    let error = remote_write(&server, &rid, body)
        .await?
        .conjure_error(400)?;
    assert_eq!(error.error_name, "NominalChannelWriter:InvalidChannelName");

    let ancient = TimeSeries {
        labels: labels(&[("__name__", "rpm")]),
        samples: vec![Sample {
            value: 1.0,
            timestamp: -3_000_000_000_000,
        }],
    };
    let body = snappy(&WriteRequest {
        timeseries: vec![good.clone(), ancient],
    })?;
    let error = remote_write(&server, &rid, body)
        .await?
        .conjure_error(400)?;
    assert_eq!(error.error_name, "NominalChannelWriter:InvalidTimestamp");

    // Not snappy, and snappy of something that is not a WriteRequest.
    let plain = WriteRequest {
        timeseries: vec![good.clone()],
    }
    .encode_to_vec();
    let error = remote_write(&server, &rid, plain)
        .await?
        .conjure_error(400)?;
    assert_eq!(error.error_name, "Default:InvalidArgument");
    let junk = snap::raw::Encoder::new().compress_vec(b"\xff\xff\xff\xff not protobuf")?;
    let error = remote_write(&server, &rid, junk)
        .await?
        .conjure_error(400)?;
    assert_eq!(error.error_name, "Default:InvalidArgument");

    let body = snappy(&WriteRequest {
        timeseries: vec![good],
    })?;
    let error = remote_write(&server, "not-a-rid", body)
        .await?
        .conjure_error(400)?;
    assert_eq!(error.error_name, "NominalChannelWriter:InvalidDataSource");

    let stored = tagged_points(&server, &rid, "rpm", &[]).await?;
    ensure!(stored.is_empty(), "a refused write stored {stored:?}");
    Ok(())
}

#[tokio::test]
async fn a_snappy_bomb_is_refused_before_it_is_decompressed() -> anyhow::Result<()> {
    let config = sightline_server::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let server = TestServer::start_with(config, None).await?;
    let body = snap::raw::Encoder::new().compress_vec(&vec![0u8; 1024 * 1024])?;
    ensure!(body.len() < 64 * 1024);
    let error = remote_write(&server, &rid(), body)
        .await?
        .conjure_error(413)?;
    assert_eq!(error.error_name, "NominalChannelWriter:PointsTooLarge");
    Ok(())
}

#[tokio::test]
async fn the_health_check_answers_true() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let reply = server.get(&path(&rid())).await?;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()?, serde_json::json!(true));
    Ok(())
}

/// Kills and reaps the Prometheus process however the test ends.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const PROMETHEUS: &str = "/usr/bin/prometheus";

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_prometheus_remote_writes_its_scrapes_of_sightline() -> anyhow::Result<()> {
    ensure!(
        std::path::Path::new(PROMETHEUS).exists(),
        "{PROMETHEUS} is missing: install it with `apt-get install -y prometheus` (.ci/run does)"
    );
    let server = TestServer::start().await?;
    let rid = rid();
    let dir = tempfile::tempdir()?;
    let target = server.addr;
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         scrape_configs:\n  - job_name: sightline\n    scrape_interval: 1s\n    \
         static_configs:\n      - targets: ['{target}']\n\
         remote_write:\n  - url: http://{target}{}\n    queue_config:\n      \
         batch_send_deadline: 500ms\n      min_backoff: 100ms\n      max_backoff: 1s\n",
        path(&rid)
    );
    let config_path = dir.path().join("prometheus.yml");
    std::fs::write(&config_path, config)?;
    let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
    let listen = format!("127.0.0.1:{}", free_port()?);
    let _prometheus = Prometheus(
        Command::new(PROMETHEUS)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("tsdb").display()
            ))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting prometheus")?,
    );

    // The `up` metric of the scrape of this server, as Prometheus labels it.
    let tags = [("job", "sightline")];
    let node = series_node("numeric", &rid, "up", &tags, None);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let now = server.now();
        let reply = server
            .compute_reply(&node, now - 60 * SEC, now + SEC)
            .await?;
        if reply.status == 200 {
            let result = sightline_wire::from_json(&reply.text())?;
            if numeric_points(&result)?.iter().any(|&(_, v)| v == 1.0) {
                break;
            }
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(dir.path().join("prometheus.log"))?;
            bail!("no `up` samples from Prometheus within 60 s; its log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // A live subscription to a metric Prometheus keeps writing sees it update.
    let mut ws = server.connect().await?;
    let id = Uuid::new_v4();
    let full = ws.subscribe_ok(id, appends(node, 120 * SEC)).await?;
    let before = numeric_points(&full)?;
    ensure!(!before.is_empty(), "the first full result is empty");
    match ws.update_within(id, Duration::from_secs(30)).await? {
        SubscriptionUpdate::Append(append) => {
            let end = sightline_wire::time::timestamp_to_nanos(&append.end)?;
            let last = before.last().map_or(0, |p| p.0);
            ensure!(end > last, "the append ends at {end}, not after {last}");
        }
        SubscriptionUpdate::Full(f) => {
            ensure!(
                numeric_points(&f.result)?.len() > before.len(),
                "no new points"
            );
        }
        other => bail!("expected an update with new points, got {other:?}"),
    }
    ws.close().await;
    Ok(())
}
