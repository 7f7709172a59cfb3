//! Starting the server under test and reading its CPU time.

use anyhow::Context as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server under test: one process, or the nodes of a cluster someone else runs.
pub(crate) struct Server {
    /// First (or only) URL: every phase but ingest talks to it.
    pub(crate) url: String,
    /// Every node's URL; ingest writers take turns over them.
    pub(crate) urls: Vec<String>,
    /// Server processes whose CPU time is summed; empty when unknown.
    pub(crate) pids: Vec<u32>,
    /// Helper processes (NATS) whose CPU time is reported apart.
    pub(crate) service_pids: Vec<u32>,
    child: Option<Child>,
}

impl Server {
    /// Servers someone else runs; CPU figures only for the `pids` given.
    pub(crate) fn external(urls: Vec<String>, pids: Vec<u32>, service_pids: Vec<u32>) -> Self {
        Server {
            url: urls.first().cloned().unwrap_or_default(),
            urls,
            pids,
            service_pids,
            child: None,
        }
    }

    /// Starts `binary serve --listen 127.0.0.1:0` on `data_dir` and waits for its URL line.
    pub(crate) async fn start(
        binary: &Path,
        data_dir: &Path,
        extra: &[String],
    ) -> anyhow::Result<Self> {
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let url = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = lines.next_line().await? {
                if let Some(url) = line.strip_prefix("Sightline listening on ") {
                    return Ok::<_, anyhow::Error>(url.trim().to_string());
                }
            }
            anyhow::bail!("server exited before it listened")
        })
        .await
        .context("server did not start within 30 s")??;
        // Keep draining stdout so the server never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Server {
            urls: vec![url.clone()],
            url,
            pids: child.id().into_iter().collect(),
            service_pids: Vec::new(),
            child: Some(child),
        })
    }

    /// User + system CPU seconds the server processes have used, if known (Linux).
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        cpu_of(&self.pids)
    }

    /// CPU seconds of the helper services, if any were named.
    pub(crate) fn service_cpu_seconds(&self) -> Option<f64> {
        cpu_of(&self.service_pids)
    }

    /// SIGTERM, then wait up to `grace`.
    pub(crate) async fn stop(mut self, grace: Duration) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id() {
                let _ = std::process::Command::new("kill")
                    .arg(pid.to_string())
                    .status();
            }
            if tokio::time::timeout(grace, child.wait()).await.is_err() {
                let _ = child.kill().await;
            }
        }
    }
}

/// Summed CPU seconds of `pids`; `None` when the list is empty or one is unreadable.
fn cpu_of(pids: &[u32]) -> Option<f64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&pid| process_cpu_seconds(pid)).sum()
}

/// User + system CPU seconds of one process, from `/proc/<pid>/stat`.
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_second())
}

/// `sysconf(_SC_CLK_TCK)` is 100 on every Linux this runs on; reading it needs libc.
fn clock_ticks_per_second() -> f64 {
    100.0
}
