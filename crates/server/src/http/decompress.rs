//! Decompressing protobuf write bodies (zstd, snappy) into reusable scratch space.
//!
//! A steady stream of compressed writes used to allocate a body-sized output buffer and a
//! zstd context per request; above the allocator's mmap threshold each such buffer was
//! mapped, faulted in page by page and unmapped again. Here requests take a [`Scratch`]
//! (an output buffer and a zstd context) from a small process-wide pool and give it back
//! when their body is parsed, so the same pages and context serve request after request.
//!
//! ```text
//!  pool: [Scratch { buf: 0 .. len (initialized once, reused), zstd: DCtx }, …]   ≤ IDLE_SCRATCHES
//!                          │ take                           ▲ give back (on drop)
//!                          ▼                                │
//!  Decoded::Scratch { buf[0 .. written] } ──► parse ────────┘
//! ```
//!
//! A request sees only what its own decompression wrote: a scratch buffer still holds an
//! earlier request's bytes past that point, but [`Decoded`] exposes exactly the prefix
//! written for this one. Every decoded byte is reserved from the in-flight budget before it
//! is produced, and no output goes past one byte over the body limit (which proves the body
//! too large), as before the pool.

use crate::budget::{Budget, Reservation};
use crate::error::ApiError;
use axum::body::Bytes;
use parking_lot::{const_mutex, Mutex};
use std::ops::Deref;
use zstd::zstd_safe::{DCtx, InBuffer, OutBuffer, ResetDirective};

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
    /// The `Content-Encoding` name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Encoding::Identity => "none",
            Encoding::Zstd => "zstd",
            Encoding::Snappy => "snappy",
        }
    }
}

/// Why a body could not be decompressed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// Over the body limit, or the in-flight budget is spent.
    Refused(ApiError),
    /// Not valid compressed data; the text says what the decoder found.
    Corrupt(String),
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Refused(error)
    }
}

/// Idle scratches kept for the next requests: one per writer the two cores run at once and
/// a few more; a scratch returned beyond these is freed.
const IDLE_SCRATCHES: usize = 4;
/// A scratch buffer grown past this is freed on return rather than kept, so a rare huge body
/// does not pin its memory; the pool holds at most `IDLE_SCRATCHES` times this when idle.
const KEPT_BUFFER_BYTES: usize = 8 << 20;
/// Output step while stream-decompressing a zstd body that declares no size.
const DECODE_CHUNK: usize = 64 * 1024;

static IDLE: Mutex<Vec<Scratch>> = const_mutex(Vec::new());

/// Reusable decompression space.
#[derive(Default)]
struct Scratch {
    /// Fully initialized (zeroed once when it grows), so output can be written through a
    /// plain `&mut [u8]`; only a prefix is ever handed to a request.
    buf: Vec<u8>,
    /// Made on first zstd use; reset before every use.
    zstd: Option<DCtx<'static>>,
}

/// A scratch on loan; goes back to the pool when dropped.
struct Lease(Option<Scratch>);

impl Lease {
    fn take() -> Lease {
        // The pool's lock is a leaf: held only to pop.
        let scratch = IDLE.lock().pop().unwrap_or_default();
        Lease(Some(scratch))
    }

    fn scratch(&mut self) -> &mut Scratch {
        self.0.get_or_insert_with(Scratch::default)
    }

    /// The first `len` bytes of the buffer, growing it (zero-filled) if it is shorter.
    fn room(&mut self, len: usize) -> &mut [u8] {
        let buf = &mut self.scratch().buf;
        if buf.len() < len {
            buf.resize(len, 0);
        }
        &mut buf[..len]
    }

    /// The zstd context, reset so nothing of an earlier (perhaps failed) frame remains.
    fn zstd(&mut self) -> Result<&mut DCtx<'static>, Failure> {
        let slot = &mut self.scratch().zstd;
        if slot.is_none() {
            *slot = DCtx::try_create();
        }
        let dctx = slot.as_mut().ok_or(Failure::Refused(ApiError::Overloaded {
            resource: "zstd decompression context",
        }))?;
        dctx.reset(ResetDirective::SessionOnly)
            .map_err(|code| Failure::Corrupt(format!("zstd: {}", zstd_error(code))))?;
        Ok(dctx)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(mut scratch) = self.0.take() else {
            return;
        };
        if scratch.buf.len() > KEPT_BUFFER_BYTES {
            scratch.buf = Vec::new();
        }
        let mut idle = IDLE.lock();
        if idle.len() < IDLE_SCRATCHES {
            idle.push(scratch);
        }
    }
}

/// A body's decoded bytes (derefs to them).
pub(crate) struct Decoded(Source);

enum Source {
    /// The body as received (no compression).
    Original(Bytes),
    /// The first `len` bytes of a scratch buffer: what this body decoded to.
    Scratch { lease: Lease, len: usize },
}

impl Decoded {
    fn scratch(lease: Lease, len: usize) -> Decoded {
        Decoded(Source::Scratch { lease, len })
    }
}

