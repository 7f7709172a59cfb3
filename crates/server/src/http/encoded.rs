//! The one bounded decoder of binary (protobuf) write bodies, shared by every protobuf
//! writer: read at most the body limit within the body deadline ([`super::read_body`]),
//! decompress (`Content-Encoding` zstd or snappy) into at most the same limit with every
//! decoded byte reserved from the in-flight budget first, count series and points from the
//! wire bytes before anything is allocated for them (`proto_scan.rs`), reserve their parsed
//! size, and only then hand the bytes to the endpoint's parser — all on a blocking thread.
//!
//! ```text
//!  body ─► read_body (limit, deadline) ─► decompress (limit, budget) ─► count (limits)
//!       ─► budget for the parsed form ─► parse + convert (the endpoint's closure)
//! ```

use super::proto_scan::{self, Counts, ScanStop, Shape};
use crate::app::App;
use crate::budget::{Budget, Reservation};
use crate::error::{blocking, ApiError};
use axum::body::{Body, Bytes};
use axum::http::HeaderMap;
use sightline_wire::ParseError;
use std::io::Read as _;

/// How a binary body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    /// No `Content-Encoding` (or `identity`).
    Identity,
    /// `Content-Encoding: zstd` (the upstream streaming clients).
    Zstd,
    /// `Content-Encoding: snappy`, the block format (Prometheus remote write).
    Snappy,
}

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

/// Reads, decompresses, counts and budgets a binary body, then runs `parse` on the decoded
/// bytes off the runtime. The returned reservation holds the body's memory in the budget
/// until the caller drops it (after the write).
pub(crate) async fn decode<T: Send + 'static>(
    app: &App,
    headers: &HeaderMap,
    body: Body,
    format: &'static Format,
    parse: impl FnOnce(&[u8]) -> Result<T, ApiError> + Send + 'static,
) -> Result<(T, Reservation), ApiError> {
    let encoding = encoding_of(headers, format)?;
    let limit = app.config.max_body_bytes;
    let bytes = super::read_body(body, limit).await?;
    let budget = app.body_budget.clone();
    let limits = proto_scan::Limits {
        series: app.config.max_series_per_request,
        points: app.config.max_points_per_request,
    };
    blocking(move || {
        let mut held = Reservation::default();
        let raw = decompress(bytes, encoding, limit, &budget, &mut held, format.expected)?;
        let counts = proto_scan::check_counts(&raw, format.shape, &limits)
            .map_err(|stop| scan_error(stop, &limits, format.expected))?;
        let Counts { series, points } = counts;
        let (per_point, per_series) = format.parsed_bytes;
        budget.grow(
            &mut held,
            points
                .saturating_mul(per_point)
                .saturating_add(series.saturating_mul(per_series)),
        )?;
        Ok((parse(&raw)?, held))
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

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "none",
            Encoding::Zstd => "zstd",
            Encoding::Snappy => "snappy",
        }
    }
}

/// Read size while stream-decompressing; also the first allocation when a zstd frame
/// declares no size.
const DECODE_CHUNK: usize = 64 * 1024;

/// Decodes `bytes` to at most `limit` bytes, each output byte reserved from `budget` before
/// it is allocated: a small bomb cannot exhaust memory, and many at once get 503.
fn decompress(
    bytes: Bytes,
    encoding: Encoding,
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
    expected: &'static str,
) -> Result<Bytes, ApiError> {
    match encoding {
        Encoding::Identity => Ok(bytes),
        Encoding::Zstd => zstd_decode(&bytes, limit, budget, held, expected).map(Bytes::from),
        Encoding::Snappy => {
            // The block format states its decoded length up front: check it before
            // allocating anything.
            let len = snap::raw::decompress_len(&bytes)
                .map_err(|e| malformed(expected, format!("snappy: {e}")))?;
            if len > limit {
                return Err(ApiError::BodyTooLarge { limit });
            }
            budget.grow(held, len)?;
            snap::raw::Decoder::new()
                .decompress_vec(&bytes)
                .map(Bytes::from)
                .map_err(|e| malformed(expected, format!("snappy: {e}")))
        }
    }
}

/// zstd into at most `limit` bytes. A frame that declares its decoded size (what
/// `zstd::bulk` and the upstream clients write) is refused at once if that is over the
/// limit, else decoded in one call into a buffer of exactly that size; anything else
/// (no size, several frames, a size that lies) is streamed in bounded steps.
fn zstd_decode(
    bytes: &[u8],
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
    expected: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let declared = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::BodyTooLarge { limit });
    }
    if let Some(size) = declared {
        budget.grow(held, size)?;
        let mut out = Vec::with_capacity(size);
        if zstd::bulk::Decompressor::new()
            .and_then(|mut d| d.decompress_to_buffer(bytes, &mut out))
            .is_ok()
        {
            return Ok(out);
        }
        // The declared size was not the whole story; the stream below decides (and
        // reserves its own buffer, so this one is not counted twice).
        drop(out);
        *held = Reservation::default();
    }
    zstd_stream(bytes, declared, limit, budget, held, expected)
}

/// Streams a zstd body into a buffer that doubles, reserved from the budget step by step,
/// never past one byte over `limit` (which proves the body too large).
fn zstd_stream(
    bytes: &[u8],
    declared: Option<usize>,
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
    expected: &'static str,
) -> Result<Vec<u8>, ApiError> {
    let mut decoder = zstd::stream::read::Decoder::new(bytes)
        .map_err(|e| malformed(expected, format!("zstd: {e}")))?;
    let first = declared.unwrap_or(DECODE_CHUNK).clamp(1, limit + 1);
    budget.grow(held, first)?;
    let mut out: Vec<u8> = Vec::with_capacity(first);
    let mut reserved = first;
    loop {
        if out.len() == reserved {
            if reserved > limit {
                return Err(ApiError::BodyTooLarge { limit });
            }
            let next = reserved.saturating_mul(2).min(limit + 1);
            budget.grow(held, next - reserved)?;
            out.reserve_exact(next - out.len());
            reserved = next;
        }
        let start = out.len();
        let end = (start + DECODE_CHUNK).min(reserved);
        out.resize(end, 0);
        let n = decoder
            .read(&mut out[start..end])
            .map_err(|e| malformed(expected, format!("zstd: {e}")))?;
        out.truncate(start + n);
        if n == 0 {
            return Ok(out);
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
