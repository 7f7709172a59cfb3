//! Request bodies: a chunk as a `WriteColumnBatchesRequest` (`POST
//! /storage/writer/v1/columnar`), written straight into a byte buffer because this is the
//! importer's hot loop (tens of millions of timestamps); the same chunk as the upstream
//! streaming clients' protobuf `WriteRequestNominal` (`--format nominal`); the same chunk as
//! the columnar protobuf `WriteBatchesRequest` (`--format nominal-columnar`, the default:
//! the cheapest body for the server to decode); and the small row-writer body that sets
//! channel units (none of them carries units).

use super::chunk::{Chunk, SeriesColumn, Values};
use std::collections::BTreeMap;

/// Encodes request bodies for one dataset and one tag set.
#[derive(Debug, Clone)]
pub(crate) struct Encoder {
    dataset: String,
    /// `"tags":{...}` with the leading comma, ready to splice into each batch.
    tags_json: String,
    tags: BTreeMap<String, String>,
}

impl Encoder {
    pub(crate) fn new(dataset: &str, tags: BTreeMap<String, String>) -> Self {
        let tags_json = serde_json::to_string(&tags).unwrap_or_else(|_| "{}".to_string());
        Encoder {
            dataset: dataset.to_string(),
            tags_json,
            tags,
        }
    }

    /// The columnar write of `chunk`, appended to `out`.
    pub(crate) fn columnar(&self, chunk: &Chunk, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"dataSourceRid\":");
        json_string(&self.dataset, out);
        out.extend_from_slice(b",\"batches\":[");
        for (i, series) in chunk.series.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            self.batch(series, out);
        }
        out.extend_from_slice(b"]}");
    }

    fn batch(&self, series: &SeriesColumn, out: &mut Vec<u8>) {
        let mut ints = itoa::Buffer::new();
        out.extend_from_slice(b"{\"channel\":");
        json_string(&series.channel, out);
        out.extend_from_slice(b",\"tags\":");
        out.extend_from_slice(self.tags_json.as_bytes());
        out.extend_from_slice(b",\"timestamps\":[");
        for (i, &t) in series.timestamps.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"seconds\":");
            out.extend_from_slice(ints.format(t.div_euclid(1_000_000_000)).as_bytes());
            out.extend_from_slice(b",\"nanos\":");
            out.extend_from_slice(ints.format(t.rem_euclid(1_000_000_000)).as_bytes());
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"values\":");
        match &series.values {
            Values::Doubles(values) => {
                let mut floats = ryu::Buffer::new();
                out.extend_from_slice(b"{\"type\":\"doubles\",\"doubles\":[");
                for (i, &v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_double(v, &mut floats, out);
                }
            }
            Values::Strings(values) => {
                out.extend_from_slice(b"{\"type\":\"strings\",\"strings\":[");
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    json_string(v, out);
                }
            }
        }
        out.extend_from_slice(b"]}}");
    }

    /// The protobuf `WriteRequestNominal` of `chunk`
    /// (`POST /storage/writer/v1/nominal/{dataSourceRid}`).
    pub(crate) fn nominal(&self, chunk: &Chunk) -> Vec<u8> {
        use prost::Message as _;
        use sightline_wire::proto::{
            Channel, DoublePoint, DoublePoints, Points, PointsType, ProtoTimestamp, Series,
            StringPoint, StringPoints, WriteRequestNominal,
        };
        let stamp = |t: i64| {
            Some(ProtoTimestamp {
                seconds: t.div_euclid(1_000_000_000),
                nanos: t.rem_euclid(1_000_000_000) as i32,
            })
        };
        let series = chunk
            .series
            .iter()
            .map(|s| {
                let points = match &s.values {
                    Values::Doubles(values) => PointsType::DoublePoints(DoublePoints {
                        points: s
                            .timestamps
                            .iter()
                            .zip(values)
                            .map(|(&t, &value)| DoublePoint {
                                timestamp: stamp(t),
                                value,
                            })
                            .collect(),
                    }),
                    Values::Strings(values) => PointsType::StringPoints(StringPoints {
                        points: s
                            .timestamps
                            .iter()
                            .zip(values)
                            .map(|(&t, value)| StringPoint {
                                timestamp: stamp(t),
                                value: value.clone(),
                            })
                            .collect(),
                    }),
                };
                Series {
                    channel: Some(Channel {
                        name: s.channel.to_string(),
                    }),
                    tags: self
                        .tags
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                    points: Some(Points {
                        points_type: Some(points),
                    }),
                }
            })
            .collect();
        WriteRequestNominal {
            series,
            session_name: None,
        }
        .encode_to_vec()
    }

    /// A row write of the first point of each `(series, unit)`, which sets the channel's
    /// unit; re-writing that point with its own value changes nothing else.
    pub(crate) fn units(&self, entries: &[(&SeriesColumn, &str)]) -> Vec<u8> {
        let batches: Vec<serde_json::Value> = entries
            .iter()
            .filter_map(|(series, unit)| {
                let t = *series.timestamps.first()?;
                let timestamp = serde_json::json!({
                    "seconds": t.div_euclid(1_000_000_000),
                    "nanos": t.rem_euclid(1_000_000_000),
                });
                let points = match &series.values {
                    Values::Doubles(v) => {
                        let value = match v.first()? {
                            x if x.is_finite() => serde_json::json!(x),
                            x if x.is_nan() => serde_json::json!("NaN"),
                            x if *x > 0.0 => serde_json::json!("Infinity"),
                            _ => serde_json::json!("-Infinity"),
                        };
                        serde_json::json!({"type": "double", "double": [{"timestamp": timestamp, "value": value}]})
                    }
                    Values::Strings(v) => {
                        serde_json::json!({"type": "string", "string": [{"timestamp": timestamp, "value": v.first()?}]})
                    }
                };
                Some(serde_json::json!({
                    "channel": &*series.channel,
                    "tags": &self.tags,
                    "points": points,
                    "unit": unit,
                }))
            })
            .collect();
        serde_json::json!({"dataSourceRid": self.dataset, "batches": batches})
            .to_string()
            .into_bytes()
    }
}

