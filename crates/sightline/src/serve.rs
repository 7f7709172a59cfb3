//! `sightline serve`: opens the durable store, builds the server and runs it until a signal.

use anyhow::Context as _;
use sightline_server::auth::{AuthMode, TokenFile};
use sightline_server::{App, ServerConfig, SystemClock};
use sightline_store::{parse_duration, DurableStore, FsyncPolicy, Limits, Store, StoreConfig};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// Directory of the embedded store [default: `$XDG_DATA_HOME/sightline`, else
    /// `~/.local/share/sightline`; with `--demo`, its `demo` subdirectory].
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// When writes are synced: `always` (before each acknowledgement, group commit) or
    /// `interval=MS` (acknowledge from the page cache; a power loss may lose MS of writes).
    #[arg(long, default_value = "always")]
    fsync: FsyncPolicy,
    /// Drop data older than this (e.g. `30d`, `12h`); default keeps everything, except
    /// `--demo` in its own default directory, which keeps 1 hour.
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
    /// Largest subscription window a client may ask for (e.g. `7d`, `12h`).
    #[arg(long, default_value = "7d", value_parser = parse_duration)]
    max_window: Duration,
    /// Largest accepted request body, in bytes.
    #[arg(long, default_value_t = 64 * 1024 * 1024)]
    max_body_bytes: usize,
    /// Seconds between server pings to a silent WebSocket client.
    #[arg(long, default_value_t = 20)]
    ping_interval_secs: u64,
    /// Seconds connections keep working after SIGTERM before they close.
    #[arg(long, default_value_t = 10)]
    drain_secs: u64,
    /// How long shutdown may spend flushing the in-memory head to segment files (e.g. `2s`,
    /// `0s`). What does not fit stays in the synced write-ahead log and is replayed at the
    /// next start, so nothing acknowledged is lost and shutdown stays short at any series count.
    #[arg(long, default_value = "2s", value_parser = parse_duration)]
    shutdown_flush_budget: Duration,
    /// Most series (channel + tag set) one dataset may hold; a write that would create more
    /// is refused whole with `Sightline:TooManySeries`.
    #[arg(long, default_value_t = Limits::default().max_series_per_dataset)]
    max_series_per_dataset: u64,
    /// Most tags one series may have (`Sightline:TooManyTags` past it).
    #[arg(long, default_value_t = Limits::default().max_tags_per_series)]
    max_tags_per_series: usize,
    /// Longest tag key in bytes (`Sightline:TagTooLong` past it).
    #[arg(long, default_value_t = Limits::default().max_tag_key_bytes)]
    max_tag_key_bytes: usize,
    /// Longest tag value in bytes (`Sightline:TagTooLong` past it).
    #[arg(long, default_value_t = Limits::default().max_tag_value_bytes)]
    max_tag_value_bytes: usize,
    #[command(flatten)]
    cluster: crate::cluster::ClusterArgs,
    /// Listen on a non-loopback address even though no token exists, so anyone who can
    /// reach the port may read and write every dataset. Without it the server refuses to
    /// start there until `sightline token create` made a token.
    #[arg(long)]
    insecure_no_auth: bool,
    /// Serve `GET /metrics` without a token even when tokens are required.
    #[arg(long)]
    public_metrics: bool,
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

/// Retention of the demo's own data directory: enough to look back, bounded on disk.
const DEMO_RETENTION: Duration = Duration::from_secs(3600);

/// Where the store lives when `--data-dir` is not given: the platform's per-user data
/// directory (XDG on Linux), so a server started inside a clone does not litter it.
pub(crate) fn default_data_dir() -> PathBuf {
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".local").join("share"))
        });
    match base {
        Some(base) => base.join("sightline"),
        None => PathBuf::from("sightline-data"),
    }
}

