//! The frame of a log record: sealing one, checking one, and telling the end of a file's log
//! (unused zeros, or frames of the file's earlier use) from damage. The layout and why a
//! frame names its file are in [`super::wal`].

/// Frame magic, "SLW2": the header names the file the frame was written to.
const MAGIC: u32 = u32::from_le_bytes(*b"SLW2");
/// Magic of frames written before log files were recycled, "SLWL": a 16-byte header without
/// the file number.
const MAGIC_V1: u32 = u32::from_le_bytes(*b"SLWL");
/// Bytes of a frame header.
pub(crate) const HEADER: usize = 24;
/// Bytes of a header without the file number.
const HEADER_V1: usize = 16;
/// Largest payload accepted; a bigger batch is refused before anything is written.
pub(crate) const MAX_PAYLOAD: usize = 1 << 30;

/// Fills the header reserved at the front of `buf` (see [`crate::durable::codec::encode_into`])
/// for a frame of log file `file`.
pub(crate) fn seal(buf: &mut [u8], file: u64) {
    let len = (buf.len() - HEADER) as u32;
    let crc = crc32fast::hash(&buf[HEADER..]);
    buf[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    buf[4..8].copy_from_slice(&len.to_le_bytes());
    buf[8..12].copy_from_slice(&crc.to_le_bytes());
    buf[12..20].copy_from_slice(&file.to_le_bytes());
    let hcrc = crc32fast::hash(&buf[0..20]);
    buf[20..24].copy_from_slice(&hcrc.to_le_bytes());
}

/// What went wrong with a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameFault {
    /// Fewer bytes than a header.
    ShortHeader,
    /// Wrong magic or header checksum.
    BadHeader,
    /// An intact frame of another file: what a recycled file held before, not damage.
    Stale,
    /// The declared payload runs past the end of the file.
    ShortPayload,
    /// The payload checksum does not match.
    BadPayload,
}

impl FrameFault {
    /// For messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            FrameFault::ShortHeader => "incomplete frame header",
            FrameFault::BadHeader => "bad frame header (magic or checksum)",
            FrameFault::Stale => "a frame of the file's earlier use",
            FrameFault::ShortPayload => "frame payload cut short",
            FrameFault::BadPayload => "frame payload checksum mismatch",
        }
    }
}

/// Reads the little-endian u32 at `i`.
fn word(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}

/// Checks the header at `pos` in log file `file`; `Ok((header bytes, payload length))`.
fn check_header(buf: &[u8], pos: usize, file: u64) -> Result<(usize, usize), FrameFault> {
    let rest = &buf[pos..];
    if rest.len() < HEADER_V1 {
        return Err(FrameFault::ShortHeader);
    }
    match word(rest, 0) {
        MAGIC_V1 if crc32fast::hash(&rest[0..12]) == word(rest, 12) => {
            Ok((HEADER_V1, word(rest, 4) as usize))
        }
        MAGIC if rest.len() < HEADER => Err(FrameFault::ShortHeader),
        MAGIC if crc32fast::hash(&rest[0..20]) == word(rest, 20) => {
            let named = u64::from_le_bytes(rest[12..20].try_into().unwrap_or_default());
            if named == file {
                Ok((HEADER, word(rest, 4) as usize))
            } else {
                Err(FrameFault::Stale)
            }
        }
        _ => Err(FrameFault::BadHeader),
    }
}

/// Checks the frame at `pos` of log file `file`; `Ok(payload range)` when whole and intact.
pub(crate) fn check_frame(buf: &[u8], pos: usize, file: u64) -> Result<(usize, usize), FrameFault> {
    let (header, len) = check_header(buf, pos, file)?;
    let start = pos + header;
    if buf.len() - start < len {
        return Err(FrameFault::ShortPayload);
    }
    // The payload checksum sits at the same place in both header layouts.
    if crc32fast::hash(&buf[start..start + len]) != word(buf, pos + 8) {
        return Err(FrameFault::BadPayload);
    }
    Ok((start, start + len))
}

