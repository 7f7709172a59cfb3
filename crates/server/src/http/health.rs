//! `GET /health`: whether this instance takes traffic, for load balancers and probes. Open
//! without a token; says nothing about data beyond how far the store is from current.
//!
//! 200 `{"status":"ok"}` only while the server runs and its store is ready. Otherwise 503 with
//! the reason, so a balancer sends no new clients here:
//!
//! | status | when | extra fields |
//! | --- | --- | --- |
//! | `draining` | after SIGTERM | – |
//! | `catching-up` | a cluster node still applying the write log up to where it was when the node started | `appliedSequence`, `targetSequence` |
//! | `refusing` | a cluster node whose unapplied writes expired from the log; re-seed it | `appliedSequence`, `firstAvailableSequence` |
//!
//! Each 503 body also carries `message`, a sentence that says what to do.

use crate::app::{App, Phase};
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;
use sightline_store::Readiness;
use std::sync::Arc;

/// The health body.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Health {
    /// `ok`, `draining`, `catching-up` or `refusing`.
    status: &'static str,
    /// What is going on and what to do, for a person reading a probe's output.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// Last log position the store applied (cluster nodes not yet ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    applied_sequence: Option<u64>,
    /// Log position to reach before ready (`catching-up`).
    #[serde(skip_serializing_if = "Option::is_none")]
    target_sequence: Option<u64>,
    /// First position the log still holds (`refusing`): the writes before it are lost to
    /// this node.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_available_sequence: Option<u64>,
}

impl Health {
    fn status(status: &'static str) -> Self {
        Health {
            status,
            message: None,
            applied_sequence: None,
            target_sequence: None,
            first_available_sequence: None,
        }
    }
}

/// The handler.
pub(crate) async fn health(State(app): State<Arc<App>>) -> (StatusCode, Json<Health>) {
    let unavailable = StatusCode::SERVICE_UNAVAILABLE;
    match app.phase() {
        Phase::Draining | Phase::Closing => {
            return (unavailable, Json(Health::status("draining")));
        }
        Phase::Running => {}
    }
    match app.store().readiness() {
        Readiness::Ready => (StatusCode::OK, Json(Health::status("ok"))),
        Readiness::CatchingUp { applied, target } => (
            unavailable,
            Json(Health {
                message: Some(format!(
                    "catching up with the cluster's write log: applied {applied} of {target}; \
                     ready once caught up"
                )),
                applied_sequence: Some(applied),
                target_sequence: Some(target),
                ..Health::status("catching-up")
            }),
        ),
        Readiness::Refusing {
            applied,
            first_available,
        } => (
            unavailable,
            Json(Health {
                message: Some(format!(
                    "this node applied the cluster's write log up to {applied}, but the log now \
                     starts at {first_available}: the writes between expired before this node \
                     saw them, so it refuses to serve. Re-seed it: stop it, replace its data \
                     directory with a copy of a stopped, caught-up node's, and start it again"
                )),
                applied_sequence: Some(applied),
                first_available_sequence: Some(first_available),
                ..Health::status("refusing")
            }),
        ),
    }
}
