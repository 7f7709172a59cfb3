//! The `sightline bench` load harness.
//!
//! Owns: driving a running (or self-started) Sightline over loopback the way real clients
//! do, and measuring what users feel: columnar ingest points/s, server CPU time per point
//! (read from `/proc/<pid>/stat` of the server process, since the load generator shares the
//! machine), write-to-append latency of live subscriptions, server CPU per point of every
//! writer format on the same data (`write_formats`), and one batch of dashboard panels
//! against as many single compute requests (`batch_compute`), the server's peak memory
//! under hostile requests (`abuse`), and a control room of live dashboards streamed or
//! polled (`dashboard_wall`).
//!
//! Must not know: server internals. It speaks only the public HTTP and WebSocket API.

mod abuse;
mod batch_compute;
mod dashboard_wall;
mod freshness;
mod ingest;
mod process;
mod write_formats;

pub use dashboard_wall::{Signal, WallArgs, WallMode};
use std::path::PathBuf;
use std::time::Duration;
pub use write_formats::Format as WriteFormat;

/// Which load to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// Columnar ingest rate, then write-to-append latency of live subscriptions.
    Ingest,
    /// Server CPU per point of every writer format on the same data.
    WriteFormats,
    /// `--panels` computations over one window: one batch request vs single requests.
    BatchCompute,
    /// The server's peak memory under hostile requests (bombs, bodies at the limit, the
    /// widest admitted computation, unfinished connections).
    Abuse,
    /// `--subscriptions` live panels over `--connections` WebSockets on `--channels`
    /// channels written live: staleness, starvation, server CPU; `--mode both` also polls.
    DashboardWall,
}

/// What to run.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Which load to run.
    #[arg(long, value_enum, default_value_t = Scenario::Ingest)]
    pub scenario: Scenario,
    /// write-formats: requests per format (each `--batch-points` over `--channels`). The
    /// default, 16 M points per format, is four heads' worth, so each format's CPU carries
    /// the flushes of its own points rather than those of the formats before it.
    #[arg(long, default_value_t = 1600)]
    pub format_requests: usize,
    /// write-formats: only these formats (comma-separated; default every one). The
    /// published figures run them all: each format's server CPU then includes the background
    /// flush of what the formats before it wrote.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub write_format: Vec<WriteFormat>,
    /// batch-compute: panels (computations) per dashboard refresh.
    #[arg(long, default_value_t = 200)]
    pub panels: usize,
    /// batch-compute: dashboard refreshes timed per mode.
    #[arg(long, default_value_t = 5)]
    pub rounds: usize,
    /// abuse: `--max-body-bytes` of the started server, in MiB (the memory target is 4×).
    #[arg(long, default_value_t = 8)]
    pub abuse_max_body_mib: usize,
    /// Use this running server (e.g. http://127.0.0.1:8080) instead of starting one. Several
    /// comma-separated URLs (the nodes of a cluster): ingest writers take turns over them,
    /// everything else uses the first.
    #[arg(long, value_delimiter = ',')]
    pub url: Vec<String>,
    /// Freshness: open the subscriptions on this server instead of the one written to (a
    /// different cluster node, to time a write's way through the replicated log).
    #[arg(long)]
    pub subscribe_url: Option<String>,
    /// With `--url`: process ids of the servers, comma-separated, so their CPU time per
    /// point is reported (summed).
    #[arg(long, value_delimiter = ',', requires = "url")]
    pub server_pid: Vec<u32>,
    /// Process ids of helper services the servers use (NATS in cluster mode), whose CPU time
    /// is reported on its own line.
    #[arg(long, value_delimiter = ',')]
    pub service_pid: Vec<u32>,
    /// Server binary to start when `--url` is absent (defaults to this executable).
    #[arg(long)]
    pub server_binary: Option<PathBuf>,
    /// Extra arguments for the started server, e.g. `--fsync=interval=100`.
    #[arg(long, allow_hyphen_values = true)]
    pub server_arg: Vec<String>,
    /// Seconds of columnar ingest load.
    #[arg(long, default_value_t = 10)]
    pub ingest_secs: u64,
    /// Channels per request.
    #[arg(long, default_value_t = 100)]
    pub channels: usize,
    /// Points per request (spread over the channels).
    #[arg(long, default_value_t = 10_000)]
    pub batch_points: usize,
    /// Concurrent writers.
    #[arg(long, default_value_t = 2)]
    pub writers: usize,
    /// Live subscriptions in the freshness phase (0 skips it).
    #[arg(long, default_value_t = 50)]
    pub subscriptions: usize,
    /// Seconds of the freshness phase.
    #[arg(long, default_value_t = 10)]
    pub freshness_secs: u64,
    /// `minDelay` of the freshness subscriptions, in milliseconds.
    #[arg(long, default_value_t = 100)]
    pub min_delay_ms: u64,
    /// Flags of the dashboard wall.
    #[command(flatten)]
    pub wall: WallArgs,
}

/// Runs every phase and prints a report.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let server = match args.url.is_empty() {
        false => process::Server::external(
            args.url.clone(),
            args.server_pid.clone(),
            args.service_pid.clone(),
        ),
        true => {
            let binary = match &args.server_binary {
                Some(b) => b.clone(),
                None => std::env::current_exe()?,
            };
            let mut server_args = args.server_arg.clone();
            if args.scenario == Scenario::Abuse {
                server_args.push(format!(
                    "--max-body-bytes={}",
                    args.abuse_max_body_mib << 20
                ));
            }
            process::Server::start(&binary, data_dir.path(), &server_args).await?
        }
    };
    println!("server: {} (pid {:?})", server.urls.join(", "), server.pids);
    let client = reqwest::Client::new();

    match args.scenario {
        Scenario::Ingest => {
            let ingest = ingest::run(&client, &server, &args).await?;
            println!("{ingest}");
            if args.subscriptions > 0 {
                let fresh = freshness::run(&client, &server, &args).await?;
                println!("{fresh}");
            }
        }
        Scenario::WriteFormats => {
            let per_channel = (args.batch_points / args.channels.max(1)).max(1);
            let report = write_formats::run(
                &client,
                &server,
                &args.write_format,
                args.format_requests,
                args.channels.max(1),
                per_channel,
            )
            .await?;
            println!("{report}");
        }
        Scenario::BatchCompute => {
            let channels = (args.panels / 4).max(1);
            let report =
                batch_compute::run(&client, &server, args.panels, channels, args.rounds.max(1))
                    .await?;
            println!("{report}");
        }
        Scenario::Abuse => {
            let report = abuse::run(&client, &server, args.abuse_max_body_mib << 20).await?;
            println!("{report}");
        }
        Scenario::DashboardWall => {
            dashboard_wall::run(
                &server,
                args.wall.clone(),
                args.channels,
                args.subscriptions,
                args.min_delay_ms,
            )
            .await?;
        }
    }
    server.stop(Duration::from_secs(15)).await;
    Ok(())
}
