//! `sightline watch`: a live terminal view of one expression (or graph JSON file), or its
//! merged window states as NDJSON with `--json`. Built on `sightline-client`; the
//! expression goes through the one parser (`sightline-expr`), with channel types from the
//! server's catalogue.

mod compile;
mod json;
mod render;

use anyhow::Context as _;
use sightline_client::{ClientError, Event, Options, Request};
use sightline_store::parse_duration;
use std::io::{IsTerminal as _, Write as _};
use std::time::Duration;

/// The dataset channels belong to unless the expression names another.
pub(crate) const DEMO_DATASET: &str = "ri.sightline.demo.dataset.test-stand";

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:\n  \
    sightline watch 'derivative(chamber.pressure{stand=A})'\n  \
    sightline watch 'chamber.pressure > 30' --window 1m\n  \
    sightline watch 'events ~ \"abort\"'\n  \
    sightline watch @graph.json --json | head -5\n\n\
    The expression language is described in docs/expressions.md.")]
pub(crate) struct WatchArgs {
    /// An expression such as `rolling_mean(thrust, 1s)`, or `@FILE` with a graph
    /// (`ComputableNode`) in upstream JSON.
    expression: String,
    /// Dataset of channels the expression does not qualify.
    #[arg(long, default_value = DEMO_DATASET)]
    dataset: String,
    /// Window width, e.g. `30s`, `5m`, `1h`.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    window: Duration,
    /// At most one update per this period, e.g. `250ms`, `1s`.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    min_delay: Duration,
    /// Server URL (`http://host:port` or `ws://host:port/persistent-compute/ws`); repeat
    /// it to fail over between servers.
    #[arg(long = "url", default_value = "http://127.0.0.1:8080")]
    urls: Vec<String>,
    /// Bearer token, when the server requires one; defaults to `$SIGHTLINE_TOKEN`.
    #[arg(long)]
    token: Option<String>,
    /// A PEM file of CA certificates to trust for `https://`/`wss://` besides the
    /// platform's roots, e.g. the `--tls-cert` file of a server with a self-signed certificate.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<std::path::PathBuf>,
    /// Print each merged window state as one JSON line instead of drawing.
    #[arg(long)]
    json: bool,
    /// Stop after this many updates (full or append results).
    #[arg(long)]
    updates: Option<u64>,
}

/// A server base URL as the WebSocket URL and the HTTP base.
fn endpoints(url: &str) -> anyhow::Result<(String, String)> {
    let url = url.trim_end_matches('/');
    let (scheme, rest) = url
        .split_once("://")
        .with_context(|| format!("`{url}` is not a URL; try http://127.0.0.1:8080"))?;
    let (ws, http) = match scheme {
        "http" | "ws" => ("ws", "http"),
        "https" | "wss" => ("wss", "https"),
        other => anyhow::bail!(
            "`{other}://` is not supported; use http:// or ws:// (https:// or wss:// for TLS)"
        ),
    };
    let host = rest.split('/').next().unwrap_or(rest);
    Ok((
        format!("{ws}://{host}/persistent-compute/ws"),
        format!("{http}://{host}"),
    ))
}

pub(crate) async fn run(mut args: WatchArgs) -> anyhow::Result<()> {
    if args.token.is_none() {
        args.token = std::env::var("SIGHTLINE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty());
    }
    let pairs = args
        .urls
        .iter()
        .map(|u| endpoints(u))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let http: Vec<String> = pairs.iter().map(|(_, h)| h.clone()).collect();
    let ws: Vec<String> = pairs.into_iter().map(|(w, _)| w).collect();
    let source = compile::resolve(
        &args.expression,
        &args.dataset,
        &http,
        args.token.as_deref(),
    )
    .await?;

    let mut options = Options::new(ws, args.token.clone());
    options.ca_cert = args.ca_cert.clone();
    let session = match sightline_client::connect_with(options).await {
        Ok(session) => session,
        // Already says what to do; "is the server running?" would mislead.
        Err(e @ (ClientError::UntrustedCertificate { .. } | ClientError::BadCaCert { .. })) => {
            return Err(e.into())
        }
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context("connecting to the server (is `sightline serve` running?)"))
        }
    };
    let request = Request::new(source.node, args.window).min_delay(args.min_delay);
    let mut sub = session.subscribe(request)?;

    let terminal = !args.json && std::io::stdout().is_terminal();
    let mut view = render::View::new(&args.expression, args.window, terminal);
    let mut stdout = std::io::stdout().lock();
    let mut updates = 0u64;
    loop {
        let event = tokio::select! {
            event = sub.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(event) = event else { break };
        match event {
            Ok(Event::Full | Event::Append) => {
                updates += 1;
                if let Some(state) = sub.state() {
                    if args.json {
                        writeln!(stdout, "{}", json::state_line(state, sub.unit()))?;
                        stdout.flush()?;
                    } else {
                        view.draw(&mut stdout, state, sub.unit())?;
                    }
                }
                if args.updates.is_some_and(|n| updates >= n) {
                    break;
                }
            }
            Ok(Event::Created { .. }) => {}
            Ok(Event::Connection(c)) => {
                view.status(&c);
                if !terminal {
                    eprintln!("{}", render::describe_connection(&c));
                }
            }
            Ok(Event::ServerError(e)) => {
                eprintln!("server error: {} {}", e.name, e.message.unwrap_or_default())
            }
            Err(ClientError::Refused { error }) => {
                view.leave(&mut stdout)?;
                anyhow::bail!(
                    "the server refused the subscription: {} — {}",
                    error.name,
                    error.message.unwrap_or_default()
                );
            }
            Err(e) => eprintln!("{e}"),
        }
    }
    view.leave(&mut stdout)?;
    Ok(())
}
