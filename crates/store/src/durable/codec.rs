//! The payload of a WAL record: one validated batch, raw (no compression: the log is on the
//! ingest path and is deleted after the next flush, so speed beats size here).
//!
//! ```text
//! u8 kind=1 | u32 n_series | n_series × {
//!     u64 id | str dataset | str channel | u32 n_tags, (str k, str v)* | u8 type
//!     | u8 has_unit, [str unit] | u32 n | n × i64 ts | n × value }
//! value: double/int/uint64 as 8 LE bytes; string as str; log as str msg, u32 n, (str, str)*
//! str: u32 len + UTF-8 bytes
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use super::bytes::{Malformed, Put, Reader};
use crate::api::{LogEntry, SeriesId, ValueType, Values};
use crate::index::{Plan, PlannedSeries, SeriesMeta};
use crate::points::Points;

const KIND_BATCH: u8 = 1;

/// On-disk code of a value type.
pub(crate) fn type_code(t: ValueType) -> u8 {
    match t {
        ValueType::Double => 0,
        ValueType::Int => 1,
        ValueType::Uint64 => 2,
        ValueType::String => 3,
        ValueType::Log => 4,
    }
}

/// Value type of an on-disk code.
pub(crate) fn code_type(c: u8) -> Option<ValueType> {
    Some(match c {
        0 => ValueType::Double,
        1 => ValueType::Int,
        2 => ValueType::Uint64,
        3 => ValueType::String,
        4 => ValueType::Log,
        _ => return None,
    })
}

/// Writes a series identity (shared with the catalog).
pub(crate) fn put_meta(buf: &mut Vec<u8>, m: &SeriesMeta) {
    buf.put_str(&m.dataset);
    buf.put_str(&m.channel);
    buf.put_u32(m.tags.len() as u32);
    for (k, v) in &m.tags {
        buf.put_str(k);
        buf.put_str(v);
    }
    buf.put_u8(type_code(m.value_type));
}

/// Reads a series identity.
pub(crate) fn get_meta(r: &mut Reader<'_>) -> Result<SeriesMeta, Malformed> {
    let dataset = r.arc_str("dataset")?;
    let channel = r.arc_str("channel")?;
    let n = r.count(8, "tag count")?;
    let mut tags = BTreeMap::new();
    for _ in 0..n {
        let k = r.str("tag key")?.to_string();
        let v = r.str("tag value")?.to_string();
        tags.insert(k, v);
    }
    let value_type = code_type(r.u8("value type")?).ok_or(r.err("value type"))?;
    Ok(SeriesMeta {
        dataset,
        channel,
        tags,
        value_type,
    })
}

/// Bytes the record for `plan` will take, to size the buffer once.
fn estimate(plan: &Plan) -> usize {
    plan.series
        .iter()
        .map(|s| 64 + s.points.approx_bytes() as usize)
        .sum::<usize>()
        + 8
}

/// Encodes a plan as a record payload into `b`, replacing what it held (the caller keeps
/// one buffer for every record, so a steady write load does not allocate and fault in a
/// record-sized buffer per write). `reserve` zero bytes come first, for the caller's frame
/// header.
pub(crate) fn encode_into(b: &mut Vec<u8>, plan: &Plan, reserve: usize) {
    b.clear();
    b.reserve(estimate(plan) + reserve);
    b.resize(reserve, 0);
    b.put_u8(KIND_BATCH);
    b.put_u32(plan.series.len() as u32);
    for s in &plan.series {
        b.put_u64(s.id.0);
        put_meta(b, &s.meta);
        match &s.unit {
            Some(u) => {
                b.put_u8(1);
                b.put_str(u);
            }
            None => b.put_u8(0),
        }
        b.put_u32(s.points.len() as u32);
        put_words(b, &s.points.ts, |t| t.to_le_bytes());
        match &s.points.values {
            Values::Double(v) => put_words(b, v, |x| x.to_bits().to_le_bytes()),
            Values::Int(v) => put_words(b, v, |x| x.to_le_bytes()),
            Values::Uint64(v) => put_words(b, v, |x| x.to_le_bytes()),
            Values::String(v) => v.iter().for_each(|x| b.put_str(x)),
            Values::Log(v) => v.iter().for_each(|e| put_log(b, e)),
        }
    }
}

/// Appends a column of 8-byte words: the buffer grows once and the copy loop has no
/// capacity checks, so it runs at memory speed.
fn put_words<T: Copy>(b: &mut Vec<u8>, column: &[T], bytes: impl Fn(T) -> [u8; 8]) {
    let at = b.len();
    b.resize(at + 8 * column.len(), 0);
    for (dst, &x) in b[at..].chunks_exact_mut(8).zip(column) {
        dst.copy_from_slice(&bytes(x));
    }
}

/// Decodes a record payload back into a plan.
pub(crate) fn decode(payload: &[u8]) -> Result<Plan, Malformed> {
    let mut r = Reader::new(payload);
    if r.u8("record kind")? != KIND_BATCH {
        return Err(Malformed {
            at: 0,
            what: "record kind",
        });
    }
    let n = r.count(16, "series count")?;
    let mut plan = Plan::default();
    for _ in 0..n {
        let id = SeriesId(r.u64("series id")?);
        let meta = Arc::new(get_meta(&mut r)?);
        let unit = match r.u8("unit flag")? {
            0 => None,
            1 => Some(r.arc_str("unit")?),
            _ => return Err(r.err("unit flag")),
        };
        let count = r.count(12, "point count")?;
        let mut ts = Vec::with_capacity(count);
        for _ in 0..count {
            ts.push(r.i64("timestamp")?);
        }
        let values = match meta.value_type {
            ValueType::Double => Values::Double(
                (0..count)
                    .map(|_| r.u64("double").map(f64::from_bits))
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::Int => {
                Values::Int((0..count).map(|_| r.i64("int")).collect::<Result<_, _>>()?)
            }
            ValueType::Uint64 => Values::Uint64(
                (0..count)
                    .map(|_| r.u64("uint64"))
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::String => Values::String(
                (0..count)
                    .map(|_| r.arc_str("string"))
                    .collect::<Result<_, _>>()?,
            ),
            ValueType::Log => Values::Log(
                (0..count)
                    .map(|_| get_log(&mut r))
                    .collect::<Result<_, _>>()?,
            ),
        };
        if !ts.windows(2).all(|w| w[0] < w[1]) {
            return Err(r.err("sorted timestamps"));
        }
        plan.points += count as u64;
        plan.series.push(PlannedSeries {
            id,
            meta,
            unit,
            points: Points { ts, values },
        });
    }
    if r.remaining() != 0 {
        return Err(r.err("end of record"));
    }
    Ok(plan)
}

/// Reads one log entry.
pub(crate) fn get_log(r: &mut Reader<'_>) -> Result<LogEntry, Malformed> {
    let message = r.arc_str("log message")?;
    let n = r.count(8, "log arg count")?;
    let mut args = BTreeMap::new();
    for _ in 0..n {
        let k = r.str("log arg key")?.to_string();
        let v = r.str("log arg value")?.to_string();
        args.insert(k, v);
    }
    Ok(LogEntry {
        message,
        args: Arc::new(args),
    })
}

/// Writes one log entry.
pub(crate) fn put_log(b: &mut Vec<u8>, e: &LogEntry) {
    b.put_str(&e.message);
    b.put_u32(e.args.len() as u32);
    for (k, v) in e.args.iter() {
        b.put_str(k);
        b.put_str(v);
    }
}
