//! Reading a JSON body with a size limit, so an oversized write is refused with the
//! Conjure error body before it is buffered whole.

use crate::error::{blocking, ApiError};
use axum::body::Body;
use serde::de::DeserializeOwned;

/// Bodies up to this size parse on the runtime thread; larger ones move to the blocking
/// pool so one big write cannot stall every socket on that thread.
const INLINE_PARSE_BYTES: usize = 64 * 1024;

/// Reads at most `limit` bytes of `body` and parses them as `T`.
pub(crate) async fn read_json<T: DeserializeOwned + Send + 'static>(
    body: Body,
    limit: usize,
    expected: &'static str,
) -> Result<T, ApiError> {
    let bytes = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| ApiError::BodyTooLarge { limit })?;
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
