//! The client-side merge model of PROTOCOL §4 is the client crate's (`sightline-client`,
//! `merge.rs`): the server's tests merge updates with the very code a client runs, so
//! there is one model to get right.

pub use sightline_client::merge::{Plot, WindowState as Merged};
