//! Every error a request can end in, and its one mapping to an upstream error name and
//! HTTP status. Internal details are logged here, never sent.
//!
//! Names and codes come from the one catalogue, [`ErrorName`] (`error/catalogue.rs`);
//! compute refusals shared by HTTP compute and subscriptions are [`ComputeRequestError`]
//! (`error/compute.rs`).

mod catalogue;
mod compute;

pub(crate) use catalogue::ErrorName;
pub(crate) use compute::ComputeRequestError;

use crate::auth::AuthFailure;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use sightline_store::{StoreError, TagPart};
use sightline_wire::errors::{list_param, WireError};
use sightline_wire::time::TimeError;
use sightline_wire::ParseError;

/// Why a write request was refused before anything was stored.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IngestError {
    /// A timestamp is malformed or outside 1900..2262.
    #[error("channel `{channel}` point {index} ({seconds}s {nanos}ns): {source}")]
    InvalidTimestamp {
        channel: String,
        index: usize,
        seconds: i64,
        nanos: i64,
        #[source]
        source: TimeError,
    },
    /// A column batch has unequal timestamp and value counts.
    #[error("channel `{channel}` has {timestamps} timestamps but {values} values")]
    MismatchedLengths {
        channel: String,
        timestamps: usize,
        values: usize,
    },
    /// The data source RID is empty or not a RID.
    #[error("`{rid}` is not a data source RID (ri.<service>.<instance>.<type>.<locator>)")]
    InvalidDataSource { rid: String },
    /// The channel name is empty.
    #[error("channel names must not be empty")]
    EmptyChannelName,
    /// Point kinds Sightline does not store (arrays, structs) or unknown union variants.
    #[error("channel `{channel}`: points of type `{variant}` are not supported")]
    UnsupportedPoints { channel: String, variant: String },
    /// A Telegraf metric's timestamp is not integer nanoseconds inside 1900..2262.
    #[error("metric {index}: timestamp {value} is not integer nanoseconds within the years 1900..2262 (set json_timestamp_units = \"1ns\")")]
    InvalidTelegrafTimestamp { index: usize, value: String },
    /// A Prometheus time series has no `__name__` label to name its channel.
    #[error("a time series with labels {labels:?} has no `__name__` label")]
    MissingMetricName {
        labels: std::collections::BTreeMap<String, String>,
    },
}

