//! Which column holds the time, in which format, and which columns become channels of which
//! kind. Decided once per file (from its header and first rows) and kept in the checkpoint,
//! so a resumed import reads the rest of the file exactly as the first run did.

use super::time::TimeFormat;
use serde::{Deserialize, Serialize};

/// Rows looked at to decide whether a column is numeric.
pub(crate) const SAMPLE_ROWS: usize = 1000;

/// Header names taken as the time column when `--time-column` is not given.
const TIME_NAMES: [&str; 6] = ["time", "timestamp", "ts", "_time", "datetime", "date"];

/// How a column's cells become points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    /// Doubles (`"NaN"`, `"inf"` included).
    Numeric,
    /// Strings.
    Text,
}

/// One column that becomes a channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ChannelSpec {
    /// Channel name (the header, trimmed).
    pub(crate) name: String,
    /// Index of the column in the file.
    pub(crate) index: usize,
    pub(crate) kind: Kind,
}

/// How a file maps to channels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Schema {
    pub(crate) time_column: String,
    pub(crate) time_index: usize,
    /// Always concrete (never `Auto`).
    pub(crate) time_format: TimeFormat,
    pub(crate) channels: Vec<ChannelSpec>,
}

/// The index of the time column: the one named, or a conventional name, or the first.
pub(crate) fn time_column_index(headers: &[String], named: Option<&str>) -> Option<usize> {
    match named {
        Some(name) => headers.iter().position(|h| h == name),
        None => headers
            .iter()
            .position(|h| TIME_NAMES.iter().any(|n| h.eq_ignore_ascii_case(n)))
            .or(if headers.is_empty() { None } else { Some(0) }),
    }
}

/// Whether a non-empty cell reads as a number.
pub(crate) fn is_numeric(cell: &str) -> bool {
    cell.parse::<f64>().is_ok()
}

/// Joins header names for messages.
pub(crate) fn column_list(headers: &[String]) -> String {
    headers
        .iter()
        .map(|h| format!("{h:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_column_by_name_then_convention_then_first() {
        let headers: Vec<String> = ["a", "Timestamp", "b"].map(String::from).to_vec();
        assert_eq!(time_column_index(&headers, Some("b")), Some(2));
        assert_eq!(time_column_index(&headers, Some("zz")), None);
        assert_eq!(time_column_index(&headers, None), Some(1));
        let plain: Vec<String> = ["x", "y"].map(String::from).to_vec();
        assert_eq!(time_column_index(&plain, None), Some(0));
    }
}
