//! The protobuf streaming write of the upstream clients: plain and zstd bodies are stored
//! and readable; malformed or invalid bodies are refused with a Conjure error, storing nothing.

mod common;

use common::*;
use prost::Message as _;
use sightline_wire::proto::{
    Channel, DoublePoint, DoublePoints, Points, PointsType, ProtoTimestamp, Series, StringPoint,
    StringPoints, WriteRequestNominal,
};
use sightline_wire::scout_compute::ComputeNodeResponse;
use std::collections::HashMap;

fn ts_of(nanos: i64) -> Option<ProtoTimestamp> {
    Some(ProtoTimestamp {
        seconds: nanos.div_euclid(SEC),
        nanos: nanos.rem_euclid(SEC) as i32,
    })
}

fn request(channel: &str, points: &[(i64, f64)]) -> WriteRequestNominal {
    WriteRequestNominal {
        series: vec![Series {
            channel: Some(Channel {
                name: channel.to_string(),
            }),
            tags: HashMap::from([("stand".to_string(), "A".to_string())]),
            points: Some(Points {
                points_type: Some(PointsType::DoublePoints(DoublePoints {
                    points: points
                        .iter()
                        .map(|(t, v)| DoublePoint {
                            timestamp: ts_of(*t),
                            value: *v,
                        })
                        .collect(),
                })),
            }),
        }],
        session_name: None,
    }
}

/// A POST with `Content-Encoding: zstd`, as the upstream streaming clients send.
trait PostZstd {
    async fn post_zstd(&self, path: &str, body: Vec<u8>) -> anyhow::Result<Reply>;
}

impl PostZstd for TestServer {
    async fn post_zstd(&self, path: &str, body: Vec<u8>) -> anyhow::Result<Reply> {
        let response = reqwest::Client::new()
            .post(self.url(path))
            .header("content-type", "application/x-protobuf")
            .header("content-encoding", "zstd")
            .body(body)
            .send()
            .await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(Reply { status, body })
    }
}

async fn values(server: &TestServer, rid: &str, channel: &str) -> anyhow::Result<Vec<f64>> {
    match server
        .compute(&numeric_node(rid, channel), BASE - SEC, BASE + 10 * SEC)
        .await?
    {
        ComputeNodeResponse::Numeric(plot) => Ok(plot.values),
        other => anyhow::bail!("unexpected {}", other.variant_name()),
    }
}

#[tokio::test]
async fn protobuf_writes_plain_and_zstd_are_stored() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let path = format!("/storage/writer/v1/nominal/{rid}");
    let plain = request("thrust", &[(BASE, 1.0), (BASE + SEC, 2.0)]).encode_to_vec();
    server.post_bytes(&path, plain).await?.no_content()?;

    let compressed = zstd::encode_all(
        request("thrust", &[(BASE + 2 * SEC, 3.0)])
            .encode_to_vec()
            .as_slice(),
        3,
    )?;
    let reply = server.post_zstd(&path, compressed).await?;
    reply.no_content()?;
    assert_eq!(values(&server, &rid, "thrust").await?, vec![1.0, 2.0, 3.0]);

    // Strings land as an enum channel; a retry of the same points replaces, not duplicates.
    let strings = WriteRequestNominal {
        series: vec![Series {
            channel: Some(Channel {
                name: "state".to_string(),
            }),
            tags: HashMap::new(),
            points: Some(Points {
                points_type: Some(PointsType::StringPoints(StringPoints {
                    points: vec![StringPoint {
                        timestamp: ts_of(BASE),
                        value: "OPEN".to_string(),
                    }],
                })),
            }),
        }],
        session_name: Some("rig".to_string()),
    };
    server
        .post_bytes(&path, strings.encode_to_vec())
        .await?
        .no_content()?;
    server
        .post_bytes(&path, request("thrust", &[(BASE, 1.0)]).encode_to_vec())
        .await?
        .no_content()?;
    assert_eq!(values(&server, &rid, "thrust").await?, vec![1.0, 2.0, 3.0]);
    Ok(())
}

#[tokio::test]
async fn bad_protobuf_writes_store_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let path = format!("/storage/writer/v1/nominal/{rid}");

    let garbage = server
        .post_bytes(&path, vec![0xff, 0xff, 0xff, 0x01])
        .await?;
    assert_eq!(
        garbage.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );

    // One good series and one with a missing timestamp: the whole request is refused.
    let mut req = request("thrust", &[(BASE, 1.0)]);
    let mut bad = request("pressure", &[(BASE, 1.0)]);
    if let Some(Points {
        points_type: Some(PointsType::DoublePoints(p)),
    }) = bad.series[0].points.as_mut()
    {
        p.points[0].timestamp = None;
    }
    req.series.extend(bad.series);
    let reply = server.post_bytes(&path, req.encode_to_vec()).await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "NominalChannelWriter:InvalidTimestamp"
    );

    let not_zstd = server.post_zstd(&path, vec![1, 2, 3]).await?;
    assert_eq!(
        not_zstd.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );

    // Nothing of the refused writes exists.
    let reply = server
        .compute_reply(&numeric_node(&rid, "thrust"), BASE - SEC, BASE + SEC)
        .await?;
    let body = reply.text();
    assert!(
        !body.contains("\"values\":[1.0]"),
        "refused write was stored: {body}"
    );
    Ok(())
}
