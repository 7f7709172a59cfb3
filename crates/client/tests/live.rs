//! The client against real servers over real sockets: merged live data, failover between
//! URLs, reconnect after a restart, the shutdown handover, and unsubscribe on drop.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use anyhow::{bail, Context as _, Result};
use common::{until, values, WAIT};
use serde_json::json;
use sightline_client::{ConnectionEvent, Event, Options, Plot, Request};
use sightline_server::auth::{AuthMode, Grants, RidPattern, TokenFile};
use sightline_server::{App, ServerConfig, SystemClock};
use sightline_store::MemoryStore;
use sightline_wire::scout_compute::{ComputableNode, ComputeNodeResponse};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

const DATASET: &str = "ri.sightline.test.dataset.client";

struct Server {
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
    /// Sent with every HTTP request when the server requires tokens.
    token: Option<String>,
}

impl Server {
    async fn start(addr: &str, drain: Duration) -> Result<Server> {
        let config = ServerConfig {
            drain_period: drain,
            ..ServerConfig::default()
        };
        Server::start_with(addr, config).await
    }

    async fn start_with(addr: &str, config: ServerConfig) -> Result<Server> {
        let app = App::new(Arc::new(MemoryStore::new()), config, Arc::new(SystemClock));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(sightline_server::serve(listener, app, async move {
            let _ = rx.await;
        }));
        Ok(Server {
            addr,
            shutdown: Some(tx),
            task,
            token: None,
        })
    }

    fn http(&self, path: &str) -> reqwest::RequestBuilder {
        let request = reqwest::Client::new()
            .post(format!("http://{}{path}", self.addr))
            .timeout(WAIT);
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// HTTP compute of `node` over `[start, end]`: the fresh full result to compare with.
    async fn compute(&self, node: &ComputableNode, start: i64, end: i64) -> Result<Plot> {
        let ts = |t: i64| json!({"seconds": t.div_euclid(1_000_000_000), "nanos": t.rem_euclid(1_000_000_000)});
        let body = json!({"node": node, "start": ts(start), "end": ts(end), "context": {}});
        let response = self.http("/compute/v2/compute").json(&body).send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            bail!("compute answered {status}: {text}");
        }
        let result: ComputeNodeResponse = sightline_wire::from_json(&text)?;
        Ok(Plot::from_full(&result)?)
    }

    fn ws(&self) -> String {
        format!("ws://{}/persistent-compute/ws", self.addr)
    }

    async fn write(&self, values: &[f64]) -> Result<()> {
        let body = common::write_body(DATASET, values)?;
        let status = self
            .http("/storage/writer/v1/columnar")
            .json(&body)
            .send()
            .await?
            .status();
        if status.as_u16() != 204 {
            bail!("write answered {status}");
        }
        Ok(())
    }

    async fn figure(&self, name: &str) -> Result<f64> {
        let text = reqwest::get(format!("http://{}/metrics", self.addr))
            .await?
            .text()
            .await?;
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
            .and_then(|v| v.trim().parse().ok())
            .with_context(|| format!("no {name} in /metrics"))
    }

    /// Starts the graceful shutdown (what SIGTERM does) without waiting for it.
    fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    async fn stop(mut self) {
        self.begin_shutdown();
        let _ = tokio::time::timeout(WAIT, self.task).await;
    }
}

/// A TCP relay in front of a server: killing it drops every socket at once with no
/// WebSocket close, as a crashed host or a cut network would.
struct Relay {
    addr: SocketAddr,
    tasks: tokio::task::JoinSet<()>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Result<Relay> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mut tasks = tokio::task::JoinSet::new();
        tasks.spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                conns.spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Ok(Relay { addr, tasks })
    }

    fn ws(&self) -> String {
        format!("ws://{}/persistent-compute/ws", self.addr)
    }

    /// Drops the listener and every relayed socket (the accept task owns both).
    async fn kill(mut self) {
        self.tasks.shutdown().await;
    }
}

fn request() -> Request {
    common::request(DATASET)
}

