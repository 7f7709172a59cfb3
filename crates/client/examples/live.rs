//! Subscribes to an expression over the demo's test stand (by default stand A's chamber
//! pressure over 10 s) and prints the merged window after each update: point or bucket
//! count, the last value with its unit, and the window's min and max.
//!
//! ```text
//! cargo run --release -p sightline -- serve --demo            # in one terminal
//! cargo run -p sightline-client --example live                 # in another
//! cargo run -p sightline-client --example live -- 'derivative(chamber.pressure{stand=B})'
//! cargo run -p sightline-client --example live -- 'chamber.pressure{stand=A}' \
//!     ws://host-a:8080/persistent-compute/ws ws://host-b:8080/persistent-compute/ws
//! SIGHTLINE_CA_CERT=cert.pem cargo run -p sightline-client --example live -- \
//!     'chamber.pressure{stand=A}' wss://localhost:8443/persistent-compute/ws
//! ```
//!
//! Set `SIGHTLINE_TOKEN` when the server requires tokens, and `SIGHTLINE_CA_CERT` to a PEM
//! file to trust a `wss://` server's self-signed certificate. Ctrl-C stops it.

use sightline_client::{Event, Options, Plot, Request};
use std::time::Duration;

const DEMO: &str = "ri.sightline.demo.dataset.test-stand";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let expression = args
        .next()
        .unwrap_or_else(|| "chamber.pressure{stand=A}".to_string());
    let mut urls: Vec<String> = args.collect();
    if urls.is_empty() {
        urls.push("ws://127.0.0.1:8080/persistent-compute/ws".to_string());
    }
    let mut options = Options::new(urls, std::env::var("SIGHTLINE_TOKEN").ok());
    options.ca_cert = std::env::var_os("SIGHTLINE_CA_CERT").map(Into::into);

    // The expression language compiles to the upstream graph JSON; `@file.json` graphs
    // work too (see `sightline watch`).
    let compiled = sightline_expr::compile(&expression, Some(DEMO), &sightline_expr::NoCatalog)
        .map_err(|e| anyhow::anyhow!("{e}\n{}", e.caret(&expression)))?;
    let session = sightline_client::connect_with(options).await?;
    let request =
        Request::new(compiled.node, Duration::from_secs(10)).min_delay(Duration::from_millis(250));
    let mut sub = session.subscribe(request)?;
    loop {
        let event = tokio::select! {
            event = sub.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(event) = event else { break };
        match event? {
            Event::Created { unit } => {
                println!("subscribed (unit: {})", unit.as_deref().unwrap_or("none"))
            }
            Event::Connection(change) => println!("connection: {change:?}"),
            Event::ServerError(e) => println!("server error: {} {:?}", e.name, e.message),
            Event::Full | Event::Append => {
                if let Some(state) = sub.state() {
                    println!("{}", describe(&state.plot, sub.unit().unwrap_or("")));
                }
            }
        }
    }
    Ok(())
}

fn describe(plot: &Plot, unit: &str) -> String {
    let min_max = |values: &mut dyn Iterator<Item = f64>| {
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        })
    };
    match plot {
        Plot::Numeric(points) => match points.last() {
            Some((_, last)) => {
                let (min, max) = min_max(&mut points.iter().map(|(_, v)| *v));
                format!(
                    "{} points, last {last:.3} {unit}, min {min:.3}, max {max:.3}",
                    points.len()
                )
            }
            None => "no points in the window yet".to_string(),
        },
        Plot::BucketedNumeric(buckets) => match buckets.values().next_back() {
            Some(last) => {
                let (min, _) = min_max(&mut buckets.values().filter_map(|b| b.min));
                let (_, max) = min_max(&mut buckets.values().filter_map(|b| b.max));
                let last = last.last_point.as_ref().map_or(f64::NAN, |p| p.value);
                format!(
                    "{} buckets, last {last:.3} {unit}, min {min:.3}, max {max:.3}",
                    buckets.len()
                )
            }
            None => "no buckets in the window yet".to_string(),
        },
        Plot::Ranges(ranges) => format!("{} ranges in the window", ranges.len()),
        Plot::Enum(points) => match points.last() {
            Some((_, state)) => format!("state {state} ({} changes held)", points.len()),
            None => "no states in the window yet".to_string(),
        },
        other => format!("{} result, {} items", other.kind(), other.len()),
    }
}
