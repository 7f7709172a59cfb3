//! Decoding a columnar `WriteBatchesRequest` straight into the store's columns: each
//! timestamp becomes nanoseconds as it is read and each packed value column is read into
//! its typed vector, with no message struct per timestamp. prost's derived decoder builds a
//! `Timestamp` per point (two optional integers, 32 bytes) and `convert` then walks them
//! again; on a 10,000-point request that was most of the decoding time.
//!
//! This path takes only what it can take *exactly* as prost + `convert` would: a valid
//! request in the layout clients write. Anything else — bytes that are not well-formed, a
//! `points` field or value column given twice (which protobuf would merge), a non-packed
//! column, an array or struct column, or any request `convert` would refuse — returns
//! `None`, and the caller decodes the same bytes with prost and `convert`, which produce the
//! result or the precise error. Unknown fields are skipped, as prost skips them.
//!
//! ```text
//! WriteBatchesRequest { 1: RecordsBatch*, 2: data_source_rid }
//!   RecordsBatch { 1: channel, 2: tags (map entry)*, 3: Points }
//!     Points { 1: Timestamp* → Vec<i64> ns, oneof 2|3|5|8: packed column → Values }
//! ```

use super::convert::dataset_rid;
use prost::bytes::Buf as _;
use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};
use sightline_store::{SeriesWrite, Tags, Values};
use sightline_wire::api::Timestamp;
use sightline_wire::conjure::SafeLong;
use sightline_wire::time::timestamp_to_nanos;
use std::sync::Arc;

/// A field of a message: its number, wire type and (for length-delimited ones) its bytes.
enum Field<'a> {
    Bytes(u32, &'a [u8]),
    Varint(u32, u64),
    /// Any other wire type (already skipped): taken only where unknown fields are.
    Other(u32),
}

/// Reads the next field of `buf`; `None` on malformed bytes.
fn next_field<'a>(buf: &mut &'a [u8]) -> Option<Field<'a>> {
    let (tag, wire) = decode_key(buf).ok()?;
    match wire {
        WireType::LengthDelimited => {
            let len = usize::try_from(decode_varint(buf).ok()?).ok()?;
            if len > buf.len() {
                return None;
            }
            let (body, rest) = buf.split_at(len);
            *buf = rest;
            Some(Field::Bytes(tag, body))
        }
        WireType::Varint => Some(Field::Varint(tag, decode_varint(buf).ok()?)),
        other => {
            skip_field(other, tag, buf, DecodeContext::default()).ok()?;
            Some(Field::Other(tag))
        }
    }
}

/// Decodes and converts the request in `raw`, or `None` if prost and `convert` must (see the
/// module docs).
pub(crate) fn decode(raw: &[u8]) -> Option<Vec<SeriesWrite>> {
    let mut buf = raw;
    let mut batches = Vec::new();
    let mut rid: &str = "";
    while !buf.is_empty() {
        match next_field(&mut buf)? {
            Field::Bytes(1, body) => batches.push(batch(body)?),
            Field::Bytes(2, body) => rid = std::str::from_utf8(body).ok()?,
            Field::Varint(1 | 2, _) | Field::Other(1 | 2) => return None,
            Field::Bytes(..) | Field::Varint(..) | Field::Other(_) => {}
        }
    }
    let dataset = dataset_rid(rid).ok()?;
    let mut out = Vec::with_capacity(batches.len());
    for b in batches {
        if b.channel.is_empty() || b.values.len() != b.timestamps.len() {
            return None;
        }
        if b.values.is_empty() {
            continue;
        }
        out.push(SeriesWrite {
            dataset: dataset.clone(),
            channel: Arc::from(b.channel),
            tags: b.tags,
            unit: None,
            timestamps: b.timestamps,
            values: b.values,
        });
    }
    Some(out)
}

/// One `RecordsBatch`, decoded.
struct Batch<'a> {
    channel: &'a str,
    tags: Tags,
    timestamps: Vec<i64>,
    values: Values,
}

