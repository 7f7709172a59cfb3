//! The client over `wss://` against a real in-process server with an rcgen certificate:
//! with the CA trusted, live points merge into the window as over `ws://`; an untrusted
//! certificate or an unusable CA file fails at once with an error that says what to do.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use anyhow::{bail, Context as _, Result};
use common::{until, values, WAIT};
use sightline_client::{ClientError, Event, Options, Request};
use sightline_server::{tls, App, ServerConfig, SystemClock};
use sightline_store::MemoryStore;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::oneshot;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

const DATASET: &str = "ri.sightline.test.dataset.client-tls";

/// A self-signed certificate for `localhost` and 127.0.0.1, written to a PEM file.
struct Pki {
    cert_pem: String,
    key_pem: String,
    cert_der: CertificateDer<'static>,
    dir: tempfile::TempDir,
}

impl Pki {
    fn new() -> Result<Pki> {
        let certified = rcgen::generate_simple_self_signed(vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
        ])?;
        let pki = Pki {
            cert_pem: certified.cert.pem(),
            key_pem: certified.key_pair.serialize_pem(),
            cert_der: certified.cert.der().clone(),
            dir: tempfile::tempdir()?,
        };
        std::fs::write(pki.cert_file(), &pki.cert_pem)?;
        Ok(pki)
    }

    fn cert_file(&self) -> PathBuf {
        self.dir.path().join("cert.pem")
    }
}

struct TlsServer {
    addr: SocketAddr,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TlsServer {
    async fn start(pki: &Pki) -> Result<TlsServer> {
        let config = ServerConfig {
            tls: Some(tls::from_pem(
                pki.cert_pem.as_bytes(),
                pki.key_pem.as_bytes(),
                "cert",
                "key",
            )?),
            drain_period: Duration::from_millis(100),
            ..ServerConfig::default()
        };
        let app = App::new(Arc::new(MemoryStore::new()), config, Arc::new(SystemClock));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (shutdown, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(sightline_server::serve(listener, app, async move {
            let _ = rx.await;
        }));
        Ok(TlsServer {
            addr,
            shutdown,
            task,
        })
    }

    fn wss(&self) -> String {
        format!("wss://127.0.0.1:{}/persistent-compute/ws", self.addr.port())
    }

    /// Writes `values` a millisecond apart ending now, over HTTPS (HTTP/1.1, one request).
    async fn write(&self, pki: &Pki, values: &[f64]) -> Result<()> {
        let body = common::write_body(DATASET, values)?.to_string();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(pki.cert_der.clone())?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = tokio::net::TcpStream::connect(self.addr).await?;
        let mut stream = tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(ServerName::try_from("localhost")?, tcp)
            .await?;
        let request = format!(
            "POST /storage/writer/v1/columnar HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        // The server may end TLS without close_notify after `Connection: close`.
        let _ = tokio::time::timeout(WAIT, stream.read_to_end(&mut response)).await?;
        let response = String::from_utf8_lossy(&response);
        if !response.starts_with("HTTP/1.1 204") {
            bail!("write answered {response}");
        }
        Ok(())
    }

    async fn stop(self) {
        let _ = self.shutdown.send(());
        let _ = tokio::time::timeout(WAIT, self.task).await;
    }
}

fn request() -> Request {
    common::request(DATASET)
}

fn trusting(url: String, ca_cert: Option<&Path>) -> Options {
    let mut options = Options::new(vec![url], None);
    options.ca_cert = ca_cert.map(Path::to_path_buf);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_wss_with_the_ca_trusted_live_points_merge_into_the_window() -> Result<()> {
    let pki = Pki::new()?;
    let server = TlsServer::start(&pki).await?;
    server.write(&pki, &[1.0, 2.0]).await?;
    let session =
        sightline_client::connect_with(trusting(server.wss(), Some(&pki.cert_file()))).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |e, s| {
        *e == Event::Full && values(s) == [1.0, 2.0]
    })
    .await?;
    server.write(&pki, &[3.0]).await?;
    let seen = until(&mut sub, |_, s| values(s) == [1.0, 2.0, 3.0]).await?;
    assert!(
        seen.contains(&Event::Append),
        "later data arrives as appends: {seen:?}"
    );
    assert_eq!(sub.state().context("no state")?.fulls, 1);
    drop(sub);
    drop(session);
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_certificate_fails_at_once_and_says_to_pass_a_ca_cert() -> Result<()> {
    let pki = Pki::new()?;
    let server = TlsServer::start(&pki).await?;
    // The platform's roots do not know a self-signed certificate.
    let refused = tokio::time::timeout(
        WAIT,
        sightline_client::connect_with(trusting(server.wss(), None)),
    )
    .await
    .context("connecting with an untrusted certificate hung")?;
    let Err(error) = refused else {
        bail!("connected although the certificate is not trusted")
    };
    assert!(
        matches!(error, ClientError::UntrustedCertificate { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains("not trusted") && message.contains("--ca-cert"),
        "{message}"
    );

    // Another CA than the one that signed the server's certificate.
    let other = Pki::new()?;
    let refused =
        sightline_client::connect_with(trusting(server.wss(), Some(&other.cert_file()))).await;
    assert!(
        matches!(refused, Err(ClientError::UntrustedCertificate { .. })),
        "{:?}",
        refused.err()
    );

    // A CA file that is missing or holds no certificate is refused before connecting.
    let missing = pki.dir.path().join("missing.pem");
    let refused = sightline_client::connect_with(trusting(server.wss(), Some(&missing))).await;
    assert!(
        matches!(refused, Err(ClientError::BadCaCert { .. })),
        "{:?}",
        refused.err()
    );
    let empty = pki.dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n")?;
    let refused = sightline_client::connect_with(trusting(server.wss(), Some(&empty))).await;
    let message = refused
        .err()
        .context("an empty CA file was accepted")?
        .to_string();
    assert!(message.contains("no PEM certificate"), "{message}");
    server.stop().await;
    Ok(())
}
