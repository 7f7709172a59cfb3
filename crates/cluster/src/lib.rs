//! Sightline's cluster mode: several nodes share one ordered log of writes in NATS JetStream,
//! and every node applies that log, in order, to its own durable store.
//!
//! Owns: the encoding of a write on the log ([`codec`]), the log's subjects ([`subject`]),
//! the stream and its settings ([`config`]), joining NATS and opening the stream when a node
//! starts ([`open`]), how far a node has applied the log ([`progress`]), the task that
//! applies it ([`apply`]) and [`ClusterStore`], which puts all of it behind the same
//! [`sightline_store::Store`] trait the server already speaks, so the server does not know
//! NATS exists.
//!
//! ```text
//!  HTTP write ─► ClusterStore::write ─► validate ─► publish ─► JetStream ack ─┐
//!                                                    (stream SIGHTLINE,       │ 2xx once the
//!                                                     R3 when clustered)      │ local node has
//!  every node: ordered consumer ─► local DurableStore::write ─► change feed   │ applied it too
//!                      └──────────► progress (last applied sequence) ◄────────┘
//! ```
//!
//! Must not know: HTTP, JSON, the compute graph. Dependencies point one way:
//! `subject`, `codec`, `progress`, `error` ← `config` ← `open`, `apply` ← `store`.

mod apply;
mod codec;
mod config;
mod error;
mod open;
mod progress;
mod store;
mod subject;

pub use config::{ClusterConfig, Replicas};
pub use error::ClusterError;
pub use store::ClusterStore;
