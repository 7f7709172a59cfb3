//! `sightline token` through the real binary, a server reading the same data directory,
//! and the startup refusal on a non-loopback address without tokens.
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn sightline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(args)
        .output()
        .expect("run sightline")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Polls `check` for up to five seconds.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn tokens_are_created_listed_and_revoked_and_a_running_server_follows() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let created = sightline(&[
        "token",
        "create",
        "--data-dir",
        data,
        "--name",
        "stand-a",
        "--read",
        "*",
        "--write",
        "ri.nominal.main.dataset.*",
        "--expires",
        "30d",
    ]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    let token = text(&created.stdout).trim().to_string();
    assert!(token.starts_with("sl_"), "printed token: {token}");
    assert!(text(&created.stderr).contains("only time it is shown"));

    // The file keeps a hash only; the listing shows grants and times, never the secret.
    let stored = std::fs::read_to_string(dir.path().join("tokens.json")).unwrap();
    assert!(!stored.contains(&token), "token stored in clear");
    let listed = sightline(&["token", "list", "--data-dir", data]);
    let listing = text(&listed.stdout);
    assert!(listed.status.success());
    assert!(listing.contains("stand-a") && listing.contains("ri.nominal.main.dataset.*"));
    assert!(
        listing.contains("(in 29 days)") || listing.contains("(in 30 days)"),
        "{listing}"
    );
    assert!(!listing.contains(&token), "listing shows the secret");

    // A duplicate name and a grant-less token are refused with a message.
    let again = sightline(&[
        "token",
        "create",
        "--data-dir",
        data,
        "--name",
        "stand-a",
        "--read",
        "*",
    ]);
    assert!(!again.status.success() && text(&again.stderr).contains("already exists"));
    let empty = sightline(&["token", "create", "--data-dir", data, "--name", "x"]);
    assert!(!empty.status.success() && text(&empty.stderr).contains("--read or --write"));

    // A server on this data directory requires the token.
    let server = common::start(dir.path(), &[]);
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let write = |token: Option<&str>| {
        let body = serde_json::json!({"dataSourceRid": "ri.nominal.main.dataset.cli", "batches": [
            {"channel": "c", "timestamps": [{"seconds": 1_767_225_600, "nanos": 0}],
             "values": {"type": "doubles", "doubles": [1.0]}}]});
        let request = client
            .post(format!("{}/storage/writer/v1/columnar", server.url))
            .json(&body);
        let request = match token {
            Some(t) => request.bearer_auth(t),
            None => request,
        };
        request.send().unwrap().status().as_u16()
    };
    assert_eq!(write(None), 401);
    assert_eq!(write(Some(&token)), 204);
    let health = client.get(format!("{}/health", server.url)).send().unwrap();
    assert_eq!(health.status().as_u16(), 200);

    let revoked = sightline(&["token", "revoke", "--data-dir", data, "stand-a"]);
    assert!(revoked.status.success(), "{}", text(&revoked.stderr));
    eventually("the revoked token to be refused", || {
        write(Some(&token)) == 401
    });
    let listed = sightline(&["token", "list", "--data-dir", data]);
    assert!(!text(&listed.stdout).contains("stand-a"));
    let missing = sightline(&["token", "revoke", "--data-dir", data, "stand-a"]);
    assert!(!missing.status.success() && text(&missing.stderr).contains("no token is named"));
}

#[test]
fn a_non_loopback_address_without_tokens_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--listen", "0.0.0.0:0", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success(), "started without tokens on 0.0.0.0");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refusing to listen") && stderr.contains("--insecure-no-auth"),
        "{stderr}"
    );
    assert!(!text(&out.stdout).contains("Sightline listening"));
}

#[test]
fn loopback_without_tokens_runs_with_auth_off_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sightline"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::BufRead as _;
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The auth line is among the first start-up lines (after the data directory's).
    let auth = lines
        .by_ref()
        .take(5)
        .map_while(Result::ok)
        .find(|l| l.starts_with("Auth:"))
        .unwrap_or_default();
    let _ = child.kill();
    let _ = child.wait();
    assert!(auth.starts_with("Auth: off"), "auth start-up line: {auth}");
}
