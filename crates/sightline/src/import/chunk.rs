//! What a file reader hands to the sender: a bounded piece of the file as one column of
//! points per channel, plus where in the file the piece ends (the resume point once every
//! earlier piece is acknowledged); and [`ChunkBuilder`], the one place both readers (CSV and
//! Parquet) gather rows into that shape.
//!
//! ```text
//!  file rows ──► Chunk { series: [ channel a: t[], v[] ],   end: Position (after last row) }
//!                                 [ channel b: t[], v[] ]
//! ```

use super::schema::{Kind, Schema};
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

/// Gathers rows into one column per channel of a schema, sized up front for the chunk's
/// target so the columns do not reallocate while a chunk fills.
#[derive(Debug)]
pub(crate) struct ChunkBuilder {
    series: Vec<SeriesColumn>,
    rows: u64,
    points: usize,
    time_range: Option<(i64, i64)>,
    first_line: u64,
}

impl ChunkBuilder {
    /// An empty chunk for `schema`'s channels, starting at `first_line`, with room for
    /// about `target_points` points.
    pub(crate) fn new(schema: &Schema, first_line: u64, target_points: usize) -> Self {
        // Every row usually fills every channel; cap the guess so a huge target over many
        // channels does not reserve what a sparse file never fills.
        let per_channel = (target_points / schema.channels.len().max(1) + 1).min(1 << 20);
        let series = schema
            .channels
            .iter()
            .map(|c| SeriesColumn {
                channel: Arc::from(c.name.as_str()),
                timestamps: Vec::with_capacity(per_channel),
                values: match c.kind {
                    Kind::Numeric => Values::Doubles(Vec::with_capacity(per_channel)),
                    Kind::Text => Values::Strings(Vec::new()),
                },
            })
            .collect();
        ChunkBuilder {
            series,
            rows: 0,
            points: 0,
            time_range: None,
            first_line,
        }
    }

    /// Points gathered so far.
    pub(crate) fn points(&self) -> usize {
        self.points
    }

    /// Starts a row at time `t`.
    pub(crate) fn row(&mut self, t: i64) {
        self.rows += 1;
        self.time_range = Some(match self.time_range {
            Some((lo, hi)) => (lo.min(t), hi.max(t)),
            None => (t, t),
        });
    }

    /// The values of channel `i` (the schema's order), to push one value into; the caller
    /// then calls [`ChunkBuilder::pushed`] with the row's time.
    pub(crate) fn values(&mut self, i: usize) -> Option<&mut Values> {
        self.series.get_mut(i).map(|s| &mut s.values)
    }

    /// Records that channel `i` got a value at `t`.
    pub(crate) fn pushed(&mut self, i: usize, t: i64) {
        if let Some(s) = self.series.get_mut(i) {
            s.timestamps.push(t);
            self.points += 1;
        }
    }

    /// The chunk, ending at `end`; `None` if no row was read.
    pub(crate) fn finish(mut self, end: Position) -> Option<Chunk> {
        if self.rows == 0 {
            return None;
        }
        self.series.retain(|s| !s.timestamps.is_empty());
        Some(Chunk {
            series: self.series,
            rows: self.rows,
            points: self.points as u64,
            time_range: self.time_range,
            first_line: self.first_line,
            end,
        })
    }
}
