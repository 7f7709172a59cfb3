//! Decompression and decode amplification: small bodies that decode to huge ones, bodies
//! with millions of empty series or points, and many large bodies at once are refused
//! with a clear error before they are expanded, and store nothing. The server's peak
//! memory under these bodies is measured by hand against the release binary
//! (docs/limits.md); these tests prove the refusals.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Result};
use common::*;
use prost::Message as _;
use serde_json::json;
use sightline_server::ServerConfig;
use sightline_wire::proto::{
    Channel, DoublePoint, DoublePoints, Points, PointsType, ProtoTimestamp, Series,
    WriteRequestNominal,
};
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

const MIB: usize = 1024 * 1024;

/// 64 MiB of empty `Series` (field 1, length 0): 2 bytes each on the wire.
fn empty_series_bytes(mib: usize) -> Vec<u8> {
    [0x0au8, 0x00].repeat(mib * MIB / 2)
}

async fn post_nominal(server: &TestServer, rid: &str, body: Vec<u8>, zstd: bool) -> Result<Reply> {
    let mut request = reqwest::Client::new()
        .post(server.url(&format!("/storage/writer/v1/nominal/{rid}")))
        .header("content-type", "application/x-protobuf")
        .timeout(Duration::from_secs(20))
        .body(body);
    if zstd {
        request = request.header("content-encoding", "zstd");
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok(Reply { status, body })
}

fn one_point_request(channel: &str, t: i64) -> WriteRequestNominal {
    WriteRequestNominal {
        series: vec![Series {
            channel: Some(Channel {
                name: channel.to_string(),
            }),
            tags: Default::default(),
            points: Some(Points {
                points_type: Some(PointsType::DoublePoints(DoublePoints {
                    points: vec![DoublePoint {
                        timestamp: Some(ProtoTimestamp {
                            seconds: t / SEC,
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

async fn nothing_stored(server: &TestServer, rid: &str, channel: &str) -> Result<()> {
    let now = server.now();
    let reply = server
        .compute_reply(&numeric_node(rid, channel), now - 3600 * SEC, now + SEC)
        .await?;
    if reply.status == 200 {
        let result: sightline_wire::scout_compute::ComputeNodeResponse =
            sightline_wire::from_json(&reply.text())?;
        ensure!(
            numeric_points(&result)?.is_empty(),
            "a refused write stored points"
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_zstd_bomb_declaring_its_size_is_refused_before_decoding() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: 8 * MIB,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let bomb = zstd::bulk::compress(&empty_series_bytes(64), 19)?;
    ensure!(bomb.len() < 64 * 1024, "bomb is {} bytes", bomb.len());
    let reply = post_nominal(&server, &rid(), bomb, true).await?;
    let error = reply.conjure_error(413)?;
    ensure!(
        error.error_name == "NominalChannelWriter:PointsTooLarge",
        "{error:?}"
    );
    Ok(())
}

#[tokio::test]
async fn a_streamed_zstd_bomb_is_cut_at_the_decoded_limit() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: 8 * MIB,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    // The streaming encoder does not write the decoded size into the frame.
    for plain in [empty_series_bytes(64), vec![0u8; 64 * MIB]] {
        let bomb = zstd::stream::encode_all(plain.as_slice(), 19)?;
        let reply = post_nominal(&server, &rid(), bomb, true).await?;
        let error = reply.conjure_error(413)?;
        ensure!(
            error.error_name == "NominalChannelWriter:PointsTooLarge",
            "{error:?}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn millions_of_empty_series_are_refused_by_count_before_decoding() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: 64 * MIB,
            max_series_per_request: 1000,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let rid = rid();
    // A real series first, so "nothing stored" can fail.
    let mut body = one_point_request("x", server.now()).encode_to_vec();
    body.extend(empty_series_bytes(16));
    let compressed = zstd::bulk::compress(&body, 3)?;
    for (bytes, zstd) in [(compressed, true), (body, false)] {
        let reply = post_nominal(&server, &rid, bytes, zstd).await?;
        let error = reply.conjure_error(413)?;
        ensure!(
            error.error_name == "NominalChannelWriter:PointsTooLarge",
            "{error:?}"
        );
        ensure!(error.param("counted") == Some("series"), "{error:?}");
        ensure!(error.param("limit") == Some("1000"), "{error:?}");
    }
    nothing_stored(&server, &rid, "x").await
}

#[tokio::test]
async fn too_many_points_are_refused_in_protobuf_and_json_alike() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_points_per_request: 100,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let rid = rid();
    let now = server.now();
    let mut proto = one_point_request("p", now);
    if let Some(Points {
        points_type: Some(PointsType::DoublePoints(list)),
    }) = &mut proto.series[0].points
    {
        list.points = (0..101)
            .map(|i| DoublePoint {
                timestamp: Some(ProtoTimestamp {
                    seconds: now / SEC - i,
                    nanos: 0,
                }),
                value: 1.0,
            })
            .collect();
    }
    let reply = post_nominal(&server, &rid, proto.encode_to_vec(), false).await?;
    let error = reply.conjure_error(413)?;
    ensure!(error.param("counted") == Some("points"), "{error:?}");

    let points = series(now - 200 * SEC, SEC, 0..101);
    let reply = server
        .write_columns(&columnar(&rid, vec![double_column("j", &[], &points)]))
        .await?;
    let error = reply.conjure_error(413)?;
    ensure!(
        error.error_name == "NominalChannelWriter:PointsTooLarge",
        "{error:?}"
    );
    ensure!(error.param("counted") == Some("points"), "{error:?}");
    nothing_stored(&server, &rid, "p").await?;
    nothing_stored(&server, &rid, "j").await?;

    // At the limit, both are stored.
    let points = series(now - 200 * SEC, SEC, 0..100);
    server
        .write_columns(&columnar(&rid, vec![double_column("j", &[], &points)]))
        .await?
        .no_content()
}

#[tokio::test]
async fn past_the_in_flight_budget_a_request_gets_503_with_retry_after() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: MIB,
            max_inflight_bytes: MIB,
            body_read_timeout: Duration::from_secs(30),
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    // One request declares a whole budget's worth and holds it by sending its body slowly.
    let mut holder = TcpStream::connect(server.addr).await?;
    let head = format!(
        "POST /storage/writer/v1/columnar HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {MIB}\r\n\r\n{{"
    );
    holder.write_all(head.as_bytes()).await?;
    tokio::time::sleep(Duration::from_millis(200)).await;

    let rid = rid();
    let body = columnar(&rid, vec![double_column("b", &[], &[(server.now(), 1.0)])]);
    let response = reqwest::Client::new()
        .post(server.url("/storage/writer/v1/columnar"))
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await?;
    ensure!(
        response.headers().get("retry-after").map(|v| v.as_bytes()) == Some(b"1"),
        "no Retry-After: {:?}",
        response.headers()
    );
    let reply = Reply {
        status: response.status().as_u16(),
        body: response.bytes().await?.to_vec(),
    };
    let error = reply.conjure_error(503)?;
    ensure!(error.error_name == "Sightline:Overloaded", "{error:?}");
    nothing_stored(&server, &rid, "b").await?;

    // Once the holder goes away, its bytes come back.
    drop(holder);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let reply = server
            .post_json("/storage/writer/v1/columnar", &body)
            .await?;
        if reply.status == 204 {
            return Ok(());
        }
        ensure!(
            tokio::time::Instant::now() < deadline,
            "budget never came back: {}",
            reply.text()
        );
    }
}

#[tokio::test]
async fn a_json_body_of_many_tiny_batches_is_refused_by_count() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_series_per_request: 10,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let rid = rid();
    let batches: Vec<_> = (0..11)
        .map(|i| double_column(&format!("c{i}"), &[], &[(server.now(), 1.0)]))
        .collect();
    let reply = server.write_columns(&columnar(&rid, batches)).await?;
    let error = reply.conjure_error(413)?;
    ensure!(error.param("counted") == Some("series"), "{error:?}");
    ensure!(json!(error.param("limit")) == json!("10"));
    nothing_stored(&server, &rid, "c0").await
}

async fn post_binary(
    server: &TestServer,
    path: &str,
    body: Vec<u8>,
    encoding: Option<&str>,
) -> Result<Reply> {
    let mut request = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/x-protobuf")
        .timeout(Duration::from_secs(20))
        .body(body);
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok(Reply { status, body })
}

/// The columnar writer and remote write go through the same decoder as `/nominal`: a zstd
/// bomb (with or without its decoded size in the frame) is cut at the body limit, and
/// millions of empty batches or time series are refused by count before prost sees them.
#[tokio::test]
async fn columnar_and_remote_write_bodies_are_bounded_like_nominal_ones() -> Result<()> {
    use sightline_wire::proto::columnar;
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: 8 * MIB,
            max_series_per_request: 1000,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let rid = rid();
    const COLUMNAR: &str = "/storage/writer/v1/nominal-columnar";
    // Empty `RecordsBatch`es are the same two bytes as empty `Series`.
    let plain = empty_series_bytes(64);
    for bomb in [
        zstd::bulk::compress(&plain, 19)?,
        zstd::stream::encode_all(plain.as_slice(), 19)?,
    ] {
        let error = post_binary(&server, COLUMNAR, bomb, Some("zstd"))
            .await?
            .conjure_error(413)?;
        ensure!(
            error.error_name == "NominalChannelWriter:PointsTooLarge",
            "{error:?}"
        );
    }
    // A real batch first, so "nothing stored" can fail.
    let now = server.now();
    let mut body = columnar::WriteBatchesRequest {
        batches: vec![columnar::RecordsBatch {
            channel: "x".into(),
            tags: Default::default(),
            points: Some(columnar::Points {
                timestamps: vec![columnar::Timestamp {
                    seconds: Some(now / SEC),
                    nanos: Some(0),
                }],
                values: Some(columnar::Values::DoublePoints(columnar::DoublePoints {
                    points: vec![1.0],
                })),
            }),
        }],
        data_source_rid: rid.clone(),
    }
    .encode_to_vec();
    body.extend(empty_series_bytes(4));
    let compressed = zstd::bulk::compress(&body, 3)?;
    for (bytes, encoding) in [(compressed, Some("zstd")), (body, None)] {
        let error = post_binary(&server, COLUMNAR, bytes, encoding)
            .await?
            .conjure_error(413)?;
        ensure!(error.param("counted") == Some("series"), "{error:?}");
        ensure!(error.param("limit") == Some("1000"), "{error:?}");
    }
    nothing_stored(&server, &rid, "x").await?;
    // Remote write: empty `TimeSeries` are field 1 too.
    let remote = snap::raw::Encoder::new().compress_vec(&empty_series_bytes(4))?;
    let error = post_binary(
        &server,
        &format!("/storage/writer/v1/prometheus/{rid}"),
        remote,
        Some("snappy"),
    )
    .await?
    .conjure_error(413)?;
    ensure!(error.param("counted") == Some("series"), "{error:?}");
    Ok(())
}