fn batch(mut buf: &[u8]) -> Option<Batch<'_>> {
    let mut channel = "";
    let mut tags = Tags::new();
    let mut points = None;
    while !buf.is_empty() {
        match next_field(&mut buf)? {
            Field::Bytes(1, body) => channel = std::str::from_utf8(body).ok()?,
            Field::Bytes(2, body) => {
                let (k, v) = tag_entry(body)?;
                tags.insert(k.to_string(), v.to_string());
            }
            Field::Bytes(3, body) if points.is_none() => points = Some(columns(body)?),
            Field::Bytes(1..=3, _) | Field::Varint(1..=3, _) | Field::Other(1..=3) => return None,
            Field::Bytes(..) | Field::Varint(..) | Field::Other(_) => {}
        }
    }
    let (timestamps, values) = points.unwrap_or_else(|| (Vec::new(), Values::Double(Vec::new())));
    Some(Batch {
        channel,
        tags,
        timestamps,
        values,
    })
}

/// A map entry `{ 1: key, 2: value }`; a missing half is the empty string, as in prost.
fn tag_entry(mut buf: &[u8]) -> Option<(&str, &str)> {
    let (mut k, mut v) = ("", "");
    while !buf.is_empty() {
        match next_field(&mut buf)? {
            Field::Bytes(1, body) => k = std::str::from_utf8(body).ok()?,
            Field::Bytes(2, body) => v = std::str::from_utf8(body).ok()?,
            Field::Varint(1 | 2, _) | Field::Other(1 | 2) => return None,
            Field::Bytes(..) | Field::Varint(..) | Field::Other(_) => {}
        }
    }
    Some((k, v))
}

/// `Points`: the timestamps as nanoseconds and the one value column.
fn columns(mut buf: &[u8]) -> Option<(Vec<i64>, Values)> {
    let mut ts = Vec::with_capacity(timestamp_room(buf));
    let mut values: Option<Values> = None;
    let mut last_seconds = LastSeconds::default();
    while !buf.is_empty() {
        // Timestamps are most of a request's bytes: read the layout clients write without
        // the general field walk (three keys and three varints through prost per point).
        if let Some((seconds, nanos, rest)) = usual_timestamp(buf, &mut last_seconds) {
            ts.push(checked_nanos(seconds, nanos)?);
            buf = rest;
            continue;
        }
        match next_field(&mut buf)? {
            Field::Bytes(1, body) => ts.push(timestamp(body)?),
            Field::Bytes(tag @ (2 | 3 | 5 | 8), body) if values.is_none() => {
                values = Some(column(tag, body)?);
            }
            Field::Bytes(1..=8, _) | Field::Varint(1..=8, _) | Field::Other(1..=8) => return None,
            Field::Bytes(..) | Field::Varint(..) | Field::Other(_) => {}
        }
    }
    Some((ts, values.unwrap_or_else(|| Values::Double(Vec::new()))))
}

/// One `Points.timestamps` entry in the layout clients write, `0x0a len 0x08 <seconds>
/// 0x10 <nanos>`: both fields once, in order, the length in one byte. Returns the two
/// fields and the bytes after the entry, or `None` for any other layout, which
/// [`timestamp`] reads (or refuses) instead.
fn usual_timestamp<'a>(
    buf: &'a [u8],
    last_seconds: &mut LastSeconds,
) -> Option<(i64, i64, &'a [u8])> {
    // A length of 128 or more takes two bytes: not this layout.
    let [0x0a, len @ 0..0x80, 0x08, ref rest @ ..] = *buf else {
        return None;
    };
    let end = 2 + usize::from(len);
    // The varints are read from the whole buffer (so the 8-byte read applies near the
    // entry's end); the entry must end exactly where they do.
    let mut rest = rest;
    let seconds = last_seconds.read(&mut rest)?;
    let [0x10, ref rest @ ..] = *rest else {
        return None;
    };
    let mut rest = rest;
    let nanos = varint(&mut rest)?;
    // int64 on the wire: the varint's bits are the two's complement value.
    (buf.len() - rest.len() == end).then_some((seconds as i64, nanos as i64, rest))
}

