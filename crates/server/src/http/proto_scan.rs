//! Counting the series and points of a protobuf write from its wire bytes, before prost
//! allocates them: a 2-byte empty `Series` decodes to a ~100-byte struct, so a small body
//! could otherwise become gigabytes. The scan walks the length-delimited fields it needs
//! and skips everything else, allocating nothing; it stops as soon as a count passes its
//! limit. Each [`Shape`] is one writer's message:
//!
//! ```text
//! Nominal:    WriteRequestNominal { 1: Series* }
//!               Series { 3: Points }
//!                 Points { 1..6: <Type>Points }      (the oneof)
//!                   <Type>Points { 1: <Type>Point* }  (each one counted)
//! Columnar:   WriteBatchesRequest { 1: RecordsBatch* }
//!               RecordsBatch { 3: Points }
//!                 Points { 1: Timestamp* }            (one per point, each counted)
//! Prometheus: WriteRequest { 1: TimeSeries* }
//!               TimeSeries { 2: Sample* }             (each counted)
//! ```

/// Which message a body holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `WriteRequestNominal` (`/nominal/{rid}`).
    Nominal,
    /// `WriteBatchesRequest` (`/nominal-columnar`).
    Columnar,
    /// Prometheus `WriteRequest` (remote write).
    Prometheus,
}

use prost::bytes::Buf as _;
use prost::encoding::{decode_key, decode_varint, WireType};

/// Why a scan stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ScanStop {
    /// The bytes are not a well-formed protobuf message.
    Malformed(&'static str),
    /// More series than allowed; `seen` is how many were counted when the scan stopped.
    TooManySeries { seen: usize },
    /// More points than allowed.
    TooManyPoints { seen: usize },
}

/// Limits the scan checks.
pub(crate) struct Limits {
    pub(crate) series: usize,
    pub(crate) points: usize,
}

/// How many series and points a request carries.
#[derive(Debug, PartialEq, Eq, Default)]
pub(crate) struct Counts {
    pub(crate) series: usize,
    pub(crate) points: usize,
}

/// Counts series and points of the request in `buf`, stopping at the first limit passed.
pub(crate) fn check_counts(buf: &[u8], shape: Shape, limits: &Limits) -> Result<Counts, ScanStop> {
    let mut series = 0usize;
    let mut points = 0usize;
    for_each_field(buf, |field, wire, body| {
        if field == 1 && wire == WireType::LengthDelimited {
            series += 1;
            if series > limits.series {
                return Err(ScanStop::TooManySeries { seen: series });
            }
            match shape {
                Shape::Nominal => count_series_points(body, &mut points, limits.points)?,
                Shape::Columnar => count_batch_points(body, &mut points, limits.points)?,
                Shape::Prometheus => count_items(body, 2, &mut points, limits.points)?,
            }
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
            count_items(list, 1, points, limit)
        })
    })
}

/// `RecordsBatch { 3: Points { 1: Timestamp* } }`: one timestamp per point.
fn count_batch_points(batch: &[u8], points: &mut usize, limit: usize) -> Result<(), ScanStop> {
    for_each_field(batch, |field, wire, body| {
        if field != 3 || wire != WireType::LengthDelimited {
            return Ok(());
        }
        count_items(body, 1, points, limit)
    })
}

/// Counts the length-delimited fields numbered `item` (below 16) of one message into
/// `points`.
fn count_items(
    mut message: &[u8],
    item: u32,
    points: &mut usize,
    limit: usize,
) -> Result<(), ScanStop> {
    // Items are most of a request's fields: one whose key and length take a byte each is
    // hopped over without the general walk (two varint decodes per point).
    let key = ((item << 3) | WireType::LengthDelimited as u32) as u8;
    while !message.is_empty() {
        let is_item = match *message {
            [k, len @ 0..0x80, ..] if k == key => {
                message = message
                    .get(2 + usize::from(len)..)
                    .ok_or(ScanStop::Malformed("length past the end"))?;
                true
            }
            _ => {
                let (field, wire, _) = next_field(&mut message)?;
                field == item && wire == WireType::LengthDelimited
            }
        };
        if is_item {
            *points += 1;
            if *points > limit {
                return Err(ScanStop::TooManyPoints { seen: *points });
            }
        }
    }
    Ok(())
}

/// Calls `visit(field number, wire type, bytes)` for each field of one message; `bytes` is
/// the content of a length-delimited field and empty for other wire types.
fn for_each_field(
    mut buf: &[u8],
    mut visit: impl FnMut(u32, WireType, &[u8]) -> Result<(), ScanStop>,
) -> Result<(), ScanStop> {
    while buf.has_remaining() {
        let (field, wire, body) = next_field(&mut buf)?;
        visit(field, wire, body)?;
    }
    Ok(())
}

