//! Watching one connection for the ways a client can hold it without finishing anything:
//! idle keep-alive, headers that trickle in, and responses nobody reads.
//!
//! [`Tracked`] wraps the socket and counts the bytes that move; the service counts the
//! requests in flight ([`Activity::start_request`]); a [`Watchdog`] looks at both every
//! tick and says when the connection has overstayed. A request being served is never cut
//! here: its body has its own deadline (`deadline_body.rs`).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// Counters shared by the socket wrapper, the service and the watchdog.
#[derive(Debug, Default)]
pub(super) struct Activity {
    /// Bytes read from the client, ever.
    bytes_read: AtomicU64,
    /// Bytes written to the client, ever; a response being read counts as progress.
    bytes_written: AtomicU64,
    /// Requests whose handler has not answered yet.
    in_flight: AtomicUsize,
    /// Requests started, ever; tells the watchdog a request came and went between ticks.
    requests: AtomicU64,
}

/// Held while a request is being handled.
pub(super) struct RequestGuard(Arc<Activity>);

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Activity {
    pub(super) fn start_request(self: &Arc<Self>) -> RequestGuard {
        self.requests.fetch_add(1, Ordering::SeqCst);
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        RequestGuard(self.clone())
    }
}

/// The socket, counting bytes into [`Activity`]. It also holds the connection's slot under
/// the server's connection cap, so the slot is freed when the socket is dropped — also for
/// a WebSocket, which keeps the socket after hyper hands it over.
pub(super) struct Tracked<S> {
    inner: S,
    activity: Arc<Activity>,
    _slot: OwnedSemaphorePermit,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, activity: Arc<Activity>, slot: OwnedSemaphorePermit) -> Self {
        Tracked {
            inner,
            activity,
            _slot: slot,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let result = Pin::new(&mut self.inner).poll_read(cx, buf);
        let read = buf.filled().len().saturating_sub(before);
        if read > 0 {
            self.activity
                .bytes_read
                .fetch_add(read as u64, Ordering::Relaxed);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = &result {
            self.activity
                .bytes_written
                .fetch_add(*written as u64, Ordering::Relaxed);
        }
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = &result {
            self.activity
                .bytes_written
                .fetch_add(*written as u64, Ordering::Relaxed);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Why a connection was closed by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Overstay {
    /// Some bytes of a request head arrived, the rest did not within the header timeout.
    HeaderTimeout,
    /// Nothing moved between requests (or a response went unread) for the idle timeout.
    Idle,
}

impl Overstay {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Overstay::HeaderTimeout => "request headers not complete within the header timeout",
            Overstay::Idle => "connection idle past the idle timeout",
        }
    }
}

/// Decides, tick by tick, whether a connection between requests has overstayed.
pub(super) struct Watchdog {
    activity: Arc<Activity>,
    header_timeout: Duration,
    idle_timeout: Duration,
    /// When the connection last had nothing in flight and nothing moving.
    waiting_since: Instant,
    /// Byte counts at `waiting_since`; more read since means a request head is arriving.
    read_at_wait: u64,
    written_at_wait: u64,
    requests_at_wait: u64,
    /// When the first byte of the next request head was noticed.
    head_started: Option<Instant>,
}

impl Watchdog {
    pub(super) fn new(
        activity: Arc<Activity>,
        header_timeout: Duration,
        idle_timeout: Duration,
    ) -> Self {
        Watchdog {
            activity,
            header_timeout,
            idle_timeout,
            waiting_since: Instant::now(),
            read_at_wait: 0,
            written_at_wait: 0,
            requests_at_wait: 0,
            head_started: None,
        }
    }

    /// How often [`Watchdog::check`] should run: fine enough for the shortest timeout.
    pub(super) fn tick_period(&self) -> Duration {
        (self.header_timeout.min(self.idle_timeout) / 4)
            .clamp(Duration::from_millis(20), Duration::from_secs(1))
    }

    /// `Some(why)` once the connection should be closed.
    pub(super) fn check(&mut self, now: Instant) -> Option<Overstay> {
        let a = &self.activity;
        let read = a.bytes_read.load(Ordering::Relaxed);
        let written = a.bytes_written.load(Ordering::Relaxed);
        let requests = a.requests.load(Ordering::SeqCst);
        let busy = a.in_flight.load(Ordering::SeqCst) > 0;
        if busy || requests != self.requests_at_wait || written != self.written_at_wait {
            // Serving, or progress since the last look: the wait starts again.
            self.waiting_since = now;
            self.read_at_wait = read;
            self.written_at_wait = written;
            self.requests_at_wait = requests;
            self.head_started = None;
            return None;
        }
        if read > self.read_at_wait {
            let started = *self.head_started.get_or_insert(now);
            if now.duration_since(started) >= self.header_timeout {
                return Some(Overstay::HeaderTimeout);
            }
            return None;
        }
        if now.duration_since(self.waiting_since) >= self.idle_timeout {
            return Some(Overstay::Idle);
        }
        None
    }
}
