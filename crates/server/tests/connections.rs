//! Connections that never finish: trickled headers, trickled bodies, idle sockets and
//! sockets past the connection cap are closed or refused, and the server keeps answering.
//! Every test talks raw TCP to a real server on 127.0.0.1 and is bounded in count and time.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{bail, ensure, Context as _, Result};
use common::*;
use serde_json::json;
use sightline_server::ServerConfig;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::time::Instant;

fn config() -> ServerConfig {
    ServerConfig {
        header_read_timeout: Duration::from_millis(400),
        body_read_timeout: Duration::from_millis(400),
        idle_timeout: Duration::from_millis(600),
        ..ServerConfig::default()
    }
}

/// Reads until the server closes the socket (or `limit` passes); returns what was read.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let deadline = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => bail!(
                "the server kept the socket open for {limit:?}; read so far: {:?}",
                String::from_utf8_lossy(&out)
            ),
            Ok(Ok(0)) | Ok(Err(_)) => return Ok(out),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
        }
    }
}

/// A normal request still gets its normal answer.
async fn still_answers(server: &TestServer) -> Result<()> {
    let reply = server.get("/persistent-compute/enabled").await?;
    ensure!(reply.status == 200, "enabled answered {}", reply.status);
    ensure!(reply.json()? == json!({}));
    Ok(())
}

#[tokio::test]
async fn trickled_headers_are_cut_at_the_header_timeout() -> Result<()> {
    let server = TestServer::start_with(config(), None).await?;
    let mut stream = TcpStream::connect(server.addr).await?;
    stream
        .write_all(b"POST /storage/writer/v1/columnar HTTP/1.1\r\nhost: x\r\n")
        .await?;
    // Keep trickling header bytes for 4 s, far more often than the idle timeout: only the
    // header timeout can end this before the trickle does.
    let (mut read, mut write) = stream.split();
    let trickle = async {
        for _ in 0..40 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if write.write_all(b"x").await.is_err() {
                return;
            }
        }
    };
    let mut buf = [0u8; 1024];
    tokio::select! {
        () = trickle => bail!("the server was still reading headers after 4 s"),
        closed = read.read(&mut buf) => {
            ensure!(matches!(closed, Ok(0) | Err(_)), "the server answered a half request");
        }
    }
    still_answers(&server).await
}

