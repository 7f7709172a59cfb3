//! The writer endpoints: every rejection answers a Conjure error body with the right name
//! and stores nothing of the request (checked through HTTP compute, including the valid
//! batches that came before the bad one); accepted writes of every point type read back.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Context as _, Result};
use common::merge::Plot;
use common::*;
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use sightline_wire::scout_compute::{ComputeNodeResponse, ComputeUnitResult, UnitResult};

/// A server with one stored point on `existing`, the channel the bad requests also write.
struct Fixture {
    server: TestServer,
    rid: String,
}

const EXISTING: (i64, f64) = (BASE - 10 * SEC, 1.0);

impl Fixture {
    async fn new() -> Result<Fixture> {
        Fixture::with(ServerConfig::default()).await
    }

    async fn with(config: ServerConfig) -> Result<Fixture> {
        let server = TestServer::start_with(config, Some(BASE)).await?;
        let rid = rid();
        server.write_doubles(&rid, "existing", &[EXISTING]).await?;
        Ok(Fixture { server, rid })
    }

    /// A valid batch adding a point to `existing`, placed before the bad one.
    fn valid_row_batch(&self) -> Value {
        row_batch(
            "existing",
            "double",
            vec![json!({"timestamp": ts(BASE - 5 * SEC), "value": 2.0})],
        )
    }

    fn valid_fresh_row_batch(&self) -> Value {
        row_batch(
            "fresh",
            "double",
            vec![json!({"timestamp": ts(BASE - 5 * SEC), "value": 3.0})],
        )
    }

    fn valid_column_batch(&self) -> Value {
        double_column("existing", &[], &[(BASE - 5 * SEC, 2.0)])
    }

