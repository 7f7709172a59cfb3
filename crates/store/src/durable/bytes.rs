//! Little-endian byte writing and bounds-checked reading for the on-disk formats. A short or
//! malformed buffer is a [`Malformed`] error, never a panic.

use std::sync::Arc;

/// Reading ran past the end or found an impossible value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed data at byte {at}: {what}")]
pub(crate) struct Malformed {
    /// Offset in the buffer.
    pub(crate) at: usize,
    /// What was expected.
    pub(crate) what: &'static str,
}

/// Appends fixed-width and length-prefixed values.
pub(crate) trait Put {
    fn put_u8(&mut self, v: u8);
    fn put_u32(&mut self, v: u32);
    fn put_u64(&mut self, v: u64);
    fn put_i64(&mut self, v: i64);
    fn put_str(&mut self, s: &str);
}

impl Put for Vec<u8> {
    fn put_u8(&mut self, v: u8) {
        self.push(v);
    }
    fn put_u32(&mut self, v: u32) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_u64(&mut self, v: u64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_i64(&mut self, v: i64) {
        self.extend_from_slice(&v.to_le_bytes());
    }
    fn put_str(&mut self, s: &str) {
        // Lengths past u32 cannot reach here: batches are capped far below 4 GiB.
        self.put_u32(s.len() as u32);
        self.extend_from_slice(s.as_bytes());
    }
}

/// A cursor over a byte slice.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn err(&self, what: &'static str) -> Malformed {
        Malformed { at: self.pos, what }
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        if self.remaining() < n {
            return Err(self.err(what));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, Malformed> {
        Ok(self.array::<1>(what)?[0])
    }
    pub(crate) fn u32(&mut self, what: &'static str) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, Malformed> {
        Ok(i64::from_le_bytes(self.array(what)?))
    }

    /// A count of items that each take at least `min_item` bytes: checked against what is
    /// left, so a corrupt count cannot make a caller allocate gigabytes.
    pub(crate) fn count(
        &mut self,
        min_item: usize,
        what: &'static str,
    ) -> Result<usize, Malformed> {
        let n = self.u32(what)? as usize;
        if n.saturating_mul(min_item.max(1)) > self.remaining() && min_item > 0 {
            return Err(self.err(what));
        }
        Ok(n)
    }

    pub(crate) fn str(&mut self, what: &'static str) -> Result<&'a str, Malformed> {
        let n = self.u32(what)? as usize;
        let at = self.pos;
        let b = self.take(n, what)?;
        std::str::from_utf8(b).map_err(|_| Malformed { at, what })
    }

    pub(crate) fn arc_str(&mut self, what: &'static str) -> Result<Arc<str>, Malformed> {
        self.str(what).map(Arc::from)
    }
}
