//! Time cells: the formats a time column may use, detecting which one a file uses from its
//! first time cell, and parsing a cell to nanoseconds since the Unix epoch without going
//! through floating point (so nanosecond timestamps survive exactly).

use chrono::DateTime;
use serde::{Deserialize, Serialize};

/// How the time column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TimeFormat {
    /// Decide from the first time cell: RFC 3339 text, or an epoch number whose magnitude
    /// tells the unit (seconds up to 1e11, milliseconds up to 1e14, microseconds up to 1e17,
    /// nanoseconds above).
    Auto,
    /// RFC 3339 / ISO 8601 with an offset, e.g. `2025-12-01T21:30:00.125Z`.
    Rfc3339,
    /// Seconds since the Unix epoch, fractions allowed (`1764624600.125`).
    S,
    /// Milliseconds since the Unix epoch.
    Ms,
    /// Microseconds since the Unix epoch.
    Us,
    /// Nanoseconds since the Unix epoch.
    Ns,
}

impl TimeFormat {
    /// Human name for messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            TimeFormat::Auto => "auto-detected",
            TimeFormat::Rfc3339 => "RFC 3339 time",
            TimeFormat::S => "epoch seconds",
            TimeFormat::Ms => "epoch milliseconds",
            TimeFormat::Us => "epoch microseconds",
            TimeFormat::Ns => "epoch nanoseconds",
        }
    }

    /// Nanoseconds per unit of an epoch format.
    fn scale(self) -> Option<i64> {
        match self {
            TimeFormat::S => Some(1_000_000_000),
            TimeFormat::Ms => Some(1_000_000),
            TimeFormat::Us => Some(1_000),
            TimeFormat::Ns => Some(1),
            TimeFormat::Auto | TimeFormat::Rfc3339 => None,
        }
    }

    /// The concrete format of `cell`, or `None` when it is neither a number nor RFC 3339.
    pub(crate) fn detect(cell: &str) -> Option<TimeFormat> {
        let cell = cell.trim();
        if let Some((int, _)) = split_number(cell) {
            let magnitude = int.unsigned_abs();
            return Some(if magnitude < 100_000_000_000 {
                TimeFormat::S
            } else if magnitude < 100_000_000_000_000 {
                TimeFormat::Ms
            } else if magnitude < 100_000_000_000_000_000 {
                TimeFormat::Us
            } else {
                TimeFormat::Ns
            });
        }
        parse_rfc3339(cell).map(|_| TimeFormat::Rfc3339)
    }

    /// Nanoseconds since the epoch of `cell` in this (concrete) format.
    pub(crate) fn parse(self, cell: &str) -> Option<i64> {
        let cell = cell.trim();
        match self.scale() {
            Some(scale) => {
                let (int, frac) = split_number(cell)?;
                let whole = int.checked_mul(scale)?;
                let frac = fraction_nanos(frac, scale)?;
                if cell.starts_with('-') {
                    whole.checked_sub(frac)
                } else {
                    whole.checked_add(frac)
                }
            }
            None => parse_rfc3339(cell),
        }
    }
}

/// Splits `-123.456` into the integer part (`-123`) and the fraction digits (`456`).
fn split_number(cell: &str) -> Option<(i64, &str)> {
    let (int, frac) = match cell.split_once('.') {
        Some((int, frac)) => (int, frac),
        None => (cell, ""),
    };
    let digits = int.strip_prefix('-').unwrap_or(int);
    if digits.is_empty() && frac.is_empty() {
        return None;
    }
    if !digits.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int = if digits.is_empty() {
        0
    } else {
        int.parse().ok()?
    };
    Some((int, frac))
}

/// The fraction digits `frac` of one unit of `scale` nanoseconds, truncated to whole
/// nanoseconds.
fn fraction_nanos(frac: &str, scale: i64) -> Option<i64> {
    let mut nanos: i64 = 0;
    let mut unit = scale;
    for b in frac.bytes() {
        if unit < 10 {
            break;
        }
        unit /= 10;
        nanos = nanos.checked_add(i64::from(b - b'0') * unit)?;
    }
    Some(nanos)
}

fn parse_rfc3339(cell: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(cell)
        .ok()
        .and_then(|t| t.timestamp_nanos_opt())
}

#[cfg(test)]
mod tests {
    use super::TimeFormat;

    #[test]
    fn detects_units_by_magnitude() {
        assert_eq!(TimeFormat::detect("1764624600"), Some(TimeFormat::S));
        assert_eq!(TimeFormat::detect("1764624600.5"), Some(TimeFormat::S));
        assert_eq!(TimeFormat::detect("1764624600125"), Some(TimeFormat::Ms));
        assert_eq!(TimeFormat::detect("1764624600125000"), Some(TimeFormat::Us));
        assert_eq!(
            TimeFormat::detect("1764624600125000001"),
            Some(TimeFormat::Ns)
        );
        assert_eq!(
            TimeFormat::detect("2025-12-01T21:30:00Z"),
            Some(TimeFormat::Rfc3339)
        );
        assert_eq!(TimeFormat::detect("yesterday"), None);
        assert_eq!(TimeFormat::detect("."), None);
    }

    #[test]
    fn parses_exactly() {
        let t = 1_764_624_600_125_000_000;
        assert_eq!(TimeFormat::S.parse("1764624600.125"), Some(t));
        assert_eq!(TimeFormat::Ms.parse("1764624600125"), Some(t));
        assert_eq!(TimeFormat::Us.parse("1764624600125000"), Some(t));
        assert_eq!(TimeFormat::Ns.parse("1764624600125000001"), Some(t + 1));
        assert_eq!(TimeFormat::Ms.parse("1764624600125.0009"), Some(t + 900));
        assert_eq!(
            TimeFormat::Rfc3339.parse("2025-12-01T21:30:00.125Z"),
            Some(t)
        );
        assert_eq!(
            TimeFormat::Rfc3339.parse("2025-12-01T22:30:00.125+01:00"),
            Some(t)
        );
        assert_eq!(TimeFormat::S.parse("-1.5"), Some(-1_500_000_000));
        assert_eq!(TimeFormat::S.parse("1e9"), None);
        assert_eq!(TimeFormat::S.parse("99999999999999999999"), None);
    }
}
