//! Column encodings of segment blocks, applied before zstd. Each is chosen for telemetry:
//! regular sampling, slowly changing values, few distinct strings. See `docs/storage.md`
//! for the measurements behind the choices.
//!
//! ```text
//! timestamps: i64 first | i64 first delta | packed zigzag(delta of delta)
//! doubles:    u8 codec=0 decimal | u8 exponent e | i64 first | packed zigzag(Δ of v·10^e)
//!                                | u32 n_exceptions | (u32 index, u64 bits)*
//!             u8 codec=1 xor     | 8 byte planes of (bits ^ previous bits)
//!             u8 codec=2 decimal, second differences | u8 exponent e | i64 first
//!                                | i64 first delta | packed zigzag(ΔΔ of v·10^e)
//!                                | u32 n_exceptions | (u32 index, u64 bits)*
//! int/uint64: packed zigzag(delta)
//! strings:    u32 n_dict | str* | packed dictionary index
//! logs:       (str message | u32 n_args | (str, str)*)*
//! packed:     u8 width w (0..=8) | n × low w bytes, little-endian
//! ```
//!
//! Every decoder checks bounds and returns [`Malformed`] on damage, never panics.

use std::collections::HashMap;
use std::sync::Arc;

use super::bytes::{Malformed, Put, Reader};
use super::codec::{get_log, put_log};
use crate::api::{LogEntry, Values};

const DEC: u8 = 0;
const XOR: u8 = 1;
/// Decimal with second differences, for smooth signals kept at many digits: their steps are
/// thousands of units of the last digit but change slowly, so the steps of the steps pack
/// narrower (one byte instead of two for a sine at 6 decimals and 1 kHz).
const DEC2: u8 = 2;
/// Largest decimal exponent tried: beyond it a value has more digits than a double holds.
const MAX_EXP: usize = 15;
/// Exceptions allowed before the decimal codec is abandoned for XOR, as a share of points.
const MAX_EXCEPTION_SHARE: usize = 16;

const POW10: [f64; MAX_EXP + 1] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
];

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// The narrowest byte width that holds every one of `vals`.
fn packed_width(vals: impl Iterator<Item = u64>) -> u8 {
    let max = vals.fold(0u64, |a, b| a | b);
    (8 - max.leading_zeros() as usize / 8) as u8
}

/// Writes `vals` at the narrowest byte width that holds the largest.
fn pack(out: &mut Vec<u8>, vals: impl Iterator<Item = u64> + Clone) {
    pack_at(out, packed_width(vals.clone()), vals);
}

/// Writes `vals` at `width` bytes each, which must hold every one of them.
fn pack_at(out: &mut Vec<u8>, width: u8, vals: impl Iterator<Item = u64>) {
    out.put_u8(width);
    out.reserve(vals.size_hint().0 * width as usize);
    // One monomorphized loop per width, as in `unpack`: a copy of a constant length is a
    // store, where a copy of `width` bytes is a call to memmove per value.
    fn run<const W: usize>(out: &mut Vec<u8>, vals: impl Iterator<Item = u64>) {
        for v in vals {
            out.extend_from_slice(&v.to_le_bytes()[..W]);
        }
    }
    match width {
        0 => {}
        1 => run::<1>(out, vals),
        2 => run::<2>(out, vals),
        3 => run::<3>(out, vals),
        4 => run::<4>(out, vals),
        5 => run::<5>(out, vals),
        6 => run::<6>(out, vals),
        7 => run::<7>(out, vals),
        _ => run::<8>(out, vals),
    }
}

/// Zigzag differences of consecutive integers.
fn first_differences(v: &[i64]) -> impl Iterator<Item = u64> + Clone + '_ {
    v.windows(2).map(|w| zigzag(w[1].wrapping_sub(w[0])))
}

/// Zigzag differences of consecutive differences.
fn second_differences(v: &[i64]) -> impl Iterator<Item = u64> + Clone + '_ {
    v.windows(3).map(|w| {
        let d1 = w[1].wrapping_sub(w[0]);
        let d2 = w[2].wrapping_sub(w[1]);
        zigzag(d2.wrapping_sub(d1))
    })
}

