//! `sightline import`: bulk-loads CSV (and, with the `parquet` feature, Parquet) files into a
//! running server through its columnar writer, so the server's auth and validation apply
//! exactly as to any other client. Streams each file in bounded chunks with several requests
//! in flight, shows progress, keeps a checkpoint so an interrupted import resumes where the
//! acknowledged part ends, and prints a summary.
//!
//! Module order (each imports only those before it): `time` → `schema` → `chunk` → `error`
//! → `csv_source` / `parquet_source` → `source` → `encode` → `send` → `checkpoint` →
//! `progress` → `pipeline` → this file (arguments and the run over all files).

mod checkpoint;
mod chunk;
mod csv_source;
mod encode;
mod error;
#[cfg(feature = "parquet")]
mod parquet_source;
mod pipeline;
mod progress;
mod schema;
mod send;
mod source;
mod time;

use anyhow::Context as _;
use csv_source::ColumnOptions;
use pipeline::{FileJob, FileSummary};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// `sightline import` arguments.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  sightline import run42.csv --dataset ri.sightline.main.dataset.rig --tag run=42
  sightline import a.csv b.csv --dataset RID --time-column t --time-format ms --units p=bar,T=degC
  sightline import big.csv --dataset RID --resume     # continue an interrupted import

Each column other than the time column becomes one channel; empty cells are skipped. A column
whose first 1,000 rows are all numbers is numeric, any other is text (force with
--string-columns). The checkpoint of an interrupted import is FILE.sightline-import (or in
--state-dir) and is removed when the file is done.")]
pub(crate) struct ImportArgs {
    /// CSV files (Parquet: `.parquet`, with the `parquet` build feature) to import, in order.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Dataset RID to write into, e.g. `ri.sightline.main.dataset.rig`.
    #[arg(long, value_name = "RID")]
    dataset: String,
    /// Base URL of the running server.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Bearer token with write access to the dataset (default: $SIGHTLINE_TOKEN).
    #[arg(long)]
    token: Option<String>,
    /// Tag added to every series, `KEY=VALUE`; repeat for several.
    #[arg(long = "tag", value_name = "KEY=VALUE", value_parser = parse_pair)]
    tags: Vec<(String, String)>,
    /// Column holding the time (default: a column named time, timestamp, ts, _time,
    /// datetime or date, else the first column).
    #[arg(long, value_name = "NAME")]
    time_column: Option<String>,
    /// Format of the time column; `auto` decides from its first cell (RFC 3339 text, or
    /// epoch s/ms/us/ns by magnitude).
    #[arg(long, value_enum, default_value = "auto")]
    time_format: time::TimeFormat,
    /// Units of channels, `CHANNEL=UNIT,...` (e.g. `pressure=bar,temp=degC`).
    #[arg(long, value_name = "CHANNEL=UNIT,...", value_delimiter = ',', value_parser = parse_pair)]
    units: Vec<(String, String)>,
    /// Columns to import as text even if they look numeric, `A,B,...`.
    #[arg(long, value_name = "COLUMN,...", value_delimiter = ',')]
    string_columns: Vec<String>,
    /// Field delimiter of the CSV files (one ASCII character; `\t` for tab).
    #[arg(long, default_value = ",")]
    delimiter: String,
    /// Continue an interrupted import from its checkpoint instead of starting over.
    #[arg(long)]
    resume: bool,
    /// Directory for checkpoints (default: beside each input file).
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Points per request.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    batch_points: u64,
    /// Writer endpoint: `nominal-columnar` (columnar protobuf, the default: the least
    /// server CPU per point), `columnar` (JSON) or `nominal` (the upstream streaming
    /// clients' row protobuf).
    #[arg(long, value_enum, default_value = "nominal-columnar")]
    format: pipeline::Format,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    in_flight: u64,
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

fn parse_delimiter(s: &str) -> anyhow::Result<u8> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => anyhow::bail!("--delimiter must be one ASCII character (or \\t), got {s:?}"),
    }
}

/// Runs `sightline import`.
pub(crate) async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let token = args.token.clone().or_else(|| {
        std::env::var("SIGHTLINE_TOKEN")
            .ok()
            .filter(|t| !t.is_empty())
    });
    let sender = send::Sender::new(&args.url, token).context("building the HTTP client")?;
    if let Some(dir) = &args.state_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the state directory {}", dir.display()))?;
    }
    let columns = ColumnOptions {
        time_column: args.time_column.clone(),
        time_format: Some(args.time_format),
        string_columns: args.string_columns.clone(),
        delimiter: parse_delimiter(&args.delimiter)?,
    };
    let tags: BTreeMap<String, String> = args.tags.iter().cloned().collect();
    let units: BTreeMap<String, String> = args.units.iter().cloned().collect();
    let mut interrupt = Box::pin(async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    });

    let started = Instant::now();
    let mut summaries = Vec::new();
    for path in &args.files {
        let job = FileJob {
            path: path.clone(),
            checkpoint: checkpoint::path_for(path, args.state_dir.as_deref()),
            resume: args.resume,
            dataset: args.dataset.clone(),
            tags: tags.clone(),
            units: units.clone(),
            columns: columns.clone(),
            batch_points: args.batch_points as usize,
            in_flight: args.in_flight as usize,
            format: args.format,
        };
        let summary = pipeline::import_file(job, &sender, &mut interrupt).await?;
        print_file_summary(path, &args.dataset, &summary);
        summaries.push(summary);
    }
    let unmatched: Vec<&String> = units
        .keys()
        .filter(|u| summaries.iter().all(|s| s.unmatched_units.contains(u)))
        .collect();
    if !unmatched.is_empty() {
        anyhow::bail!(
            "--units names {unmatched:?}, which no imported file has as a column; the data is \
             imported, but no unit was set for those names (check the spelling and run again)"
        );
    }
    if summaries.len() > 1 {
        let points: u64 = summaries.iter().map(|s| s.points_this_run).sum();
        let elapsed = started.elapsed();
        println!(
            "All {} files: {} points in {} ({} points/s).",
            summaries.len(),
            progress::count(points),
            progress::duration(elapsed),
            progress::count(progress::per_second(points, elapsed) as u64),
        );
    }
    Ok(())
}

fn print_file_summary(path: &std::path::Path, dataset: &str, s: &FileSummary) {
    let t = &s.totals;
    let range = match (t.first_time, t.last_time) {
        (Some(a), Some(b)) => format!(
            "{} → {} ({})",
            progress::time(a),
            progress::time(b),
            progress::span(b - a)
        ),
        _ => "no points".to_string(),
    };
    let resumed = match s.resumed_at_line {
        Some(line) => format!(
            " (resumed at line {line}; {} points this run)",
            progress::count(s.points_this_run)
        ),
        None => String::new(),
    };
    println!(
        "Imported {}: {} points ({} rows) into {} channels of {dataset} in {}, {} points/s{resumed}.\n  time range {range}; file {}.",
        path.display(),
        progress::count(t.points),
        progress::count(t.rows),
        s.channels,
        progress::duration(s.elapsed),
        progress::count(progress::per_second(s.points_this_run, s.elapsed) as u64),
        indicatif::HumanBytes(s.bytes),
    );
}
