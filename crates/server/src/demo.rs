//! The built-in live demo: a simulated engine test stand writing through the same HTTP
//! ingest path as any client (the request goes through the router in-process).
//!
//! Two tagged stands (`stand=A`, `stand=B`), each with a 1 kHz chamber pressure in bar, a
//! 100 Hz temperature in °C, an enum valve state, and one log channel of test events.

use crate::app::App;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use sightline_wire::storage_writer::{
    DoublePoint, LogPoint, LogValue, PointsExternal, RecordsBatchExternal, StringPoint,
    WriteBatchesRequestExternal, WriteLogsRequest,
};
use sightline_wire::time::{nanos_to_timestamp, NANOS_PER_SECOND};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt as _;

/// Dataset the demo writes to.
pub const DEMO_DATASET: &str = "ri.sightline.demo.dataset.test-stand";
/// How often the demo writes a batch.
const TICK: Duration = Duration::from_millis(50);

/// Runs the demo until the task is dropped.
pub async fn run(app: Arc<App>) {
    let router = crate::http::router(app.clone());
    let mut ticker = tokio::time::interval(TICK);
    let mut last = app.clock.now_nanos();
    let mut valve_open = [false, false];
    // The first tick writes every channel, so all of them are listed at once.
    let mut first = true;
    loop {
        ticker.tick().await;
        let now = app.clock.now_nanos();
        if now <= last {
            continue;
        }
        let mut batches = Vec::new();
        for (i, stand) in ["A", "B"].into_iter().enumerate() {
            let tags = BTreeMap::from([("stand".to_string(), stand.to_string())]);
            let phase = i as f64 * 0.7;
            batches.push(sampled(
                ("chamber.pressure", "bar"),
                &tags,
                last,
                now,
                NANOS_PER_SECOND / 1000,
                |t| 60.0 + 8.0 * (t * 0.5 + phase).sin() + 0.4 * (t * 37.0).sin(),
            ));
            batches.push(sampled(
                ("chamber.temperature", "°C"),
                &tags,
                last,
                now,
                NANOS_PER_SECOND / 100,
                |t| 450.0 + 25.0 * (t * 0.05 + phase).sin(),
            ));
            let open = ((now / NANOS_PER_SECOND) as usize + i * 3) % 10 < 6;
            // Written on each change and once a second, so every window shows the state.
            if first || open != valve_open[i] || now / NANOS_PER_SECOND != last / NANOS_PER_SECOND {
                valve_open[i] = open;
                let state = if open { "OPEN" } else { "CLOSED" };
                batches.push(RecordsBatchExternal {
                    channel: "valve.state".to_string(),
                    tags: tags.clone(),
                    points: PointsExternal::String(vec![StringPoint {
                        timestamp: nanos_to_timestamp(now),
                        value: state.to_string(),
                    }]),
                    unit: None,
                });
            }
        }
        let request = WriteBatchesRequestExternal {
            batches,
            data_source_rid: DEMO_DATASET.to_string(),
            asynchronous_insert: None,
            session_name: None,
        };
        post(&router, "/storage/writer/v1", &request).await;
        if first || now / NANOS_PER_SECOND != last / NANOS_PER_SECOND {
            let logs = WriteLogsRequest {
                logs: vec![LogPoint {
                    timestamp: nanos_to_timestamp(now),
                    value: LogValue {
                        message: format!(
                            "stand heartbeat, valve A {}",
                            if valve_open[0] { "open" } else { "closed" }
                        ),
                        args: BTreeMap::from([("stand".to_string(), "A".to_string())]),
                    },
                }],
                channel: Some("events".to_string()),
            };
            post(
                &router,
                &format!("/storage/writer/v1/logs/{DEMO_DATASET}"),
                &logs,
            )
            .await;
        }
        last = now;
        first = false;
    }
}

/// Points of one (channel, unit) on the period grid in `(from, to]`.
fn sampled(
    (channel, unit): (&str, &str),
    tags: &BTreeMap<String, String>,
    from: i64,
    to: i64,
    period: i64,
    f: impl Fn(f64) -> f64,
) -> RecordsBatchExternal {
    let first = (from / period + 1) * period;
    let points = (0..)
        .map(|i| first + i * period)
        .take_while(|t| *t <= to)
        .map(|t| DoublePoint {
            timestamp: nanos_to_timestamp(t),
            value: f(t as f64 / NANOS_PER_SECOND as f64),
        })
        .collect();
    RecordsBatchExternal {
        channel: channel.to_string(),
        tags: tags.clone(),
        points: PointsExternal::Double(points),
        unit: Some(unit.to_string()),
    }
}

async fn post<T: serde::Serialize>(router: &axum::Router, path: &str, body: &T) {
    let Ok(json) = serde_json::to_vec(body) else {
        return;
    };
    let request = Request::builder()
        .method(Method::POST)
        .uri(path)
        .header("content-type", "application/json")
        .body(Body::from(json));
    let Ok(request) = request else { return };
    match router.clone().oneshot(request).await {
        Ok(response) if response.status() == StatusCode::NO_CONTENT => {}
        Ok(response) => tracing::warn!(status = %response.status(), path, "demo write refused"),
        Err(never) => match never {},
    }
}
