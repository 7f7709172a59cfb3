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
    #[command(flatten)]
    cluster: crate::cluster::ClusterArgs,
}

/// Retention of the demo's own data directory: enough to look back, bounded on disk.
const DEMO_RETENTION: Duration = Duration::from_secs(3600);

/// Where the store lives when `--data-dir` is not given: the platform's per-user data
/// directory (XDG on Linux), so a server started inside a clone does not litter it.
fn default_data_dir() -> PathBuf {
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
    let config = ServerConfig {
        max_window: args.max_window,
        max_body_bytes: args.max_body_bytes,
        ping_interval: Duration::from_secs(args.ping_interval_secs.max(1)),
        drain_period: Duration::from_secs(args.drain_secs),
        ..ServerConfig::default()
    };
    let mut store_config = StoreConfig::new(&data_dir);
    store_config.fsync = args.fsync;
    store_config.retention = retention;
    store_config.repair = args.repair;
    store_config.head_limit_bytes = args.head_limit_mib.max(1) << 20;
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
    // Tests and scripts read this line to find the port.
    println!("Sightline listening on http://{addr}");
    println!("Live web page: http://{addr}/");
    tracing::info!(%addr, ws = %format!("ws://{addr}/persistent-compute/ws"), "Sightline ready");
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
    Ok(())
}

fn print_demo_help(addr: SocketAddr) {
    println!(
        "Demo test stand writing to dataset {ds} (channels chamber.pressure [bar, 1 kHz], \
         chamber.temperature [°C, 100 Hz], valve.state, events; tags stand=A|B).\n\
         See it live: open http://{addr}/ in a browser, or run\n  \
         cargo run -p sightline-server --example subscribe -- ws://{addr}/persistent-compute/ws",
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
