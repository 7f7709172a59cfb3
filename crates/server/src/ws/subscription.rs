//! One subscription's life: validated and planned on the evaluation pool, answered with its
//! creation message, held until its subscribe message is answered ([`super::answers`]),
//! then a member of the shared computation of its request until it is
//! stopped (or the computation fails). The task is parked while a member: updates are
//! produced and sent by the shared computation ([`super::shared`]), not per subscription.

use super::answers::Unanswered;
use super::outbound::{to_json, Outbound};
use super::shared::Subscriber;
use super::subscribe::prepare;
use crate::app::App;
use crate::auth::Caller;
use crate::error::ErrorName;
use crate::eval_pool::Lane;
use sightline_wire::persistent_compute::{
    ServerMessage, StreamingComputeNodeSubscription, SubscriptionCreation,
    SubscriptionCreationError, SubscriptionCreationMessage, SubscriptionCreationSuccess,
};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use tokio::task::JoinHandle;
use uuid::Uuid;

/// Handle to a subscription task (being created, or running).
pub(crate) struct Running {
    task: JoinHandle<()>,
}

impl Running {
    /// Stops the task and leaves its computation; nothing more is produced for it.
    pub(crate) fn stop(self) {
        self.task.abort();
    }

    /// Whether the task ended (its creation failed, or its computation failed for good).
    pub(crate) fn is_finished(&self) -> bool {
        self.task.is_finished()
    }
}

/// Counts a live subscription in `/metrics` for as long as it exists, however its task
/// ends (stopped, aborted, failed).
struct LiveGauge(Arc<App>);

impl LiveGauge {
    fn new(app: Arc<App>) -> Self {
        app.subscriptions.fetch_add(1, Ordering::Relaxed);
        LiveGauge(app)
    }
}

impl Drop for LiveGauge {
    fn drop(&mut self) {
        self.0.subscriptions.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Starts the subscription's task.
pub(crate) fn start(
    app: Arc<App>,
    caller: Caller,
    id: Uuid,
    generation: u64,
    request: StreamingComputeNodeSubscription,
    tx: Outbound,
    unanswered: Unanswered,
) -> Running {
    let task = create_and_run(app, caller, id, generation, request, tx, unanswered);
    Running {
        task: tokio::spawn(task),
    }
}

async fn create_and_run(
    app: Arc<App>,
    caller: Caller,
    id: Uuid,
    generation: u64,
    request: StreamingComputeNodeSubscription,
    tx: Outbound,
    mut unanswered: Unanswered,
) {
    let planner = app.clone();
    let prepared = match app
        .eval
        .run(Lane::Setup, move || prepare(&planner, &caller, &request))
        .await
    {
        Ok(result) => result.map_err(|refused| refused.to_wire()),
        Err(failed) => {
            let wire =
                ErrorName::DefaultInternal.error("subscription setup failed; see the server log");
            tracing::error!(subscription = %id, instance = %wire.instance_id, error = %failed,
                "subscription setup failed");
            Err(wire)
        }
    };
    let creation = match &prepared {
        Ok((p, _)) => SubscriptionCreation::Success(SubscriptionCreationSuccess {
            unit_result: p.unit_result.clone(),
        }),
        Err(wire) => SubscriptionCreation::Error(SubscriptionCreationError {
            serializable_error: wire.to_serializable(),
        }),
    };
    let message = ServerMessage::SubscriptionCreation(SubscriptionCreationMessage {
        subscription_id: id,
        creation,
    });
    let Some(json) = to_json(&message) else {
        return;
    };
    // Counted before it is queued: a client that does not read (its queue full) must not
    // hold back the results of other connections' subscriptions.
    unanswered.answering();
    let Ok((prepared, key)) = prepared else {
        // The error goes out whatever the id's generation: nothing else will be sent for it.
        tx.send(None, json).await;
        return;
    };
    // The creation message is queued before joining, so it precedes every update.
    if !tx.send(Some((id, generation)), json).await {
        return;
    }
    unanswered.answered().await;
    let _gauge = LiveGauge::new(app.clone());
    let subscriber = Subscriber { id, generation, tx };
    let membership = app.computations.join(&app, key, prepared, subscriber);
    membership.ended().await;
}