/// Reads the next field of `buf`: its number, wire type and (for a length-delimited one)
/// its bytes, empty for other wire types.
fn next_field<'a>(buf: &mut &'a [u8]) -> Result<(u32, WireType, &'a [u8]), ScanStop> {
    let (field, wire) = decode_key(buf).map_err(|_| ScanStop::Malformed("field key"))?;
    let body: &[u8] = match wire {
        WireType::Varint => {
            decode_varint(buf).map_err(|_| ScanStop::Malformed("varint"))?;
            &[]
        }
        WireType::SixtyFourBit => {
            skip(buf, 8)?;
            &[]
        }
        WireType::ThirtyTwoBit => {
            skip(buf, 4)?;
            &[]
        }
        WireType::LengthDelimited => {
            let len = decode_varint(buf).map_err(|_| ScanStop::Malformed("length"))?;
            let len = usize::try_from(len).map_err(|_| ScanStop::Malformed("length"))?;
            if len > buf.len() {
                return Err(ScanStop::Malformed("length past the end"));
            }
            let (body, rest) = buf.split_at(len);
            *buf = rest;
            body
        }
        WireType::StartGroup | WireType::EndGroup => {
            return Err(ScanStop::Malformed("groups are not used by this message"));
        }
    };
    Ok((field, wire, body))
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

    fn check_counts_nominal(buf: &[u8], limits: &Limits) -> Result<Counts, ScanStop> {
        check_counts(buf, Shape::Nominal, limits)
    }

    #[test]
    fn columnar_and_prometheus_count_their_points() {
        let batch = columnar::RecordsBatch {
            channel: "c".into(),
            tags: Default::default(),
            points: Some(columnar::Points {
                timestamps: vec![columnar::Timestamp::default(); 7],
                values: Some(columnar::Values::DoublePoints(columnar::DoublePoints {
                    points: vec![1.0; 7],
                })),
            }),
        };
        let request = columnar::WriteBatchesRequest {
            batches: vec![batch; 3],
            data_source_rid: "ri".into(),
        }
        .encode_to_vec();
        assert_eq!(
            check_counts(&request, Shape::Columnar, &ROOMY),
            Ok(Counts {
                series: 3,
                points: 21
            })
        );
        let series = sightline_wire::prometheus::TimeSeries {
            labels: vec![sightline_wire::prometheus::Label {
                name: "__name__".into(),
                value: "m".into(),
            }],
            samples: vec![sightline_wire::prometheus::Sample::default(); 5],
        };
        let request = sightline_wire::prometheus::WriteRequest {
            timeseries: vec![series; 2],
        }
        .encode_to_vec();
        assert_eq!(
            check_counts(&request, Shape::Prometheus, &ROOMY),
            Ok(Counts {
                series: 2,
                points: 10
            })
        );
    }

    const ROOMY: Limits = Limits {
        series: 100,
        points: 1000,
    };

    #[test]
    fn counts_within_limits_pass() {
        assert_eq!(
            check_counts_nominal(&request(10, 100), &ROOMY),
            Ok(Counts {
                series: 10,
                points: 1000
            })
        );
        assert_eq!(check_counts_nominal(&[], &ROOMY), Ok(Counts::default()));
    }

    #[test]
    fn too_many_series_or_points_stop_the_scan() {
        assert_eq!(
            check_counts_nominal(&request(101, 0), &ROOMY),
            Err(ScanStop::TooManySeries { seen: 101 })
        );
        assert_eq!(
            check_counts_nominal(&request(2, 501), &ROOMY),
            Err(ScanStop::TooManyPoints { seen: 1001 })
        );
    }

    /// `count_items` as it was before its one-byte hop: the general field walk.
    fn count_items_by_walk(message: &[u8], item: u32, limit: usize) -> Result<usize, ScanStop> {
        let mut points = 0;
        for_each_field(message, |field, wire, _| {
            if field == item && wire == WireType::LengthDelimited {
                points += 1;
                if points > limit {
                    return Err(ScanStop::TooManyPoints { seen: points });
                }
            }
            Ok(())
        })?;
        Ok(points)
    }

    proptest::proptest! {
        /// The hop over one-byte keys and lengths counts, stops and refuses exactly as the
        /// general walk does, on well-formed items mixed with other fields and on any bytes.
        #[test]
        fn the_hop_agrees_with_the_general_walk(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64),
            items in proptest::collection::vec((1u32..4, 0usize..140), 0..12),
            cut in 0usize..2000,
            item in 1u32..3,
            limit in 0usize..10,
        ) {
            let mut message = Vec::new();
            for (field, len) in items {
                prost::encoding::bytes::encode(field, &vec![7u8; len], &mut message);
            }
            message.truncate(cut);
            for message in [&message[..], &bytes[..]] {
                let mut points = 0;
                let hop = count_items(message, item, &mut points, limit).map(|()| points);
                proptest::prop_assert_eq!(hop, count_items_by_walk(message, item, limit));
            }
        }
    }

    #[test]
    fn truncated_bytes_are_malformed() {
        let bytes = request(3, 3);
        assert!(matches!(
            check_counts_nominal(&bytes[..bytes.len() - 1], &ROOMY),
            Err(ScanStop::Malformed(_))
        ));
    }
}
