//! Subscribes to stand A's chamber pressure on the demo and prints the merged window after
//! each update: point count, last value with its unit, and the window's min and max.
//!
//! ```text
//! cargo run --release -p sightline -- serve --demo      # in one terminal
//! cargo run -p sightline-client --example live_pressure  # in another
//! cargo run -p sightline-client --example live_pressure -- ws://other:8080/persistent-compute/ws
//! ```

use sightline_client::{Event, Plot, Request};
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let urls: Vec<String> = std::env::args().skip(1).collect();
    let urls = if urls.is_empty() {
        vec!["ws://127.0.0.1:8080/persistent-compute/ws".to_string()]
    } else {
        urls
    };
    let token = std::env::var("SIGHTLINE_TOKEN").ok();
    let compiled = sightline_expr::compile(
        "chamber.pressure{stand=A}",
        Some("ri.sightline.demo.dataset.test-stand"),
        &sightline_expr::NoCatalog,
    )?;
    let session = sightline_client::connect(urls, token).await?;
    let request =
        Request::new(compiled.node, Duration::from_secs(10)).min_delay(Duration::from_millis(250));
    let mut sub = session.subscribe(request)?;
    let mut updates = 0;
    while let Some(event) = sub.next().await {
        match event? {
            Event::Created { unit } => {
                println!("subscribed (unit: {})", unit.as_deref().unwrap_or("none"))
            }
            Event::Connection(c) => println!("connection: {c:?}"),
            Event::ServerError(e) => {
                println!("server error: {} {}", e.name, e.message.unwrap_or_default())
            }
            Event::Full | Event::Append => {
                updates += 1;
                let Some(state) = sub.state() else { continue };
                println!("{}", describe(&state.plot, sub.unit().unwrap_or("")));
                if updates >= 20 {
                    break;
                }
            }
        }
    }
    Ok(())
}

fn describe(plot: &Plot, unit: &str) -> String {
    match plot {
        Plot::Numeric(points) => {
            let (min, max) = points
                .iter()
                .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, v)| {
                    (lo.min(*v), hi.max(*v))
                });
            match points.last() {
                Some((_, v)) => format!(
                    "{} points, last {v:.3} {unit}, min {min:.3}, max {max:.3}",
                    points.len()
                ),
                None => "no points yet".to_string(),
            }
        }
        Plot::BucketedNumeric(buckets) => match buckets.values().last() {
            Some(b) => format!(
                "{} buckets, last mean {:.3} {unit}",
                buckets.len(),
                b.mean.unwrap_or(f64::NAN)
            ),
            None => "no buckets yet".to_string(),
        },
        other => format!("{} ({} items)", other.kind(), other.len()),
    }
}