impl Deref for Decoded {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            Source::Original(bytes) => bytes,
            Source::Scratch { lease, len } => lease
                .0
                .as_ref()
                .and_then(|s| s.buf.get(..*len))
                .unwrap_or_default(),
        }
    }
}

/// Decodes `bytes` to at most `limit` bytes, each output byte reserved in `held` from
/// `budget` before it is produced: a small bomb cannot exhaust memory, and many at once get
/// 503.
pub(crate) fn decompress(
    bytes: Bytes,
    encoding: Encoding,
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
) -> Result<Decoded, Failure> {
    match encoding {
        Encoding::Identity => Ok(Decoded(Source::Original(bytes))),
        Encoding::Zstd => zstd_decode(Lease::take(), &bytes, limit, budget, held),
        Encoding::Snappy => snappy_decode(Lease::take(), &bytes, limit, budget, held),
    }
}

/// The snappy block format into `lease`; it states its decoded length up front, which is
/// checked against the limit and reserved before anything is decoded.
fn snappy_decode(
    mut lease: Lease,
    bytes: &[u8],
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
) -> Result<Decoded, Failure> {
    let len =
        snap::raw::decompress_len(bytes).map_err(|e| Failure::Corrupt(format!("snappy: {e}")))?;
    if len > limit {
        return Err(ApiError::BodyTooLarge { limit }.into());
    }
    budget.grow(held, len)?;
    let written = snap::raw::Decoder::new()
        .decompress(bytes, lease.room(len))
        .map_err(|e| Failure::Corrupt(format!("snappy: {e}")))?;
    Ok(Decoded::scratch(lease, written))
}

/// zstd into at most `limit` bytes. A frame that declares its decoded size (what
/// `zstd::bulk` and the upstream clients write) is refused at once if that is over the
/// limit, else decoded in one call into exactly that much room; anything else (no size,
/// several frames, a size that lies) is streamed in bounded steps.
fn zstd_decode(
    mut lease: Lease,
    bytes: &[u8],
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
) -> Result<Decoded, Failure> {
    let declared = zstd::zstd_safe::get_frame_content_size(bytes)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::BodyTooLarge { limit }.into());
    }
    if let Some(size) = declared {
        budget.grow(held, size)?;
        lease.zstd()?;
        let Lease(Some(Scratch {
            buf,
            zstd: Some(dctx),
        })) = &mut lease
        else {
            return Err(Failure::Corrupt("zstd: no context".to_string()));
        };
        if buf.len() < size {
            buf.resize(size, 0);
        }
        if let Ok(len) = dctx.decompress(&mut buf[..size], bytes) {
            return Ok(Decoded::scratch(lease, len));
        }
        // The declared size was not the whole story; the stream below decides (and
        // reserves its own room, so this is not counted twice).
        *held = Reservation::default();
    }
    let len = zstd_stream(&mut lease, bytes, declared, limit, budget, held)?;
    Ok(Decoded::scratch(lease, len))
}

/// Streams a zstd body into room that doubles, reserved from the budget step by step,
/// never past one byte over `limit` (which proves the body too large). Returns the bytes
/// written.
fn zstd_stream(
    lease: &mut Lease,
    bytes: &[u8],
    declared: Option<usize>,
    limit: usize,
    budget: &Budget,
    held: &mut Reservation,
) -> Result<usize, Failure> {
    if bytes.is_empty() {
        // No frame at all decodes to nothing, as the reader this replaced did.
        return Ok(0);
    }
    let mut reserved = declared.unwrap_or(DECODE_CHUNK).clamp(1, limit + 1);
    budget.grow(held, reserved)?;
    lease.room(reserved);
    // Reset once: the loop below continues one stream.
    lease.zstd()?;
    let mut input = InBuffer::around(bytes);
    let mut written = 0;
    loop {
        if written == reserved {
            if reserved > limit {
                return Err(ApiError::BodyTooLarge { limit }.into());
            }
            let next = reserved.saturating_mul(2).min(limit + 1);
            budget.grow(held, next - reserved)?;
            lease.room(next);
            reserved = next;
        }
        let hint = {
            let Lease(Some(Scratch {
                buf,
                zstd: Some(dctx),
            })) = &mut *lease
            else {
                return Err(Failure::Corrupt("zstd: no context".to_string()));
            };
            let mut output = OutBuffer::around(&mut buf[written..reserved]);
            let hint = dctx
                .decompress_stream(&mut output, &mut input)
                .map_err(|code| Failure::Corrupt(format!("zstd: {}", zstd_error(code))))?;
            written += output.pos();
            hint
        };
        let input_done = input.pos() == bytes.len();
        if hint == 0 && input_done {
            if written > limit {
                return Err(ApiError::BodyTooLarge { limit }.into());
            }
            return Ok(written);
        }
        if input_done && written < reserved {
            return Err(Failure::Corrupt(
                "zstd: incomplete frame (the body ends inside it)".to_string(),
            ));
        }
    }
}