/// Writes integers as first | packed first differences, at `width` (from
/// [`first_differences`]).
fn put_first_differences(out: &mut Vec<u8>, v: &[i64], width: u8) {
    out.put_i64(v.first().copied().unwrap_or(0));
    pack_at(out, width, first_differences(v));
}

/// Reads `n` integers written by [`put_first_differences`], calling `f` on each.
fn get_first_differences(
    r: &mut Reader<'_>,
    n: usize,
    mut f: impl FnMut(i64),
) -> Result<(), Malformed> {
    let mut x = r.i64("first value")?;
    if n > 0 {
        f(x);
    }
    unpack(r, n.saturating_sub(1), |z| {
        x = x.wrapping_add(unzigzag(z));
        f(x);
    })
}

/// Writes integers as first | first delta | packed second differences, the second
/// differences at `width` (from [`second_differences`]).
fn put_second_differences(out: &mut Vec<u8>, v: &[i64], width: u8) {
    let first = v.first().copied().unwrap_or(0);
    let delta = if v.len() > 1 {
        v[1].wrapping_sub(v[0])
    } else {
        0
    };
    out.put_i64(first);
    out.put_i64(delta);
    pack_at(out, width, second_differences(v));
}

/// Reads `n` integers written by [`put_second_differences`], calling `f` on each.
fn get_second_differences(
    r: &mut Reader<'_>,
    n: usize,
    mut f: impl FnMut(i64),
) -> Result<(), Malformed> {
    let first = r.i64("first value")?;
    let delta = r.i64("first delta")?;
    if n < 2 {
        // The packed section is written (empty) whatever n is.
        if n == 1 {
            f(first);
        }
        return unpack(r, 0, |_| {});
    }
    f(first);
    let mut x = first.wrapping_add(delta);
    f(x);
    let mut d = delta;
    unpack(r, n - 2, |z| {
        d = d.wrapping_add(unzigzag(z));
        x = x.wrapping_add(d);
        f(x);
    })
}

/// Reads `n` packed values, calling `f` on each.
fn unpack(r: &mut Reader<'_>, n: usize, mut f: impl FnMut(u64)) -> Result<(), Malformed> {
    let width = r.u8("packed width")? as usize;
    if width > 8 {
        return Err(r.err("packed width"));
    }
    let bytes = r.take(
        n.checked_mul(width).ok_or(r.err("packed length"))?,
        "packed values",
    )?;
    // One monomorphized loop per width so the compiler can unroll the byte copies.
    fn run<const W: usize>(bytes: &[u8], n: usize, f: &mut impl FnMut(u64)) {
        if W == 0 {
            (0..n).for_each(|_| f(0));
            return;
        }
        for c in bytes.chunks_exact(W) {
            let mut a = [0u8; 8];
            a[..W].copy_from_slice(c);
            f(u64::from_le_bytes(a));
        }
    }
    match width {
        0 => run::<0>(bytes, n, &mut f),
        1 => run::<1>(bytes, n, &mut f),
        2 => run::<2>(bytes, n, &mut f),
        3 => run::<3>(bytes, n, &mut f),
        4 => run::<4>(bytes, n, &mut f),
        5 => run::<5>(bytes, n, &mut f),
        6 => run::<6>(bytes, n, &mut f),
        7 => run::<7>(bytes, n, &mut f),
        _ => run::<8>(bytes, n, &mut f),
    }
    Ok(())
}

/// Encodes sorted timestamps (at least one).
pub(crate) fn put_timestamps(out: &mut Vec<u8>, ts: &[i64]) {
    put_second_differences(out, ts, packed_width(second_differences(ts)));
}

/// Decodes `n` timestamps, appending them to `out`.
pub(crate) fn get_timestamps(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<i64>,
) -> Result<(), Malformed> {
    out.reserve(n);
    get_second_differences(r, n, |t| out.push(t))
}

/// From here on every double is an integer.
const TWO_POW_52: f64 = 4_503_599_627_370_496.0;

/// The integer `v` is `n / 10^e` of, if that reconstruction is bit-exact.
fn decimal(v: f64, e: usize) -> Option<i64> {
    let s = v * POW10[e];
    // Past 2^53 integers stop being exact in f64, so round-trips would be luck.
    if !s.is_finite() || s.abs() >= 9.0e15 {
        return None;
    }
    // `f64::round` is a libm call on baseline x86-64 (no SSE4.1) and showed in the flush's
    // profile. Adding a signed half and truncating rounds the same below 2^52 but for the
    // double just under a half, which the round-trip check refuses; from 2^52 on every
    // double is an integer already.
    let n = if s.abs() < TWO_POW_52 {
        (s + 0.5f64.copysign(s)) as i64
    } else {
        s as i64
    };
    ((n as f64 / POW10[e]).to_bits() == v.to_bits()).then_some(n)
}

