//! Protobuf messages of the upstream streaming write (`io.nominal.scout.api.proto`,
//! `spec/nominal_write.proto`), as sent by the upstream Rust and Python streaming clients to
//! `POST /storage/writer/v1/nominal/{dataSourceRid}`. Declared with prost derives so no
//! `protoc` is needed at build time; field numbers follow the .proto file exactly.
#![allow(missing_docs)]

use std::collections::HashMap;

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequestNominal {
    #[prost(message, repeated, tag = "1")]
    pub series: Vec<Series>,
    #[prost(string, optional, tag = "2")]
    pub session_name: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Series {
    #[prost(message, optional, tag = "1")]
    pub channel: Option<Channel>,
    #[prost(map = "string, string", tag = "2")]
    pub tags: HashMap<String, String>,
    #[prost(message, optional, tag = "3")]
    pub points: Option<Points>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Channel {
    #[prost(string, tag = "1")]
    pub name: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Points {
    #[prost(oneof = "PointsType", tags = "1, 2, 3, 4, 5, 6")]
    pub points_type: Option<PointsType>,
}

/// The `points_type` oneof.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum PointsType {
    #[prost(message, tag = "1")]
    DoublePoints(DoublePoints),
    #[prost(message, tag = "2")]
    StringPoints(StringPoints),
    #[prost(message, tag = "3")]
    IntegerPoints(IntegerPoints),
    #[prost(message, tag = "4")]
    ArrayPoints(ArrayPoints),
    #[prost(message, tag = "5")]
    StructPoints(StructPoints),
    #[prost(message, tag = "6")]
    Uint64Points(Uint64Points),
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct ProtoTimestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DoublePoints {
    #[prost(message, repeated, tag = "1")]
    pub points: Vec<DoublePoint>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct DoublePoint {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(double, tag = "2")]
    pub value: f64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StringPoints {
    #[prost(message, repeated, tag = "1")]
    pub points: Vec<StringPoint>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StringPoint {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct IntegerPoints {
    #[prost(message, repeated, tag = "1")]
    pub points: Vec<IntegerPoint>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct IntegerPoint {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(int64, tag = "2")]
    pub value: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Uint64Points {
    #[prost(message, repeated, tag = "1")]
    pub points: Vec<Uint64Point>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Uint64Point {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(uint64, tag = "2")]
    pub value: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StructPoints {
    #[prost(message, repeated, tag = "1")]
    pub points: Vec<StructPoint>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StructPoint {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<ProtoTimestamp>,
    #[prost(string, tag = "2")]
    pub json_string: String,
}

/// Array points are accepted on the wire and refused by ingest; only their presence matters.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ArrayPoints {
    #[prost(bytes = "vec", tag = "1")]
    pub double_array_points: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub string_array_points: Vec<u8>,
}

/// The columnar protobuf write (`POST /storage/writer/v1/nominal-columnar`), the upstream's
/// most efficient format: per channel, one column of timestamps and one packed column of
/// values. Field numbers follow the schema in the upstream service definition
/// (`writeNominalColumnarBatches`); its timestamp is its own message, not
/// `google.protobuf.Timestamp`.
///
/// ```text
/// WriteBatchesRequest { batches: [RecordsBatch], data_source_rid }
///   RecordsBatch { channel, tags, points: Points }
///     Points { timestamps: [Timestamp], oneof { double_points: [f64], string_points, ... } }
/// ```
pub mod columnar {
    use std::collections::HashMap;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteBatchesRequest {
        #[prost(message, repeated, tag = "1")]
        pub batches: Vec<RecordsBatch>,
        #[prost(string, tag = "2")]
        pub data_source_rid: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct RecordsBatch {
        #[prost(string, tag = "1")]
        pub channel: String,
        #[prost(map = "string, string", tag = "2")]
        pub tags: HashMap<String, String>,
        #[prost(message, optional, tag = "3")]
        pub points: Option<Points>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Points {
        #[prost(message, repeated, tag = "1")]
        pub timestamps: Vec<Timestamp>,
        #[prost(oneof = "Values", tags = "2, 3, 5, 6, 7, 8")]
        pub values: Option<Values>,
    }

    /// The `points` oneof: one packed column per value type.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Values {
        #[prost(message, tag = "2")]
        DoublePoints(DoublePoints),
        #[prost(message, tag = "3")]
        StringPoints(StringPoints),
        #[prost(message, tag = "5")]
        IntPoints(IntPoints),
        /// Accepted on the wire and refused by ingest; only its presence matters.
        #[prost(bytes = "vec", tag = "6")]
        ArrayPoints(Vec<u8>),
        #[prost(message, tag = "7")]
        StructPoints(StringPoints),
        #[prost(message, tag = "8")]
        Uint64Points(Uint64Points),
    }

    /// Nanosecond-precision timestamp with explicit presence on both fields.
    #[derive(Clone, Copy, PartialEq, prost::Message)]
    pub struct Timestamp {
        #[prost(int64, optional, tag = "1")]
        pub seconds: Option<i64>,
        #[prost(int64, optional, tag = "2")]
        pub nanos: Option<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DoublePoints {
        #[prost(double, repeated, tag = "1")]
        pub points: Vec<f64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct StringPoints {
        #[prost(string, repeated, tag = "1")]
        pub points: Vec<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct IntPoints {
        #[prost(int64, repeated, tag = "1")]
        pub points: Vec<i64>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Uint64Points {
        #[prost(uint64, repeated, tag = "1")]
        pub points: Vec<u64>,
    }
}
