//! Prometheus remote write 1.0 messages (`prometheus.WriteRequest`), as Prometheus, Grafana
//! Agent, Vector and other metrics agents send them, snappy-compressed, to
//! `POST /storage/writer/v1/prometheus/{dataSourceRid}`. Declared with prost derives (no
//! `protoc`); field numbers follow the remote write 1.0 specification. Exemplars, native
//! histograms and metadata are not declared, so prost skips them.
//!
//! ```text
//! WriteRequest { timeseries: [TimeSeries] }
//!   TimeSeries { labels: [Label{name, value}], samples: [Sample{value, timestamp ms}] }
//! ```
#![allow(missing_docs)]

/// The bit pattern Prometheus writes as a sample's value to mark a series stale (it
/// disappeared from its target). A NaN that is not a measurement.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// Whether `value` is Prometheus's staleness marker rather than a measured value (an
/// ordinary NaN has a different bit pattern).
pub fn is_stale_marker(value: f64) -> bool {
    value.to_bits() == STALE_NAN_BITS
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    /// Sorted by name; `__name__` holds the metric name.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<Sample>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Sample {
    #[prost(double, tag = "1")]
    pub value: f64,
    /// Milliseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}
