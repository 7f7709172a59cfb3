//! `sightline token`: creates, lists and revokes the API tokens of a data directory. The
//! token file and its rules live in `sightline_server::auth`; this module only parses
//! arguments and prints.

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use sightline_server::auth::{Grants, RidPattern, TokenFile, TokenRecord};
use sightline_store::parse_duration;
use std::path::PathBuf;
use std::time::Duration;

/// Manage API tokens. A running server picks up every change within about a second.
#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    /// The data directory whose tokens to manage (the one given to `sightline serve`;
    /// default: the same default location as `serve`).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    action: TokenAction,
}

#[derive(Debug, clap::Subcommand)]
enum TokenAction {
    /// Creates a token and prints it once; only a salted hash is kept.
    ///
    /// Example: sightline token create --name stand-a --write 'ri.nominal.main.dataset.*'
    Create {
        /// A unique name to list and revoke the token by (letters, digits, `-`, `_`, `.`).
        #[arg(long)]
        name: String,
        /// Datasets it may compute over and subscribe to: a RID, `*` matching any run of
        /// characters (`ri.nominal.main.dataset.*`, or `*` for all). Repeat for more.
        #[arg(long = "read", value_name = "RID_PATTERN")]
        read: Vec<String>,
        /// Datasets it may write to, same patterns. Repeat for more.
        #[arg(long = "write", value_name = "RID_PATTERN")]
        write: Vec<String>,
        /// Stop accepting it after this long (e.g. `90d`, `12h`); default never.
        #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
        expires: Option<Duration>,
    },
    /// Lists tokens: names, grants, creation and expiry. Never the secrets.
    List,
    /// Revokes a token by name. Subscriptions using it stop with
    /// `PersistentCompute:SubscriptionAuthExpired`.
    Revoke {
        /// The token's name.
        name: String,
    },
}

pub(crate) fn run(args: TokenArgs) -> anyhow::Result<()> {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(crate::serve::default_data_dir);
    let file = TokenFile::in_data_dir(&data_dir);
    match args.action {
        TokenAction::Create {
            name,
            read,
            write,
            expires,
        } => create(&file, &name, &read, &write, expires),
        TokenAction::List => list(&file),
        TokenAction::Revoke { name } => {
            file.revoke(&name)?;
            println!("Revoked token `{name}`; a running server refuses it within a second.");
            Ok(())
        }
    }
}

fn create(
    file: &TokenFile,
    name: &str,
    read: &[String],
    write: &[String],
    expires: Option<Duration>,
) -> anyhow::Result<()> {
    if read.is_empty() && write.is_empty() {
        bail!("a token needs at least one --read or --write RID pattern (`*` for every dataset)");
    }
    let patterns = |list: &[String]| -> anyhow::Result<Vec<RidPattern>> {
        list.iter()
            .map(|p| RidPattern::parse(p).map_err(anyhow::Error::from))
            .collect()
    };
    let grants = Grants {
        read: patterns(read)?,
        write: patterns(write)?,
    };
    let expires_at = expires
        .map(|d| chrono::Duration::from_std(d).map(|d| Utc::now() + d))
        .transpose()
        .context("--expires is too far in the future")?;
    let (record, token) = file.create(name, grants, expires_at)?;
    println!("{token}");
    eprintln!(
        "Created token `{}` ({}). This is the only time it is shown: store it now.\n\
         Clients send it as `Authorization: Bearer TOKEN`. A server started without any \
         token keeps auth off until it is restarted.",
        record.name,
        describe(&record, Utc::now())
    );
    Ok(())
}

fn list(file: &TokenFile) -> anyhow::Result<()> {
    let set = file.load()?;
    if set.tokens.is_empty() {
        println!(
            "No tokens in {}. Create one with `sightline token create --name NAME --read '*'`.",
            file.path().display()
        );
        return Ok(());
    }
    let now = Utc::now();
    let rows: Vec<[String; 5]> = set
        .tokens
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                patterns(&r.grants.read),
                patterns(&r.grants.write),
                when(r.created_at, now),
                r.expires_at
                    .map_or_else(|| "never".to_string(), |at| when(at, now)),
            ]
        })
        .collect();
    let header = ["NAME", "READ", "WRITE", "CREATED", "EXPIRES"].map(str::to_string);
    let mut widths = header.clone().map(|h| h.len());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        println!("{}", cells.join("  ").trim_end());
    }
    Ok(())
}

fn describe(record: &TokenRecord, now: DateTime<Utc>) -> String {
    let expiry = record.expires_at.map_or_else(
        || "never expires".to_string(),
        |at| format!("expires {}", when(at, now)),
    );
    format!(
        "read {}, write {}, {expiry}",
        patterns(&record.grants.read),
        patterns(&record.grants.write)
    )
}

fn patterns(list: &[RidPattern]) -> String {
    if list.is_empty() {
        return "-".to_string();
    }
    list.iter()
        .map(RidPattern::as_str)
        .collect::<Vec<_>>()
        .join(",")
}

/// `2026-12-01 21:40 UTC (3 days ago)` / `(in 2 hours)`.
fn when(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let delta = at - now;
    let secs = delta.num_seconds();
    let relative = if secs >= 0 {
        format!("in {}", human(secs.unsigned_abs()))
    } else {
        format!("{} ago", human(secs.unsigned_abs()))
    };
    format!("{} ({relative})", at.format("%Y-%m-%d %H:%M UTC"))
}

fn human(secs: u64) -> String {
    let (value, unit) = match secs {
        0..60 => (secs, "second"),
        60..3600 => (secs / 60, "minute"),
        3600..86_400 => (secs / 3600, "hour"),
        _ => (secs / 86_400, "day"),
    };
    let plural = if value == 1 { "" } else { "s" };
    format!("{value} {unit}{plural}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_a_person_would_say_them() {
        let now = Utc::now();
        assert!(when(now + chrono::Duration::days(30), now).ends_with("(in 30 days)"));
        assert!(when(now - chrono::Duration::seconds(90), now).ends_with("(1 minute ago)"));
        assert!(when(now + chrono::Duration::hours(2), now).ends_with("(in 2 hours)"));
    }
}
