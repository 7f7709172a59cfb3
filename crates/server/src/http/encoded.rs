//! Binary write bodies (protobuf) and their `Content-Encoding`: reads at most the body
//! limit, then decompresses zstd or snappy into at most the same limit, so a small
//! compression bomb cannot exhaust memory.

use crate::error::ApiError;
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

impl Encoding {
    /// The body's encoding; an encoding Sightline does not decode is a 400 naming it.
    pub(crate) fn of(headers: &HeaderMap, expected: &'static str) -> Result<Encoding, ApiError> {
        let Some(value) = headers.get(axum::http::header::CONTENT_ENCODING) else {
            return Ok(Encoding::Identity);
        };
        let value = value.to_str().unwrap_or_default().trim();
        if value.is_empty() || value.eq_ignore_ascii_case("identity") {
            Ok(Encoding::Identity)
        } else if value.eq_ignore_ascii_case("zstd") {
            Ok(Encoding::Zstd)
        } else if value.eq_ignore_ascii_case("snappy") {
            Ok(Encoding::Snappy)
        } else {
            Err(malformed(
                expected,
                format!("unsupported Content-Encoding `{value}` (use zstd, snappy or none)"),
            ))
        }
    }
}

/// Reads at most `limit` bytes of `body`.
pub(crate) async fn read_bytes(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })
}

/// Decodes `bytes` to at most `limit` bytes. CPU work: call it off the runtime.
pub(crate) fn decode(
    bytes: Bytes,
    encoding: Encoding,
    limit: usize,
    expected: &'static str,
) -> Result<Bytes, ApiError> {
    match encoding {
        Encoding::Identity => Ok(bytes),
        Encoding::Zstd => {
            let decoder = zstd::stream::read::Decoder::new(&bytes[..])
                .map_err(|e| malformed(expected, format!("zstd: {e}")))?;
            let mut out = Vec::new();
            decoder
                .take(limit as u64 + 1)
                .read_to_end(&mut out)
                .map_err(|e| malformed(expected, format!("zstd: {e}")))?;
            if out.len() > limit {
                return Err(ApiError::BodyTooLarge { limit });
            }
            Ok(out.into())
        }
        Encoding::Snappy => {
            // The block format states its decoded length up front: check it before
            // allocating anything.
            let len = snap::raw::decompress_len(&bytes)
                .map_err(|e| malformed(expected, format!("snappy: {e}")))?;
            if len > limit {
                return Err(ApiError::BodyTooLarge { limit });
            }
            snap::raw::Decoder::new()
                .decompress_vec(&bytes)
                .map(Bytes::from)
                .map_err(|e| malformed(expected, format!("snappy: {e}")))
        }
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
