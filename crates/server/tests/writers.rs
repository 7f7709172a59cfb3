//! The remaining upstream writers over real HTTP: the columnar protobuf write (plain and
//! zstd), Telegraf's JSON batches and the direct writer. Each stores what it is sent and
//! refuses a bad body whole, with the upstream error name, storing nothing.

mod common;

use common::*;
use prost::Message as _;
use serde_json::{json, Value};
use sightline_wire::proto::columnar::{
    DoublePoints, Points, RecordsBatch, StringPoints, Timestamp, Values, WriteBatchesRequest,
};
use sightline_wire::scout_compute::ComputeNodeResponse;
use std::collections::HashMap;

const COLUMNAR: &str = "/storage/writer/v1/nominal-columnar";

fn proto_ts(nanos: i64) -> Timestamp {
    Timestamp {
        seconds: Some(nanos.div_euclid(SEC)),
        nanos: Some(nanos.rem_euclid(SEC)),
    }
}

fn double_batch(channel: &str, points: &[(i64, f64)]) -> RecordsBatch {
    RecordsBatch {
        channel: channel.to_string(),
        tags: HashMap::from([("stand".to_string(), "A".to_string())]),
        points: Some(Points {
            timestamps: points.iter().map(|(t, _)| proto_ts(*t)).collect(),
            values: Some(Values::DoublePoints(DoublePoints {
                points: points.iter().map(|(_, v)| *v).collect(),
            })),
        }),
    }
}

fn columnar_request(rid: &str, batches: Vec<RecordsBatch>) -> Vec<u8> {
    WriteBatchesRequest {
        batches,
        data_source_rid: rid.to_string(),
    }
    .encode_to_vec()
}

async fn post_protobuf(
    server: &TestServer,
    path: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<Reply> {
    let mut request = reqwest::Client::new()
        .post(server.url(path))
        .header("content-type", "application/x-protobuf");
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.body(body).send().await?;
    let status = response.status().as_u16();
    let body = response.bytes().await?.to_vec();
    Ok(Reply { status, body })
}

async fn points(server: &TestServer, rid: &str, channel: &str) -> anyhow::Result<Vec<(i64, f64)>> {
    let result = server
        .compute(&numeric_node(rid, channel), BASE - SEC, BASE + 100 * SEC)
        .await?;
    numeric_points(&result)
}

async fn enum_values(server: &TestServer, rid: &str, channel: &str) -> anyhow::Result<Vec<String>> {
    match server
        .compute(&enum_node(rid, channel), BASE - SEC, BASE + 100 * SEC)
        .await?
    {
        ComputeNodeResponse::Enum(plot) => Ok(plot
            .values
            .iter()
            .map(|&i| plot.categories[i as usize].clone())
            .collect()),
        other => anyhow::bail!("expected an enum plot, got {}", other.variant_name()),
    }
}

#[tokio::test]
async fn columnar_protobuf_plain_and_zstd_are_stored() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let plain = columnar_request(
        &rid,
        vec![double_batch("thrust", &[(BASE, 1.0), (BASE + SEC, 2.0)])],
    );
    post_protobuf(&server, COLUMNAR, None, plain)
        .await?
        .no_content()?;
    let zstd_body = zstd::encode_all(
        &columnar_request(&rid, vec![double_batch("thrust", &[(BASE + 2 * SEC, 3.0)])])[..],
        3,
    )?;
    post_protobuf(&server, COLUMNAR, Some("zstd"), zstd_body)
        .await?
        .no_content()?;
    let strings = RecordsBatch {
        channel: "mode".to_string(),
        tags: HashMap::new(),
        points: Some(Points {
            timestamps: vec![proto_ts(BASE), proto_ts(BASE + SEC)],
            values: Some(Values::StringPoints(StringPoints {
                points: vec!["idle".to_string(), "burn".to_string()],
            })),
        }),
    };
    post_protobuf(
        &server,
        COLUMNAR,
        None,
        columnar_request(&rid, vec![strings]),
    )
    .await?
    .no_content()?;
    assert_eq!(
        points(&server, &rid, "thrust").await?,
        vec![(BASE, 1.0), (BASE + SEC, 2.0), (BASE + 2 * SEC, 3.0)]
    );
    assert_eq!(enum_values(&server, &rid, "mode").await?, ["idle", "burn"]);
    Ok(())
}

