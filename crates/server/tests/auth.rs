//! The auth matrix over real HTTP and WebSocket: no token, bad token, a read-only token
//! writing, a token for another dataset, a token revoked or expiring mid-subscription, and
//! browser-style WebSocket auth (subprotocol and login cookie).
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use anyhow::{ensure, Context as _, Result};
use common::{
    columnar, double_column, numeric_node, options, rid, subscription, Reply, TestServer, SEC, WAIT,
};
use serde_json::{json, Value};
use sightline_server::auth::{AuthMode, Grants, RidPattern, TokenFile};
use sightline_server::ServerConfig;
use sightline_wire::persistent_compute::{ServerMessage, SubscriptionCreation};
use std::time::Duration;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use uuid::Uuid;

/// A server requiring tokens from a fresh token file.
struct Secured {
    server: TestServer,
    file: TokenFile,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn grants(read: &[&str], write: &[&str]) -> Grants {
    let parse = |list: &[&str]| list.iter().map(|p| RidPattern::parse(p).unwrap()).collect();
    Grants {
        read: parse(read),
        write: parse(write),
    }
}

impl Secured {
    async fn start() -> Result<Secured> {
        Secured::start_with(false).await
    }

    async fn start_with(public_metrics: bool) -> Result<Secured> {
        let dir = tempfile::tempdir()?;
        let file = TokenFile::in_data_dir(dir.path());
        // A server with auth on but no tokens yet refuses everything; tokens are added live.
        let config = ServerConfig {
            auth: AuthMode::Tokens(file.clone()),
            public_metrics,
            ..ServerConfig::default()
        };
        let server = TestServer::start_with(config, None).await?;
        Ok(Secured {
            server,
            file,
            http: reqwest::Client::builder().timeout(WAIT).build()?,
            _dir: dir,
        })
    }

    /// Creates a token and waits until the server has reloaded the file and accepts it.
    async fn token(&self, name: &str, read: &[&str], write: &[&str]) -> Result<String> {
        let (_, token) = self.file.create(name, grants(read, write), None)?;
        self.await_accepted(&token, true).await?;
        Ok(token)
    }

    /// Polls until the server accepts (`true`) or refuses (`false`) `token`: the file is
    /// reloaded within about a second of a change.
    async fn await_accepted(&self, token: &str, accepted: bool) -> Result<()> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            // Any answer but 401 means the token was accepted.
            let got = self.compute(Some(token), &rid()).await?.status;
            if (got != 401) == accepted {
                return Ok(());
            }
            let what = if accepted { "accepted" } else { "refused" };
            ensure!(
                tokio::time::Instant::now() < deadline,
                "token not {what} in time: still {got}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn send(&self, request: reqwest::RequestBuilder, token: Option<&str>) -> Result<Reply> {
        let request = match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().await?;
        let status = response.status().as_u16();
        let body = response.bytes().await?.to_vec();
        Ok(Reply { status, body })
    }

    async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Result<Reply> {
        let request = self.http.post(self.server.url(path)).json(body);
        self.send(request, token).await
    }

    async fn get(&self, path: &str, token: Option<&str>) -> Result<Reply> {
        self.send(self.http.get(self.server.url(path)), token).await
    }

    async fn write(&self, token: Option<&str>, dataset: &str) -> Result<Reply> {
        let now = self.server.now();
        let body = columnar(
            dataset,
            vec![double_column("speed", &[], &[(now - SEC, 1.0), (now, 2.0)])],
        );
        self.post("/storage/writer/v1/columnar", token, &body).await
    }

    async fn compute(&self, token: Option<&str>, dataset: &str) -> Result<Reply> {
        let now = self.server.now();
        let body = json!({
            "node": numeric_node(dataset, "speed"),
            "start": common::ts(now - 60 * SEC),
            "end": common::ts(now + SEC),
            "context": {},
        });
        self.post("/compute/v2/compute", token, &body).await
    }

