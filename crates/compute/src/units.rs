//! Runtime units: parses unit symbols (`bar`, `m/s`, `°C`, `kN·m`, `rad/s^2`) into a dimension
//! vector, a scale to SI and an offset, so arithmetic can combine units and
//! `unitConversion` can convert within a dimension.
//!
//! A value `v` in unit `u` is `v · u.scale + u.offset` in SI base units. Offsets only
//! exist for the absolute temperatures °C and °F; a unit with an offset cannot be
//! multiplied or divided (that would be ambiguous), only added to the same dimension.

/// Exponents of the SI base dimensions: m, kg, s, A, K, mol, cd, rad.
type Dims = [i8; 8];

/// A parsed unit.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Unit {
    /// The symbol as written (what flows into `unitResult`).
    pub(crate) symbol: String,
    dims: Dims,
    scale: f64,
    offset: f64,
}

const M: Dims = [1, 0, 0, 0, 0, 0, 0, 0];
const KG: Dims = [0, 1, 0, 0, 0, 0, 0, 0];
const S: Dims = [0, 0, 1, 0, 0, 0, 0, 0];
const A: Dims = [0, 0, 0, 1, 0, 0, 0, 0];
const K: Dims = [0, 0, 0, 0, 1, 0, 0, 0];
const MOL: Dims = [0, 0, 0, 0, 0, 1, 0, 0];
const CD: Dims = [0, 0, 0, 0, 0, 0, 1, 0];
const RAD: Dims = [0, 0, 0, 0, 0, 0, 0, 1];
const NONE: Dims = [0; 8];

fn d(parts: &[(Dims, i8)]) -> Dims {
    let mut out = NONE;
    for (dims, p) in parts {
        for i in 0..8 {
            out[i] += dims[i] * p;
        }
    }
    out
}

/// `(symbol, dims, scale, offset, takes SI prefixes)`.
fn atom(symbol: &str) -> Option<(Dims, f64, f64, bool)> {
    let n = d(&[(KG, 1), (M, 1), (S, -2)]);
    let pa = d(&[(n, 1), (M, -2)]);
    let j = d(&[(n, 1), (M, 1)]);
    let w = d(&[(j, 1), (S, -1)]);
    let v = d(&[(w, 1), (A, -1)]);
    Some(match symbol {
        "m" => (M, 1.0, 0.0, true),
        "g" => (KG, 1e-3, 0.0, true),
        "s" | "sec" => (S, 1.0, 0.0, true),
        "A" => (A, 1.0, 0.0, true),
        "K" => (K, 1.0, 0.0, true),
        "mol" => (MOL, 1.0, 0.0, true),
        "cd" => (CD, 1.0, 0.0, true),
        "rad" => (RAD, 1.0, 0.0, true),
        "deg" | "°" => (RAD, std::f64::consts::PI / 180.0, 0.0, false),
        "rev" | "rotation" => (RAD, std::f64::consts::TAU, 0.0, false),
        "Hz" => (d(&[(S, -1)]), 1.0, 0.0, true),
        "rpm" => (
            d(&[(RAD, 1), (S, -1)]),
            std::f64::consts::TAU / 60.0,
            0.0,
            false,
        ),
        "N" => (n, 1.0, 0.0, true),
        "lbf" => (n, 4.448_221_615_260_5, 0.0, false),
        "Pa" => (pa, 1.0, 0.0, true),
        "bar" => (pa, 1e5, 0.0, true),
        "psi" => (pa, 6_894.757_293_168_361, 0.0, false),
        "atm" => (pa, 101_325.0, 0.0, false),
        "J" => (j, 1.0, 0.0, true),
        "W" => (w, 1.0, 0.0, true),
        "V" => (v, 1.0, 0.0, true),
        "C" => (d(&[(A, 1), (S, 1)]), 1.0, 0.0, true),
        "ohm" | "Ω" => (d(&[(v, 1), (A, -1)]), 1.0, 0.0, true),
        "degC" | "°C" | "celsius" => (K, 1.0, 273.15, false),
        "degF" | "°F" | "fahrenheit" => (K, 5.0 / 9.0, 273.15 - 32.0 * 5.0 / 9.0, false),
        "min" => (S, 60.0, 0.0, false),
        "h" | "hr" => (S, 3_600.0, 0.0, false),
        "day" | "d" => (S, 86_400.0, 0.0, false),
        "in" => (M, 0.0254, 0.0, false),
        "ft" => (M, 0.3048, 0.0, false),
        "mi" => (M, 1_609.344, 0.0, false),
        "lb" => (KG, 0.453_592_37, 0.0, false),
        "L" | "l" => (d(&[(M, 3)]), 1e-3, 0.0, true),
        "%" | "percent" => (NONE, 0.01, 0.0, false),
        "1" => (NONE, 1.0, 0.0, false),
        _ => return None,
    })
}

const PREFIXES: [(&str, f64); 14] = [
    ("da", 1e1),
    ("Y", 1e24),
    ("Z", 1e21),
    ("E", 1e18),
    ("P", 1e15),
    ("T", 1e12),
    ("G", 1e9),
    ("M", 1e6),
    ("k", 1e3),
    ("h", 1e2),
    ("d", 1e-1),
    ("c", 1e-2),
    ("m", 1e-3),
    ("u", 1e-6),
];

fn prefixed(symbol: &str) -> Option<(Dims, f64, f64)> {
    if let Some((dims, scale, offset, _)) = atom(symbol) {
        return Some((dims, scale, offset));
    }
    let extra: [(&str, f64); 4] = [("µ", 1e-6), ("μ", 1e-6), ("n", 1e-9), ("p", 1e-12)];
    for (p, f) in PREFIXES.iter().chain(extra.iter()) {
        if let Some(rest) = symbol.strip_prefix(p) {
            if let Some((dims, scale, 0.0, true)) = atom(rest) {
                return Some((dims, scale * f, 0.0));
            }
        }
    }
    None
}

