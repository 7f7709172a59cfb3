//! Running `sightline bench` from a test: the report it prints, and whether it succeeded,
//! with a hang (not a slow run) failing the test.

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far above the seconds a tiny run takes, so only a hang fails on time.
const HANG: Duration = Duration::from_secs(180);

/// Runs `sightline bench ARGS...`; whether it exited successfully, and its stdout.
pub fn run_bench(args: &[&str]) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .arg("bench")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start sightline bench");
    let mut stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > HANG {
            let _ = child.kill();
            let _ = child.wait();
            panic!("sightline bench did not finish within {HANG:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    (status.success(), reader.join().expect("stdout reader"))
}