#[tokio::test]
async fn zstd_frames_that_declare_their_size_decode_whole() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    // `zstd::bulk` writes the decoded size into the frame: decoded in one call.
    let sized = zstd::bulk::compress(
        &columnar_request(&rid, vec![double_batch("thrust", &[(BASE, 1.0)])]),
        3,
    )?;
    post_protobuf(&server, COLUMNAR, Some("zstd"), sized)
        .await?
        .no_content()?;
    // Two frames, the first declaring only its own size: the whole body still decodes.
    let body = columnar_request(
        &rid,
        vec![
            double_batch("thrust", &[(BASE + SEC, 2.0)]),
            double_batch("thrust", &[(BASE + 2 * SEC, 3.0)]),
        ],
    );
    let (a, b) = body.split_at(body.len() / 2);
    let mut frames = zstd::bulk::compress(a, 3)?;
    frames.extend(zstd::bulk::compress(b, 3)?);
    post_protobuf(&server, COLUMNAR, Some("zstd"), frames)
        .await?
        .no_content()?;
    assert_eq!(
        points(&server, &rid, "thrust").await?,
        vec![(BASE, 1.0), (BASE + SEC, 2.0), (BASE + 2 * SEC, 3.0)]
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_columnar_protobuf_body_stores_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let good = double_batch("thrust", &[(BASE, 1.0)]);
    // Two timestamps, one value, after a valid batch: the whole request is refused.
    let mut short = double_batch("thrust", &[(BASE + SEC, 2.0)]);
    if let Some(p) = short.points.as_mut() {
        p.timestamps.push(proto_ts(BASE + 2 * SEC));
    }
    let reply = post_protobuf(
        &server,
        COLUMNAR,
        None,
        columnar_request(&rid, vec![good.clone(), short]),
    )
    .await?;
    let error = reply.conjure_error(400)?;
    assert_eq!(
        error.error_name,
        "NominalChannelWriter:MismatchedTimestampsAndValues"
    );
    assert_eq!(error.param("timestampCount"), Some("2"));

    let bad_nanos = RecordsBatch {
        points: Some(Points {
            timestamps: vec![Timestamp {
                seconds: Some(BASE / SEC),
                nanos: Some(SEC),
            }],
            values: Some(Values::DoublePoints(DoublePoints { points: vec![1.0] })),
        }),
        ..good.clone()
    };
    let reply = post_protobuf(
        &server,
        COLUMNAR,
        None,
        columnar_request(&rid, vec![good.clone(), bad_nanos]),
    )
    .await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "NominalChannelWriter:InvalidTimestamp"
    );

    let reply = post_protobuf(
        &server,
        COLUMNAR,
        None,
        columnar_request("not-a-rid", vec![good.clone()]),
    )
    .await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "NominalChannelWriter:InvalidDataSource"
    );

    let reply = post_protobuf(&server, COLUMNAR, None, b"\xff\xff\xff garbage".to_vec()).await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );
    let reply = post_protobuf(&server, COLUMNAR, Some("zstd"), b"not zstd".to_vec()).await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );
    let reply = post_protobuf(
        &server,
        COLUMNAR,
        Some("br"),
        columnar_request(&rid, vec![good]),
    )
    .await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "Default:InvalidArgument"
    );

    assert_eq!(points(&server, &rid, "thrust").await?, vec![]);
    Ok(())
}

