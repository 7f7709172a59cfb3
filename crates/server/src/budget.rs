//! The memory budget of all request bodies in flight together: a semaphore of bytes.
//!
//! Each request reserves its body's declared size before the body is read (the body limit
//! when it declares none), and a compressed body reserves its decoded bytes as they are
//! produced. A request that cannot reserve waits briefly ([`WAIT`]) and then gets 503
//! `Sightline:Overloaded` with `Retry-After`, so many large requests at once queue or shed
//! instead of exhausting memory. Reservations are released when the request is answered.

use crate::error::ApiError;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for budget before it is refused.
pub(crate) const WAIT: Duration = Duration::from_secs(2);

/// What [`ApiError::Overloaded`] names when the budget is spent.
const RESOURCE: &str = "request memory (--max-inflight-bytes)";

/// Bytes of request bodies (raw and decoded) the server holds at once, at most.
#[derive(Clone)]
pub(crate) struct Budget {
    bytes: Arc<Semaphore>,
    /// The whole budget; a single reservation is capped at it, so it can always succeed
    /// on an idle server.
    total: usize,
}

/// Bytes reserved by one request; released on drop.
#[derive(Default)]
pub(crate) struct Reservation {
    permit: Option<OwnedSemaphorePermit>,
}

impl Budget {
    pub(crate) fn new(total: usize) -> Self {
        // Tokio counts permits in u32 per acquire and caps the total; stay well inside.
        let total = total.clamp(1, u32::MAX as usize);
        Budget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    fn permits(&self, bytes: usize) -> u32 {
        // `total` fits in u32 (see `new`), so the clamp does too.
        u32::try_from(bytes.clamp(1, self.total)).unwrap_or(u32::MAX)
    }

    /// Waits up to [`WAIT`] for `bytes`; past that the server is overloaded.
    pub(crate) async fn reserve(&self, bytes: usize) -> Result<Reservation, ApiError> {
        let wanted = self.permits(bytes);
        match tokio::time::timeout(WAIT, self.bytes.clone().acquire_many_owned(wanted)).await {
            Ok(Ok(permit)) => Ok(Reservation {
                permit: Some(permit),
            }),
            Ok(Err(_)) | Err(_) => Err(ApiError::Overloaded { resource: RESOURCE }),
        }
    }

    /// Adds `bytes` to `reservation` without waiting (for work on a blocking thread).
    pub(crate) fn grow(&self, reservation: &mut Reservation, bytes: usize) -> Result<(), ApiError> {
        let more = self
            .bytes
            .clone()
            .try_acquire_many_owned(self.permits(bytes))
            .map_err(|_| ApiError::Overloaded { resource: RESOURCE })?;
        match &mut reservation.permit {
            Some(held) => held.merge(more),
            None => reservation.permit = Some(more),
        }
        Ok(())
    }

    /// Bytes reserved right now, for `/metrics`.
    pub(crate) fn in_use(&self) -> usize {
        self.total.saturating_sub(self.bytes.available_permits())
    }
}
