//! The polling side of the wall: the same panels refreshed through single
//! `POST /compute/v2/compute` requests over `[now − window, now]`, every `minDelay`, by C
//! pollers (one per dashboard, one request at a time, like a dashboard's refresh loop).
//! A round that takes longer than `minDelay` starts the next at once: what a saturated
//! server can deliver is reported against what was wanted.

use super::observe::{newest_boundary_full, newest_full, Boundaries, Received};
use super::panels::Panel;
use super::writes::wall_nanos;
use serde_json::json;
use sightline_wire::scout_compute::ComputeNodeResponse;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one poller saw.
#[derive(Debug, Default)]
pub(crate) struct PollerReport {
    /// Every result received.
    pub(crate) received: Vec<Received>,
    /// Answers that did not parse as an upstream `ComputeNodeResponse`.
    pub(crate) parse_failures: u64,
    /// Requests that failed or got a non-2xx answer.
    pub(crate) errors: u64,
    /// The first failure, to show the user.
    pub(crate) first_error: Option<String>,
}

fn ts(nanos: i64) -> serde_json::Value {
    json!({"seconds": nanos.div_euclid(1_000_000_000), "nanos": nanos.rem_euclid(1_000_000_000)})
}

/// Refreshes `indices` every `min_delay` until `until`.
pub(crate) async fn run_poller(
    client: reqwest::Client,
    url: String,
    panels: Arc<Vec<Panel>>,
    indices: Vec<u32>,
    window_secs: u64,
    min_delay: Duration,
    until: Instant,
) -> PollerReport {
    let mut report = PollerReport::default();
    let window = window_secs as i64 * 1_000_000_000;
    // This poller's panels, refreshed in order: a new boundary is a change since the last.
    let mut boundaries = Boundaries::default();
    while Instant::now() < until {
        let round = Instant::now();
        for &panel in &indices {
            if Instant::now() >= until {
                break;
            }
            let end = wall_nanos();
            let body = json!({"node": panels[panel as usize].node, "start": ts(end - window),
                "end": ts(end), "context": {}})
            .to_string();
            let answer = match client
                .post(&url)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
            {
                Ok(response) if response.status().is_success() => response.bytes().await,
                Ok(response) => {
                    report.errors += 1;
                    report
                        .first_error
                        .get_or_insert_with(|| format!("compute answered {}", response.status()));
                    continue;
                }
                Err(e) => Err(e),
            };
            let at = wall_nanos();
            let bytes = match answer {
                Ok(b) => b,
                Err(e) => {
                    report.errors += 1;
                    report
                        .first_error
                        .get_or_insert_with(|| format!("compute: {e}"));
                    continue;
                }
            };
            match serde_json::from_slice::<ComputeNodeResponse>(&bytes) {
                Ok(ComputeNodeResponse::Unknown(_)) | Err(_) => report.parse_failures += 1,
                Ok(result) => report.received.push(Received {
                    panel,
                    at,
                    newest: newest_full(&result, Some(end)),
                    revealed: boundaries.reveal(panel, newest_boundary_full(&result)),
                }),
            }
        }
        let next = (round + min_delay).min(until);
        if next > Instant::now() {
            tokio::time::sleep_until(next.into()).await;
        }
    }
    report
}
