//! Starting the real `sightline` binary for tests.
#![allow(dead_code, unreachable_pub)]

pub mod batches;
pub mod bench;
pub mod http;
pub mod nats;
pub mod ws;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `sightline serve` child process.
pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// SIGTERM, then waits for the exit (SIGKILL after 30 s); the exit status, if any.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        self.wait_exit(std::time::Duration::from_secs(30))
    }

    /// Waits up to `limit` for the process to exit (SIGKILL past it); its exit status, if it
    /// exited by itself.
    pub fn wait_exit(&mut self, limit: std::time::Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sightline serve` on a free port over `data_dir` and waits for its URL line.
pub fn start(data_dir: &Path, extra: &[&str]) -> Server {
    start_on("127.0.0.1:0", data_dir, extra)
}

/// Starts `sightline serve` on `listen` (e.g. the port of a server that was killed, to
/// restart it where its clients reconnect) and waits for its URL line.
pub fn start_on(listen: &str, data_dir: &Path, extra: &[&str]) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--listen", listen])
        .args(extra)
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        // SIGHTLINE_TEST_LOGS=1 shows the servers' logs when a test needs explaining;
        // otherwise the last lines are kept to explain a server that exits at start.
        .stderr(if std::env::var_os("SIGHTLINE_TEST_LOGS").is_some() {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .spawn()
        .expect("start sightline");
    let log_tail = child.stderr.take().map(|stderr| {
        std::thread::spawn(move || {
            let mut tail = std::collections::VecDeque::new();
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tail.len() == 40 {
                    tail.pop_front();
                }
                tail.push_back(line);
            }
            Vec::from(tail).join("\n")
        })
    });
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let Some(line) = lines.next() else {
            let status = child.wait();
            let logs = log_tail
                .and_then(|t| t.join().ok())
                .unwrap_or_else(|| "(shown above: SIGHTLINE_TEST_LOGS is set)".to_string());
            panic!("server exited before listening ({status:?}); its last log lines:\n{logs}");
        };
        if let Some(url) = line
            .expect("read line")
            .strip_prefix("Sightline listening on ")
        {
            break url.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    Server { child, url }
}
