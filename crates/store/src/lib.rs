//! Sightline's embedded time-series store.
//!
//! Owns: the series index (dataset, channel, tags → series), channel types and units, points
//! kept sorted per series with same-timestamp replace, range reads, and the change feed that
//! tells subscribers the earliest timestamp each write touched. The durable engine (WAL,
//! segments, retention) lives behind the same [`Store`] trait.
//!
//! Must not know: HTTP, JSON, the compute graph, or the clock. Timestamps are `i64`
//! nanoseconds since the Unix epoch; the caller validates their range.

mod api;
mod durable;
mod head;
mod index;
mod memory;
mod points;
mod runs;

pub use api::*;
pub use durable::{
    parse_duration, Clock, DurableStore, FsyncPolicy, OpenError, ParseDurationError,
    ParseFsyncError, RecoveryReport, StoreConfig, SystemClock,
};
pub use memory::MemoryStore;
