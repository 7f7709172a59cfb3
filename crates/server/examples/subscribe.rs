//! Subscribes to the demo's chamber pressure and prints each update as it arrives.
//!
//! ```text
//! cargo run -p sightline-server --example subscribe -- ws://127.0.0.1:8080/persistent-compute/ws
//! ```

use futures::{SinkExt, StreamExt};
use sightline_wire::persistent_compute::{
    ComputeNodeAppendResponse, ServerMessage, SubscriptionUpdate,
};
use sightline_wire::scout_compute::ComputeNodeResponse;
use tokio_tungstenite::tungstenite::Message;

const SUBSCRIBE: &str = r#"{
  "type": "subscribe",
  "subscribe": {
    "6f1c2b7a-3d4e-4f50-8a61-7b8c9d0e1f23": {
      "computeRequest": {
        "node": {"type": "series", "series": {
          "buckets": 1000,
          "input": {"type": "numeric", "numeric": {"type": "channel", "channel": {
            "type": "dataSource", "dataSource": {
              "dataSourceRid": {"type": "literal", "literal": "ri.sightline.demo.dataset.test-stand"},
              "channel": {"type": "literal", "literal": "chamber.pressure"},
              "tags": {"stand": {"type": "literal", "literal": "A"}}
            }}}}
        }},
        "windowWidth": {"seconds": 10, "nanos": 0},
        "context": {}
      },
      "subscriptionOptions": {"minDelay": 250, "allowAppends": true}
    }
  }
}"#;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "ws://127.0.0.1:8080/persistent-compute/ws".to_string());
    let (mut socket, _) = tokio_tungstenite::connect_async(url.as_str()).await?;
    socket.send(Message::Text(SUBSCRIBE.into())).await?;
    let mut updates = 0;
    while let Some(frame) = socket.next().await {
        let Message::Text(text) = frame? else {
            continue;
        };
        let message: ServerMessage = sightline_wire::from_json(&text)?;
        match message {
            ServerMessage::SubscriptionCreation(c) => println!("created: {:?}", c.creation),
            ServerMessage::SubscriptionUpdate(u) => {
                updates += 1;
                match u.update {
                    SubscriptionUpdate::Full(full) => println!("full: {}", describe(&full.result)),
                    SubscriptionUpdate::Append(a) => println!(
                        "append [{}.{:09} .. {}.{:09}]: {}",
                        a.start.seconds.0,
                        a.start.nanos.0,
                        a.end.seconds.0,
                        a.end.nanos.0,
                        describe_append(&a.result)
                    ),
                    SubscriptionUpdate::Error(e) => println!("error: {:?}", e.serializable_error),
                    SubscriptionUpdate::Unknown(u) => println!("unknown update {}", u.type_name),
                }
                if updates >= 20 {
                    break;
                }
            }
            ServerMessage::Health(h) => println!("health: {}", h.variant_name()),
            ServerMessage::Unknown(u) => println!("unknown message {}", u.type_name),
        }
    }
    Ok(())
}

fn describe_append(result: &ComputeNodeAppendResponse) -> String {
    match result {
        ComputeNodeAppendResponse::Numeric(plot) => format!("{} raw points", plot.values.len()),
        ComputeNodeAppendResponse::BucketedNumeric(plot) => {
            format!("{} buckets", plot.buckets.len())
        }
        other => format!("a `{}` append", other.variant_name()),
    }
}

fn describe(result: &ComputeNodeResponse) -> String {
    match result {
        ComputeNodeResponse::Numeric(plot) => format!("{} raw points", plot.values.len()),
        ComputeNodeResponse::BucketedNumeric(plot) => format!("{} buckets", plot.buckets.len()),
        other => format!("a `{}` result", other.variant_name()),
    }
}