/// Smallest exponent at which a sample of the block round-trips.
fn pick_exponent(v: &[f64]) -> Option<usize> {
    let step = (v.len() / 32).max(1);
    let sample: Vec<f64> = v
        .iter()
        .step_by(step)
        .copied()
        .filter(|x| x.is_finite() && *x != 0.0)
        .collect();
    (0..=MAX_EXP).find(|&e| sample.iter().all(|&x| decimal(x, e).is_some()))
}

/// How much an encoded column still repeats itself, which sets how hard zstd looks for
/// repeats in it (`segment.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Redundancy {
    /// Packed deltas, dictionary indexes, text: zstd's thorough match search pays.
    Some,
    /// XOR planes of doubles with long mantissas: the low planes are noise, and a thorough
    /// search over them cost about 4× a fast one for an output under 1 % smaller (see
    /// `docs/storage.md`).
    Little,
}

/// Encodes doubles: decimal when the values are short decimals (most sensor data), else XOR.
pub(crate) fn put_doubles(out: &mut Vec<u8>, v: &[f64]) -> Redundancy {
    if let Some(e) = pick_exponent(v) {
        let mut ints = Vec::with_capacity(v.len());
        let mut exceptions = Vec::new();
        let mut prev = 0i64;
        for (i, &x) in v.iter().enumerate() {
            match decimal(x, e) {
                Some(n) => {
                    ints.push(n);
                    prev = n;
                }
                None => {
                    // Keep the integer run smooth across the exception.
                    ints.push(prev);
                    exceptions.push((i as u32, x.to_bits()));
                }
            }
        }
        if exceptions.len() * MAX_EXCEPTION_SHARE <= v.len() {
            let steps = packed_width(first_differences(&ints));
            let bends = packed_width(second_differences(&ints));
            if bends < steps {
                out.put_u8(DEC2);
                out.put_u8(e as u8);
                put_second_differences(out, &ints, bends);
            } else {
                out.put_u8(DEC);
                out.put_u8(e as u8);
                put_first_differences(out, &ints, steps);
            }
            out.put_u32(exceptions.len() as u32);
            for (i, bits) in exceptions {
                out.put_u32(i);
                out.put_u64(bits);
            }
            return Redundancy::Some;
        }
    }
    out.put_u8(XOR);
    let n = v.len();
    let start = out.len();
    out.resize(start + 8 * n, 0);
    let planes = &mut out[start..];
    let mut prev = 0u64;
    for (i, x) in v.iter().enumerate() {
        let bits = x.to_bits();
        let b = (bits ^ prev).to_le_bytes();
        prev = bits;
        for (p, byte) in b.iter().enumerate() {
            planes[p * n + i] = *byte;
        }
    }
    Redundancy::Little
}

/// Decodes `n` doubles, appending them to `out`.
pub(crate) fn get_doubles(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<f64>,
) -> Result<(), Malformed> {
    out.reserve(n);
    match r.u8("double codec")? {
        DEC => {
            let e = r.u8("decimal exponent")? as usize;
            let p = *POW10.get(e).ok_or(r.err("decimal exponent"))?;
            let base = out.len();
            get_first_differences(r, n, |x| out.push(x as f64 / p))?;
            get_exceptions(r, &mut out[base..])
        }
        DEC2 => {
            let e = r.u8("decimal exponent")? as usize;
            let p = *POW10.get(e).ok_or(r.err("decimal exponent"))?;
            let base = out.len();
            get_second_differences(r, n, |x| out.push(x as f64 / p))?;
            get_exceptions(r, &mut out[base..])
        }
        XOR => {
            let planes = r.take(n.checked_mul(8).ok_or(r.err("xor length"))?, "xor planes")?;
            let mut prev = 0u64;
            for i in 0..n {
                let mut b = [0u8; 8];
                for (p, byte) in b.iter_mut().enumerate() {
                    *byte = planes[p * n + i];
                }
                prev ^= u64::from_le_bytes(b);
                out.push(f64::from_bits(prev));
            }
            Ok(())
        }
        _ => Err(r.err("double codec")),
    }
}

