//! Everything that stops an import, each saying where (file, line, column) and what to do.

use std::path::PathBuf;

/// Why an import stopped.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ImportError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: {source}", path.display())]
    Csv {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    #[error("{}: the file has no header row; the first row must name the columns", path.display())]
    NoHeader { path: PathBuf },
    #[error("{}: no column named {name:?} for --time-column; the columns are: {columns}", path.display())]
    NoTimeColumn {
        path: PathBuf,
        name: String,
        columns: String,
    },
    #[error("{}: {flag} names {name:?}, which is not a column; the columns are: {columns}", path.display())]
    UnknownColumn {
        path: PathBuf,
        flag: &'static str,
        name: String,
        columns: String,
    },
    #[error("{}: two columns are named {name:?}; each column becomes one channel, so names must differ", path.display())]
    DuplicateColumn { path: PathBuf, name: String },
    #[error("{}: the only column is the time column {name:?}; add one column per channel", path.display())]
    NoChannels { path: PathBuf, name: String },
    #[error("{}: the time column {column:?} has no value in the first rows; set --time-column to the column that holds the time", path.display())]
    NoTime { path: PathBuf, column: String },
    #[error("{}, line {line}, column {column:?}: {cell:?} is not a time (the file uses {expected}); fix the cell or set --time-format (rfc3339, s, ms, us, ns)", path.display())]
    BadTime {
        path: PathBuf,
        line: u64,
        column: String,
        cell: String,
        expected: &'static str,
    },
    #[error("{}, line {line}, column {column:?}: {cell:?} is not a number, but the column was detected as numeric from its first rows; fix the cell or import the column as text with --string-columns {column}", path.display())]
    BadNumber {
        path: PathBuf,
        line: u64,
        column: String,
        cell: String,
    },
    #[error("{}, line {line}, column {column:?}: the cell is not valid UTF-8 text; convert the file to UTF-8", path.display())]
    NotUtf8 {
        path: PathBuf,
        line: u64,
        column: String,
    },
    #[error("{}: {source}", path.display())]
    #[cfg(feature = "parquet")]
    Parquet {
        path: PathBuf,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("{}: column {column:?} has Parquet type {kind}, which cannot be imported; only numbers, booleans, text and timestamps can", path.display())]
    #[cfg(feature = "parquet")]
    UnsupportedParquetColumn {
        path: PathBuf,
        column: String,
        kind: String,
    },
    #[error("{}: this sightline was built without Parquet support; rebuild with `cargo build --release -p sightline --features parquet`", path.display())]
    #[cfg(not(feature = "parquet"))]
    ParquetNotBuilt { path: PathBuf },
    #[error("{}: interrupted; {rows} rows are stored. Run the same command with --resume to continue", path.display())]
    Interrupted { path: PathBuf, rows: u64 },
    #[error("{}: the server refused rows {first_line}–{last_line} with {status} {error_name}: {message}. Nothing of that request was stored; fix it and run again (with --resume to skip the rows already stored)", path.display())]
    Refused {
        path: PathBuf,
        first_line: u64,
        last_line: u64,
        status: u16,
        error_name: String,
        message: String,
    },
    #[error("the server at {url} refused the token ({status}); pass a token with write access to the dataset via --token or SIGHTLINE_TOKEN")]
    Unauthorized { url: String, status: u16 },
    #[error("cannot reach the server at {url} after {attempts} attempts ({source}); is `sightline serve` running there? Run again with --resume once it is")]
    Unreachable {
        url: String,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("the server at {url} kept answering {status} after {attempts} attempts; run again with --resume once it recovers")]
    ServerBusy {
        url: String,
        status: u16,
        attempts: u32,
    },
    #[error("{}: the checkpoint {} belongs to {reason}; run without --resume to import the file from the start", path.display(), checkpoint.display())]
    CheckpointMismatch {
        path: PathBuf,
        checkpoint: PathBuf,
        reason: String,
    },
    #[error("cannot write the checkpoint {}: {source}", path.display())]
    Checkpoint {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the file reader stopped unexpectedly")]
    ReaderGone,
}