/// Why a discovery request (channel search, dataset and channel facts) was refused.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoveryError {
    /// `pageSize` outside 1..=max.
    #[error("pageSize {size} is outside 1..={max}")]
    PageSize { size: i32, max: i32 },
    /// A `nextPageToken` this server did not hand out.
    #[error("`{token}` is not a page token of this server; pass back a `nextPageToken` unchanged")]
    PageToken { token: String },
    /// No channel was ever written to the dataset.
    #[error("dataset `{rid}` holds no channels")]
    UnknownDataset { rid: String },
    /// The dataset has no channel of this name.
    #[error("dataset `{dataset}` has no channel `{channel}`")]
    UnknownChannel { dataset: String, channel: String },
}

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// The body is not JSON of the expected upstream type.
    #[error("request body is not a valid {expected}: {source}")]
    MalformedBody {
        expected: &'static str,
        source: ParseError,
    },
    /// The body is larger than the configured limit.
    #[error("request body exceeds the limit of {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The body did not arrive within the body read timeout.
    #[error("the request body did not arrive within {} s (--body-read-timeout)", timeout.as_secs_f64())]
    BodyTimeout { timeout: std::time::Duration },
    /// The body ended with a transport error (the client went away mid-body).
    #[error("the request body could not be read: {source}")]
    BodyRead {
        #[source]
        source: axum::Error,
    },
    /// A write carries more series or points than one request may.
    #[error("the request carries more than {limit} {what} (at least {count}); split it")]
    TooManyInRequest {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    /// The server is at a configured limit of shared resources; retry shortly.
    #[error("the server is overloaded ({resource}); retry shortly")]
    Overloaded { resource: &'static str },
    /// The write request is invalid.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The store refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A discovery request is invalid or names nothing stored.
    #[error(transparent)]
    Discovery(#[from] DiscoveryError),
    /// The compute graph was refused or its evaluation failed.
    #[error(transparent)]
    Compute(#[from] ComputeRequestError),
    /// No valid token (auth is on).
    #[error("{reason}")]
    Unauthenticated { reason: AuthFailure },
    /// The token may not write these datasets; nothing was stored.
    #[error("this token may not write to {}", list_param(.rids))]
    WriteDenied { rids: Vec<String> },
    /// The token may not read these datasets; nothing was computed.
    #[error("this token may not read {}", list_param(.rids))]
    ReadDenied { rids: Vec<String> },
    /// An expression of the Sightline expression language does not compile.
    #[error("invalid expression at {error}")]
    InvalidExpression { error: sightline_expr::ExprError },
    /// A blocking task died; a bug, logged with its instance id.
    #[error("internal task failed: {detail}")]
    TaskFailed { detail: String },
    /// A cluster node whose unapplied writes expired from the write log serves nothing until
    /// it is re-seeded; another node can take the request.
    #[error(
        "this cluster node is behind its write log (applied {applied}, the log starts at \
         {first_available}) and refuses to serve until it is re-seeded; use another node \
         (GET /health says how to re-seed this one)"
    )]
    NodeBehindLog { applied: u64, first_available: u64 },
}

impl ApiError {
    /// The wire form of this error. The one place names and statuses are decided.
    pub(crate) fn to_wire(&self) -> WireError {
        use ErrorName::*;
        let message = self.to_string();
        match self {
            ApiError::MalformedBody { source, .. } => DefaultInvalidArgument
                .error(message)
                .with_param("path", source.path.clone()),
            ApiError::BodyTooLarge { limit } => WriterPointsTooLarge
                .error(message)
                .with_param("limit", limit.to_string()),
            ApiError::BodyTimeout { timeout } => SightlineBodyReadTimeout
                .error(message)
                .with_param("timeoutSeconds", timeout.as_secs_f64().to_string()),
            ApiError::BodyRead { .. } => SightlineBodyUnreadable.error(message),
            ApiError::TooManyInRequest { what, limit, .. } => WriterPointsTooLarge
                .error(message)
                .with_param("limit", limit.to_string())
                .with_param("counted", *what),
            ApiError::Overloaded { resource } => SightlineOverloaded
                .error(message)
                .with_param("resource", *resource),
            ApiError::NodeBehindLog {
                applied,
                first_available,
            } => SightlineStoreUnavailable
                .error(message)
                .with_param("appliedSequence", applied.to_string())
                .with_param("firstAvailableSequence", first_available.to_string()),
            ApiError::Ingest(e) => match e {
                IngestError::InvalidTimestamp { seconds, nanos, .. } => WriterInvalidTimestamp
                    .error(message)
                    .with_param("timestamp", format!("{{seconds={seconds}, nanos={nanos}}}")),
                IngestError::MismatchedLengths {
                    timestamps, values, ..
                } => mismatched_lengths(message, *timestamps, *values),
                IngestError::InvalidDataSource { rid } => WriterInvalidDataSource
                    .error(message)
                    .with_param("dataSourceRid", rid.clone()),
                IngestError::EmptyChannelName => WriterInvalidChannelName
                    .error(message)
                    .with_param("reason", "empty"),
                IngestError::InvalidTelegrafTimestamp { value, .. } => {
                    WriterInvalidTelegrafTimestamp
                        .error(message)
                        .with_param("timestamp", value.clone())
                }
                IngestError::MissingMetricName { .. } => WriterInvalidChannelName
                    .error(message)
                    .with_param("reason", "missing __name__"),
                IngestError::UnsupportedPoints { variant, .. } => SightlineUnsupportedPointType
                    .error(message)
                    .with_param("variant", variant.clone()),
            },
            ApiError::Store(e) => match e {
                StoreError::TypeConflict { channel, .. } => WriterConflictingDataTypes
                    .error(message)
                    .with_param("channel", channel.clone()),
                StoreError::LengthMismatch {
                    timestamps, values, ..
                } => mismatched_lengths(message, *timestamps, *values),
                StoreError::TooManySeries { dataset, limit, .. } => SightlineTooManySeries
                    .error(message)
                    .with_param("dataSourceRid", dataset.clone())
                    .with_param("limit", limit.to_string())
                    .with_param("limitName", "maxSeriesPerDataset"),
                StoreError::TooManyTags {
                    dataset,
                    channel,
                    limit,
                    ..
                } => SightlineTooManyTags
                    .error(message)
                    .with_param("dataSourceRid", dataset.clone())
                    .with_param("channel", channel.clone())
                    .with_param("limit", limit.to_string())
                    .with_param("limitName", "maxTagsPerSeries"),
                StoreError::TagTooLong {
                    dataset,
                    channel,
                    part,
                    limit,
                    ..
                } => SightlineTagTooLong
                    .error(message)
                    .with_param("dataSourceRid", dataset.clone())
                    .with_param("channel", channel.clone())
                    .with_param("limit", limit.to_string())
                    .with_param(
                        "limitName",
                        match part {
                            TagPart::Key => "maxTagKeyBytes",
                            TagPart::Value => "maxTagValueBytes",
                        },
                    ),
                StoreError::Closed => SightlineStoreClosed.error("the store is shutting down"),
                StoreError::Unavailable { .. } => {
                    tracing::warn!(error = %self, "write refused for now");
                    SightlineStoreUnavailable.error(message)
                }
                StoreError::Io(_) | StoreError::Corrupt { .. } => {
                    internal(self, SightlineStorageFailure)
                }
            },
            ApiError::Discovery(e) => match e {
                DiscoveryError::PageSize { size, max } => DefaultInvalidArgument
                    .error(message)
                    .with_param("pageSize", size.to_string())
                    .with_param("max", max.to_string()),
                DiscoveryError::PageToken { token } => DefaultInvalidArgument
                    .error(message)
                    .with_param("nextPageToken", token.clone()),
                DiscoveryError::UnknownDataset { rid } => SightlineDatasetNotFound
                    .error(message)
                    .with_param("dataSourceRid", rid.clone()),
                DiscoveryError::UnknownChannel { dataset, channel } => SightlineChannelNotFound
                    .error(message)
                    .with_param("dataSourceRid", dataset.clone())
                    .with_param("channel", channel.clone()),
            },
            ApiError::Compute(e) => e.to_wire(),
            ApiError::Unauthenticated { .. } => DefaultUnauthorized.error(message),
            ApiError::WriteDenied { rids } => DefaultPermissionDenied
                .error(message)
                .with_param("rids", list_param(rids)),
            ApiError::ReadDenied { rids } => ComputeNotAuthorized
                .error(message)
                .with_param("dataSourceRids", list_param(rids)),
            ApiError::InvalidExpression { error } => SightlineInvalidExpression
                .error(message)
                .with_param("line", error.line().to_string())
                .with_param("column", error.column().to_string())
                .with_param("reason", error.reason.to_string()),
            ApiError::TaskFailed { .. } => internal(self, DefaultInternal),
        }
    }
}

/// Runs CPU-bound or blocking work off the async runtime; a panic in it is a `TaskFailed`.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ApiError::TaskFailed {
            detail: e.to_string(),
        })?
}

