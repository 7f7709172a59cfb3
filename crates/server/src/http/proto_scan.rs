//! Counting the series and points of a protobuf `WriteRequestNominal` from its wire bytes,
//! before prost allocates them: a 2-byte empty `Series` decodes to a ~100-byte struct, so a
//! small body could otherwise become gigabytes. The scan walks the length-delimited fields
//! it needs (request → series → points → the typed point list) and skips everything else,
//! allocating nothing; it stops as soon as a count passes its limit.
//!
//! ```text
//! WriteRequestNominal { 1: Series* }
//!   Series { 3: Points }
//!     Points { 1..6: <Type>Points }      (the oneof)
//!       <Type>Points { 1: <Type>Point* }  (each one counted)
//! ```

use prost::bytes::Buf as _;
use prost::encoding::{decode_key, decode_varint, WireType};

/// Why a scan stopped.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum ScanStop {
    /// The bytes are not a well-formed protobuf message.
    Malformed(&'static str),
    /// More series than allowed; `seen` is how many were counted when the scan stopped.
    TooManySeries { seen: usize },
    /// More points than allowed.
    TooManyPoints { seen: usize },
}

/// Limits the scan checks.
pub(super) struct Limits {
    pub(super) series: usize,
    pub(super) points: usize,
}

/// How many series and points a request carries.
#[derive(Debug, PartialEq, Eq, Default)]
pub(super) struct Counts {
    pub(super) series: usize,
    pub(super) points: usize,
}

/// Counts series and points of the request in `buf`, stopping at the first limit passed.
pub(super) fn check_counts(buf: &[u8], limits: &Limits) -> Result<Counts, ScanStop> {
    let mut series = 0usize;
    let mut points = 0usize;
    for_each_field(buf, |field, wire, body| {
        if field == 1 && wire == WireType::LengthDelimited {
            series += 1;
            if series > limits.series {
                return Err(ScanStop::TooManySeries { seen: series });
            }
            count_series_points(body, &mut points, limits.points)?;
        }
        Ok(())
    })?;
    Ok(Counts { series, points })
}

fn count_series_points(series: &[u8], points: &mut usize, limit: usize) -> Result<(), ScanStop> {
    for_each_field(series, |field, wire, body| {
        if field != 3 || wire != WireType::LengthDelimited {
            return Ok(());
        }
        // `Points`: its oneof fields 1..6 each hold a list message.
        for_each_field(body, |kind, wire, list| {
            if !(1..=6).contains(&kind) || wire != WireType::LengthDelimited {
                return Ok(());
            }
            for_each_field(list, |item, wire, _| {
                if item == 1 && wire == WireType::LengthDelimited {
                    *points += 1;
                    if *points > limit {
                        return Err(ScanStop::TooManyPoints { seen: *points });
                    }
                }
                Ok(())
            })
        })
    })
}

/// Calls `visit(field number, wire type, bytes)` for each field of one message; `bytes` is
/// the content of a length-delimited field and empty for other wire types.
fn for_each_field(
    mut buf: &[u8],
    mut visit: impl FnMut(u32, WireType, &[u8]) -> Result<(), ScanStop>,
) -> Result<(), ScanStop> {
    while buf.has_remaining() {
        let (field, wire) = decode_key(&mut buf).map_err(|_| ScanStop::Malformed("field key"))?;
        match wire {
            WireType::Varint => {
                decode_varint(&mut buf).map_err(|_| ScanStop::Malformed("varint"))?;
                visit(field, wire, &[])?;
            }
            WireType::SixtyFourBit => {
                skip(&mut buf, 8)?;
                visit(field, wire, &[])?;
            }
            WireType::ThirtyTwoBit => {
                skip(&mut buf, 4)?;
                visit(field, wire, &[])?;
            }
            WireType::LengthDelimited => {
                let len = decode_varint(&mut buf).map_err(|_| ScanStop::Malformed("length"))?;
                let len = usize::try_from(len).map_err(|_| ScanStop::Malformed("length"))?;
                if len > buf.len() {
                    return Err(ScanStop::Malformed("length past the end"));
                }
                let (body, rest) = buf.split_at(len);
                buf = rest;
                visit(field, wire, body)?;
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(ScanStop::Malformed("groups are not used by this message"));
            }
        }
    }
    Ok(())
}

fn skip(buf: &mut &[u8], n: usize) -> Result<(), ScanStop> {
    if buf.len() < n {
        return Err(ScanStop::Malformed("fixed-width field past the end"));
    }
    *buf = &buf[n..];
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use sightline_wire::proto::*;

    fn request(series: usize, points_each: usize) -> Vec<u8> {
        let one = Series {
            channel: Some(Channel { name: "c".into() }),
            tags: Default::default(),
            points: Some(Points {
                points_type: Some(PointsType::DoublePoints(DoublePoints {
                    points: vec![
                        DoublePoint {
                            timestamp: Some(ProtoTimestamp {
                                seconds: 1,
                                nanos: 0
                            }),
                            value: 1.0,
                        };
                        points_each
                    ],
                })),
            }),
        };
        WriteRequestNominal {
            series: vec![one; series],
            session_name: Some("s".into()),
        }
        .encode_to_vec()
    }

    const ROOMY: Limits = Limits {
        series: 100,
        points: 1000,
    };

    #[test]
    fn counts_within_limits_pass() {
        assert_eq!(
            check_counts(&request(10, 100), &ROOMY),
            Ok(Counts {
                series: 10,
                points: 1000
            })
        );
        assert_eq!(check_counts(&[], &ROOMY), Ok(Counts::default()));
    }

    #[test]
    fn too_many_series_or_points_stop_the_scan() {
        assert_eq!(
            check_counts(&request(101, 0), &ROOMY),
            Err(ScanStop::TooManySeries { seen: 101 })
        );
        assert_eq!(
            check_counts(&request(2, 501), &ROOMY),
            Err(ScanStop::TooManyPoints { seen: 1001 })
        );
    }

    #[test]
    fn truncated_bytes_are_malformed() {
        let bytes = request(3, 3);
        assert!(matches!(
            check_counts(&bytes[..bytes.len() - 1], &ROOMY),
            Err(ScanStop::Malformed(_))
        ));
    }
}
