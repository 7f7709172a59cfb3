//! The Conjure JSON encoding rules of PROTOCOL §1 that serde does not give for free:
//! unions with unknown variants, doubles as `"NaN"`/`"Infinity"` strings, safelongs,
//! RFC 3339 datetimes, base64 binaries, and `null` collections read as empty.

mod doubles;
mod primitives;
mod union;

pub use doubles::{opt_double, vec_double, Double};
pub use primitives::{null_as_default, Binary, DateTime, SafeLong, SAFELONG_MAX};
pub use union::UnknownVariant;

/// `with` module for a plain `f64` field.
pub mod double {
    pub use super::doubles::{deserialize, serialize};
}
