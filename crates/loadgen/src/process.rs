//! Starting the server under test and reading its CPU time.

use anyhow::Context as _;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// The server under test.
pub(crate) struct Server {
    pub(crate) url: String,
    pub(crate) pid: Option<u32>,
    child: Option<Child>,
}

impl Server {
    /// A server someone else runs; CPU figures are unavailable.
    pub(crate) fn external(url: String) -> Self {
        Server {
            url,
            pid: None,
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
            url,
            pid: child.id(),
            child: Some(child),
        })
    }

    /// User + system CPU seconds the server process has used, if it is ours (Linux).
    pub(crate) fn cpu_seconds(&self) -> Option<f64> {
        let pid = self.pid?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the parenthesised command name; utime and stime are 14th and 15th.
        let rest = stat.rsplit_once(')')?.1;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let utime: f64 = fields.get(11)?.parse().ok()?;
        let stime: f64 = fields.get(12)?.parse().ok()?;
        Some((utime + stime) / clock_ticks_per_second())
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

/// `sysconf(_SC_CLK_TCK)` is 100 on every Linux this runs on; reading it needs libc.
fn clock_ticks_per_second() -> f64 {
    100.0
}
