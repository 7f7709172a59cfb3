//! The one bounded decoder of binary (protobuf) write bodies, shared by every protobuf
//! writer: read at most the body limit within the body deadline ([`super::read_body`]),
//! decompress (`Content-Encoding` zstd or snappy, `decompress.rs`) into at most the same
//! limit with every decoded byte reserved from the in-flight budget first, count series and
//! points from the wire bytes before anything is allocated for them (`proto_scan.rs`),
//! reserve their parsed size, and only then hand the bytes to the endpoint's parser and
//! its writes to the store — all on one blocking thread.
//!
//! ```text
//!  body ─► read_body (limit, deadline) ─► decompress (limit, budget) ─► count (limits)
//!       ─► budget for the parsed form ─► parse + convert (the endpoint's closure) ─► store
//! ```

use super::decompress::{decompress, Failure};
use super::ingest;
use super::proto_scan::{self, Counts, ScanStop, Shape};
use crate::app::App;
use crate::auth::Caller;
use crate::budget::Reservation;
use crate::error::{blocking, ApiError};
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use sightline_store::SeriesWrite;
use sightline_wire::ParseError;
use std::sync::Arc;

pub(crate) use super::decompress::Encoding;

/// What an endpoint's body is, for the decoder.
#[derive(Debug)]
pub(crate) struct Format {
    /// The message named in errors.
    pub(crate) expected: &'static str,
    /// Encodings the endpoint takes; another is a 400 naming the first of them.
    pub(crate) accepts: &'static [Encoding],
    /// The encoding of a body without `Content-Encoding` or with `identity` (remote-write
    /// senders may omit the header on a body that is snappy all the same).
    pub(crate) absent: Encoding,
    /// How to count its series and points before parsing.
    pub(crate) shape: Shape,
    /// Parsed-form bytes budgeted per point and per series (the decoded message's structs
    /// plus the store's columns).
    pub(crate) parsed_bytes: (usize, usize),
}

/// Reads, decompresses, counts and budgets a binary body, runs `parse` on the decoded
/// bytes, and stores the writes it returns ([`ingest::store_here`]), all in one trip to a
/// blocking thread: a second trip for the store write cost two more thread switches per
/// request. The body's budget is held until the write is stored; the decompression scratch
/// goes back to its pool as soon as `parse` is done.
pub(crate) async fn write(
    app: &Arc<App>,
    caller: &Caller,
    headers: &HeaderMap,
    body: Body,
    format: &'static Format,
    parse: impl FnOnce(&[u8]) -> Result<Vec<SeriesWrite>, ApiError> + Send + 'static,
) -> Result<StatusCode, ApiError> {
    let encoding = encoding_of(headers, format)?;
    let limit = app.config.max_body_bytes;
    let bytes = super::read_body(body, limit).await?;
    let (app, caller) = (app.clone(), caller.clone());
    blocking(move || {
        let mut held = Reservation::default();
        let raw =
            decompress(bytes, encoding, limit, &app.body_budget, &mut held).map_err(|failure| {
                match failure {
                    Failure::Refused(error) => error,
                    Failure::Corrupt(message) => malformed(format.expected, message),
                }
            })?;
        let limits = proto_scan::Limits {
            series: app.config.max_series_per_request,
            points: app.config.max_points_per_request,
        };
        let counts = proto_scan::check_counts(&raw, format.shape, &limits)
            .map_err(|stop| scan_error(stop, &limits, format.expected))?;
        let Counts { series, points } = counts;
        let (per_point, per_series) = format.parsed_bytes;
        app.body_budget.grow(
            &mut held,
            points
                .saturating_mul(per_point)
                .saturating_add(series.saturating_mul(per_series)),
        )?;
        let writes = parse(&raw)?;
        drop(raw);
        let stored = ingest::store_here(&app, &caller, writes);
        drop(held);
        stored
    })
    .await
}

/// The body's encoding; one the endpoint does not take is a 400 naming what it takes.
fn encoding_of(headers: &HeaderMap, format: &Format) -> Result<Encoding, ApiError> {
    let value = headers
        .get(axum::http::header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap_or_default().trim())
        .unwrap_or_default();
    let encoding = if value.is_empty() || value.eq_ignore_ascii_case("identity") {
        Some(format.absent)
    } else if value.eq_ignore_ascii_case("zstd") {
        Some(Encoding::Zstd)
    } else if value.eq_ignore_ascii_case("snappy") {
        Some(Encoding::Snappy)
    } else {
        None
    };
    match encoding {
        Some(e) if format.accepts.contains(&e) => Ok(e),
        _ => {
            let names: Vec<&str> = format.accepts.iter().map(|e| e.name()).collect();
            Err(malformed(
                format.expected,
                format!(
                    "unsupported Content-Encoding `{value}` (this endpoint takes {})",
                    names.join(" or ")
                ),
            ))
        }
    }
}

fn scan_error(stop: ScanStop, limits: &proto_scan::Limits, expected: &'static str) -> ApiError {
    match stop {
        ScanStop::Malformed(what) => malformed(expected, format!("malformed protobuf: {what}")),
        ScanStop::TooManySeries { seen } => ApiError::TooManyInRequest {
            what: "series",
            count: seen,
            limit: limits.series,
        },
        ScanStop::TooManyPoints { seen } => ApiError::TooManyInRequest {
            what: "points",
            count: seen,
            limit: limits.points,
        },
    }
}

/// A body that does not decode as `expected`.
pub(crate) fn malformed(expected: &'static str, message: String) -> ApiError {
    ApiError::MalformedBody {
        expected,
        source: ParseError {
            path: ".".to_string(),
            message,
        },
    }
}
