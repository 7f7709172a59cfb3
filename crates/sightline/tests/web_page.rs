//! The web page at `/` in a real headless browser (Debian's `chromium`, driven over the
//! DevTools protocol on a loopback port): it loads without console errors, lists the demo's
//! channels, draws plots that change as data arrives, shades ranges, and reconnects by
//! itself after the server is killed and started again on the same port. A screenshot is
//! saved next to the test binaries (`web_page.png` in the target's tmp directory).
#![allow(clippy::unwrap_used)]

mod common;

use anyhow::{anyhow, bail, ensure, Context as _, Result};
use common::{start, start_on};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// Bound on every wait for the page to reach a state.
const WAIT: Duration = Duration::from_secs(30);

fn chromium_path() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("SIGHTLINE_CHROMIUM") {
        return Ok(PathBuf::from(p));
    }
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return Ok(PathBuf::from(candidate));
        }
    }
    bail!(
        "this test needs Debian's chromium: install it with \
         `apt-get update && apt-get install -y chromium` (or point SIGHTLINE_CHROMIUM at a binary)"
    )
}

/// A headless chromium and the DevTools connection to one of its pages.
struct Browser {
    child: Child,
    _profile: tempfile::TempDir,
    outgoing: mpsc::UnboundedSender<Message>,
    pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>,
    events: Arc<Mutex<Vec<Value>>>,
    next_id: u64,
    session: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    async fn launch() -> Result<Browser> {
        let profile = tempfile::tempdir()?;
        let mut child = Command::new(chromium_path()?)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--no-default-browser-check",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "--window-size=1400,1000",
            ])
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting chromium")?;
        let stderr = child.stderr.take().context("chromium stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let ws_url = tokio::task::spawn_blocking(move || rx.recv_timeout(WAIT))
            .await?
            .context("chromium did not print its DevTools address")?;
        let (socket, _) = tokio_tungstenite::connect_async(ws_url.as_str()).await?;
        let (mut sink, mut stream) = socket.split();
        let (outgoing, mut queue) = mpsc::unbounded_channel::<Message>();
        tokio::spawn(async move {
            while let Some(m) = queue.recv().await {
                if sink.send(m).await.is_err() {
                    break;
                }
            }
        });
        let pending: Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>> = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        let (p, e) = (pending.clone(), events.clone());
        tokio::spawn(async move {
            while let Some(Ok(Message::Text(text))) = stream.next().await {
                let Ok(v) = serde_json::from_str::<Value>(&text) else {
                    continue;
                };
                match v.get("id").and_then(Value::as_u64) {
                    Some(id) => {
                        if let Some(reply) = p.lock().unwrap().remove(&id) {
                            let _ = reply.send(v);
                        }
                    }
                    None => e.lock().unwrap().push(v),
                }
            }
        });
        let mut browser = Browser {
            child,
            _profile: profile,
            outgoing,
            pending,
            events,
            next_id: 1,
            session: String::new(),
        };
        let target = browser
            .call("Target.createTarget", json!({"url": "about:blank"}))
            .await?;
        let target_id = target["targetId"].as_str().context("targetId")?.to_string();
        let attached = browser
            .call(
                "Target.attachToTarget",
                json!({"targetId": target_id, "flatten": true}),
            )
            .await?;
        browser.session = attached["sessionId"]
            .as_str()
            .context("sessionId")?
            .to_string();
        for domain in ["Runtime.enable", "Log.enable", "Page.enable"] {
            browser.call(domain, json!({})).await?;
        }
        Ok(browser)
    }

    /// Sends a command (to the page once attached) and waits for its result.
    async fn call(&mut self, method: &str, params: Value) -> Result<Value> {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({"id": id, "method": method, "params": params});
        if !self.session.is_empty() {
            msg["sessionId"] = json!(self.session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.outgoing
            .send(Message::text(msg.to_string()))
            .map_err(|_| anyhow!("DevTools connection closed"))?;
        let reply = tokio::time::timeout(WAIT, rx)
            .await
            .with_context(|| format!("{method} timed out"))??;
        if let Some(err) = reply.get("error") {
            bail!("{method} failed: {err}");
        }
        Ok(reply["result"].clone())
    }

    /// Evaluates a JavaScript expression in the page and returns its JSON value.
    async fn eval(&mut self, expression: &str) -> Result<Value> {
        let r = self
            .call(
                "Runtime.evaluate",
                json!({"expression": expression, "returnByValue": true, "awaitPromise": true}),
            )
            .await?;
        if let Some(ex) = r.get("exceptionDetails") {
            bail!("`{expression}` threw: {ex}");
        }
        Ok(r["result"]["value"].clone())
    }

    /// Polls `expression` until `accept` holds for its value.
    async fn wait_for(
        &mut self,
        what: &str,
        expression: &str,
        accept: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let v = self.eval(expression).await?;
            if accept(&v) {
                return Ok(v);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}; last value: {v}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Console errors, uncaught exceptions and failed loads seen so far.
    fn errors(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| match e["method"].as_str() {
                Some("Runtime.exceptionThrown") => true,
                Some("Runtime.consoleAPICalled") => e["params"]["type"] == "error",
                Some("Log.entryAdded") => e["params"]["entry"]["level"] == "error",
                _ => false,
            })
            .map(|e| e["params"].to_string())
            .collect()
    }

    async fn screenshot(&mut self, path: &Path) -> Result<()> {
        use base64::Engine as _;
        let shot = self
            .call("Page.captureScreenshot", json!({"format": "png"}))
            .await?;
        let data = shot["data"].as_str().context("screenshot data")?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
        std::fs::write(path, bytes)?;
        Ok(())
    }
}

/// The page's own summary of its panels (see `window.sightline` in app.js).
const PANELS: &str = "JSON.parse(JSON.stringify(sightline.panels()))";

fn panel<'a>(panels: &'a Value, title_part: &str) -> Option<&'a Value> {
    panels
        .as_array()?
        .iter()
        .find(|p| p["title"].as_str().is_some_and(|t| t.contains(title_part)))
}

