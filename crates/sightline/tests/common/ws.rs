//! A minimal live subscriber for binary tests, built on the client crate (one merge model
//! in the workspace): subscribes to one channel's live window and reports the first value
//! its merged state holds.

use sightline_client::{Event, Plot, Request};
use std::time::Duration;

/// Subscribes on `url` to `channel` of `dataset` (a 60 s live window), runs `trigger` once
/// the subscription is created, and returns the first value the merged window holds, or
/// `None` if none arrived within `timeout`.
pub fn first_update_with_point(
    url: &str,
    dataset: &str,
    channel: &str,
    timeout: Duration,
    trigger: impl FnOnce() + Send,
) -> Option<f64> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let ws_url = format!("{}/persistent-compute/ws", url.replacen("http", "ws", 1));
    let node = serde_json::json!({"type": "series", "series": {"buckets": 1000, "input": {"type": "numeric",
        "numeric": {"type": "channel", "channel": {"type": "dataSource", "dataSource": {
            "dataSourceRid": {"type": "literal", "literal": dataset},
            "channel": {"type": "literal", "literal": channel}}}}}}});
    let node = sightline_wire::from_json(&node.to_string()).expect("graph");
    let request = Request::new(node, Duration::from_secs(60)).min_delay(Duration::from_millis(50));
    let mut trigger = Some(trigger);
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + timeout;
        let session = tokio::time::timeout_at(deadline, sightline_client::connect([ws_url], None))
            .await
            .ok()?
            .expect("connect");
        let mut sub = session.subscribe(request).expect("subscribe");
        loop {
            let event = tokio::time::timeout_at(deadline, sub.next()).await.ok()??;
            match event {
                Ok(Event::Created { .. }) => {
                    if let Some(trigger) = trigger.take() {
                        // Blocking HTTP clients may not run on the runtime's thread.
                        std::thread::scope(|s| s.spawn(trigger).join()).expect("trigger");
                    }
                }
                Ok(Event::Full | Event::Append) => {
                    if let Some(v) = sub.state().and_then(|s| first_value(&s.plot)) {
                        return Some(v);
                    }
                }
                Ok(_) | Err(_) => {}
            }
        }
    })
}

fn first_value(plot: &Plot) -> Option<f64> {
    match plot {
        Plot::Numeric(points) => points.first().map(|(_, v)| *v),
        Plot::BucketedNumeric(buckets) => buckets
            .values()
            .find_map(|b| b.first_point.as_ref().map(|p| p.value)),
        _ => None,
    }
}
