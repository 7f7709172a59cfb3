//! `sightline serve`: opens the durable store, builds the server and runs it until a signal.

use anyhow::Context as _;
use sightline_server::{App, ServerConfig, SystemClock};
use sightline_store::{parse_duration, DurableStore, FsyncPolicy, Store, StoreConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the embedded store.
    #[arg(long, default_value = "sightline-data")]
    data_dir: PathBuf,
    /// When writes are synced: `always` (before each acknowledgement, group commit) or
    /// `interval=MS` (acknowledge from the page cache; a power loss may lose MS of writes).
    #[arg(long, default_value = "always")]
    fsync: FsyncPolicy,
    /// Drop data older than this (e.g. `30d`, `12h`); default keeps everything.
    #[arg(long, value_parser = parse_duration)]
    retention: Option<Duration>,
    /// Start despite a corrupt log or segment: drop damaged records, move damaged segments aside.
    #[arg(long)]
    repair: bool,
    /// Flush the in-memory head to segment files at about this many MiB.
    #[arg(long, default_value_t = 64)]
    head_limit_mib: u64,
    /// Also run the built-in simulated test stand.
    #[arg(long)]
    demo: bool,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Seconds between server pings to a silent WebSocket client.
    #[arg(long, default_value_t = 20)]
    ping_interval_secs: u64,
    /// Seconds connections keep working after SIGTERM before they close.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
    #[command(flatten)]
    cluster: crate::cluster::ClusterArgs,
    /// Every endpoint is served at the root and again under this path (the upstream
    /// clients' default base URL ends in `/api`); `/` serves the root only.
    #[arg(long, default_value = "/api")]
    base_path: String,
    /// Most open connections (WebSockets included); past it new ones get 503 and are closed.
    #[arg(long, default_value_t = 512)]
    max_connections: usize,
    /// Time a client has to finish sending a request's headers once they started (`10s`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    header_read_timeout: Duration,
    /// Time a client has to send a request's whole body after its headers (`60s`).
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    body_read_timeout: Duration,
    /// A connection with no request in flight and nothing moving is closed after this.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    idle_timeout: Duration,
    /// Bytes of request bodies (as received and decompressed) all requests may hold at once;
    /// past it a request waits up to 2 s, then gets 503 with Retry-After.
    #[arg(long, default_value_t = 256 * 1024 * 1024)]
    max_inflight_bytes: usize,
    /// Series one write request may carry (413 past it; counted before decoding protobuf).
    #[arg(long, default_value_t = 100_000)]
    max_series_per_request: usize,
    /// Points one write request may carry (413 past it).
    #[arg(long, default_value_t = 5_000_000)]
    max_points_per_request: usize,
    /// Points the inputs of one subscription window or one HTTP computation may hold.
    #[arg(long, default_value_t = 50_000_000)]
    max_points_per_computation: u64,
    /// Nodes (union values) one computation's graph may hold.
    #[arg(long, default_value_t = 5_000)]
    max_compute_nodes: usize,
    /// Inputs one node of a computation may take (e.g. the series of one `sum`).
    #[arg(long, default_value_t = 256)]
    max_compute_fan_in: usize,
    /// Largest WebSocket message a client may send, in bytes (closed with 1009 past it).
    #[arg(long, default_value_t = 1024 * 1024)]
    max_ws_message_bytes: usize,
    /// Serve HTTPS and WSS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(sightline_server::tls::load(cert, key).context("loading the TLS certificate")?)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let ws_scheme = if tls.is_some() { "wss" } else { "ws" };
    let config = ServerConfig {
        tls,
        max_body_bytes: args.max_body_bytes,
        ping_interval: Duration::from_secs(args.ping_interval_secs.max(1)),
        drain_period: Duration::from_secs(args.drain_secs),
        base_path: args.base_path,
        max_connections: args.max_connections.max(1),
        header_read_timeout: args.header_read_timeout,
        body_read_timeout: args.body_read_timeout,
        idle_timeout: args.idle_timeout,
        max_inflight_bytes: args.max_inflight_bytes,
        max_series_per_request: args.max_series_per_request,
        max_points_per_request: args.max_points_per_request,
        max_points_per_subscription: args.max_points_per_computation,
        max_compute_nodes: args.max_compute_nodes,
        max_compute_fan_in: args.max_compute_fan_in,
        max_ws_message_bytes: args.max_ws_message_bytes.max(1024),
        ..ServerConfig::default()
    };
    let mut store_config = StoreConfig::new(&args.data_dir);
    store_config.fsync = args.fsync;
    store_config.retention = args.retention;
    store_config.repair = args.repair;
    store_config.head_limit_bytes = args.head_limit_mib.max(1) << 20;
    let durable = tokio::task::spawn_blocking(move || DurableStore::open(store_config))
        .await?
        .with_context(|| format!("opening the store in {}", args.data_dir.display()))?;
    tracing::info!(dir = %args.data_dir.display(), fsync = %args.fsync, "store open");
    let local: Arc<dyn Store> = Arc::new(durable);
    let store = crate::cluster::store(
        local,
        &args.cluster,
        &args.data_dir,
        &args.listen.to_string(),
    )
    .await?;
    let app = App::new(store.clone(), config, Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    // Tests and scripts read this line to find the port.
    println!("Sightline listening on {scheme}://{addr}");
    tracing::info!(%addr, ws = %format!("{ws_scheme}://{addr}/persistent-compute/ws"), "Sightline ready");
    if args.demo {
        tokio::spawn(sightline_server::demo::run(app.clone()));
        print_demo_help(addr);
    }
    sightline_server::serve(listener, app, shutdown_signal()).await?;
    store.close().context("closing the store")?;
    tracing::info!("Sightline stopped");
    Ok(())
}

fn print_demo_help(addr: SocketAddr) {
    println!(
        "Demo test stand writing to dataset {ds} (channels chamber.pressure [bar, 1 kHz], \
         chamber.temperature [°C, 100 Hz], valve.state, events; tags stand=A|B).\n\
         Watch it live: cargo run -p sightline-server --example subscribe -- ws://{addr}/persistent-compute/ws",
        ds = sightline_server::demo::DEMO_DATASET
    );
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