/// Whether everything from `pos` on is zeros: space written ahead of the frames and never
/// used, not damage.
pub(crate) fn is_unused(buf: &[u8], pos: usize) -> bool {
    buf[pos..].iter().all(|&b| b == 0)
}

/// Offsets from `from` on where a frame header could start (either magic).
fn candidates(buf: &[u8], from: usize) -> impl Iterator<Item = usize> + '_ {
    let magics = [MAGIC.to_le_bytes(), MAGIC_V1.to_le_bytes()];
    (from..buf.len().saturating_sub(HEADER_V1 - 1))
        .filter(move |&i| magics.iter().any(|m| buf[i..i + 4] == *m))
}

/// The first offset after `from` where an intact frame of file `file` starts, if any.
pub(crate) fn next_valid(buf: &[u8], from: usize, file: u64) -> Option<usize> {
    candidates(buf, from).find(|&i| check_frame(buf, i, file).is_ok())
}

/// The first offset after `from` where an intact frame header of another file starts: where
/// a recycled file's earlier contents resume after damage, if any.
pub(crate) fn next_stale(buf: &[u8], from: usize, file: u64) -> Option<usize> {
    candidates(buf, from).find(|&i| check_header(buf, i, file) == Err(FrameFault::Stale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(payload: &[u8], file: u64) -> Vec<u8> {
        let mut b = vec![0; HEADER];
        b.extend_from_slice(payload);
        seal(&mut b, file);
        b
    }

    /// A frame as versions before recycling wrote it.
    fn frame_v1(payload: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&MAGIC_V1.to_le_bytes());
        b.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        b.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
        let hcrc = crc32fast::hash(&b);
        b.extend_from_slice(&hcrc.to_le_bytes());
        b.extend_from_slice(payload);
        b
    }

    #[test]
    fn a_frame_reads_back_only_in_the_file_it_names() {
        let f = frame(b"points", 7);
        assert_eq!(check_frame(&f, 0, 7), Ok((HEADER, HEADER + 6)));
        assert_eq!(check_frame(&f, 0, 6), Err(FrameFault::Stale));
        assert_eq!(check_frame(&f, 0, 1 << 40), Err(FrameFault::Stale));
    }

    #[test]
    fn frames_without_a_file_number_are_still_read() {
        let mut log = frame_v1(b"older");
        log.extend(frame(b"newer", 3));
        assert_eq!(check_frame(&log, 0, 3), Ok((HEADER_V1, HEADER_V1 + 5)));
        let second = HEADER_V1 + 5;
        assert_eq!(
            check_frame(&log, second, 3),
            Ok((second + HEADER, log.len()))
        );
    }

    #[test]
    fn damage_is_told_apart_from_an_earlier_use_of_the_file() {
        let mut f = frame(b"points", 2);
        f[HEADER + 1] ^= 1;
        assert_eq!(check_frame(&f, 0, 2), Err(FrameFault::BadPayload));
        f[5] ^= 1;
        assert_eq!(check_frame(&f, 0, 2), Err(FrameFault::BadHeader));
        assert_eq!(check_frame(&f[..20], 0, 2), Err(FrameFault::ShortHeader));
        let whole = frame(b"points", 2);
        assert_eq!(
            check_frame(&whole[..HEADER + 3], 0, 2),
            Err(FrameFault::ShortPayload)
        );
    }

    #[test]
    fn scanning_finds_this_files_frames_and_where_older_ones_resume() {
        // A recycled file: a new frame, a torn one, then the tail of its earlier use.
        let mut log = frame(b"new", 9);
        let torn_at = log.len();
        log.extend(&frame(b"half written", 9)[..HEADER + 4]);
        let stale_at = log.len() + 5;
        log.extend([0xab; 5]);
        log.extend(frame(b"old", 4));
        assert_eq!(next_valid(&log, torn_at, 9), None);
        assert_eq!(next_stale(&log, torn_at, 9), Some(stale_at));
        assert_eq!(next_valid(&log, 1, 4), Some(stale_at));
    }
}