fn fast(urls: Vec<String>) -> Options {
    let mut options = Options::new(urls, None);
    options.backoff_min = Duration::from_millis(20);
    options.backoff_max = Duration::from_millis(200);
    options.handover_timeout = Duration::from_secs(3);
    options
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_points_are_merged_into_the_window() -> Result<()> {
    let server = Server::start("127.0.0.1:0", Duration::from_millis(100)).await?;
    server.write(&[1.0, 2.0]).await?;
    let session = sightline_client::connect([server.ws()], None).await?;
    let mut sub = session.subscribe(request())?;
    let seen = until(&mut sub, |e, s| {
        *e == Event::Full && values(s) == [1.0, 2.0]
    })
    .await?;
    assert!(
        seen.iter().any(|e| matches!(e, Event::Created { .. })),
        "{seen:?}"
    );
    server.write(&[3.0]).await?;
    until(&mut sub, |_, s| values(s) == [1.0, 2.0, 3.0]).await?;
    server.write(&[4.0, 5.0]).await?;
    let seen = until(&mut sub, |_, s| values(s) == [1.0, 2.0, 3.0, 4.0, 5.0]).await?;
    assert!(
        seen.contains(&Event::Append),
        "later data arrives as appends: {seen:?}"
    );
    // The merged window equals a fresh computation over the window the last append ends.
    let state = sub.state().context("no state")?;
    let end = state.last_end.context("no append merged")?;
    let start = end - state.window;
    let fresh = server.compute(&request().node, start, end).await?;
    assert_eq!(state.plot.restrict(start, end), fresh.restrict(start, end));
    assert_eq!(state.fulls, 1, "one full result, then appends only");
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_url_is_skipped_and_a_refused_subscription_says_why() -> Result<()> {
    let server = Server::start("127.0.0.1:0", Duration::from_millis(100)).await?;
    // A port with nothing listening: bind, note, close.
    let dead = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await?
        .local_addr()?;
    let urls = vec![format!("ws://{dead}/persistent-compute/ws"), server.ws()];
    let session = sightline_client::connect_with(fast(urls)).await?;
    let mut bad = request();
    bad.window = Duration::from_secs(365 * 24 * 3600);
    let mut sub = session.subscribe(bad)?;
    // The first event says where the session is connected: the live server, not the dead one.
    let first = tokio::time::timeout(WAIT, sub.next())
        .await?
        .context("ended")?;
    assert_eq!(
        first?,
        Event::Connection(ConnectionEvent::Connected { url: server.ws() })
    );
    let err = tokio::time::timeout(WAIT, sub.next())
        .await?
        .context("ended")?;
    let err = match err {
        Err(sightline_client::ClientError::Refused { error }) => error,
        other => bail!("expected a refusal, got {other:?}"),
    };
    assert_eq!(err.name, "PersistentCompute:WindowTooLarge");

    let none =
        sightline_client::connect([format!("ws://{dead}/persistent-compute/ws")], None).await;
    assert!(matches!(
        none,
        Err(sightline_client::ClientError::Unreachable { .. })
    ));
    let bad_url = sightline_client::connect(["http://example"], None).await;
    assert!(matches!(
        bad_url,
        Err(sightline_client::ClientError::BadUrl { .. })
    ));
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_restart_the_client_reconnects_and_resubscribes() -> Result<()> {
    let server = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    let addr = server.addr;
    server.write(&[1.0]).await?;
    let session = sightline_client::connect_with(fast(vec![server.ws()])).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |_, s| values(s) == [1.0]).await?;
    server.stop().await;
    until(&mut sub, |e, _| {
        matches!(e, Event::Connection(ConnectionEvent::Lost { .. }))
    })
    .await?;
    // Same address, new (empty) store: what the client shows comes from the new server.
    let server = Server::start(&addr.to_string(), Duration::from_millis(50)).await?;
    server.write(&[7.0, 8.0]).await?;
    let seen = until(&mut sub, |_, s| values(s) == [7.0, 8.0]).await?;
    assert!(
        seen.iter()
            .any(|e| matches!(e, Event::Connection(ConnectionEvent::Connected { .. }))),
        "{seen:?}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutdown_notice_hands_over_to_another_server_before_the_drain_ends() -> Result<()> {
    let mut a = Server::start("127.0.0.1:0", Duration::from_secs(10)).await?;
    let b = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    a.write(&[1.0]).await?;
    b.write(&[2.0]).await?;
    let session = sightline_client::connect_with(fast(vec![a.ws(), b.ws()])).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |_, s| values(s) == [1.0]).await?;
    a.begin_shutdown();
    let seen = until(&mut sub, |e, _| {
        matches!(e, Event::Connection(ConnectionEvent::HandedOver { .. }))
    })
    .await?;
    assert!(
        !seen
            .iter()
            .any(|e| matches!(e, Event::Connection(ConnectionEvent::Lost { .. }))),
        "{seen:?}"
    );
    assert_eq!(
        values(&sub),
        [2.0],
        "the state now comes from the second server"
    );
    // The old connection is closed at once, long before the 10 s drain ends.
    tokio::time::timeout(Duration::from_secs(5), async {
        while a
            .figure("sightline_server_connections")
            .await
            .unwrap_or(1.0)
            != 0.0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("the draining server still holds the old connection")?;
    a.task.abort();
    b.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_subscription_unsubscribes() -> Result<()> {
    let server = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    server.write(&[1.0]).await?;
    let session = sightline_client::connect([server.ws()], None).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |e, _| *e == Event::Full).await?;
    assert_eq!(server.figure("sightline_server_subscriptions").await?, 1.0);
    drop(sub);
    tokio::time::timeout(WAIT, async {
        while server
            .figure("sightline_server_subscriptions")
            .await
            .unwrap_or(1.0)
            != 0.0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("the server still counts the subscription")?;
    assert_eq!(
        server.figure("sightline_server_connections").await?,
        1.0,
        "the session stays connected while it is held"
    );
    drop(session);
    tokio::time::timeout(WAIT, async {
        while server
            .figure("sightline_server_connections")
            .await
            .unwrap_or(1.0)
            != 0.0
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("dropping the session did not close its connection")?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_a_server_dies_the_session_fails_over_to_the_next_url() -> Result<()> {
    let a = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    let b = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    a.write(&[1.0]).await?;
    b.write(&[2.0, 3.0]).await?;
    let relay = Relay::start(a.addr).await?;
    let session = sightline_client::connect_with(fast(vec![relay.ws(), b.ws()])).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |_, s| values(s) == [1.0]).await?;
    // Gone, not drained: no shutdown notice, the socket just ends, and the address stops
    // answering.
    relay.kill().await;
    let seen = until(&mut sub, |_, s| values(s) == [2.0, 3.0]).await?;
    let b_url = b.ws();
    assert!(
        seen.iter()
            .any(|e| *e == Event::Connection(ConnectionEvent::Connected { url: b_url.clone() })),
        "{seen:?}"
    );
    b.write(&[4.0]).await?;
    until(&mut sub, |_, s| values(s) == [2.0, 3.0, 4.0]).await?;
    a.stop().await;
    b.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_pings_are_answered_so_a_quiet_session_stays_open() -> Result<()> {
    // The server closes a connection that sent nothing for three ping intervals; the
    // client's own keep-alive (15 s) is far longer, so only its pongs keep it open.
    let config = ServerConfig {
        ping_interval: Duration::from_millis(50),
        drain_period: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let server = Server::start_with("127.0.0.1:0", config).await?;
    server.write(&[1.0]).await?;
    let session = sightline_client::connect([server.ws()], None).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |_, s| values(s) == [1.0]).await?;
    let quiet = tokio::time::timeout(Duration::from_millis(600), sub.next()).await;
    assert!(
        quiet.is_err(),
        "no event while quiet for 12 ping intervals: {quiet:?}"
    );
    server.write(&[2.0]).await?;
    let seen = until(&mut sub, |_, s| values(s) == [1.0, 2.0]).await?;
    assert!(
        !seen.iter().any(|e| matches!(e, Event::Connection(_))),
        "the connection never dropped: {seen:?}"
    );
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_sent_as_a_bearer_header() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let file = TokenFile::in_data_dir(dir.path());
    let all = || vec![RidPattern::parse("*").unwrap()];
    let (_, token) = file.create(
        "client",
        Grants {
            read: all(),
            write: all(),
        },
        None,
    )?;
    let config = ServerConfig {
        auth: AuthMode::Tokens(file),
        drain_period: Duration::from_millis(50),
        ..ServerConfig::default()
    };
    let mut server = Server::start_with("127.0.0.1:0", config).await?;
    server.token = Some(token.clone());
    server.write(&[1.0]).await?;

    let refused = sightline_client::connect([server.ws()], None).await;
    match refused {
        Err(sightline_client::ClientError::Unreachable { last, .. }) => {
            assert!(last.contains("401"), "{last}")
        }
        other => bail!(
            "a session without a token must be refused, got {:?}",
            other.err()
        ),
    }
    let session = sightline_client::connect([server.ws()], Some(token)).await?;
    let mut sub = session.subscribe(request())?;
    until(&mut sub, |_, s| values(s) == [1.0]).await?;
    server.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_stream_yields_each_merged_window() -> Result<()> {
    use futures::StreamExt as _;
    let server = Server::start("127.0.0.1:0", Duration::from_millis(50)).await?;
    server.write(&[1.0]).await?;
    let session = sightline_client::connect([server.ws()], None).await?;
    let mut states = Box::pin(session.subscribe(request())?.states());
    let first = tokio::time::timeout(WAIT, states.next())
        .await?
        .context("ended")??;
    let values: Vec<f64> = first_points(&first).iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [1.0], "the first state is the full result");
    assert_eq!(first.fulls, 1);
    server.write(&[2.0]).await?;
    let merged = tokio::time::timeout(WAIT, async {
        while let Some(state) = states.next().await {
            let state = state?;
            if first_points(&state).len() == 2 {
                return Ok::<_, anyhow::Error>(state);
            }
        }
        bail!("the stream ended")
    })
    .await??;
    let values: Vec<f64> = first_points(&merged).iter().map(|(_, v)| *v).collect();
    assert_eq!(values, [1.0, 2.0]);
    assert!(merged.appends >= 1, "merged from an append: {merged:?}");
    server.stop().await;
    Ok(())
}

fn first_points(state: &sightline_client::WindowState) -> Vec<(i64, f64)> {
    match &state.plot {
        Plot::Numeric(points) => points.clone(),
        _ => Vec::new(),
    }
}
