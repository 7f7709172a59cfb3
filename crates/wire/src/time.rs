//! Conversions between wire timestamps/durations and the engine's `i64` nanoseconds since
//! the Unix epoch, with the validity rules of PROTOCOL §1–§2.

use crate::api::Timestamp;
use crate::conjure::SafeLong;
use crate::scout_run::Duration;

/// Nanoseconds in a second.
pub const NANOS_PER_SECOND: i64 = 1_000_000_000;
/// Earliest accepted timestamp: 1900-01-01T00:00:00Z, in seconds since the epoch.
pub const MIN_SECONDS: i64 = -2_208_988_800;
/// First rejected timestamp: 2262-01-01T00:00:00Z, in seconds (i64 nanoseconds end in 2262-04).
pub const MAX_SECONDS: i64 = 9_183_110_400;

/// Why a wire timestamp or duration was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    /// `nanos` outside `0..1e9`.
    #[error("nanos {nanos} is outside 0..1000000000")]
    NanosOutOfRange {
        /// The offending nanos field.
        nanos: i64,
    },
    /// A timestamp before 1900 or after 2262.
    #[error("timestamp {seconds}s is outside the years 1900..2262")]
    OutOfRange {
        /// The offending seconds field.
        seconds: i64,
    },
}

/// Converts a wire timestamp to nanoseconds since the epoch, refusing absurd values.
pub fn timestamp_to_nanos(t: &Timestamp) -> Result<i64, TimeError> {
    let (seconds, nanos) = (t.seconds.0, t.nanos.0);
    if !(0..NANOS_PER_SECOND).contains(&nanos) {
        return Err(TimeError::NanosOutOfRange { nanos });
    }
    if !(MIN_SECONDS..MAX_SECONDS).contains(&seconds) {
        return Err(TimeError::OutOfRange { seconds });
    }
    Ok(seconds * NANOS_PER_SECOND + nanos)
}

/// Converts nanoseconds since the epoch to a wire timestamp.
pub fn nanos_to_timestamp(nanos: i64) -> Timestamp {
    Timestamp {
        seconds: SafeLong(nanos.div_euclid(NANOS_PER_SECOND)),
        nanos: SafeLong(nanos.rem_euclid(NANOS_PER_SECOND)),
    }
}

/// Converts a wire duration to signed nanoseconds, saturating far outside any window.
pub fn duration_to_nanos(d: &Duration) -> Result<i64, TimeError> {
    let nanos = d.nanos.0;
    if !(0..NANOS_PER_SECOND).contains(&nanos) {
        return Err(TimeError::NanosOutOfRange { nanos });
    }
    Ok(d.seconds
        .0
        .saturating_mul(NANOS_PER_SECOND)
        .saturating_add(nanos))
}

/// Converts signed nanoseconds to a wire duration.
pub fn nanos_to_duration(nanos: i64) -> Duration {
    Duration {
        seconds: SafeLong(nanos.div_euclid(NANOS_PER_SECOND)),
        nanos: SafeLong(nanos.rem_euclid(NANOS_PER_SECOND)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_including_before_epoch() {
        for n in [
            0,
            1,
            -1,
            1_764_345_600_123_456_789,
            -2_000_000_000_000_000_000,
        ] {
            assert_eq!(timestamp_to_nanos(&nanos_to_timestamp(n)), Ok(n));
        }
    }

    #[test]
    fn absurd_timestamps_are_refused() {
        let t = |s, n| Timestamp {
            seconds: SafeLong(s),
            nanos: SafeLong(n),
        };
        assert!(matches!(
            timestamp_to_nanos(&t(0, -1)),
            Err(TimeError::NanosOutOfRange { .. })
        ));
        assert!(matches!(
            timestamp_to_nanos(&t(0, 1_000_000_000)),
            Err(TimeError::NanosOutOfRange { .. })
        ));
        assert!(matches!(
            timestamp_to_nanos(&t(MAX_SECONDS, 0)),
            Err(TimeError::OutOfRange { .. })
        ));
        assert!(matches!(
            timestamp_to_nanos(&t(MIN_SECONDS - 1, 0)),
            Err(TimeError::OutOfRange { .. })
        ));
    }
}
