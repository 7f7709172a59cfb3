//! What a file reader hands to the sender: a bounded piece of the file as one column of
//! points per channel, plus where in the file the piece ends (the resume point once every
//! earlier piece is acknowledged).
//!
//! ```text
//!  file rows ──► Chunk { series: [ channel a: t[], v[] ],   end: Position (after last row) }
//!                                 [ channel b: t[], v[] ]
//! ```

use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Where a reader stands in its file. For CSV all three fields are meaningful (the csv
/// crate seeks to them); for Parquet only `record` (rows consumed) and `byte` (progress).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Position {
    /// Byte offset of the next unread row.
    pub(crate) byte: u64,
    /// 1-based line number of the next unread row.
    pub(crate) line: u64,
    /// Rows read so far (the header counts as one for CSV).
    pub(crate) record: u64,
}

/// The values of one channel within a chunk.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Doubles(Vec<f64>),
    Strings(Vec<String>),
}

/// The points of one channel within a chunk, in file order.
#[derive(Debug, Clone)]
pub(crate) struct SeriesColumn {
    pub(crate) channel: Arc<str>,
    pub(crate) timestamps: Vec<i64>,
    pub(crate) values: Values,
}

/// A bounded piece of a file.
#[derive(Debug, Clone)]
pub(crate) struct Chunk {
    /// One column per channel that has points in this chunk (empty ones are left out).
    pub(crate) series: Vec<SeriesColumn>,
    /// Rows this chunk covers.
    pub(crate) rows: u64,
    /// Points (non-empty cells) it holds.
    pub(crate) points: u64,
    /// Earliest and latest timestamp in it.
    pub(crate) time_range: Option<(i64, i64)>,
    /// First file line (CSV) or row (Parquet) in the chunk, for error messages.
    pub(crate) first_line: u64,
    /// Where the file continues after this chunk.
    pub(crate) end: Position,
}

impl Chunk {
    pub(crate) fn last_line(&self) -> u64 {
        self.end.line.saturating_sub(1).max(self.first_line)
    }
}