fn mismatched_lengths(message: String, timestamps: usize, values: usize) -> WireError {
    ErrorName::WriterMismatchedTimestampsAndValues
        .error(message)
        .with_param("timestampCount", timestamps.to_string())
        .with_param("valueCount", values.to_string())
}

fn internal(error: &ApiError, name: ErrorName) -> WireError {
    let wire = name.error("internal error; see the server log");
    tracing::error!(instance = %wire.instance_id, %error, "request failed");
    wire
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = wire_response(&self.to_wire());
        if matches!(self, ApiError::Overloaded { .. }) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        if matches!(
            self,
            ApiError::BodyTooLarge { .. } | ApiError::BodyTimeout { .. }
        ) {
            // The rest of the body was never read, so the connection cannot be reused; say
            // so, or a pooled client's next request on it fails.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        if matches!(self, ApiError::Unauthenticated { .. }) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer"),
            );
        }
        response
    }
}

/// The Conjure body of a 503 `Sightline:Overloaded`, for answers written outside axum
/// (a connection refused at accept).
pub(crate) fn overloaded_body(message: &str) -> String {
    let wire = ErrorName::SightlineOverloaded
        .error(message)
        .with_param("resource", "connections");
    serde_json::to_string(&wire.to_http_body()).unwrap_or_default()
}

/// Renders a wire error as a Conjure HTTP error response.
pub(crate) fn wire_response(wire: &WireError) -> Response {
    let status =
        StatusCode::from_u16(wire.code.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(wire.to_http_body())).into_response()
}