    /// Nothing of the rejected request is stored, and the server still serves.
    async fn assert_unchanged(&self, what: &str) -> Result<()> {
        let node = numeric_node(&self.rid, "existing");
        let points = numeric_points(&self.server.compute(&node, BASE - 60 * SEC, BASE).await?)?;
        ensure!(
            points == vec![EXISTING],
            "{what}: `existing` now holds {points:?}"
        );
        // A channel that does not exist reads as empty (so subscriptions can precede the
        // first write); check both the read and the store's channel index.
        for channel in ["fresh", "logs", "other"] {
            let result = self
                .server
                .compute(&numeric_node(&self.rid, channel), BASE - 60 * SEC, BASE)
                .await
                .with_context(|| format!("{what}: channel `{channel}` was created"))?;
            let points = numeric_points(&result)?;
            ensure!(points.is_empty(), "{what}: `{channel}` holds {points:?}");
            ensure!(
                self.server
                    .app
                    .store()
                    .channel(&self.rid, channel)
                    .is_none(),
                "{what}: the store now knows channel `{channel}`"
            );
        }
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_json_is_rejected_on_every_endpoint() -> Result<()> {
    let f = Fixture::new().await?;
    let rows_text = rows(&f.rid, vec![f.valid_row_batch(), f.valid_fresh_row_batch()]).to_string();
    let cols_text = columnar(&f.rid, vec![f.valid_column_batch()]).to_string();
    let logs_text =
        json!({"logs": [{"timestamp": ts(BASE), "value": {"message": "m"}}]}).to_string();
    let cases = [
        (
            "/storage/writer/v1".to_string(),
            rows_text[..rows_text.len() - 2].to_string(),
        ),
        (
            "/storage/writer/v1".to_string(),
            "not json at all".to_string(),
        ),
        (
            "/storage/writer/v1".to_string(),
            format!("{rows_text} trailing"),
        ),
        (
            "/storage/writer/v1/columnar".to_string(),
            cols_text[..cols_text.len() - 1].to_string(),
        ),
        (
            format!("/storage/writer/v1/logs/{}", f.rid),
            logs_text[..logs_text.len() - 3].to_string(),
        ),
        ("/storage/writer/v1".to_string(), String::new()),
    ];
    for (path, body) in cases {
        let reply = f.server.post_bytes(&path, body.clone()).await?;
        let error = reply
            .conjure_error(400)
            .with_context(|| format!("{path} <- {body}"))?;
        ensure!(
            error.error_name == "Default:InvalidArgument",
            "{path}: {error:?}"
        );
        f.assert_unchanged(&path).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_field_types_are_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let bad_points = [
        // safelong as a float and as a string
        json!({"timestamp": {"seconds": 1764345590.0, "nanos": 0}, "value": 1.0}),
        json!({"timestamp": {"seconds": "1764345590", "nanos": 0}, "value": 1.0}),
        // a double that is not a number
        json!({"timestamp": ts(BASE - SEC), "value": "fast"}),
        // missing value
        json!({"timestamp": ts(BASE - SEC)}),
    ];
    for bad in bad_points {
        let body = rows(
            &f.rid,
            vec![
                f.valid_row_batch(),
                row_batch("fresh", "double", vec![bad.clone()]),
            ],
        );
        let error = f.server.write_rows(&body).await?.conjure_error(400)?;
        ensure!(
            error.error_name == "Default:InvalidArgument",
            "{bad}: {error:?}"
        );
        f.assert_unchanged(&bad.to_string()).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mismatched_column_lengths_are_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let mut bad = double_column(
        "fresh",
        &[],
        &[(BASE - 3 * SEC, 1.0), (BASE - 2 * SEC, 2.0)],
    );
    bad["values"]["doubles"] = json!([1.0]);
    let body = columnar(&f.rid, vec![f.valid_column_batch(), bad]);
    let error = f.server.write_columns(&body).await?.conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:MismatchedTimestampsAndValues",
        "{error:?}"
    );
    ensure!(
        error.param("timestampCount") == Some("2") && error.param("valueCount") == Some("1"),
        "{error:?}"
    );
    f.assert_unchanged("mismatched lengths").await?;
    // More values than timestamps, strings this time.
    let bad = json!({"channel": "fresh", "timestamps": [ts(BASE)], "values": {"type": "strings", "strings": ["a", "b"]}});
    let error = f
        .server
        .write_columns(&columnar(&f.rid, vec![f.valid_column_batch(), bad]))
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:MismatchedTimestampsAndValues",
        "{error:?}"
    );
    f.assert_unchanged("mismatched lengths (strings)").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_outside_1900_to_2262_or_with_bad_nanos_are_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let bad_stamps = [
        json!({"seconds": -2_208_988_801_i64, "nanos": 0}), // 1899-12-31T23:59:59Z
        json!({"seconds": -5_000_000_000_i64, "nanos": 0}),
        json!({"seconds": 9_183_110_400_i64, "nanos": 0}), // 2262-01-01
        json!({"seconds": 1_764_345_600, "nanos": 1_000_000_000}),
        json!({"seconds": 1_764_345_600, "nanos": -1}),
    ];
    for stamp in bad_stamps {
        let what = stamp.to_string();
        let expect_invalid = |reply: Reply, endpoint: &str| -> Result<()> {
            let error = reply
                .conjure_error(400)
                .with_context(|| format!("{endpoint} {what}"))?;
            ensure!(
                error.error_name == "NominalChannelWriter:InvalidTimestamp",
                "{endpoint} {what}: {error:?}"
            );
            Ok(())
        };
        let row = row_batch(
            "fresh",
            "double",
            vec![json!({"timestamp": stamp, "value": 1.0})],
        );
        expect_invalid(
            f.server
                .write_rows(&rows(&f.rid, vec![f.valid_row_batch(), row]))
                .await?,
            "rows",
        )?;
        f.assert_unchanged(&what).await?;

        let col = json!({"channel": "fresh", "timestamps": [ts(BASE - SEC), stamp], "values": {"type": "doubles", "doubles": [1.0, 2.0]}});
        expect_invalid(
            f.server
                .write_columns(&columnar(&f.rid, vec![f.valid_column_batch(), col]))
                .await?,
            "columnar",
        )?;
        f.assert_unchanged(&what).await?;

        let logs = json!({"logs": [
            {"timestamp": ts(BASE - SEC), "value": {"message": "ok"}},
            {"timestamp": stamp, "value": {"message": "bad"}},
        ]});
        expect_invalid(f.server.write_logs(&f.rid, &logs).await?, "logs")?;
        f.assert_unchanged(&what).await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timestamps_at_the_edges_of_the_range_are_accepted() -> Result<()> {
    let f = Fixture::new().await?;
    let first = -2_208_988_800 * SEC; // 1900-01-01T00:00:00Z
    let last = 9_183_110_399 * SEC + 999_999_999; // 2261-12-31T23:59:59.999999999Z
    f.server
        .write_doubles(&f.rid, "edges", &[(first, 1.0), (last, 2.0)])
        .await?;
    let got = numeric_points(
        &f.server
            .compute(&numeric_node(&f.rid, "edges"), first, last)
            .await?,
    )?;
    ensure!(got == vec![(first, 1.0), (last, 2.0)], "{got:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_clash_with_a_stored_channel_is_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let clash = row_batch(
        "existing",
        "string",
        vec![json!({"timestamp": ts(BASE - 2 * SEC), "value": "on"})],
    );
    let body = rows(&f.rid, vec![f.valid_fresh_row_batch(), clash]);
    let error = f.server.write_rows(&body).await?.conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:ConflictingDataTypes",
        "{error:?}"
    );
    f.assert_unchanged("string onto a double channel").await?;

    // Columnar strings and a log write onto the double channel.
    let col = json!({"channel": "existing", "timestamps": [ts(BASE)], "values": {"type": "strings", "strings": ["on"]}});
    let body = columnar(
        &f.rid,
        vec![double_column("fresh", &[], &[(BASE, 1.0)]), col],
    );
    let error = f.server.write_columns(&body).await?.conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:ConflictingDataTypes",
        "{error:?}"
    );
    f.assert_unchanged("columnar strings onto a double channel")
        .await?;
    let logs = json!({"channel": "existing", "logs": [{"timestamp": ts(BASE), "value": {"message": "m"}}]});
    let error = f
        .server
        .write_logs(&f.rid, &logs)
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:ConflictingDataTypes",
        "{error:?}"
    );
    f.assert_unchanged("logs onto a double channel").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_clash_within_one_request_is_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let doubles = row_batch(
        "fresh",
        "double",
        vec![json!({"timestamp": ts(BASE - 2 * SEC), "value": 1.0})],
    );
    let strings = row_batch(
        "fresh",
        "string",
        vec![json!({"timestamp": ts(BASE - SEC), "value": "on"})],
    );
    let body = rows(&f.rid, vec![f.valid_row_batch(), doubles, strings]);
    let error = f.server.write_rows(&body).await?.conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:ConflictingDataTypes",
        "{error:?}"
    );
    f.assert_unchanged("two types in one request").await?;
    // Same for two tag sets of one channel: the type is per channel, not per series.
    let mut a = row_batch(
        "fresh",
        "double",
        vec![json!({"timestamp": ts(BASE - 2 * SEC), "value": 1.0})],
    );
    a["tags"] = json!({"stand": "A"});
    let mut b = row_batch(
        "fresh",
        "string",
        vec![json!({"timestamp": ts(BASE - SEC), "value": "on"})],
    );
    b["tags"] = json!({"stand": "B"});
    let error = f
        .server
        .write_rows(&rows(&f.rid, vec![f.valid_row_batch(), a, b]))
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:ConflictingDataTypes",
        "{error:?}"
    );
    f.assert_unchanged("two types across tag sets").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_over_the_limit_gets_413_with_a_conjure_body() -> Result<()> {
    let f = Fixture::with(ServerConfig {
        max_body_bytes: 4096,
        ..ServerConfig::default()
    })
    .await?;
    // Oversized bodies go over raw one-shot connections: the server answers before it
    // has read them and may drop the connection under a pooled client (ignored test
    // `an_oversized_write_leaves_its_connection_usable_or_says_close`).
    let big: Vec<(i64, f64)> = series(BASE - 50 * SEC, MS, 0..500);
    let body = columnar(
        &f.rid,
        vec![f.valid_column_batch(), double_column("fresh", &[], &big)],
    );
    ensure!(body.to_string().len() > 4096);
    let error = f
        .server
        .post_raw("/storage/writer/v1/columnar", body.to_string().as_bytes())
        .await?
        .conjure_error(413)?;
    ensure!(
        error.error_name == "NominalChannelWriter:PointsTooLarge",
        "{error:?}"
    );
    ensure!(error.error_code == "REQUEST_ENTITY_TOO_LARGE", "{error:?}");
    f.assert_unchanged("oversized body").await?;
    // Row and log endpoints too.
    let pts: Vec<Value> = big
        .iter()
        .map(|(t, v)| json!({"timestamp": ts(*t), "value": v}))
        .collect();
    let body = rows(
        &f.rid,
        vec![f.valid_row_batch(), row_batch("fresh", "double", pts)],
    );
    f.server
        .post_raw("/storage/writer/v1", body.to_string().as_bytes())
        .await?
        .conjure_error(413)?;
    let logs: Vec<Value> = big
        .iter()
        .map(|(t, _)| json!({"timestamp": ts(*t), "value": {"message": "m"}}))
        .collect();
    f.server
        .post_raw(
            &format!("/storage/writer/v1/logs/{}", f.rid),
            json!({"logs": logs}).to_string().as_bytes(),
        )
        .await?
        .conjure_error(413)?;
    f.assert_unchanged("oversized rows and logs").await?;
    // A small write still works.
    f.server
        .write_doubles(&f.rid, "other", &[(BASE, 1.0)])
        .await
}

