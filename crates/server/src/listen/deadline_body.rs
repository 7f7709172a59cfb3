//! A request body that must arrive whole before a deadline, so a client that sends a
//! `Content-Length` and then trickles (or never sends) the bytes cannot hold a handler and
//! its memory forever. The handler sees [`BodyDeadlineExceeded`] as the body's error.

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// The error a [`DeadlineBody`] ends with once its time is up.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive within {} s", timeout.as_secs_f64())]
pub(crate) struct BodyDeadlineExceeded {
    /// The configured body read timeout.
    pub(crate) timeout: Duration,
}

/// Wraps a body; polling it after the deadline yields [`BodyDeadlineExceeded`].
pub(super) struct DeadlineBody<B> {
    inner: B,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<B> DeadlineBody<B> {
    /// The deadline is `timeout` from now (when the request head was read).
    pub(super) fn new(inner: B, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            timeout,
            deadline: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
        }
    }
}

impl<B> HttpBody for DeadlineBody<B>
where
    B: HttpBody<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => Poll::Ready(frame.map(|f| f.map_err(Into::into))),
            Poll::Pending => match this.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(BodyDeadlineExceeded {
                    timeout: this.timeout,
                })))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