/// `sym` or `sym^n` / `sym2`.
fn factor(text: &str) -> Option<(Dims, f64, f64)> {
    let (base, power) = match text.split_once('^') {
        Some((b, p)) => (b, p.parse::<i8>().ok()?),
        None => match text.strip_suffix('²') {
            Some(b) => (b, 2),
            None => match text.strip_suffix('³') {
                Some(b) => (b, 3),
                None => (text, 1),
            },
        },
    };
    let (dims, scale, offset) = prefixed(base)?;
    if power == 1 {
        return Some((dims, scale, offset));
    }
    if offset != 0.0 {
        return None;
    }
    Some((d(&[(dims, power)]), scale.powi(i32::from(power)), 0.0))
}

impl Unit {
    /// Parses a symbol; `None` for symbols outside the table (they still flow through the
    /// graph as opaque symbols, see `crate::lower`).
    pub(crate) fn parse(symbol: &str) -> Option<Unit> {
        let text = symbol.trim();
        if text.is_empty() {
            return None;
        }
        let mut dims = NONE;
        let mut scale = 1.0;
        let mut offset = 0.0;
        let mut count = 0;
        let mut divide = false;
        let mut token = String::new();
        let mut flush = |token: &mut String, divide: bool| -> Option<()> {
            if token.is_empty() {
                return Some(());
            }
            let (fd, fs, fo) = factor(token)?;
            let p = if divide { -1 } else { 1 };
            dims = d(&[(dims, 1), (fd, p)]);
            scale *= if divide { 1.0 / fs } else { fs };
            if fo != 0.0 {
                offset = fo;
            }
            count += 1;
            token.clear();
            Some(())
        };
        for c in text.chars() {
            match c {
                '/' => {
                    flush(&mut token, divide)?;
                    divide = true;
                }
                '*' | '·' | ' ' | '.' => flush(&mut token, divide)?,
                c => token.push(c),
            }
        }
        flush(&mut token, divide)?;
        if count > 1 && offset != 0.0 {
            return None;
        }
        Some(Unit {
            symbol: text.to_string(),
            dims,
            scale,
            offset,
        })
    }

    /// Whether values of `self` can be converted to `other`.
    pub(crate) fn same_dimension(&self, other: &Unit) -> bool {
        self.dims == other.dims
    }

    /// `(mul, add)` such that `v_in_other = v · mul + add` for `v` in `self`.
    pub(crate) fn conversion_to(&self, other: &Unit) -> Option<(f64, f64)> {
        if !self.same_dimension(other) {
            return None;
        }
        let mul = self.scale / other.scale;
        let add = (self.offset - other.offset) / other.scale;
        Some((mul, add))
    }

    /// The unit of a product or quotient; `None` for offset units (°C · s is ambiguous).
    pub(crate) fn combine(&self, other: &Unit, divide: bool) -> Option<Unit> {
        if self.offset != 0.0 || other.offset != 0.0 {
            return None;
        }
        let p = if divide { -1 } else { 1 };
        let symbol = if divide {
            format!("{}/{}", self.symbol, paren(&other.symbol))
        } else {
            format!("{}*{}", self.symbol, other.symbol)
        };
        Some(Unit {
            symbol,
            dims: d(&[(self.dims, 1), (other.dims, p)]),
            scale: if divide {
                self.scale / other.scale
            } else {
                self.scale * other.scale
            },
            offset: 0.0,
        })
    }

    /// `self / time`, for derivatives (`m` per `s` → `m/s`).
    pub(crate) fn per_time(&self, time_symbol: &str) -> Option<Unit> {
        Unit::parse(time_symbol).and_then(|t| self.combine(&t, true))
    }

    /// `self · time`, for integrals.
    pub(crate) fn times_time(&self, time_symbol: &str) -> Option<Unit> {
        Unit::parse(time_symbol).and_then(|t| self.combine(&t, false))
    }
}

fn paren(s: &str) -> String {
    if s.contains('/') || s.contains('*') {
        format!("({s})")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::Unit;

    fn conv(a: &str, b: &str, v: f64) -> f64 {
        let (m, o) = Unit::parse(a)
            .unwrap()
            .conversion_to(&Unit::parse(b).unwrap())
            .unwrap();
        v * m + o
    }

    #[test]
    fn converts_within_dimensions() {
        assert!((conv("bar", "psi", 1.0) - 14.503_773_773).abs() < 1e-6);
        assert!((conv("°C", "°F", 100.0) - 212.0).abs() < 1e-9);
        assert!((conv("degF", "K", 32.0) - 273.15).abs() < 1e-9);
        assert!((conv("km/h", "m/s", 36.0) - 10.0).abs() < 1e-9);
        assert!((conv("kN", "lbf", 1.0) - 224.808_943).abs() < 1e-5);
        assert!((conv("deg", "rad", 180.0) - std::f64::consts::PI).abs() < 1e-12);
        assert!((conv("ms", "s", 1500.0) - 1.5).abs() < 1e-12);
        assert!((conv("atm", "kPa", 1.0) - 101.325).abs() < 1e-9);
    }

    #[test]
    fn refuses_across_dimensions_and_unknown_symbols() {
        let bar = Unit::parse("bar").unwrap();
        assert!(bar.conversion_to(&Unit::parse("m").unwrap()).is_none());
        assert!(Unit::parse("furlongs").is_none());
        assert!(Unit::parse("°C/s").is_none());
    }
}
