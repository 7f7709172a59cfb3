//! Sightline's compute core: plans a compute graph from the upstream wire types and
//! evaluates it over columns of points, for a fixed range (HTTP compute) or incrementally
//! over a trailing window (live subscriptions with full results and appends).
//!
//! Owns: PROTOCOL §5 classification ([`classify`]), planning with path-carrying
//! diagnostics ([`plan`], lowering in `lower/` into the expressions of `ir`), the engine
//! that evaluates the §6 node set with bounded look-back (`engine/`: numeric, windows,
//! enums/logs, ranges), runtime units (`units`), summarization (raw plots, aligned
//! buckets, ranges, values) and the append rules of PROTOCOL §4 ([`LiveComputation`]).
//!
//! Must not know: the store, sockets, the clock or the server. Data comes in through the
//! [`DataSource`] trait defined here; time comes in as arguments.
//!
//! Flow: `classify(node)` → `plan(node, context, source)` → `Plan::compute` for a range, or
//! `Plan::live(window, mode)` → `LiveComputation::full` then `update` on every change.

mod classify;
mod columns;
mod engine;
mod error;
mod eval;
mod ir;
mod live;
mod live_buckets;
mod live_counts;
mod live_ranges;
mod live_value;
mod lower;
mod lttb;
mod plan;
mod render;
mod shape;
mod source;
mod summarize;
mod units;
mod value;

pub use classify::{classify, Classification, Unsupported};
pub use error::{ComputeError, Diagnostic, DiagnosticKind, InvalidReason};
pub use live::{LiveComputation, LiveMode, LiveUpdate};
pub use lower::plan;
pub use plan::{Plan, DEFAULT_BUCKETS};
pub use source::{ChannelKind, ChannelMeta, DataSource, LogEntry, SeriesMeta};
