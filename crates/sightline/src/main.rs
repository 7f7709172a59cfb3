//! The `sightline` binary: command-line parsing and wiring, nothing else. Each subcommand
//! lives in a module of its own; this file only dispatches.

mod cluster;
mod import;
mod serve;
mod token;
mod watch;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

/// Sightline: live computations over telemetry, on the upstream persistent-compute API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the server.
    Serve(serve::ServeArgs),
    /// Runs the load harness against a started (or given) server and prints its figures.
    Bench(sightline_loadgen::BenchArgs),
    /// Imports CSV (and Parquet) files into a running server through its columnar writer.
    Import(import::ImportArgs),
    /// Creates, lists and revokes API tokens (`sightline token create --help`).
    Token(token::TokenArgs),
    /// Shows an expression's live window in the terminal, or as NDJSON with `--json`.
    Watch(watch::WatchArgs),
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only where a person sees them, not in redirected logs.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    // Named so a profile or `top -H` tells the runtime apart from the evaluation threads
    // (`sightline-eval-N`) and the store's background work.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("sightline-rt")
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Bench(args) => runtime.block_on(sightline_loadgen::run(args)),
        Command::Import(args) => runtime.block_on(import::run(args)),
        Command::Token(args) => token::run(args),
        Command::Watch(args) => runtime.block_on(watch::run(args)),
    }
}
