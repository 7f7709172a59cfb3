//! A minimal WebSocket subscriber for binary tests: subscribes to one channel's live window
//! and reports the first value it sees.

use futures::{SinkExt as _, StreamExt as _};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// Subscribes on `url` to `channel` of `dataset` (a 60 s live window), runs `trigger` once
/// the subscription is created, and returns the first value any update carries, or `None`
/// if none arrived within `timeout`.
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
    let (mut socket, _) = runtime
        .block_on(tokio_tungstenite::connect_async(ws_url))
        .expect("connect");
    let subscribe = serde_json::json!({"type": "subscribe", "subscribe": {
        "00000000-0000-4000-8000-000000000001": {
            "computeRequest": {"context": {}, "windowWidth": {"seconds": 60, "nanos": 0},
                "node": {"type": "series", "series": {"buckets": 1000, "input": {"type": "numeric",
                    "numeric": {"type": "channel", "channel": {"type": "dataSource", "dataSource": {
                        "dataSourceRid": {"type": "literal", "literal": dataset},
                        "channel": {"type": "literal", "literal": channel}}}}}}}},
            "subscriptionOptions": {"allowAppends": true, "minDelay": 50}}}});
    runtime
        .block_on(socket.send(Message::text(subscribe.to_string())))
        .expect("subscribe");
    let mut trigger = Some(trigger);
    runtime.block_on(async {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let frame = tokio::time::timeout_at(deadline, socket.next())
                .await
                .ok()??;
            let Ok(Message::Text(text)) = frame else {
                continue;
            };
            let message: serde_json::Value = serde_json::from_str(&text).ok()?;
            if message["type"] == "subscriptionCreation" {
                if let Some(trigger) = trigger.take() {
                    // Blocking HTTP clients may not run on the runtime's thread.
                    std::thread::scope(|s| s.spawn(trigger).join()).expect("trigger");
                }
            }
            if message["type"] == "subscriptionUpdate" {
                if let Some(v) = first_value(&message) {
                    return Some(v);
                }
            }
        }
    })
}

fn first_value(v: &serde_json::Value) -> Option<f64> {
    match v {
        serde_json::Value::Object(map) => {
            if let Some(values) = map.get("values").and_then(|v| v.as_array()) {
                if let Some(f) = values.iter().find_map(|x| x.as_f64()) {
                    return Some(f);
                }
            }
            map.values().find_map(first_value)
        }
        serde_json::Value::Array(items) => items.iter().find_map(first_value),
        _ => None,
    }
}
