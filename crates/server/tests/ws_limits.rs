//! WebSocket read-side limits, with a raw tokio-tungstenite client: binary frames get
//! `clientMessageError`, oversized messages close 1009, protocol violations close 1002,
//! and a client that stops reading is dropped at the idle deadline even with a full queue.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Context as _, Result};
use common::*;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use sightline_server::ServerConfig;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Raw = WebSocketStream<MaybeTlsStream<tokio::net::TcpStream>>;

async fn raw_connect(server: &TestServer) -> Result<Raw> {
    let (ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(server.ws_url()))
        .await
        .context("connect timed out")??;
    Ok(ws)
}

/// The next text frame as JSON, or the close code if the server closes first.
async fn next_frame(ws: &mut Raw) -> Result<std::result::Result<Value, Option<CloseCode>>> {
    loop {
        match tokio::time::timeout(WAIT, ws.next()).await {
            Err(_) => bail!("no frame within {WAIT:?}"),
            Ok(None) => return Ok(Err(None)),
            Ok(Some(Err(_))) => return Ok(Err(None)),
            Ok(Some(Ok(Message::Text(text)))) => return Ok(Ok(serde_json::from_str(&text)?)),
            Ok(Some(Ok(Message::Close(frame)))) => return Ok(Err(frame.map(|f| f.code))),
            Ok(Some(Ok(_))) => {}
        }
    }
}

async fn expect_close(ws: &mut Raw, code: CloseCode) -> Result<()> {
    loop {
        match next_frame(ws).await? {
            Ok(_) => continue,
            Err(got) => {
                ensure!(got == Some(code), "closed with {got:?}, expected {code:?}");
                return Ok(());
            }
        }
    }
}

#[tokio::test]
async fn a_binary_frame_gets_client_message_error_and_the_socket_stays_open() -> Result<()> {
    let server = TestServer::start().await?;
    let mut ws = raw_connect(&server).await?;
    let ping = json!({"type": "ping", "ping": {"sentAt": "2026-11-28T15:50:49Z"}});
    ws.send(Message::Binary(ping.to_string().into_bytes().into()))
        .await?;
    let frame = next_frame(&mut ws)
        .await?
        .map_err(|c| anyhow::anyhow!("closed: {c:?}"))?;
    ensure!(
        frame["health"]["type"] == "clientMessageError",
        "binary frame answered {frame}"
    );
    ensure!(
        frame["health"]["clientMessageError"]["error"]["name"]
            == "PersistentCompute:InvalidClientMessage",
        "{frame}"
    );
    parse_server_frame(&frame.to_string())?;
    // Still open: a text ping gets its pong.
    ws.send(Message::Text(ping.to_string().into())).await?;
    let pong = next_frame(&mut ws)
        .await?
        .map_err(|c| anyhow::anyhow!("closed: {c:?}"))?;
    ensure!(pong["health"]["type"] == "pong", "{pong}");
    Ok(())
}

#[tokio::test]
async fn a_message_over_the_maximum_closes_with_1009() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_ws_message_bytes: 4096,
            ..ServerConfig::default()
        },
        None,
    )
    .await?;
    let mut ws = raw_connect(&server).await?;
    let padding = "x".repeat(8192);
    let big = json!({"type": "ping", "ping": {"sentAt": "2026-11-28T15:50:49Z"}, "pad": padding});
    ws.send(Message::Text(big.to_string().into())).await?;
    expect_close(&mut ws, CloseCode::Size).await?;
    // A message under the maximum is fine on a new socket.
    let mut ws = raw_connect(&server).await?;
    let small = json!({"type": "ping", "ping": {"sentAt": "2026-11-28T15:50:49Z"}});
    ws.send(Message::Text(small.to_string().into())).await?;
    let pong = next_frame(&mut ws)
        .await?
        .map_err(|c| anyhow::anyhow!("closed: {c:?}"))?;
    ensure!(pong["health"]["type"] == "pong", "{pong}");
    Ok(())
}

#[tokio::test]
async fn an_unmasked_client_frame_closes_with_1002() -> Result<()> {
    let server = TestServer::start().await?;
    let mut ws = raw_connect(&server).await?;
    // A client frame must be masked (RFC 6455 §5.1); write one that is not, under the
    // client library.
    match ws.get_mut() {
        MaybeTlsStream::Plain(tcp) => tcp.write_all(&[0x81, 0x02, b'h', b'i']).await?,
        _ => bail!("expected a plain socket"),
    }
    expect_close(&mut ws, CloseCode::Protocol).await
}