#[tokio::test]
async fn a_zstd_bomb_is_refused_within_the_body_limit() -> anyhow::Result<()> {
    let config = sightline_server::ServerConfig {
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let server = TestServer::start_with(config, None).await?;
    let rid = rid();
    let many: Vec<(i64, f64)> = (0..20_000).map(|i| (BASE + i * MS, 0.0)).collect();
    let body = zstd::encode_all(
        &columnar_request(&rid, vec![double_batch("thrust", &many)])[..],
        19,
    )?;
    assert!(body.len() < 64 * 1024, "the compressed body fits the limit");
    let reply = post_protobuf(&server, COLUMNAR, Some("zstd"), body).await?;
    assert_eq!(
        reply.conjure_error(413)?.error_name,
        "NominalChannelWriter:PointsTooLarge"
    );
    assert_eq!(points(&server, &rid, "thrust").await?, vec![]);
    Ok(())
}

fn telegraf_path(rid: &str) -> String {
    format!("/storage/writer/v1/telegraf/{rid}")
}

#[tokio::test]
async fn telegraf_batches_become_one_channel_per_field() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    // As Telegraf's `outputs.http` sends with `data_format = "json"`, `json_timestamp_units = "1ns"`.
    let body = json!({"metrics": [
        {"name": "cpu", "tags": {"host": "rig-1"}, "timestamp": BASE,
         "fields": {"usage_idle": 97.5, "usage_user": 2, "throttled": false, "governor": "performance"}},
        {"name": "cpu", "tags": {"host": "rig-1"}, "timestamp": (BASE + SEC).to_string(),
         "fields": {"usage_idle": 96.0, "usage_user": 3.5, "throttled": true, "governor": "powersave"}},
        {"name": "cpu", "tags": {"host": "rig-2"}, "timestamp": BASE,
         "fields": {"usage_idle": 50.0}},
    ]});
    server
        .post_json(&telegraf_path(&rid), &body)
        .await?
        .no_content()?;
    let tagged =
        |host: &str| series_node("numeric", &rid, "cpu.usage_idle", &[("host", host)], None);
    let rig1 = server
        .compute(&tagged("rig-1"), BASE - SEC, BASE + 10 * SEC)
        .await?;
    assert_eq!(
        numeric_points(&rig1)?,
        vec![(BASE, 97.5), (BASE + SEC, 96.0)]
    );
    let rig2 = server
        .compute(&tagged("rig-2"), BASE - SEC, BASE + 10 * SEC)
        .await?;
    assert_eq!(numeric_points(&rig2)?, vec![(BASE, 50.0)]);
    assert_eq!(
        points(&server, &rid, "cpu.usage_user").await?,
        vec![(BASE, 2.0), (BASE + SEC, 3.5)]
    );
    assert_eq!(
        points(&server, &rid, "cpu.throttled").await?,
        vec![(BASE, 0.0), (BASE + SEC, 1.0)]
    );
    assert_eq!(
        enum_values(&server, &rid, "cpu.governor").await?,
        ["performance", "powersave"]
    );
    Ok(())
}

#[tokio::test]
async fn a_bad_telegraf_batch_stores_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let good = json!({"name": "cpu", "timestamp": BASE, "fields": {"usage_idle": 1.0}});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"name": "cpu", "timestamp": 1.5e18, "fields": {"usage_idle": 2.0}}),
            "NominalChannelWriter:InvalidTelegrafTimestamp",
        ),
        (
            json!({"name": "cpu", "timestamp": "yesterday", "fields": {"usage_idle": 2.0}}),
            "NominalChannelWriter:InvalidTelegrafTimestamp",
        ),
        (
            json!({"name": "cpu", "timestamp": i64::MAX, "fields": {"usage_idle": 2.0}}),
            "NominalChannelWriter:InvalidTelegrafTimestamp",
        ),
        (
            json!({"name": "cpu", "timestamp": BASE, "fields": {"usage_idle": [1, 2]}}),
            "Sightline:UnsupportedPointType",
        ),
        (
            json!({"name": "", "timestamp": BASE, "fields": {"usage_idle": 2.0}}),
            "NominalChannelWriter:InvalidChannelName",
        ),
        // A number in one metric and a string in another: one channel, two types.
        (
            json!({"name": "cpu", "timestamp": BASE + SEC, "fields": {"usage_idle": "high"}}),
            "NominalChannelWriter:ConflictingDataTypes",
        ),
    ];
    for (bad, name) in cases {
        let reply = server
            .post_json(
                &telegraf_path(&rid),
                &json!({"metrics": [good.clone(), bad.clone()]}),
            )
            .await?;
        assert_eq!(reply.conjure_error(400)?.error_name, name, "for {bad}");
    }
    let reply = server
        .post_json(&telegraf_path("nope"), &json!({"metrics": [good]}))
        .await?;
    assert_eq!(
        reply.conjure_error(400)?.error_name,
        "NominalChannelWriter:InvalidDataSource"
    );
    assert_eq!(points(&server, &rid, "cpu.usage_idle").await?, vec![]);
    Ok(())
}