fn zstd_error(code: usize) -> &'static str {
    zstd::zstd_safe::get_error_name(code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const LIMIT: usize = 1 << 22;

    /// A scratch still full of an earlier request's bytes, as the pool hands it out.
    fn dirty_lease() -> Lease {
        Lease(Some(Scratch {
            buf: vec![0xAA; 1 << 20],
            zstd: None,
        }))
    }

    fn budget() -> (Budget, Reservation) {
        (Budget::new(1 << 30), Reservation::default())
    }

    fn body(len: usize, seed: u8) -> Vec<u8> {
        (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
    }

    /// A frame that declares its size (as the upstream clients write).
    fn zstd_sized(raw: &[u8]) -> Vec<u8> {
        zstd::bulk::compress(raw, 3).unwrap()
    }

    /// A frame without a declared size (a streaming encoder).
    fn zstd_unsized(raw: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = zstd::stream::write::Encoder::new(&mut out, 3).unwrap();
        encoder.include_contentsize(false).unwrap();
        std::io::Write::write_all(&mut encoder, raw).unwrap();
        encoder.finish().unwrap();
        assert_eq!(
            zstd::zstd_safe::get_frame_content_size(&out).ok().flatten(),
            None
        );
        out
    }

    fn zstd_into(lease: Lease, compressed: &[u8]) -> Result<Vec<u8>, Failure> {
        let (budget, mut held) = budget();
        zstd_decode(lease, compressed, LIMIT, &budget, &mut held).map(|d| d.to_vec())
    }

    #[test]
    fn a_reused_buffer_shows_only_this_bodys_bytes() {
        let small = body(1000, 7);
        for compressed in [zstd_sized(&small), zstd_unsized(&small)] {
            assert_eq!(zstd_into(dirty_lease(), &compressed).unwrap(), small);
        }
        let snappy = snap::raw::Encoder::new().compress_vec(&small).unwrap();
        let (budget, mut held) = budget();
        let got = snappy_decode(dirty_lease(), &snappy, LIMIT, &budget, &mut held).unwrap();
        assert_eq!(&*got, &small[..]);
    }

    #[test]
    fn an_empty_body_decodes_to_nothing_in_a_dirty_buffer() {
        assert_eq!(
            zstd_into(dirty_lease(), &zstd_sized(&[])).unwrap(),
            Vec::<u8>::new()
        );
        assert_eq!(
            zstd_into(dirty_lease(), &zstd_unsized(&[])).unwrap(),
            Vec::<u8>::new()
        );
        assert_eq!(zstd_into(dirty_lease(), &[]).unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn pooled_scratches_serve_request_after_request() {
        // Through the pool itself: each body comes back exactly, whatever scratch it got.
        for (n, len) in [200_000, 10, 150_000, 0, 70_000].into_iter().enumerate() {
            let raw = body(len, n as u8);
            let (budget, mut held) = budget();
            let compressed = if n % 2 == 0 {
                zstd_sized(&raw)
            } else {
                zstd_unsized(&raw)
            };
            let got = decompress(
                Bytes::from(compressed),
                Encoding::Zstd,
                LIMIT,
                &budget,
                &mut held,
            )
            .unwrap();
            assert_eq!(&*got, &raw[..], "body {n}");
        }
    }

    #[test]
    fn concatenated_frames_decode_to_their_concatenation() {
        let (a, b) = (body(5000, 1), body(3000, 2));
        let mut both = zstd_unsized(&a);
        both.extend(zstd_sized(&b));
        let got = zstd_into(dirty_lease(), &both).unwrap();
        assert_eq!(got, [a, b].concat());
    }

    #[test]
    fn a_cut_or_damaged_frame_is_corrupt_not_an_earlier_body() {
        let raw = body(100_000, 3);
        for compressed in [zstd_sized(&raw), zstd_unsized(&raw)] {
            let cut = &compressed[..compressed.len() / 2];
            assert!(matches!(
                zstd_into(dirty_lease(), cut),
                Err(Failure::Corrupt(_))
            ));
            let mut trailing = compressed.clone();
            trailing.extend_from_slice(b"not zstd");
            assert!(matches!(
                zstd_into(dirty_lease(), &trailing),
                Err(Failure::Corrupt(_))
            ));
        }
    }

    #[test]
    fn output_past_the_limit_is_refused_declared_or_not() {
        let raw = body(LIMIT + 1, 4);
        for compressed in [zstd_sized(&raw), zstd_unsized(&raw)] {
            let got = zstd_into(dirty_lease(), &compressed);
            assert!(matches!(
                got,
                Err(Failure::Refused(ApiError::BodyTooLarge { limit: LIMIT }))
            ));
        }
        let exact = body(LIMIT, 5);
        assert_eq!(
            zstd_into(dirty_lease(), &zstd_unsized(&exact)).unwrap(),
            exact
        );
    }
}
