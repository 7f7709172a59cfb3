//! Reading a request body with a size limit and the connection's body deadline, so an
//! oversized or trickled write is refused with the Conjure error body before it is
//! buffered whole; and parsing it as JSON.

use crate::error::{blocking, ApiError};
use crate::listen::BodyDeadlineExceeded;
use axum::body::{Body, Bytes};
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

/// Bodies up to this size parse on the runtime thread; larger ones move to the blocking
/// pool so one big write cannot stall every socket on that thread.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Reads at most `limit` bytes of `body`.
pub(crate) async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => Err(body_error(error, limit)),
    }
}

/// Names why reading a body failed: too large, too slow, or the transport.
fn body_error(error: axum::BoxError, limit: usize) -> ApiError {
    if error.is::<LengthLimitError>() {
        return ApiError::BodyTooLarge { limit };
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&*error);
    while let Some(current) = cause {
        if let Some(deadline) = current.downcast_ref::<BodyDeadlineExceeded>() {
            return ApiError::BodyTimeout {
                timeout: deadline.timeout,
            };
        }
        cause = current.source();
    }
    ApiError::BodyRead {
        source: axum::Error::new(error),
    }
}

/// Reads at most `limit` bytes of `body` and parses them as `T`.
pub(crate) async fn read_json<T: DeserializeOwned + Send + 'static>(
    body: Body,
    limit: usize,
    expected: &'static str,
) -> Result<T, ApiError> {
    let bytes = read_body(body, limit).await?;
    let inline = bytes.len() <= INLINE_PARSE_BYTES;
    let parse = move || {
        sightline_wire::from_json_slice::<T>(&bytes)
            .map_err(|source| ApiError::MalformedBody { expected, source })
    };
    if inline {
        return parse();
    }
    blocking(parse).await
}
