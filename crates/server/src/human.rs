//! Durations and times as a person reads them (`7 d`, `1.5 s`, `2026-12-01 21:30:00.250 UTC`),
//! for messages and console output. Programs read the exact values from error parameters.

use std::time::Duration;

const UNITS: &[(i128, &str)] = &[
    (86_400_000_000_000, "d"),
    (3_600_000_000_000, "h"),
    (60_000_000_000, "min"),
    (1_000_000_000, "s"),
    (1_000_000, "ms"),
    (1_000, "µs"),
    (1, "ns"),
];

/// A signed nanosecond duration in the largest unit that keeps it at least 1, with up to
/// three significant decimals: `604800000000000` → `7 d`, `1500000000` → `1.5 s`.
pub fn duration_ns(nanos: i64) -> String {
    let n = i128::from(nanos);
    let (sign, abs) = if n < 0 { ("-", -n) } else { ("", n) };
    if abs == 0 {
        return "0 s".to_string();
    }
    let (size, unit) = UNITS
        .iter()
        .copied()
        .find(|(size, _)| abs >= *size)
        .unwrap_or((1, "ns"));
    let whole = abs / size;
    let frac = (abs % size) * 1000 / size;
    if frac == 0 {
        format!("{sign}{whole} {unit}")
    } else {
        let frac = format!("{frac:03}");
        format!("{sign}{whole}.{} {unit}", frac.trim_end_matches('0'))
    }
}

/// A [`Duration`] as [`duration_ns`] writes it.
pub fn duration(d: Duration) -> String {
    duration_ns(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Nanoseconds since the epoch as a UTC date and time with milliseconds.
pub fn time_ns(nanos: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(nanos)
        .format("%Y-%m-%d %H:%M:%S%.3f UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_writes_them() {
        assert_eq!(duration_ns(604_800_000_000_000), "7 d");
        assert_eq!(duration_ns(31_536_000_000_000_000), "365 d");
        assert_eq!(duration_ns(1_500_000_000), "1.5 s");
        assert_eq!(duration_ns(-250_000_000), "-250 ms");
        assert_eq!(duration_ns(90_000_000_000), "1.5 min");
        assert_eq!(duration_ns(1), "1 ns");
        assert_eq!(duration_ns(0), "0 s");
        assert_eq!(duration_ns(i64::MIN), "-106751.991 d");
        assert_eq!(duration(Duration::from_secs(3600)), "1 h");
    }

    #[test]
    fn times_are_utc_with_milliseconds() {
        assert_eq!(
            time_ns(1_764_345_600_250_000_000),
            "2025-11-28 16:00:00.250 UTC"
        );
    }
}
