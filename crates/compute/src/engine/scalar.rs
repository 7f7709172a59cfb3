//! Scalar semantics every engine family shares: IEEE comparisons (NaN compares false),
//! booleans as `1.0` / `0.0`, which values count as true, and minimum and maximum that
//! propagate NaN.

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

/// The smallest of `values` (`+inf` when empty); NaN if any is NaN (IEEE `min` would hide it).
pub(crate) fn nan_min(values: impl IntoIterator<Item = f64>) -> f64 {
    nan_fold(values, f64::INFINITY, f64::min)
}

/// The largest of `values` (`-inf` when empty); NaN if any is NaN.
pub(crate) fn nan_max(values: impl IntoIterator<Item = f64>) -> f64 {
    nan_fold(values, f64::NEG_INFINITY, f64::max)
}

fn nan_fold(values: impl IntoIterator<Item = f64>, init: f64, pick: fn(f64, f64) -> f64) -> f64 {
    values.into_iter().fold(init, |m, v| {
        if v.is_nan() || m.is_nan() {
            f64::NAN
        } else {
            pick(m, v)
        }
    })
}