/// The seconds varint of the previous timestamp entry and its bytes. At 1 kHz a thousand
/// entries in a row carry the same seconds: an entry whose next bytes are the same varint
/// (the masked bytes end with the varint's last byte, so they are the whole varint) reuses
/// the value instead of decoding it again.
#[derive(Debug, Default)]
struct LastSeconds {
    /// The varint's bytes, little-endian in a word; `mask` covers them.
    bytes: u64,
    mask: u64,
    /// Its length in bytes; 0 while nothing is remembered.
    len: usize,
    value: u64,
}

impl LastSeconds {
    /// The varint at the start of `buf` (advancing past it), from memory when its bytes
    /// are the previous ones.
    fn read(&mut self, buf: &mut &[u8]) -> Option<u64> {
        let word = first_word(buf);
        if let Some(word) = word {
            if self.len > 0 && word & self.mask == self.bytes {
                *buf = &buf[self.len..];
                return Some(self.value);
            }
        }
        let before = buf.len();
        let value = varint(buf)?;
        let len = before - buf.len();
        *self = match word {
            Some(word) if len < 8 => {
                let mask = (1u64 << (8 * len)) - 1;
                LastSeconds {
                    bytes: word & mask,
                    mask,
                    len,
                    value,
                }
            }
            _ => LastSeconds::default(),
        };
        Some(value)
    }
}

/// A varint read from a slice; `None` where prost would refuse it (cut short, or more
/// than 64 bits), so the general path reports the error.
fn varint(buf: &mut &[u8]) -> Option<u64> {
    if let Some((value, len)) = short_varint(buf) {
        *buf = &buf[len..];
        return Some(value);
    }
    let mut value = 0u64;
    for (i, &byte) in buf.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None;
            }
            *buf = &buf[i + 1..];
            return Some(value);
        }
    }
    None
}

/// A varint of at most 8 bytes read from the first 8 bytes of `buf` at once (a timestamp's
/// seconds and nanoseconds take 5 bytes each): its value and length, or `None` when fewer
/// than 8 bytes are left or the varint is longer, which the byte loop reads.
fn short_varint(buf: &[u8]) -> Option<(u64, usize)> {
    let word = first_word(buf)?;
    // The first byte without its continuation bit ends the varint.
    let ends = !word & 0x8080_8080_8080_8080;
    if ends == 0 {
        return None;
    }
    let len = ends.trailing_zeros() as usize / 8 + 1;
    let kept = if len == 8 {
        !0
    } else {
        (1u64 << (8 * len)) - 1
    };
    // Drop the continuation bits, then close the gaps between the 7-bit groups.
    let mut x = word & kept & 0x7f7f_7f7f_7f7f_7f7f;
    x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
    x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
    x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
    Some((x, len))
}

/// The first 8 bytes of `buf` as a little-endian word, if it has that many.
fn first_word(buf: &[u8]) -> Option<u64> {
    Some(u64::from_le_bytes(buf.get(..8)?.try_into().ok()?))
}

/// Room for the timestamps of a `Points` message: its length over the length of its first
/// entry in the usual layout (see [`usual_timestamp`]). The value column shares the bytes,
/// so this errs on the side of room (about 1.6× for doubles); walking every entry first to
/// count them exactly took about a sixth of the decoder's time in a profile.
fn timestamp_room(buf: &[u8]) -> usize {
    match *buf {
        // An entry of this layout takes at least 6 bytes: never more room than 8 bytes per
        // 6 of the message, whatever its first entry claims.
        [0x0a, len @ 0..0x80, ..] => buf.len() / (2 + usize::from(len)).max(6),
        _ => 0,
    }
}