    async fn connect(
        &self,
        header: Option<(&str, String)>,
    ) -> Result<std::result::Result<common::WsClient, (u16, Vec<u8>)>> {
        let mut request = self.server.ws_url().into_client_request()?;
        if let Some((name, value)) = header {
            request.headers_mut().insert(
                tokio_tungstenite::tungstenite::http::HeaderName::from_bytes(name.as_bytes())?,
                HeaderValue::from_str(&value)?,
            );
        }
        Ok(self
            .server
            .connect_request(request)
            .await?
            .map(|(client, _)| client))
    }
}

fn window_subscription(dataset: &str) -> Value {
    subscription(
        numeric_node(dataset, "speed"),
        60 * SEC,
        options(0, Some(true)),
    )
}

#[tokio::test]
async fn no_token_and_bad_tokens_are_refused_everywhere_but_the_open_endpoints() -> Result<()> {
    let s = Secured::start().await?;
    let good = s.token("admin", &["*"], &["*"]).await?;
    let dataset = rid();
    let bad = format!("{}x", &good[..good.len() - 1]);
    for token in [None, Some("garbage"), Some(bad.as_str())] {
        let what = format!("token {token:?}");
        let e = s
            .write(token, &dataset)
            .await?
            .conjure_error(401)
            .context(what.clone())?;
        ensure!(e.error_name == "Default:Unauthorized", "{what}: {e:?}");
        ensure!(e.error_code == "UNAUTHORIZED", "{what}: {e:?}");
        s.compute(token, &dataset)
            .await?
            .conjure_error(401)
            .context(what.clone())?;
        s.get("/metrics", token)
            .await?
            .conjure_error(401)
            .context(what.clone())?;
        let refused = match token {
            None => s.connect(None).await?,
            Some(t) => {
                s.connect(Some(("authorization", format!("Bearer {t}"))))
                    .await?
            }
        };
        ensure!(
            matches!(refused, Err((401, _))),
            "{what}: websocket upgrade not refused with 401"
        );
    }
    // The open endpoints answer without a token.
    ensure!(s.get("/persistent-compute/enabled", None).await?.status == 200);
    let health = s.get("/health", None).await?;
    ensure!(
        health.status == 200 && health.json()?["status"] == "ok",
        "{}",
        health.text()
    );
    // And the good token works, over HTTP and WebSocket.
    s.write(Some(&good), &dataset).await?.no_content()?;
    ensure!(s.compute(Some(&good), &dataset).await?.status == 200);
    ensure!(s.get("/metrics", Some(&good)).await?.status == 200);
    let mut ws = s
        .connect(Some(("authorization", format!("Bearer {good}"))))
        .await?
        .map_err(|(status, _)| anyhow::anyhow!("upgrade refused with {status}"))?;
    ws.subscribe_ok(Uuid::new_v4(), window_subscription(&dataset))
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_read_only_token_cannot_write_and_nothing_is_stored() -> Result<()> {
    let s = Secured::start().await?;
    let reader = s.token("reader", &["*"], &[]).await?;
    let dataset = rid();
    let e = s.write(Some(&reader), &dataset).await?.conjure_error(403)?;
    ensure!(e.error_name == "Default:PermissionDenied", "{e:?}");
    ensure!(
        e.param("rids") == Some(&format!("[{dataset}]")[..]),
        "{e:?}"
    );
    // The log and protobuf writers are refused by their path's dataset.
    let logs = json!({"channel": "log", "logs": []});
    let path = format!("/storage/writer/v1/logs/{dataset}");
    s.post(&path, Some(&reader), &logs)
        .await?
        .conjure_error(403)?;
    let path = format!("/storage/writer/v1/nominal/{dataset}");
    let request = s.http.post(s.server.url(&path)).body(vec![1u8, 2, 3]);
    s.send(request, Some(&reader)).await?.conjure_error(403)?;
    // Nothing was stored: a computation over the channel finds no points.
    let reply = s.compute(Some(&reader), &dataset).await?;
    ensure!(reply.status == 200, "{}", reply.text());
    let points = reply.json()?["numeric"]["timestamps"].clone();
    ensure!(
        points.as_array().is_none_or(Vec::is_empty),
        "refused write stored points: {}",
        reply.text()
    );
    Ok(())
}

#[tokio::test]
async fn a_token_for_another_dataset_can_neither_read_nor_write_this_one() -> Result<()> {
    let s = Secured::start().await?;
    let mine = rid();
    let theirs = rid();
    let admin = s.token("admin", &["*"], &["*"]).await?;
    let token = s.token("mine", &[&mine], &[&mine]).await?;
    s.write(Some(&admin), &theirs).await?.no_content()?;
    s.write(Some(&token), &mine).await?.no_content()?;

    // Writing: 403.
    let e = s.write(Some(&token), &theirs).await?.conjure_error(403)?;
    ensure!(e.error_name == "Default:PermissionDenied", "{e:?}");

    // HTTP compute: 403 Compute:NotAuthorized naming the dataset, even for a channel that
    // does not exist there (which must not be revealed).
    let e = s.compute(Some(&token), &theirs).await?.conjure_error(403)?;
    ensure!(e.error_name == "Compute:NotAuthorized", "{e:?}");
    ensure!(
        e.param("dataSourceRids") == Some(&format!("[{theirs}]")[..]),
        "{e:?}"
    );
    let now = s.server.now();
    let missing = json!({
        "node": numeric_node(&theirs, "no-such-channel"),
        "start": common::ts(now - SEC), "end": common::ts(now), "context": {},
    });
    let e = s
        .post("/compute/v2/compute", Some(&token), &missing)
        .await?
        .conjure_error(403)?;
    ensure!(e.error_name == "Compute:NotAuthorized", "{e:?}");
    ensure!(s.compute(Some(&token), &mine).await?.status == 200);

    // Subscriptions: PersistentCompute:PermissionDenied with `rids`; its own dataset streams.
    let mut ws = s
        .connect(Some(("authorization", format!("Bearer {token}"))))
        .await?
        .map_err(|(status, _)| anyhow::anyhow!("upgrade refused with {status}"))?;
    let e = ws
        .creation_error(Uuid::new_v4(), window_subscription(&theirs))
        .await?;
    ensure!(e.name == "PersistentCompute:PermissionDenied", "{e:?}");
    ensure!(e.status_code == 403, "{e:?}");
    ensure!(
        e.params.get("rids") == Some(&format!("[{theirs}]")),
        "{e:?}"
    );
    ws.subscribe_ok(Uuid::new_v4(), window_subscription(&mine))
        .await?;
    Ok(())
}

/// Waits for `SubscriptionAuthExpired` on `id`, then for the socket to close.
async fn expect_auth_expired(ws: &mut common::WsClient, id: Uuid) -> Result<()> {
    let error = ws
        .wait_for(
            "SubscriptionAuthExpired",
            Duration::from_secs(10),
            |m| match m {
                ServerMessage::SubscriptionCreation(c) if c.subscription_id == id => {
                    match &c.creation {
                        SubscriptionCreation::Error(e) => Some(e.serializable_error.clone()),
                        SubscriptionCreation::Success(_) | SubscriptionCreation::Unknown(_) => None,
                    }
                }
                _ => None,
            },
        )
        .await?;
    ensure!(
        error.name == "PersistentCompute:SubscriptionAuthExpired" && error.status_code == 403,
        "{error:?}"
    );
    let code = ws.closed_within(WAIT).await?;
    ensure!(
        code.map(u16::from) == Some(1008),
        "closed with {code:?}, expected 1008"
    );
    Ok(())
}

#[tokio::test]
async fn revoking_a_token_stops_its_running_subscriptions() -> Result<()> {
    let s = Secured::start().await?;
    let dataset = rid();
    let token = s.token("short-lived", &["*"], &["*"]).await?;
    let other = s.token("other", &["*"], &["*"]).await?;
    s.write(Some(&token), &dataset).await?.no_content()?;
    let connect = |t: String| s.connect(Some(("authorization", format!("Bearer {t}"))));
    let mut ws = connect(token.clone())
        .await?
        .map_err(|(c, _)| anyhow::anyhow!("{c}"))?;
    let mut bystander = connect(other.clone())
        .await?
        .map_err(|(c, _)| anyhow::anyhow!("{c}"))?;
    let id = Uuid::new_v4();
    ws.subscribe_ok(id, window_subscription(&dataset)).await?;
    let kept = Uuid::new_v4();
    bystander
        .subscribe_ok(kept, window_subscription(&dataset))
        .await?;

    s.file.revoke("short-lived")?;
    expect_auth_expired(&mut ws, id).await?;
    // HTTP refuses it too, and another token's subscription is untouched.
    s.await_accepted(&token, false).await?;
    s.write(Some(&other), &dataset).await?.no_content()?;
    bystander.update(kept).await?;
    Ok(())
}

#[tokio::test]
async fn an_expiring_token_stops_its_subscriptions_at_expiry() -> Result<()> {
    let s = Secured::start().await?;
    let dataset = rid();
    let expires = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let (_, token) = s
        .file
        .create("brief", grants(&["*"], &["*"]), Some(expires))?;
    s.await_accepted(&token, true).await?;
    s.write(Some(&token), &dataset).await?.no_content()?;
    let mut ws = s
        .connect(Some(("authorization", format!("Bearer {token}"))))
        .await?
        .map_err(|(c, _)| anyhow::anyhow!("{c}"))?;
    let id = Uuid::new_v4();
    ws.subscribe_ok(id, window_subscription(&dataset)).await?;
    expect_auth_expired(&mut ws, id).await?;
    let e = s.write(Some(&token), &dataset).await?.conjure_error(401)?;
    ensure!(e.error_name == "Default:Unauthorized", "{e:?}");
    Ok(())
}

#[tokio::test]
async fn browsers_authenticate_with_a_subprotocol_or_the_login_cookie() -> Result<()> {
    let s = Secured::start().await?;
    let dataset = rid();
    let token = s.token("browser", &["*"], &["*"]).await?;
    s.write(Some(&token), &dataset).await?.no_content()?;

    // Subprotocol: offered next to `sightline`, which is the one echoed.
    let mut request = s.server.ws_url().into_client_request()?;
    request.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("sightline, sightline.bearer.{token}"))?,
    );
    let (mut ws, response) = s
        .server
        .connect_request(request)
        .await?
        .map_err(|(c, _)| anyhow::anyhow!("upgrade refused with {c}"))?;
    ensure!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.as_bytes())
            == Some(b"sightline".as_slice()),
        "protocol echoed: {:?}",
        response.headers().get("sec-websocket-protocol")
    );
    ws.subscribe_ok(Uuid::new_v4(), window_subscription(&dataset))
        .await?;
    // A bad token in the subprotocol is refused.
    let refused = s
        .connect(Some((
            "sec-websocket-protocol",
            "sightline, sightline.bearer.nope".into(),
        )))
        .await?;
    ensure!(
        matches!(refused, Err((401, _))),
        "bad subprotocol token accepted"
    );

    // Login cookie: HttpOnly, SameSite=Strict; the WebSocket and HTTP accept it.
    let bad = s
        .post("/sightline/v1/login", None, &json!({"token": "nope"}))
        .await?;
    bad.conjure_error(401)?;
    let login = s
        .http
        .post(s.server.url("/sightline/v1/login"))
        .json(&json!({"token": token}))
        .send()
        .await?;
    ensure!(login.status() == 204, "login answered {}", login.status());
    let cookie = login
        .headers()
        .get("set-cookie")
        .context("login sets a cookie")?
        .to_str()?
        .to_string();
    ensure!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let pair = cookie.split(';').next().unwrap_or_default().to_string();
    let mut ws = s
        .connect(Some(("cookie", pair.clone())))
        .await?
        .map_err(|(c, _)| anyhow::anyhow!("cookie upgrade refused with {c}"))?;
    ws.subscribe_ok(Uuid::new_v4(), window_subscription(&dataset))
        .await?;
    let with_cookie = s
        .http
        .post(s.server.url("/compute/v2/compute"))
        .header("cookie", pair)
        .json(&json!({
            "node": numeric_node(&dataset, "speed"),
            "start": common::ts(s.server.now() - 60 * SEC),
            "end": common::ts(s.server.now()), "context": {},
        }))
        .send()
        .await?;
    ensure!(
        with_cookie.status() == 200,
        "cookie compute: {}",
        with_cookie.status()
    );

    let logout = s
        .http
        .post(s.server.url("/sightline/v1/logout"))
        .send()
        .await?;
    ensure!(logout.status() == 204);
    let cleared = logout
        .headers()
        .get("set-cookie")
        .context("logout clears the cookie")?
        .to_str()?;
    ensure!(cleared.contains("Max-Age=0"), "{cleared}");
    Ok(())
}

#[tokio::test]
async fn metrics_can_be_made_public() -> Result<()> {
    let s = Secured::start_with(true).await?;
    ensure!(s.get("/metrics", None).await?.status == 200);
    s.write(None, &rid()).await?.conjure_error(401)?;
    Ok(())
}
