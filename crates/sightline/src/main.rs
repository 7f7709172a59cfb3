//! The `sightline` binary: command-line parsing and wiring, nothing else. Each subcommand
//! lives in a module of its own; this file only dispatches.

mod cluster;
mod import;
mod serve;

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
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    match cli.command {
        Command::Serve(args) => runtime.block_on(serve::run(args)),
        Command::Bench(args) => runtime.block_on(sightline_loadgen::run(args)),
        Command::Import(args) => runtime.block_on(import::run(args)),
    }
}