#[tokio::test]
async fn a_trickled_body_gets_408_at_the_body_timeout_and_stores_nothing() -> Result<()> {
    let server = TestServer::start_with(config(), None).await?;
    let rid = rid();
    let body = serde_json::to_vec(&columnar(
        &rid,
        vec![double_column("x", &[], &[(server.now(), 1.0)])],
    ))?;
    let mut stream = TcpStream::connect(server.addr).await?;
    let head = format!(
        "POST /storage/writer/v1/columnar HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body[..body.len() / 2]).await?;
    let raw = read_until_closed(&mut stream, WAIT).await?;
    let text = String::from_utf8_lossy(&raw);
    ensure!(text.starts_with("HTTP/1.1 408"), "answer: {text}");
    ensure!(text.contains("Sightline:BodyReadTimeout"), "answer: {text}");
    let stored = server
        .compute(
            &numeric_node(&rid, "x"),
            server.now() - 60 * SEC,
            server.now() + SEC,
        )
        .await;
    ensure!(
        stored.is_err() || numeric_points(&stored?)?.is_empty(),
        "a timed-out write stored points"
    );
    still_answers(&server).await
}

#[tokio::test]
async fn an_idle_connection_is_closed_at_the_idle_timeout() -> Result<()> {
    let server = TestServer::start_with(config(), None).await?;
    let mut silent = TcpStream::connect(server.addr).await?;
    let raw = read_until_closed(&mut silent, WAIT).await?;
    ensure!(raw.is_empty(), "the server wrote to a silent socket");

    // A kept-alive connection is closed too once its request is answered and it idles.
    let mut kept = TcpStream::connect(server.addr).await?;
    kept.write_all(b"GET /persistent-compute/enabled HTTP/1.1\r\nhost: x\r\n\r\n")
        .await?;
    let raw = read_until_closed(&mut kept, WAIT).await?;
    ensure!(
        String::from_utf8_lossy(&raw).starts_with("HTTP/1.1 200"),
        "answer: {}",
        String::from_utf8_lossy(&raw)
    );
    still_answers(&server).await
}

#[tokio::test]
async fn past_the_connection_cap_new_sockets_get_503_until_slots_free() -> Result<()> {
    let cap = 16;
    let server = TestServer::start_with(
        ServerConfig {
            max_connections: cap,
            idle_timeout: Duration::from_secs(30),
            ..config()
        },
        None,
    )
    .await?;
    let mut idle = Vec::new();
    for _ in 0..cap {
        idle.push(TcpStream::connect(server.addr).await?);
    }
    // Give the accept loop time to take every socket before the next one arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = Vec::new();
    for _ in 0..200 {
        extra.push(TcpStream::connect(server.addr).await?);
    }
    for stream in extra.iter_mut().take(5) {
        let raw = read_until_closed(stream, WAIT).await?;
        let text = String::from_utf8_lossy(&raw);
        ensure!(text.starts_with("HTTP/1.1 503"), "refusal: {text}");
        ensure!(text.contains("Sightline:Overloaded"), "refusal: {text}");
        ensure!(
            text.to_ascii_lowercase().contains("retry-after: 1"),
            "{text}"
        );
    }
    drop(extra);
    drop(idle);
    // The slots come back as soon as the server sees the sockets close.
    let deadline = Instant::now() + WAIT;
    loop {
        match server.get("/persistent-compute/enabled").await {
            Ok(reply) if reply.status == 200 => return Ok(()),
            Ok(reply) if Instant::now() < deadline => {
                ensure!(reply.status == 503, "unexpected {}", reply.status)
            }
            Err(_) if Instant::now() < deadline => {}
            other => bail!("no slot came back: {other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn hundreds_of_idle_sockets_are_closed_and_the_server_answers() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_connections: 64,
            ..config()
        },
        None,
    )
    .await?;
    let mut sockets = Vec::new();
    for _ in 0..300 {
        sockets.push(TcpStream::connect(server.addr).await?);
    }
    for stream in &mut sockets {
        read_until_closed(stream, WAIT)
            .await
            .context("an idle socket was never closed")?;
    }
    still_answers(&server).await
}

#[tokio::test]
async fn a_declared_oversize_body_is_refused_before_it_is_sent() -> Result<()> {
    let server = TestServer::start_with(
        ServerConfig {
            max_body_bytes: 1000,
            body_read_timeout: Duration::from_secs(60),
            ..config()
        },
        None,
    )
    .await?;
    let mut stream = TcpStream::connect(server.addr).await?;
    // Headers only: a server that waited for the body would time out (408), not answer 413.
    stream
        .write_all(
            b"POST /api/storage/writer/v1/columnar HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 50000000\r\n\r\n",
        )
        .await?;
    let raw = read_until_closed(&mut stream, WAIT).await?;
    let text = String::from_utf8_lossy(&raw);
    ensure!(text.starts_with("HTTP/1.1 413"), "answer: {text}");
    ensure!(
        text.contains("NominalChannelWriter:PointsTooLarge"),
        "{text}"
    );
    still_answers(&server).await
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() -> Result<()> {
    let server = TestServer::start_with(config(), None).await?;
    let mut stream = TcpStream::connect(server.addr).await?;
    for _ in 0..3 {
        stream
            .write_all(b"GET /persistent-compute/enabled HTTP/1.1\r\nhost: x\r\n\r\n")
            .await?;
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(WAIT, stream.read(&mut buf)).await??;
        let text = String::from_utf8_lossy(&buf[..n]);
        ensure!(text.starts_with("HTTP/1.1 200"), "answer: {text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}
