//! Scalar semantics every engine family shares: IEEE comparisons (NaN compares false),
//! booleans as `1.0` / `0.0`, and which values count as true.

use crate::ir::Cmp;

/// A boolean as a series value.
pub(crate) fn bool_f(b: bool) -> f64 {
    if b {
        1.0
    } else {
        0.0
    }
}

/// IEEE comparisons: anything with NaN is false, except `!=`.
pub(crate) fn compare(op: Cmp, v: f64, t: f64) -> bool {
    match op {
        Cmp::Gt => v > t,
        Cmp::Ge => v >= t,
        Cmp::Lt => v < t,
        Cmp::Le => v <= t,
        Cmp::Eq => v == t,
        Cmp::Ne => !v.is_nan() && !t.is_nan() && v != t,
    }
}

/// Whether a boolean series value is true: non-zero and not NaN.
pub(crate) fn truthy(v: f64) -> bool {
    v != 0.0 && !v.is_nan()
}