pub(crate) async fn run(args: ServeArgs) -> anyhow::Result<()> {
    // The demo on the default location gets a directory of its own with a bounded
    // retention, so trying the demo never fills the disk or mixes with real data.
    let demo_default_dir = args.demo && args.data_dir.is_none();
    let data_dir = match &args.data_dir {
        Some(dir) => dir.clone(),
        None if args.demo => default_data_dir().join("demo"),
        None => default_data_dir(),
    };
    let retention = match args.retention {
        Some(r) => Some(r),
        None if demo_default_dir => Some(DEMO_RETENTION),
        None => None,
    };
    std::fs::create_dir_all(&data_dir)
        .with_context(|| format!("creating the data directory {}", data_dir.display()))?;
    let (auth, auth_line) = auth_mode(&args, &data_dir)?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(sightline_server::tls::load(cert, key).context("loading the TLS certificate")?)
        }
        _ => None,
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    let ws_scheme = if tls.is_some() { "wss" } else { "ws" };
    let config = ServerConfig {
        auth,
        public_metrics: args.public_metrics,
        max_window: args.max_window,
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
    let mut store_config = StoreConfig::new(&data_dir);
    store_config.fsync = args.fsync;
    store_config.retention = retention;
    store_config.repair = args.repair;
    store_config.head_limit_bytes = args.head_limit_mib.max(1) << 20;
    store_config.shutdown_flush_budget = args.shutdown_flush_budget;
    store_config.limits = Limits {
        max_series_per_dataset: args.max_series_per_dataset,
        max_tags_per_series: args.max_tags_per_series,
        max_tag_key_bytes: args.max_tag_key_bytes,
        max_tag_value_bytes: args.max_tag_value_bytes,
    };
    let durable = tokio::task::spawn_blocking(move || DurableStore::open(store_config))
        .await?
        .with_context(|| format!("opening the store in {}", data_dir.display()))?;
    tracing::info!(dir = %data_dir.display(), fsync = %args.fsync, "store open");
    println!(
        "Data directory: {} (retention: {})",
        data_dir.display(),
        retention.map_or(
            "keep everything".to_string(),
            sightline_server::human::duration
        )
    );
    let local: Arc<dyn Store> = Arc::new(durable);
    let store =
        crate::cluster::store(local, &args.cluster, &data_dir, &args.listen.to_string()).await?;
    let app = App::new(store.clone(), config, Arc::new(SystemClock));
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    println!("{auth_line}");
    // Tests and scripts read this line to find the port.
    println!("Sightline listening on {scheme}://{addr}");
    println!("Live web page: {scheme}://{addr}/");
    tracing::info!(%addr, ws = %format!("{ws_scheme}://{addr}/persistent-compute/ws"), "Sightline ready");
    if args.demo {
        tokio::spawn(sightline_server::demo::run(app.clone()));
        print_demo_help(addr);
    }
    let shutdown = async {
        shutdown_signal().await;
        eprintln!("Shutting down: closing connections (press Ctrl-C again to exit at once)");
        tokio::spawn(async {
            shutdown_signal().await;
            eprintln!(
                "Second signal: exiting now; the log replays unsynced writes on the next start"
            );
            std::process::exit(130);
        });
    };
    sightline_server::serve(listener, app, shutdown).await?;
    store.close().context("closing the store")?;
    tracing::info!("Sightline stopped");
    // Closed means synced: nothing is left to do but free memory the process is about to
    // hand back whole. Freeing a million series one allocation at a time costs seconds of
    // shutdown, so the store is leaked instead.
    std::mem::forget(store);
    Ok(())
}

/// Auth is on when the data directory has tokens; off without tokens only on a loopback
/// address (or with `--insecure-no-auth`). Returns the mode and the line that says so.
fn auth_mode(args: &ServeArgs, data_dir: &Path) -> anyhow::Result<(AuthMode, String)> {
    let file = TokenFile::in_data_dir(data_dir);
    let tokens = file
        .load()
        .with_context(|| format!("reading the tokens in {}", file.path().display()))?;
    if !tokens.tokens.is_empty() {
        let line = format!(
            "Auth: on, {} token(s) in {} (reloaded when it changes)",
            tokens.tokens.len(),
            file.path().display()
        );
        return Ok((AuthMode::Tokens(file), line));
    }
    if args.listen.ip().is_loopback() {
        let line = format!(
            "Auth: off (no tokens in {}; only this machine can connect). \
             Create one with `sightline token create` and restart to require tokens.",
            file.path().display()
        );
        return Ok((AuthMode::Off, line));
    }
    if args.insecure_no_auth {
        let line = format!(
            "Auth: OFF on {} (--insecure-no-auth): anyone who reaches this port may read and \
             write every dataset",
            args.listen
        );
        return Ok((AuthMode::Off, line));
    }
    anyhow::bail!(
        "refusing to listen on {} without authentication: {} holds no tokens.\n\
         Create one first, e.g. `sightline token create --data-dir {} --name admin --read '*' --write '*'`,\n\
         listen on 127.0.0.1, or pass --insecure-no-auth to accept any client.",
        args.listen,
        file.path().display(),
        data_dir.display()
    )
}

fn print_demo_help(addr: SocketAddr) {
    println!(
        "Demo test stand writing to dataset {ds} (channels chamber.pressure [bar, 1 kHz], \
         chamber.temperature [°C, 100 Hz], valve.state, events; tags stand=A|B).\n\
         See it live: open http://{addr}/ in a browser, or run\n  \
         cargo run -p sightline-client --example live -- 'chamber.pressure{{stand=A}}' ws://{addr}/persistent-compute/ws",
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
