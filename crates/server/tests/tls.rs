//! HTTPS and WSS against a real server with a certificate made by rcgen: writes, compute
//! and a subscription over TLS, and clear errors for unusable certificates.
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{ensure, Context as _, Result};
use common::*;
use futures::{SinkExt as _, StreamExt as _};
use serde_json::json;
use sightline_server::{tls, ServerConfig};
use std::sync::Arc;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};
use tokio_tungstenite::tungstenite::Message;

struct Pki {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
}

fn pki() -> Result<Pki> {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])?;
    Ok(Pki {
        cert_pem: certified.cert.pem(),
        key_pem: certified.key_pair.serialize_pem(),
        cert_der: certified.cert.der().clone(),
    })
}

async fn tls_server(pki: &Pki) -> Result<TestServer> {
    let config = tls::from_pem(
        pki.cert_pem.as_bytes(),
        pki.key_pem.as_bytes(),
        "cert",
        "key",
    )?;
    TestServer::start_with(
        ServerConfig {
            tls: Some(config),
            ..ServerConfig::default()
        },
        None,
    )
    .await
}

async fn connect_tls(
    server: &TestServer,
    pki: &Pki,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.cert_der.clone())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(server.addr).await?;
    let stream = tokio::time::timeout(
        WAIT,
        connector.connect(ServerName::try_from("localhost")?, tcp),
    )
    .await
    .context("TLS handshake timed out")??;
    Ok(stream)
}

/// One HTTP/1.1 request over TLS with `Connection: close`; returns status and body.
async fn https(
    server: &TestServer,
    pki: &Pki,
    method: &str,
    path: &str,
    body: &str,
) -> Result<(u16, String)> {
    let mut stream = connect_tls(server, pki).await?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut raw))
        .await
        .context("HTTPS read timed out")?
        .ok();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("not an HTTP response: {text:?}"))?;
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[tokio::test]
async fn writes_and_compute_work_over_https() -> Result<()> {
    let pki = pki()?;
    let server = tls_server(&pki).await?;
    let (status, body) = https(&server, &pki, "GET", "/persistent-compute/enabled", "").await?;
    ensure!(status == 200 && body == "{}", "enabled: {status} {body}");

    let rid = rid();
    let now = server.now();
    let points = series(now - 10 * SEC, SEC, 0..5);
    let write = columnar(&rid, vec![double_column("a", &[], &points)]).to_string();
    let (status, body) = https(
        &server,
        &pki,
        "POST",
        "/api/storage/writer/v1/columnar",
        &write,
    )
    .await?;
    ensure!(status == 204, "write: {status} {body}");

    let request = json!({"node": numeric_node(&rid, "a"), "start": ts(now - 20 * SEC),
                         "end": ts(now + SEC), "context": {}});
    let (status, body) = https(
        &server,
        &pki,
        "POST",
        "/compute/v2/compute",
        &request.to_string(),
    )
    .await?;
    ensure!(status == 200, "compute: {status} {body}");
    let result: sightline_wire::scout_compute::ComputeNodeResponse =
        sightline_wire::from_json(&body)?;
    ensure!(
        numeric_points(&result)? == points,
        "over HTTPS: {:?}",
        numeric_points(&result)?
    );
    Ok(())
}

#[tokio::test]
async fn a_subscription_works_over_wss() -> Result<()> {
    let pki = pki()?;
    let server = tls_server(&pki).await?;
    let rid = rid();
    let now = server.now();
    server_write(&server, &pki, &rid, now).await?;
    let stream = connect_tls(&server, &pki).await?;
    let (mut ws, response) = tokio::time::timeout(
        WAIT,
        tokio_tungstenite::client_async("wss://localhost/persistent-compute/ws", stream),
    )
    .await
    .context("WSS upgrade timed out")??;
    ensure!(response.status() == 101);
    let id = uuid::Uuid::new_v4();
    let sub = appends(numeric_node(&rid, "a"), 60 * SEC);
    ws.send(Message::Text(
        json!({"type": "subscribe", "subscribe": {id.to_string(): sub}})
            .to_string()
            .into(),
    ))
    .await?;
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let frame = tokio::time::timeout(WAIT, ws.next())
            .await
            .context("no frame over WSS")?
            .context("WSS closed")??;
        if let Message::Text(text) = frame {
            let message = parse_server_frame(&text)?;
            kinds.push(serde_json::to_value(&message)?["type"].clone());
        }
    }
    ensure!(
        kinds == vec![json!("subscriptionCreation"), json!("subscriptionUpdate")],
        "{kinds:?}"
    );
    Ok(())
}

async fn server_write(server: &TestServer, pki: &Pki, rid: &str, now: i64) -> Result<()> {
    let write = columnar(
        rid,
        vec![double_column("a", &[], &series(now - 5 * SEC, SEC, 0..3))],
    );
    let (status, body) = https(
        server,
        pki,
        "POST",
        "/storage/writer/v1/columnar",
        &write.to_string(),
    )
    .await?;
    ensure!(status == 204, "write: {status} {body}");
    Ok(())
}

#[tokio::test]
async fn plain_http_to_a_tls_port_gets_no_answer_and_the_server_goes_on() -> Result<()> {
    let pki = pki()?;
    let server = tls_server(&pki).await?;
    let mut plain = TcpStream::connect(server.addr).await?;
    plain
        .write_all(b"GET /persistent-compute/enabled HTTP/1.1\r\nhost: x\r\n\r\n")
        .await?;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(WAIT, plain.read_to_end(&mut raw)).await;
    ensure!(
        !String::from_utf8_lossy(&raw).contains("200 OK"),
        "plain HTTP was served on the TLS port"
    );
    let (status, _) = https(&server, &pki, "GET", "/persistent-compute/enabled", "").await?;
    ensure!(status == 200);
    Ok(())
}

#[test]
fn unusable_certificates_are_named_errors() -> Result<()> {
    let pki = pki()?;
    let other = self::pki()?;
    let missing = tls::from_pem(
        b"not a certificate",
        pki.key_pem.as_bytes(),
        "c.pem",
        "k.pem",
    );
    ensure!(
        matches!(missing, Err(tls::TlsError::NoCertificate { .. })),
        "{missing:?}"
    );
    let no_key = tls::from_pem(pki.cert_pem.as_bytes(), b"", "c.pem", "k.pem");
    ensure!(
        matches!(no_key, Err(tls::TlsError::NoKey { .. })),
        "{no_key:?}"
    );
    let mismatched = tls::from_pem(
        pki.cert_pem.as_bytes(),
        other.key_pem.as_bytes(),
        "c.pem",
        "k.pem",
    );
    ensure!(
        matches!(mismatched, Err(tls::TlsError::Rejected { .. })),
        "{mismatched:?}"
    );
    let unreadable = tls::load("/nonexistent/c.pem".as_ref(), "/nonexistent/k.pem".as_ref());
    ensure!(
        matches!(unreadable, Err(tls::TlsError::Read { .. })),
        "{unreadable:?}"
    );
    Ok(())
}