/// Reads one HTTP/1.1 response (head and `content-length` body) from `stream`.
async fn read_response(stream: &mut tokio::net::TcpStream) -> Result<(String, Vec<u8>)> {
    use tokio::io::AsyncReadExt as _;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok((head, buf[end + 4..end + 4 + len].to_vec()));
            }
        }
        let n = tokio::time::timeout(WAIT, stream.read(&mut chunk)).await??;
        anyhow::ensure!(
            n > 0,
            "connection closed mid-response after {} bytes",
            buf.len()
        );
        buf.extend_from_slice(&chunk[..n]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_write_leaves_its_connection_usable_or_says_close() -> Result<()> {
    use tokio::io::AsyncWriteExt as _;
    let f = Fixture::with(ServerConfig {
        max_body_bytes: 4096,
        ..ServerConfig::default()
    })
    .await?;
    let body = columnar(
        &f.rid,
        vec![double_column(
            "fresh",
            &[],
            &series(BASE - 50 * SEC, MS, 0..500),
        )],
    )
    .to_string();
    // Send the head and only part of the body: the server answers 413 once it has read
    // past the limit, while the client is still sending.
    let (first, rest) = body.as_bytes().split_at(6000);
    let mut stream = tokio::net::TcpStream::connect(f.server.addr).await?;
    let head = format!(
        "POST /storage/writer/v1/columnar HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        f.server.addr,
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(first).await?;
    let (head, _) = read_response(&mut stream).await?;
    ensure!(head.starts_with("http/1.1 413"), "{head}");
    if head
        .lines()
        .any(|l| l.starts_with("connection:") && l.contains("close"))
    {
        return Ok(());
    }
    // Keep-alive was not refused: finishing the body and sending another request on the
    // same connection must work.
    stream.write_all(rest).await?;
    let next = format!(
        "GET /persistent-compute/enabled HTTP/1.1\r\nhost: {}\r\n\r\n",
        f.server.addr
    );
    stream.write_all(next.as_bytes()).await?;
    let (head, _) = read_response(&mut stream)
        .await
        .context("request after a 413 that did not say `connection: close`")?;
    ensure!(head.starts_with("http/1.1 200"), "{head}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_or_unsupported_point_variants_are_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let cases = [
        (
            row_batch(
                "fresh",
                "hologram",
                vec![json!({"timestamp": ts(BASE), "value": 1})],
            ),
            "hologram",
        ),
        (
            row_batch(
                "fresh",
                "struct",
                vec![json!({"timestamp": ts(BASE), "jsonString": "{}"})],
            ),
            "struct",
        ),
    ];
    for (bad, variant) in cases {
        let error = f
            .server
            .write_rows(&rows(&f.rid, vec![f.valid_row_batch(), bad]))
            .await?
            .conjure_error(400)?;
        ensure!(
            error.error_name == "Sightline:UnsupportedPointType",
            "{variant}: {error:?}"
        );
        ensure!(error.param("variant") == Some(variant), "{error:?}");
        f.assert_unchanged(variant).await?;
    }
    let bad = json!({"channel": "fresh", "timestamps": [ts(BASE)], "values": {"type": "complex", "complex": [[1, 2]]}});
    let error = f
        .server
        .write_columns(&columnar(&f.rid, vec![f.valid_column_batch(), bad]))
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "Sightline:UnsupportedPointType",
        "{error:?}"
    );
    ensure!(error.param("variant") == Some("complex"), "{error:?}");
    f.assert_unchanged("complex column").await?;
    // A negative uint64 is refused, not wrapped.
    let bad = row_batch(
        "fresh",
        "uint64",
        vec![json!({"timestamp": ts(BASE), "value": -1})],
    );
    f.server
        .write_rows(&rows(&f.rid, vec![f.valid_row_batch(), bad]))
        .await?
        .conjure_error(400)?;
    f.assert_unchanged("negative uint64").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_source_and_channel_names_are_rejected() -> Result<()> {
    let f = Fixture::new().await?;
    let error = f
        .server
        .write_rows(&rows("not-a-rid", vec![f.valid_row_batch()]))
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:InvalidDataSource",
        "{error:?}"
    );
    let error = f
        .server
        .write_rows(&rows(
            &f.rid,
            vec![f.valid_row_batch(), row_batch("", "double", vec![])],
        ))
        .await?
        .conjure_error(400)?;
    ensure!(
        error.error_name == "NominalChannelWriter:InvalidChannelName",
        "{error:?}"
    );
    f.assert_unchanged("bad names").await
}

// ---------------------------------------------------------------------------------------
// Accepted writes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn int_uint64_and_double_points_read_back_as_numeric() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let t = |i: i64| ts(BASE - 10 * SEC + i * SEC);
    let body = rows(
        &rid,
        vec![
            row_batch(
                "i",
                "int",
                vec![
                    json!({"timestamp": t(0), "value": 2_147_483_647}),
                    json!({"timestamp": t(1), "value": -5}),
                ],
            ),
            row_batch(
                "u",
                "uint64",
                vec![
                    json!({"timestamp": t(0), "value": 9_007_199_254_740_991_i64}),
                    json!({"timestamp": t(1), "value": 0}),
                ],
            ),
            row_batch(
                "d",
                "double",
                vec![
                    json!({"timestamp": t(0), "value": 1.5}),
                    json!({"timestamp": t(1), "value": "Infinity"}),
                ],
            ),
        ],
    );
    server.write_rows(&body).await?.no_content()?;
    let columns = columnar(
        &rid,
        vec![
            json!({"channel": "ci", "timestamps": [t(0), t(1)], "values": {"type": "ints", "ints": [7, -7]}}),
            json!({"channel": "cu", "timestamps": [t(0), t(1)], "values": {"type": "uint64s", "uint64s": [42, 9_007_199_254_740_991_i64]}}),
            json!({"channel": "cd", "timestamps": [t(0), t(1)], "values": {"type": "doubles", "doubles": [-0.25, "-Infinity"]}}),
        ],
    );
    server.write_columns(&columns).await?.no_content()?;
    let base = BASE - 10 * SEC;
    let expected = [
        ("i", [2_147_483_647.0, -5.0]),
        ("u", [9_007_199_254_740_991.0, 0.0]),
        ("d", [1.5, f64::INFINITY]),
        ("ci", [7.0, -7.0]),
        ("cu", [42.0, 9_007_199_254_740_991.0]),
        ("cd", [-0.25, f64::NEG_INFINITY]),
    ];
    for (channel, values) in expected {
        let got = numeric_points(
            &server
                .compute(&numeric_node(&rid, channel), base, BASE)
                .await?,
        )?;
        ensure!(
            got == vec![(base, values[0]), (base + SEC, values[1])],
            "{channel}: {got:?}"
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nan_round_trips_as_the_conjure_string() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let body = rows(
        &rid,
        vec![row_batch(
            "d",
            "double",
            vec![json!({"timestamp": ts(BASE), "value": "NaN"})],
        )],
    );
    server.write_rows(&body).await?.no_content()?;
    let reply = server
        .compute_reply(&numeric_node(&rid, "d"), BASE - SEC, BASE)
        .await?;
    let v = reply.json()?;
    ensure!(v["numeric"]["values"] == json!(["NaN"]), "{v}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn string_points_read_back_as_an_enum_plot() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_strings(
            &rid,
            "valve",
            &[
                (BASE - 3 * SEC, "OPEN"),
                (BASE - 2 * SEC, "CLOSED"),
                (BASE - SEC, "OPEN"),
            ],
        )
        .await?;
    let col = json!({"channel": "valve", "timestamps": [ts(BASE)], "values": {"type": "strings", "strings": ["STUCK"]}});
    server
        .write_columns(&columnar(&rid, vec![col]))
        .await?
        .no_content()?;
    let result = server
        .compute(&enum_node(&rid, "valve"), BASE - 10 * SEC, BASE)
        .await?;
    let ComputeNodeResponse::Enum(_) = &result else {
        anyhow::bail!("got {}", result.variant_name())
    };
    let plot = Plot::from_full(&result).map_err(anyhow::Error::msg)?;
    let expected = Plot::Enum(vec![
        (BASE - 3 * SEC, "OPEN".into()),
        (BASE - 2 * SEC, "CLOSED".into()),
        (BASE - SEC, "OPEN".into()),
        (BASE, "STUCK".into()),
    ]);
    assert_same(&plot, &expected, "enum plot")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_points_read_back_with_their_args() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let logs = json!({"channel": "events", "logs": [
        {"timestamp": ts(BASE - 2 * SEC), "value": {"message": "ignition", "args": {"stage": "1"}}},
        {"timestamp": ts(BASE - SEC), "value": {"message": "cutoff"}},
    ]});
    server.write_logs(&rid, &logs).await?.no_content()?;
    // No channel: the upstream default `logs`.
    let default =
        json!({"logs": [{"timestamp": ts(BASE), "value": {"message": "hello", "args": null}}]});
    server.write_logs(&rid, &default).await?.no_content()?;

    let result = server
        .compute(&log_node(&rid, "events"), BASE - 10 * SEC, BASE)
        .await?;
    let Plot::Log(entries) = Plot::from_full(&result).map_err(anyhow::Error::msg)? else {
        anyhow::bail!("not a log plot: {result:?}")
    };
    let got: Vec<(i64, &str, Option<&str>)> = entries
        .iter()
        .map(|(t, e)| {
            (
                *t,
                e.message.as_str(),
                e.args.get("stage").map(String::as_str),
            )
        })
        .collect();
    ensure!(
        got == vec![
            (BASE - 2 * SEC, "ignition", Some("1")),
            (BASE - SEC, "cutoff", None)
        ],
        "{got:?}"
    );
    ensure!(entries[0].1.id != entries[1].1.id, "log ids must differ");
    let result = server
        .compute(&log_node(&rid, "logs"), BASE - 10 * SEC, BASE)
        .await?;
    let Plot::Log(entries) = Plot::from_full(&result).map_err(anyhow::Error::msg)? else {
        anyhow::bail!("not a log plot")
    };
    ensure!(
        entries.len() == 1 && entries[0].1.message == "hello",
        "{entries:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn units_flow_into_the_unit_result() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let mut b = row_batch(
        "pressure",
        "double",
        vec![json!({"timestamp": ts(BASE), "value": 1.0})],
    );
    b["unit"] = json!("bar");
    let mut i = row_batch(
        "count",
        "int",
        vec![json!({"timestamp": ts(BASE), "value": 1})],
    );
    i["unit"] = json!("1/s");
    server
        .write_rows(&rows(&rid, vec![b, i]))
        .await?
        .no_content()?;
    server.write_doubles(&rid, "bare", &[(BASE, 1.0)]).await?;
    for (channel, unit) in [
        ("pressure", Some("bar")),
        ("count", Some("1/s")),
        ("bare", None),
    ] {
        let got = server.units(&numeric_node(&rid, channel)).await?;
        let expected = match unit {
            Some(u) => ComputeUnitResult::Single(UnitResult::Success(u.into())),
            None => ComputeUnitResult::Single(UnitResult::NoUnitAvailable(vec![])),
        };
        ensure!(got == expected, "{channel}: {got:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn same_timestamp_replaces_and_retries_are_idempotent() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let node = numeric_node(&rid, "x");
    server
        .write_doubles(&rid, "x", &[(BASE - 2 * SEC, 1.0), (BASE - SEC, 1.0)])
        .await?;
    server
        .write_doubles(&rid, "x", &[(BASE - SEC, 2.0)])
        .await?;
    let got = numeric_points(&server.compute(&node, BASE - 10 * SEC, BASE).await?)?;
    ensure!(
        got == vec![(BASE - 2 * SEC, 1.0), (BASE - SEC, 2.0)],
        "after replace: {got:?}"
    );
    // A retried request changes nothing.
    let body = columnar(
        &rid,
        vec![double_column(
            "x",
            &[],
            &[(BASE - 3 * SEC, 5.0), (BASE, 6.0)],
        )],
    );
    server.write_columns(&body).await?.no_content()?;
    server.write_columns(&body).await?.no_content()?;
    let got = numeric_points(&server.compute(&node, BASE - 10 * SEC, BASE).await?)?;
    ensure!(
        got == vec![
            (BASE - 3 * SEC, 5.0),
            (BASE - 2 * SEC, 1.0),
            (BASE - SEC, 2.0),
            (BASE, 6.0)
        ],
        "after retry: {got:?}"
    );
    // Strings and logs replace too.
    server.write_strings(&rid, "s", &[(BASE, "a")]).await?;
    server.write_strings(&rid, "s", &[(BASE, "b")]).await?;
    let plot = Plot::from_full(
        &server
            .compute(&enum_node(&rid, "s"), BASE - SEC, BASE)
            .await?,
    )
    .map_err(anyhow::Error::msg)?;
    assert_same(
        &plot,
        &Plot::Enum(vec![(BASE, "b".into())]),
        "string replace",
    )?;
    server
        .write_log_lines(&rid, "l", &[(BASE, "first")])
        .await?;
    server
        .write_log_lines(&rid, "l", &[(BASE, "second")])
        .await?;
    let Plot::Log(l) = Plot::from_full(
        &server
            .compute(&log_node(&rid, "l"), BASE - SEC, BASE)
            .await?,
    )
    .map_err(anyhow::Error::msg)?
    else {
        anyhow::bail!("not logs")
    };
    ensure!(
        l.len() == 1 && l[0].1.message == "second",
        "log replace: {l:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_point_in_the_same_request_replaces_an_earlier_one() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_doubles(&rid, "x", &[(BASE, 1.0), (BASE, 2.0)])
        .await?;
    let got = numeric_points(
        &server
            .compute(&numeric_node(&rid, "x"), BASE - SEC, BASE)
            .await?,
    )?;
    ensure!(got == vec![(BASE, 2.0)], "{got:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_narrow_and_no_tags_merge_all_series() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    let body = columnar(
        &rid,
        vec![
            double_column(
                "temp",
                &[("stand", "A")],
                &[(BASE - 3 * SEC, 1.0), (BASE - SEC, 3.0)],
            ),
            double_column(
                "temp",
                &[("stand", "B")],
                &[(BASE - 2 * SEC, 2.0), (BASE - SEC, 30.0)],
            ),
            double_column("temp", &[("stand", "B"), ("bay", "9")], &[(BASE, 99.0)]),
        ],
    );
    server.write_columns(&body).await?.no_content()?;
    let range = (BASE - 10 * SEC, BASE);
    let sorted = |mut v: Vec<(i64, f64)>| {
        v.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
        v
    };
    let all = numeric_points(
        &server
            .compute(&numeric_node(&rid, "temp"), range.0, range.1)
            .await?,
    )?;
    ensure!(
        all.windows(2).all(|w| w[0].0 <= w[1].0),
        "merged series out of order: {all:?}"
    );
    ensure!(
        sorted(all.clone())
            == vec![
                (BASE - 3 * SEC, 1.0),
                (BASE - 2 * SEC, 2.0),
                (BASE - SEC, 3.0),
                (BASE - SEC, 30.0),
                (BASE, 99.0)
            ],
        "all series: {all:?}"
    );
    let a = numeric_points(
        &server
            .compute(
                &series_node("numeric", &rid, "temp", &[("stand", "A")], None),
                range.0,
                range.1,
            )
            .await?,
    )?;
    ensure!(
        a == vec![(BASE - 3 * SEC, 1.0), (BASE - SEC, 3.0)],
        "stand=A: {a:?}"
    );
    let b = numeric_points(
        &server
            .compute(
                &series_node("numeric", &rid, "temp", &[("stand", "B")], None),
                range.0,
                range.1,
            )
            .await?,
    )?;
    ensure!(
        b == vec![(BASE - 2 * SEC, 2.0), (BASE - SEC, 30.0), (BASE, 99.0)],
        "stand=B: {b:?}"
    );
    let bay = numeric_points(
        &server
            .compute(
                &series_node(
                    "numeric",
                    &rid,
                    "temp",
                    &[("stand", "B"), ("bay", "9")],
                    None,
                ),
                range.0,
                range.1,
            )
            .await?,
    )?;
    ensure!(bay == vec![(BASE, 99.0)], "stand=B,bay=9: {bay:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_request_is_accepted() -> Result<()> {
    let server = TestServer::manual().await?;
    let rid = rid();
    server
        .write_rows(&json!({"dataSourceRid": rid}))
        .await?
        .no_content()?;
    server
        .write_columns(&json!({"dataSourceRid": rid, "batches": null}))
        .await?
        .no_content()?;
    server.write_logs(&rid, &json!({})).await?.no_content()
}