/// Reads a decimal block's exceptions into its decoded values, `block`.
fn get_exceptions(r: &mut Reader<'_>, block: &mut [f64]) -> Result<(), Malformed> {
    let k = r.count(12, "exception count")?;
    for _ in 0..k {
        let i = r.u32("exception index")? as usize;
        let bits = r.u64("exception bits")?;
        let slot = block.get_mut(i).ok_or(r.err("exception index"))?;
        *slot = f64::from_bits(bits);
    }
    Ok(())
}

/// Encodes signed integers as packed zigzag deltas.
pub(crate) fn put_ints(out: &mut Vec<u8>, v: &[i64]) {
    put_first_differences(out, v, packed_width(first_differences(v)));
}

/// Decodes `n` signed integers.
pub(crate) fn get_ints(r: &mut Reader<'_>, n: usize, out: &mut Vec<i64>) -> Result<(), Malformed> {
    out.reserve(n);
    get_first_differences(r, n, |x| out.push(x))
}

/// Encodes strings as a block dictionary plus packed indexes.
pub(crate) fn put_strings(out: &mut Vec<u8>, v: &[Arc<str>]) {
    let mut ids: HashMap<&str, u64> = HashMap::new();
    let mut dict: Vec<&str> = Vec::new();
    let idx: Vec<u64> = v
        .iter()
        .map(|s| {
            *ids.entry(s).or_insert_with(|| {
                dict.push(s);
                dict.len() as u64 - 1
            })
        })
        .collect();
    out.put_u32(dict.len() as u32);
    for s in &dict {
        out.put_str(s);
    }
    pack(out, idx.into_iter());
}

/// Decodes `n` strings.
pub(crate) fn get_strings(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<Arc<str>>,
) -> Result<(), Malformed> {
    let k = r.count(4, "dictionary size")?;
    let dict: Vec<Arc<str>> = (0..k)
        .map(|_| r.arc_str("dictionary entry"))
        .collect::<Result<_, _>>()?;
    out.reserve(n);
    let mut bad = false;
    unpack(r, n, |i| match dict.get(i as usize) {
        Some(s) => out.push(s.clone()),
        None => bad = true,
    })?;
    if bad {
        return Err(r.err("dictionary index"));
    }
    Ok(())
}

/// Encodes log entries.
pub(crate) fn put_logs(out: &mut Vec<u8>, v: &[LogEntry]) {
    v.iter().for_each(|e| put_log(out, e));
}

/// Decodes `n` log entries.
pub(crate) fn get_logs(
    r: &mut Reader<'_>,
    n: usize,
    out: &mut Vec<LogEntry>,
) -> Result<(), Malformed> {
    out.reserve(n);
    for _ in 0..n {
        out.push(get_log(r)?);
    }
    Ok(())
}

/// Encodes a value column's range.
pub(crate) fn put_values(out: &mut Vec<u8>, v: &Values, r: std::ops::Range<usize>) -> Redundancy {
    match v {
        Values::Double(v) => return put_doubles(out, &v[r]),
        Values::Int(v) => put_ints(out, &v[r]),
        Values::Uint64(v) => {
            let as_int: Vec<i64> = v[r].iter().map(|&x| x as i64).collect();
            put_ints(out, &as_int);
        }
        Values::String(v) => put_strings(out, &v[r]),
        Values::Log(v) => put_logs(out, &v[r]),
    }
    Redundancy::Some
}