/// Nanoseconds of a timestamp, checked as every writer checks timestamps.
fn checked_nanos(seconds: i64, nanos: i64) -> Option<i64> {
    timestamp_to_nanos(&Timestamp {
        seconds: SafeLong(seconds),
        nanos: SafeLong(nanos),
    })
    .ok()
}

/// A `Timestamp { 1: seconds, 2: nanos }` (absent fields are zero) in nanoseconds, checked
/// as every writer checks timestamps.
fn timestamp(mut buf: &[u8]) -> Option<i64> {
    let (mut seconds, mut nanos) = (0i64, 0i64);
    while !buf.is_empty() {
        match next_field(&mut buf)? {
            // int64 on the wire: the varint's bits are the two's complement value.
            Field::Varint(1, v) => seconds = v as i64,
            Field::Varint(2, v) => nanos = v as i64,
            Field::Bytes(1 | 2, _) | Field::Other(1 | 2) => return None,
            Field::Bytes(..) | Field::Varint(..) | Field::Other(_) => {}
        }
    }
    checked_nanos(seconds, nanos)
}

/// One value column message (`DoublePoints`, `StringPoints`, `IntPoints`, `Uint64Points`),
/// whose field 1 is the column: packed numbers (several packed runs append), or strings.
fn column(tag: u32, mut buf: &[u8]) -> Option<Values> {
    let mut values = match tag {
        2 => Values::Double(Vec::new()),
        3 => Values::String(Vec::new()),
        5 => Values::Int(Vec::new()),
        8 => Values::Uint64(Vec::new()),
        _ => return None,
    };
    while !buf.is_empty() {
        match (next_field(&mut buf)?, &mut values) {
            (Field::Bytes(1, body), Values::Double(v)) => {
                if body.len() % 8 != 0 {
                    return None;
                }
                v.reserve(body.len() / 8);
                v.extend(
                    body.chunks_exact(8).map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
                    }),
                );
            }
            (Field::Bytes(1, body), Values::String(v)) => {
                v.push(Arc::from(std::str::from_utf8(body).ok()?));
            }
            (Field::Bytes(1, mut body), Values::Int(v)) => {
                while body.has_remaining() {
                    v.push(decode_varint(&mut body).ok()? as i64);
                }
            }
            (Field::Bytes(1, mut body), Values::Uint64(v)) => {
                while body.has_remaining() {
                    v.push(decode_varint(&mut body).ok()?);
                }
            }
            (Field::Bytes(1, _) | Field::Varint(1, _) | Field::Other(1), _) => return None,
            _ => {}
        }
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::decode;
    use crate::http::nominal_columnar::convert;
    use proptest::prelude::*;
    use prost::Message as _;
    use sightline_wire::proto::columnar::{self, WriteBatchesRequest};
    use std::collections::HashMap;

    /// What prost and `convert` make of `raw`, if they accept it.
    fn reference(raw: &[u8]) -> Option<Vec<sightline_store::SeriesWrite>> {
        convert(WriteBatchesRequest::decode(raw).ok()?).ok()
    }

    fn arb_values(n: usize) -> impl Strategy<Value = Option<columnar::Values>> {
        prop_oneof![
            4 => prop::collection::vec(-1e9f64..1e9, n..=n)
                .prop_map(|points| Some(columnar::Values::DoublePoints(columnar::DoublePoints { points }))),
            1 => prop::collection::vec(any::<i64>(), n..=n)
                .prop_map(|points| Some(columnar::Values::IntPoints(columnar::IntPoints { points }))),
            1 => prop::collection::vec(any::<u64>(), n..=n)
                .prop_map(|points| Some(columnar::Values::Uint64Points(columnar::Uint64Points { points }))),
            1 => prop::collection::vec("[a-z]{0,3}", n..=n)
                .prop_map(|points| Some(columnar::Values::StringPoints(columnar::StringPoints { points }))),
            1 => prop::collection::vec(-1e9f64..1e9, 0..3)
                .prop_map(|points| Some(columnar::Values::DoublePoints(columnar::DoublePoints { points }))),
            1 => Just(Some(columnar::Values::ArrayPoints(vec![1, 2]))),
            1 => Just(None),
        ]
    }

    fn arb_timestamp() -> impl Strategy<Value = columnar::Timestamp> {
        (
            prop_oneof![8 => (0i64..4_000_000_000).prop_map(Some), 1 => Just(None), 1 => any::<i64>().prop_map(Some)],
            prop_oneof![8 => (0i64..1_000_000_000).prop_map(Some), 1 => Just(None), 1 => any::<i64>().prop_map(Some)],
        )
            .prop_map(|(seconds, nanos)| columnar::Timestamp { seconds, nanos })
    }

    fn arb_batch() -> impl Strategy<Value = columnar::RecordsBatch> {
        (0usize..6)
            .prop_flat_map(|n| {
                (
                    prop_oneof![8 => "[a-z.]{1,8}", 1 => Just(String::new())],
                    prop::collection::hash_map("[a-z]{1,3}", "[a-z]{0,3}", 0..3),
                    prop::collection::vec(arb_timestamp(), n..=n),
                    arb_values(n),
                    any::<bool>(),
                )
            })
            .prop_map(
                |(channel, tags, timestamps, values, has_points)| columnar::RecordsBatch {
                    channel,
                    tags: tags.into_iter().collect::<HashMap<_, _>>(),
                    points: has_points.then_some(columnar::Points { timestamps, values }),
                },
            )
    }

    fn arb_request() -> impl Strategy<Value = WriteBatchesRequest> {
        (
            prop::collection::vec(arb_batch(), 0..5),
            prop_oneof![8 => Just("ri.a.b.dataset.x".to_string()), 1 => "[a-z.]{0,12}"],
        )
            .prop_map(|(batches, data_source_rid)| WriteBatchesRequest {
                batches,
                data_source_rid,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        /// Every request prost encodes and `convert` accepts is decoded here, to the same
        /// writes; one `convert` refuses is left to it.
        #[test]
        fn the_fast_decoder_agrees_with_prost_and_convert(request in arb_request()) {
            let raw = request.encode_to_vec();
            let want = reference(&raw);
            let got = decode(&raw);
            prop_assert_eq!(got.is_some(), want.is_some());
            prop_assert_eq!(got, want);
        }

        /// The slice varint reads what prost reads, and refuses only what prost refuses
        /// (it may leave more to prost, never take a different value).
        #[test]
        fn the_slice_varint_agrees_with_prost(bytes in prop::collection::vec(any::<u8>(), 0..12)) {
            let (mut ours, mut theirs) = (&bytes[..], &bytes[..]);
            let prost = prost::encoding::decode_varint(&mut theirs);
            match super::varint(&mut ours) {
                Some(v) => {
                    prop_assert_eq!(prost.ok(), Some(v));
                    prop_assert_eq!(ours, theirs);
                }
                None => prop_assert!(prost.is_err()),
            }
        }

        /// Every varint length (1 to 10 bytes), followed by any bytes, reads back the value
        /// prost wrote and stops where it ends.
        #[test]
        fn varints_of_every_length_read_back(value in any::<u64>(), shift in 0u32..64, tail in prop::collection::vec(any::<u8>(), 0..10)) {
            let value = value >> shift;
            let mut bytes = Vec::new();
            prost::encoding::encode_varint(value, &mut bytes);
            let len = bytes.len();
            bytes.extend_from_slice(&tail);
            let mut ours = &bytes[..];
            prop_assert_eq!(super::varint(&mut ours), Some(value));
            prop_assert_eq!(ours.len(), bytes.len() - len);
        }

        /// Runs of equal seconds (read from memory) mixed with seconds whose varints share
        /// leading bytes or differ only in length decode as prost decodes them.
        #[test]
        fn repeated_seconds_decode_as_prost_does(
            picks in prop::collection::vec((0usize..8, 0i64..1_000_000_000), 1..40),
            values in any::<bool>(),
        ) {
            const SECONDS: [i64; 8] = [0, 1, 127, 128, 16_384, 1_700_000_000, 1_700_000_128, -1];
            let timestamps: Vec<columnar::Timestamp> = picks
                .iter()
                .map(|&(i, nanos)| columnar::Timestamp { seconds: Some(SECONDS[i]), nanos: Some(nanos) })
                .collect();
            let n = timestamps.len();
            let request = WriteBatchesRequest {
                batches: vec![columnar::RecordsBatch {
                    channel: "c".to_string(),
                    tags: HashMap::new(),
                    points: Some(columnar::Points {
                        timestamps,
                        values: values.then(|| columnar::Values::DoublePoints(columnar::DoublePoints { points: vec![1.5; n] })),
                    }),
                }],
                data_source_rid: "ri.a.b.dataset.x".to_string(),
            };
            let raw = request.encode_to_vec();
            prop_assert_eq!(decode(&raw), reference(&raw));
        }

        /// Varints read one after another through the memory of the last one read back as
        /// prost reads them, whether or not they repeat.
        #[test]
        fn remembered_varints_read_back(picks in prop::collection::vec(0usize..6, 1..20), tail in prop::collection::vec(any::<u8>(), 0..10)) {
            const VALUES: [u64; 6] = [0, 5, 300, 1 << 35, 1 << 56, u64::MAX];
            let mut bytes = Vec::new();
            for &i in &picks {
                prost::encoding::encode_varint(VALUES[i], &mut bytes);
            }
            bytes.extend_from_slice(&tail);
            let mut last = super::LastSeconds::default();
            let mut ours = &bytes[..];
            for &i in &picks {
                prop_assert_eq!(last.read(&mut ours), Some(VALUES[i]));
            }
            prop_assert_eq!(ours, &tail[..]);
        }

        /// Damaged bytes never panic, and whatever the fast path accepts, prost and
        /// `convert` accept the same way.
        #[test]
        fn damaged_bodies_are_left_to_prost(request in arb_request(), cut in any::<prop::sample::Index>(), flip in any::<u8>()) {
            let mut raw = request.encode_to_vec();
            if !raw.is_empty() {
                let i = cut.index(raw.len());
                raw[i] ^= flip;
                if flip % 3 == 0 {
                    raw.truncate(i);
                }
            }
            if let Some(got) = decode(&raw) {
                prop_assert_eq!(Some(got), reference(&raw));
            }
        }
    }

    #[test]
    fn a_points_field_given_twice_is_left_to_prost() {
        let one = |t: i64, v: f64| columnar::Points {
            timestamps: vec![columnar::Timestamp {
                seconds: Some(t),
                nanos: Some(0),
            }],
            values: Some(columnar::Values::DoublePoints(columnar::DoublePoints {
                points: vec![v],
            })),
        };
        // Protobuf merges a repeated message field: encode two `points` by hand.
        let mut batch = columnar::RecordsBatch {
            channel: "c".to_string(),
            tags: HashMap::new(),
            points: Some(one(1_700_000_000, 1.0)),
        }
        .encode_to_vec();
        prost::encoding::message::encode(3, &one(1_700_000_001, 2.0), &mut batch);
        let mut raw = Vec::new();
        prost::encoding::bytes::encode(1, &batch, &mut raw);
        prost::encoding::string::encode(2, &"ri.a.b.dataset.x".to_string(), &mut raw);
        assert_eq!(decode(&raw), None);
        let merged = reference(&raw).unwrap();
        assert_eq!(merged[0].timestamps.len(), 2, "prost merged the two");
    }
}