/// Conjure doubles: finite numbers as JSON numbers, the rest as the strings
/// `"NaN"`, `"Infinity"`, `"-Infinity"`.
fn json_double(v: f64, buffer: &mut ryu::Buffer, out: &mut Vec<u8>) {
    if v.is_finite() {
        out.extend_from_slice(buffer.format_finite(v).as_bytes());
    } else if v.is_nan() {
        out.extend_from_slice(b"\"NaN\"");
    } else if v > 0.0 {
        out.extend_from_slice(b"\"Infinity\"");
    } else {
        out.extend_from_slice(b"\"-Infinity\"");
    }
}

impl Encoder {
    /// The columnar protobuf `WriteBatchesRequest` of `chunk`
    /// (`POST /storage/writer/v1/nominal-columnar`): per channel a column of timestamps
    /// and one packed column of values.
    pub(crate) fn columnar_proto(&self, chunk: &Chunk) -> Vec<u8> {
        use prost::Message as _;
        use sightline_wire::proto::columnar::{
            DoublePoints, Points, RecordsBatch, StringPoints, Timestamp, Values as Column,
            WriteBatchesRequest,
        };
        let tags: std::collections::HashMap<String, String> = self
            .tags
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let batches = chunk
            .series
            .iter()
            .map(|s| RecordsBatch {
                channel: s.channel.to_string(),
                tags: tags.clone(),
                points: Some(Points {
                    timestamps: s
                        .timestamps
                        .iter()
                        .map(|&t| Timestamp {
                            seconds: Some(t.div_euclid(1_000_000_000)),
                            nanos: Some(t.rem_euclid(1_000_000_000)),
                        })
                        .collect(),
                    values: Some(match &s.values {
                        Values::Doubles(v) => {
                            Column::DoublePoints(DoublePoints { points: v.clone() })
                        }
                        Values::Strings(v) => {
                            Column::StringPoints(StringPoints { points: v.clone() })
                        }
                    }),
                }),
            })
            .collect();
        WriteBatchesRequest {
            batches,
            data_source_rid: self.dataset.clone(),
        }
        .encode_to_vec()
    }
}

fn json_string(s: &str, out: &mut Vec<u8>) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // serde_json escapes exactly as JSON requires; writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::chunk::Position;
    use std::sync::Arc;

    #[test]
    fn columnar_body_is_the_wire_type() {
        let chunk = Chunk {
            series: vec![
                SeriesColumn {
                    channel: Arc::from("p"),
                    timestamps: vec![-1, 1_500_000_000],
                    values: Values::Doubles(vec![1.5, f64::NAN]),
                },
                SeriesColumn {
                    channel: Arc::from("s\"q"),
                    timestamps: vec![7],
                    values: Values::Strings(vec!["a\nb".into()]),
                },
            ],
            rows: 2,
            points: 3,
            time_range: None,
            first_line: 2,
            end: Position::default(),
        };
        let encoder = Encoder::new("ri.x", BTreeMap::from([("k".into(), "v".into())]));
        let mut out = Vec::new();
        encoder.columnar(&chunk, &mut out);
        let parsed: sightline_wire::storage_writer::WriteColumnBatchesRequest =
            sightline_wire::from_json_slice(&out).expect("parses as the wire type");
        assert_eq!(parsed.batches.len(), 2);
        let json: serde_json::Value = serde_json::from_slice(&out).expect("json");
        assert_eq!(
            json["batches"][0]["timestamps"][0],
            serde_json::json!({"seconds": -1, "nanos": 999_999_999})
        );
        assert_eq!(json["batches"][0]["values"]["doubles"][1], "NaN");
        assert_eq!(json["batches"][1]["channel"], "s\"q");
        assert_eq!(json["batches"][1]["values"]["strings"][0], "a\nb");
        assert_eq!(json["batches"][1]["tags"]["k"], "v");

        use prost::Message as _;
        let proto =
            sightline_wire::proto::WriteRequestNominal::decode(encoder.nominal(&chunk).as_slice())
                .expect("decodes as the protobuf type");
        assert_eq!(proto.series.len(), 2);
        assert_eq!(proto.series[0].tags.get("k").map(String::as_str), Some("v"));

        let columnar = sightline_wire::proto::columnar::WriteBatchesRequest::decode(
            encoder.columnar_proto(&chunk).as_slice(),
        )
        .expect("decodes as the columnar protobuf type");
        assert_eq!(columnar.data_source_rid, "ri.x");
        assert_eq!(columnar.batches.len(), 2);
        let first = columnar.batches[0].points.clone().unwrap_or_default();
        assert_eq!(
            first.timestamps[0],
            sightline_wire::proto::columnar::Timestamp {
                seconds: Some(-1),
                nanos: Some(999_999_999)
            }
        );
        assert_eq!(
            columnar.batches[1].tags.get("k").map(String::as_str),
            Some("v")
        );
    }
}