/// Decodes `n` values, appending to a column of the right type.
pub(crate) fn get_values(r: &mut Reader<'_>, n: usize, out: &mut Values) -> Result<(), Malformed> {
    match out {
        Values::Double(v) => get_doubles(r, n, v),
        Values::Int(v) => get_ints(r, n, v),
        Values::Uint64(v) => {
            let mut tmp = Vec::with_capacity(n);
            get_ints(r, n, &mut tmp)?;
            v.extend(tmp.into_iter().map(|x| x as u64));
            Ok(())
        }
        Values::String(v) => get_strings(r, n, v),
        Values::Log(v) => get_logs(r, n, v),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn roundtrip_doubles(v: &[f64]) -> Vec<f64> {
        let mut b = Vec::new();
        put_doubles(&mut b, v);
        let mut out = Vec::new();
        let mut r = Reader::new(&b);
        get_doubles(&mut r, v.len(), &mut out).unwrap();
        assert_eq!(r.remaining(), 0);
        out
    }

    #[test]
    fn doubles_round_trip_bit_exact() {
        let cases: Vec<Vec<f64>> = vec![
            vec![],
            vec![1.5],
            vec![
                20.001,
                20.002,
                19.999,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                1e300,
                0.1 + 0.2,
            ],
            (0..1000).map(|i| (i as f64 * 0.01).sin()).collect(),
            (0..1000)
                .map(|i| ((i as f64 * 0.01).sin() * 1000.0).round() / 1000.0)
                .collect(),
            smooth_at_six_decimals(1000),
            smooth_at_six_decimals(1),
            smooth_at_six_decimals(2),
            smooth_at_six_decimals(3),
            // Second differences with a stray value that must stay an exception.
            smooth_at_six_decimals(1000)
                .into_iter()
                .enumerate()
                .map(|(i, x)| if i == 500 { f64::NAN } else { x })
                .collect(),
        ];
        for c in cases {
            let got = roundtrip_doubles(&c);
            let a: Vec<u64> = c.iter().map(|x| x.to_bits()).collect();
            let b: Vec<u64> = got.iter().map(|x| x.to_bits()).collect();
            assert_eq!(a, b);
        }
    }

    /// A 1 Hz sine sampled at 1 kHz, kept at 6 decimals: steps of about a thousand units of
    /// the last digit that change by one or two.
    fn smooth_at_six_decimals(n: usize) -> Vec<f64> {
        (0..n)
            .map(|i| ((100.0 + (i as f64 * 1e-3).sin()) * 1e6).round() / 1e6)
            .collect()
    }

    #[test]
    fn packing_at_every_width_reads_back() {
        for width in 0..=8u32 {
            // The widest value of each width, a small one and zero.
            let top = if width == 0 {
                0
            } else {
                u64::MAX >> (64 - 8 * width)
            };
            let vals = [top, top / 3, 0, top];
            let mut b = Vec::new();
            pack(&mut b, vals.iter().copied());
            assert_eq!(b[0] as u32, width);
            assert_eq!(b.len(), 1 + vals.len() * width as usize);
            let mut got = Vec::new();
            let mut r = Reader::new(&b);
            unpack(&mut r, vals.len(), |v| got.push(v)).unwrap();
            assert_eq!(got, vals, "width {width}");
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn smooth_decimals_are_stored_as_second_differences() {
        let v = smooth_at_six_decimals(8192);
        let mut b = Vec::new();
        put_doubles(&mut b, &v);
        assert_eq!(b[0], DEC2);
        // One byte a point instead of the two the steps need.
        assert!(b.len() < v.len() + 64, "{} bytes", b.len());
        // Noisy decimals keep plain steps: their second differences are no narrower.
        let noisy: Vec<f64> = (0..1000).map(|i| ((i * 7919) % 13) as f64 * 0.5).collect();
        let mut b = Vec::new();
        put_doubles(&mut b, &noisy);
        assert_eq!(b[0], DEC);
    }

    #[test]
    fn only_noisy_mantissas_are_marked_as_little_redundancy() {
        let short: Vec<f64> = (0..1000).map(|i| 20.0 + (i % 7) as f64 * 0.25).collect();
        let long: Vec<f64> = (0..1000).map(|i| 100.0 + (i as f64 * 1e-3).sin()).collect();
        let mut b = Vec::new();
        assert_eq!(put_doubles(&mut b, &short), Redundancy::Some);
        assert_eq!(put_doubles(&mut b, &long), Redundancy::Little);
        let ints = Values::Int((0..1000).collect());
        assert_eq!(put_values(&mut b, &ints, 0..1000), Redundancy::Some);
    }

    proptest::proptest! {
        /// Any block, smooth or not, with any specials, reads back bit-exact whichever
        /// codec it picked.
        #[test]
        fn any_block_of_doubles_round_trips(
            start in -1.0e6f64..1.0e6,
            slope in -1.0e3f64..1.0e3,
            bend in -1.0f64..1.0,
            digits in 0i32..9,
            jitter in proptest::collection::vec(-3i64..4, 0..300),
            specials in proptest::collection::vec((0usize..300, 0u8..4), 0..4),
        ) {
            let scale = 10f64.powi(digits);
            let mut v: Vec<f64> = jitter
                .iter()
                .enumerate()
                .map(|(i, &j)| {
                    let x = start + slope * i as f64 + bend * (i * i) as f64;
                    ((x * scale).round() + j as f64) / scale
                })
                .collect();
            for (at, kind) in specials {
                if let Some(x) = v.get_mut(at) {
                    *x = [f64::NAN, f64::INFINITY, -0.0, 0.1 + 0.2][kind as usize];
                }
            }
            let got = roundtrip_doubles(&v);
            let a: Vec<u64> = v.iter().map(|x| x.to_bits()).collect();
            let b: Vec<u64> = got.iter().map(|x| x.to_bits()).collect();
            proptest::prop_assert_eq!(a, b);
        }

        /// The rounding without libm finds the same integer as `f64::round`, for short
        /// decimals, values near a half, huge values and arbitrary bit patterns alike.
        #[test]
        fn decimal_agrees_with_libm_rounding(
            int in -9_000_000_000_000_000i64..9_000_000_000_000_000,
            digits in 0usize..=MAX_EXP,
            nudge in -2i64..3,
            bits in proptest::num::u64::ANY,
        ) {
            let by_libm = |v: f64, e: usize| {
                let s = v * POW10[e];
                if !s.is_finite() || s.abs() >= 9.0e15 {
                    return None;
                }
                let n = s.round() as i64;
                ((n as f64 / POW10[e]).to_bits() == v.to_bits()).then_some(n)
            };
            let short = int as f64 / POW10[digits];
            let near_half = f64::from_bits((0.5f64.to_bits() as i64 + nudge) as u64);
            for v in [short, near_half, -near_half, f64::from_bits(bits), int as f64] {
                for e in 0..=MAX_EXP {
                    proptest::prop_assert_eq!(decimal(v, e), by_libm(v, e), "{} at e={}", v, e);
                }
            }
        }
    }

    #[test]
    fn timestamps_and_ints_round_trip() {
        for ts in [
            vec![],
            vec![5],
            vec![i64::MIN, 0, i64::MAX],
            vec![1, 2, 3, 5, 8, 13, 1 << 40],
        ] {
            let mut b = Vec::new();
            put_timestamps(&mut b, &ts);
            let mut out = Vec::new();
            get_timestamps(&mut Reader::new(&b), ts.len(), &mut out).unwrap();
            assert_eq!(out, ts);
            let mut b = Vec::new();
            put_ints(&mut b, &ts);
            let mut out = Vec::new();
            get_ints(&mut Reader::new(&b), ts.len(), &mut out).unwrap();
            assert_eq!(out, ts);
        }
    }

    #[test]
    fn damaged_input_is_an_error() {
        let mut b = Vec::new();
        put_doubles(&mut b, &[1.0, 2.0, 3.0]);
        for cut in 0..b.len() {
            let mut out = Vec::new();
            assert!(get_doubles(&mut Reader::new(&b[..cut]), 3, &mut out).is_err());
        }
        let smooth = smooth_at_six_decimals(100);
        let mut b = Vec::new();
        put_doubles(&mut b, &smooth);
        assert_eq!(b[0], DEC2);
        for cut in 0..b.len() {
            let mut out = Vec::new();
            assert!(get_doubles(&mut Reader::new(&b[..cut]), 100, &mut out).is_err());
        }
        // An exception index past the block.
        let mut b = vec![DEC2, 0];
        b.extend_from_slice(&[0; 16]);
        b.extend_from_slice(&[0, 1, 0, 0, 0, 9, 0, 0, 0]);
        b.extend_from_slice(&[0; 8]);
        let mut out = Vec::new();
        assert!(get_doubles(&mut Reader::new(&b), 3, &mut out).is_err());
        let mut out = Vec::new();
        assert!(get_strings(
            &mut Reader::new(&[1, 0, 0, 0, 1, 0, 0, 0, b'a', 1, 7]),
            1,
            &mut out
        )
        .is_err());
    }
}
