//! Conjure primitives with rules of their own: safelong, datetime, binary, null collections.

use base64::Engine as _;
use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Largest magnitude a safelong may hold: 2^53 − 1, exact in an IEEE double.
pub const SAFELONG_MAX: i64 = (1 << 53) - 1;

/// A Conjure safelong: an integer in ±(2^53 − 1). `100.0` and `"100"` are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SafeLong(pub i64);

impl Serialize for SafeLong {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

struct SafeLongVisitor;

impl Visitor<'_> for SafeLongVisitor {
    type Value = SafeLong;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an integer within ±(2^53 - 1)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<SafeLong, E> {
        if v.abs() > SAFELONG_MAX {
            return Err(E::invalid_value(de::Unexpected::Signed(v), &self));
        }
        Ok(SafeLong(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<SafeLong, E> {
        match i64::try_from(v) {
            Ok(x) if x <= SAFELONG_MAX => Ok(SafeLong(x)),
            _ => Err(E::invalid_value(de::Unexpected::Unsigned(v), &self)),
        }
    }
}

impl<'de> Deserialize<'de> for SafeLong {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_i64(SafeLongVisitor)
    }
}

impl From<i64> for SafeLong {
    fn from(v: i64) -> Self {
        SafeLong(v)
    }
}

/// A Conjure datetime: RFC 3339 with any offset and fraction on input, UTC `Z` on output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DateTime(pub chrono::DateTime<chrono::Utc>);

impl Serialize for DateTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        chrono::DateTime::parse_from_rfc3339(&text)
            .map(|t| DateTime(t.with_timezone(&chrono::Utc)))
            .map_err(|e| de::Error::custom(format!("invalid RFC 3339 datetime `{text}`: {e}")))
    }
}

impl DateTime {
    /// The current wall-clock time.
    pub fn now() -> Self {
        DateTime(chrono::Utc::now())
    }
}

/// Conjure binary: base64 on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Binary(pub Vec<u8>);

impl Serialize for Binary {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Binary {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Binary)
            .map_err(|e| de::Error::custom(format!("invalid base64: {e}")))
    }
}

/// Reads a collection field where `null` means empty, as Conjure requires.
pub fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}