/// `sightline_server_connections` from `/metrics`.
async fn open_connections(server: &TestServer) -> Result<f64> {
    let text = server.get("/metrics").await?.text();
    text.lines()
        .find_map(|l| l.strip_prefix("sightline_server_connections "))
        .context("no connection gauge")?
        .trim()
        .parse()
        .context("gauge is not a number")
}

/// A server with a 300 ms ping interval and a 4-message queue, one raw socket subscribed
/// to full results (no appends, raw: thousands of points per update) of a channel that
/// gets a point every 10 ms from the returned writer task.
async fn busy_stream() -> Result<(Arc<TestServer>, Raw, tokio::task::JoinHandle<()>)> {
    let server = Arc::new(
        TestServer::start_with(
            ServerConfig {
                ping_interval: Duration::from_millis(300),
                connection_queue: 4,
                ..ServerConfig::default()
            },
            None,
        )
        .await?,
    );
    let rid = rid();
    let now = server.now();
    let history = series(now - 50 * SEC, 10 * MS, 0..5_000);
    server
        .write_columns(&columnar(&rid, vec![double_column("busy", &[], &history)]))
        .await?
        .no_content()?;
    let mut ws = raw_connect(&server).await?;
    let id = uuid::Uuid::new_v4();
    let sub = subscription(
        series_node("numeric", &rid, "busy", &[], Some(100_000)),
        60 * SEC,
        options(0, Some(false)),
    );
    ws.send(Message::Text(
        json!({"type": "subscribe", "subscribe": {id.to_string(): sub}})
            .to_string()
            .into(),
    ))
    .await?;
    ensure!(open_connections(&server).await? == 1.0);
    let writer = {
        let server = server.clone();
        tokio::spawn(async move {
            for i in 0..1_000i64 {
                let t = server.now() + i;
                let _ = server
                    .write_columns(&columnar(
                        &rid,
                        vec![double_column("busy", &[], &[(t, 1.0)])],
                    ))
                    .await;
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    Ok((server, ws, writer))
}

/// Subscribes to full results of a busy channel, then never reads again: updates fill
/// the connection's queue and the socket buffers. `keep_talking` sends a ping every
/// 100 ms meanwhile (heard, but not reading).
async fn stop_reading(keep_talking: bool) -> Result<()> {
    let (server, mut ws, writer) = busy_stream().await?;
    let ping = json!({"type": "ping", "ping": {"sentAt": "2026-11-28T15:50:49Z"}}).to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut closed = false;
    while tokio::time::Instant::now() < deadline {
        if keep_talking {
            // A send that cannot complete (the server stopped reading us) is fine too.
            let _ = tokio::time::timeout(
                Duration::from_millis(50),
                ws.send(Message::Text(ping.clone().into())),
            )
            .await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if open_connections(&server).await? == 0.0 {
            closed = true;
            break;
        }
    }
    writer.abort();
    ensure!(
        closed,
        "a client that stopped reading was still connected after 10 s (keep_talking: {keep_talking})"
    );
    Ok(())
}

#[tokio::test]
async fn a_silent_client_that_never_reads_is_dropped_at_the_idle_deadline() -> Result<()> {
    stop_reading(false).await
}

#[tokio::test]
async fn a_talking_client_that_never_reads_is_dropped_too() -> Result<()> {
    stop_reading(true).await
}

/// A client that reads a busy stream steadily and only ever answers the server's pings is
/// kept: it is pinged even while its queue is full of frames, and its progress counts as
/// bytes read, not as a queue that shrinks.
#[tokio::test]
async fn a_steady_reader_of_a_busy_stream_is_pinged_and_kept() -> Result<()> {
    let (server, mut ws, writer) = busy_stream().await?;
    // Ten ping intervals of steady reading: long past the three-interval deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let (mut pings, mut updates) = (0, 0);
    while tokio::time::Instant::now() < deadline {
        let frame = match next_frame(&mut ws).await? {
            Ok(frame) => frame,
            Err(code) => bail!("the server closed a steady reader ({code:?})"),
        };
        match frame["type"].as_str() {
            Some("subscriptionUpdate") => updates += 1,
            Some("health") if frame["health"]["type"] == "ping" => {
                pings += 1;
                let sent_at = frame["health"]["ping"]["sentAt"].clone();
                let pong = json!({"type": "pong", "pong": {
                    "pingOriginallySentAt": sent_at, "sentAt": "2026-11-28T15:50:49Z"}});
                ws.send(Message::Text(pong.to_string().into())).await?;
            }
            _ => {}
        }
        // Slower than the server produces, so frames are always waiting.
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    writer.abort();
    ensure!(updates > 10, "only {updates} updates arrived");
    ensure!(
        pings > 0,
        "the server never pinged a client whose queue was busy"
    );
    ensure!(open_connections(&server).await? == 1.0);
    Ok(())
}
