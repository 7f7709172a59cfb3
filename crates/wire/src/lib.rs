//! Serde types of the upstream Nominal API that Sightline speaks on the wire.
//!
//! Owns: the JSON shape of every type in `spec/conjure-subset.json` (persistent compute,
//! the compute graph, the writer API, errors), the Conjure encoding rules of
//! `spec/PROTOCOL.md` §1, and the catalogue of error names.
//!
//! Must not know: storage, evaluation, sockets or the clock. No tokio, no I/O.
//!
//! The types under [`generated`] modules are produced by `tools/gen_wire.py`; the hand-written
//! parts are the encoding helpers in [`conjure`], the error catalogue in [`errors`], and the
//! protobuf messages of the upstream streaming writes in [`proto`] and of Prometheus remote
//! write in [`prometheus`].

pub mod conjure;
pub mod errors;
mod generated;
pub mod prometheus;
pub mod proto;
pub mod time;

pub use generated::*;

/// Parses a JSON text into `T`, reporting the JSON path of the first problem.
pub fn from_json<'a, T: serde::Deserialize<'a>>(text: &'a str) -> Result<T, ParseError> {
    from_json_slice(text.as_bytes())
}

/// Parses JSON bytes into `T`, reporting the JSON path of the first problem.
pub fn from_json_slice<'a, T: serde::Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, ParseError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| ParseError {
        path: e.path().to_string(),
        message: e.inner().to_string(),
    })?;
    de.end().map_err(|e| ParseError {
        path: ".".to_string(),
        message: e.to_string(),
    })?;
    Ok(value)
}

/// A JSON body or frame that does not match the upstream type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message} (at `{path}`)")]
pub struct ParseError {
    /// JSON path of the offending value, e.g. `subscribe.<id>.computeRequest.node`.
    pub path: String,
    /// What serde found wrong there.
    pub message: String,
}