fn field(panels: &Value, title_part: &str, key: &str) -> u64 {
    panel(panels, title_part)
        .and_then(|p| p[key].as_u64())
        .unwrap_or(0)
}

/// A hash of the pixels of the first panel's canvas, to see the plot change.
const CANVAS_PIXELS: &str = "(() => { const c = document.querySelector('.panel canvas'); \
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; \
    let h = 0; for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) | 0; return h; })()";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_shows_the_demo_live_and_survives_a_restart() -> Result<()> {
    let mut browser = Browser::launch().await?;
    let dir = tempfile::tempdir()?;
    let mut server = start(dir.path(), &["--demo", "--drain-secs", "1"]);
    let listen = server
        .url
        .strip_prefix("http://")
        .context("server URL")?
        .to_string();

    browser
        .call("Page.navigate", json!({"url": format!("{}/", server.url)}))
        .await?;
    // The channel picker lists the demo's channels, found through channel search.
    let channels = browser
        .wait_for(
            "the demo channels in the picker",
            "[...document.querySelectorAll('#channels li')].map(li => li.dataset.channel)",
            |v| {
                let names: Vec<&str> = v
                    .as_array()
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                [
                    "chamber.pressure",
                    "chamber.temperature",
                    "valve.state",
                    "events",
                ]
                .iter()
                .all(|c| names.contains(c))
            },
        )
        .await?;
    // The default dashboard of the demo: a grouped line plot, shaded ranges, an enum strip
    // and a log tail, each receiving appends.
    let panels = browser
        .wait_for("live panels", PANELS, |p| {
            field(p, "chamber.pressure by stand", "appends") >= 2
                && field(p, "> 62", "fulls") >= 1
                && field(p, "valve.state", "points") >= 1
                && field(p, "events", "points") >= 1
        })
        .await?;
    let pressure = panel(&panels, "chamber.pressure by stand").context("pressure panel")?;
    ensure!(pressure["groups"] == 2, "one line per stand: {pressure}");
    ensure!(pressure["error"] == "", "{pressure}");
    ensure!(
        pressure["unit"] == "bar",
        "the unit goes on the axis: {pressure}"
    );
    // Ranges are shaded: the threshold panel holds ranges and has drawn them.
    let panels = browser
        .wait_for("shaded ranges", PANELS, |p| {
            panel(p, "> 62").is_some_and(|r| {
                r["kinds"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "range"))
                    && r["points"].as_u64().unwrap_or(0) >= 1
                    && r["draws"].as_u64().unwrap_or(0) >= 1
            })
        })
        .await?;
    // The plot changes as data arrives.
    let before = browser.eval(CANVAS_PIXELS).await?;
    let appends = field(&panels, "chamber.pressure by stand", "appends");
    browser
        .wait_for("new appends and a redrawn plot", PANELS, |p| {
            field(p, "chamber.pressure by stand", "appends") > appends + 2
        })
        .await?;
    let after = browser.eval(CANVAS_PIXELS).await?;
    ensure!(before != after, "the pressure plot did not change");
    let errors = browser.errors();
    ensure!(errors.is_empty(), "console errors: {errors:#?}");
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_page.png");
    browser.screenshot(&shot).await?;
    println!("screenshot: {} (channels: {channels})", shot.display());

    // Kill the server; the page notices, then reconnects to the restarted one by itself.
    let connects = browser.eval("sightline.connects()").await?;
    server.child.kill()?;
    server.child.wait()?;
    browser
        .wait_for("the page to notice", "sightline.status()", |s| s != "live")
        .await?;
    let _server = start_on(&listen, dir.path(), &["--demo", "--drain-secs", "1"]);
    browser
        .wait_for("a reconnect", "sightline.connects()", |c| {
            c.as_u64() > connects.as_u64()
        })
        .await?;
    browser
        .wait_for("live again", "sightline.status()", |s| s == "live")
        .await?;
    let panels = browser.eval(PANELS).await?;
    let fulls = field(&panels, "chamber.pressure by stand", "fulls");
    let appends = field(&panels, "chamber.pressure by stand", "appends");
    browser
        .wait_for("updates after the restart", PANELS, |p| {
            field(p, "chamber.pressure by stand", "fulls") >= fulls
                && field(p, "chamber.pressure by stand", "appends") > appends + 2
        })
        .await?;
    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("web_page_after_restart.png");
    browser.screenshot(&shot).await?;
    Ok(())
}