const DIRECT: &str = "/storage/direct-writer/v1";

#[tokio::test]
async fn direct_writes_store_numbers_strings_and_logs() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let body = json!({"dataSourceRid": rid, "batches": [
        {"channel": "speed", "tags": {"car": "7"}, "points": {"type": "double", "double": [
            {"timestamp": ts(BASE), "value": 1.5}, {"timestamp": ts(BASE + SEC), "value": "NaN"}]}},
        {"channel": "gear", "points": {"type": "int", "int": [{"timestamp": ts(BASE), "value": 3}]}},
        {"channel": "mode", "points": {"type": "string", "string": [{"timestamp": ts(BASE), "value": "race"}]}},
        {"channel": "events", "points": {"type": "log", "log": [
            {"timestamp": ts(BASE), "value": {"message": "pit stop", "args": {"lap": "12"}}}]}},
    ]});
    server.post_json(DIRECT, &body).await?.no_content()?;
    let speed = points(&server, &rid, "speed").await?;
    assert_eq!(speed.len(), 2);
    assert_eq!(speed[0], (BASE, 1.5));
    assert!(speed[1].1.is_nan());
    assert_eq!(points(&server, &rid, "gear").await?, vec![(BASE, 3.0)]);
    assert_eq!(enum_values(&server, &rid, "mode").await?, ["race"]);
    match server
        .compute(&log_node(&rid, "events"), BASE - SEC, BASE + SEC)
        .await?
    {
        ComputeNodeResponse::PagedLog(logs) => {
            assert_eq!(logs.values.len(), 1);
            assert_eq!(logs.values[0].message, "pit stop");
        }
        other => anyhow::bail!("expected logs, got {}", other.variant_name()),
    }
    Ok(())
}

#[tokio::test]
async fn a_bad_direct_write_stores_nothing() -> anyhow::Result<()> {
    let server = TestServer::start().await?;
    let rid = rid();
    let good = json!({"channel": "speed", "points": {"type": "double", "double": [{"timestamp": ts(BASE), "value": 1.0}]}});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"channel": "speed", "points": {"type": "double", "double": [{"timestamp": {"seconds": 1, "nanos": -1}, "value": 1.0}]}}),
            "NominalChannelWriter:InvalidTimestamp",
        ),
        (
            json!({"channel": "", "points": {"type": "double", "double": []}}),
            "NominalChannelWriter:InvalidChannelName",
        ),
        (
            json!({"channel": "shape", "points": {"type": "struct", "struct": [{"timestamp": ts(BASE), "jsonString": "{}"}]}}),
            "Sightline:UnsupportedPointType",
        ),
        (
            json!({"channel": "speed", "points": {"type": "string", "string": [{"timestamp": ts(BASE), "value": "fast"}]}}),
            "NominalChannelWriter:ConflictingDataTypes",
        ),
        (
            json!({"channel": "speed", "points": {"type": "hologram", "hologram": []}}),
            "Sightline:UnsupportedPointType",
        ),
    ];
    for (bad, name) in cases {
        let reply = server
            .post_json(
                DIRECT,
                &json!({"dataSourceRid": rid, "batches": [good.clone(), bad.clone()]}),
            )
            .await?;
        assert_eq!(reply.conjure_error(400)?.error_name, name, "for {bad}");
    }
    assert_eq!(points(&server, &rid, "speed").await?, vec![]);
    Ok(())
}
