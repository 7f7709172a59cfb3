//! A running subscription: sends its first full result at once, then waits for changes to
//! the channels it reads, at most one update per `minDelay`, and only when a slot in the
//! connection's queue is free (backpressure coalesces changes into one wider update).

use super::outbound::{to_json, Outgoing};
use super::subscribe::Prepared;
use crate::app::App;
use crate::error::{ComputeRequestError, ErrorName};
use crate::hub::Signal;
use crate::source::StoreSource;
use sightline_compute::{LiveComputation, LiveUpdate};
use sightline_wire::errors::WireError;
use sightline_wire::persistent_compute::{
    FullResult, ServerMessage, SubscriptionCreation, SubscriptionCreationError,
    SubscriptionCreationMessage, SubscriptionUpdate, SubscriptionUpdateError,
    SubscriptionUpdateMessage,
};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

/// How often an idle subscription re-checks its window without a write.
const IDLE_TICK: std::time::Duration = std::time::Duration::from_secs(1);
/// `update` argument meaning "nothing was written; only time moved".
const NO_CHANGE: i64 = i64::MAX;

/// Handle to a running subscription task.
pub(crate) struct Running {
    task: JoinHandle<()>,
}

impl Running {
    /// Stops the task; nothing more is produced for it.
    pub(crate) fn stop(self) {
        self.task.abort();
    }
}

struct Task {
    app: Arc<App>,
    id: Uuid,
    generation: u64,
    signal: Arc<Signal>,
    tx: mpsc::Sender<Outgoing>,
    appends: bool,
    min_delay: std::time::Duration,
}

/// Registers the subscription with the change hub and starts its task.
pub(crate) fn start(
    app: Arc<App>,
    id: Uuid,
    generation: u64,
    prepared: Prepared,
    tx: mpsc::Sender<Outgoing>,
) -> Running {
    let signal = Signal::new();
    app.hub.watch(&prepared.plan.watched_channels(), &signal);
    let task = Task {
        app,
        id,
        generation,
        signal,
        tx,
        appends: prepared.appends,
        min_delay: prepared.min_delay,
    };
    Running {
        task: tokio::spawn(task.run(prepared.live)),
    }
}

/// What one evaluation produced.
enum Outcome {
    Send(SubscriptionUpdate),
    Nothing,
}

impl Task {
    async fn run(self, mut live: LiveComputation) {
        let mut first = true;
        let mut last_sent = Instant::now();
        loop {
            if !first {
                // Wake on a change, or on the tick that lets future-dated points enter the
                // window and lets Auto mode fall back to raw as old points leave it.
                tokio::select! {
                    _ = self.signal.wait() => {}
                    _ = tokio::time::sleep(IDLE_TICK) => {}
                }
                tokio::time::sleep_until(last_sent + self.min_delay).await;
            }
            // Wait for queue space before taking the changes, so everything that arrives
            // while a slow reader holds us up folds into this one update.
            let Ok(permit) = self.tx.reserve().await else {
                return;
            };
            let changed = self.signal.take();
            // The first full result goes out as soon as it is computed, not after minDelay.
            let earliest = match (first, changed) {
                (true, _) => None,
                (false, Some(t)) => Some(t),
                (false, None) => Some(NO_CHANGE),
            };
            first = false;
            match self.evaluate(live, earliest).await {
                Ok((returned, outcome)) => {
                    live = returned;
                    if let Outcome::Send(update) = outcome {
                        self.send_update(permit, update);
                        last_sent = Instant::now();
                    }
                }
                Err(fatal) => return self.send_fatal(permit, fatal),
            }
        }
    }

    /// Computes off the runtime. `earliest = None` asks for a full result.
    async fn evaluate(
        &self,
        mut live: LiveComputation,
        earliest: Option<i64>,
    ) -> Result<(LiveComputation, Outcome), WireError> {
        let app = self.app.clone();
        let appends = self.appends;
        let slot = self.app.compute_slots.acquire().await;
        let joined = tokio::task::spawn_blocking(move || {
            let source = StoreSource(app.store.as_ref());
            let now = app.clock.now_nanos();
            let outcome = match earliest {
                None => live.full(&source, now).map(full),
                // Whole windows only, and data did change: no need to diff first.
                Some(t) if !appends && t != NO_CHANGE => live.full(&source, now).map(full),
                Some(t) => match live.update(&source, t, now) {
                    Ok(LiveUpdate::Unchanged) => Ok(Outcome::Nothing),
                    Ok(LiveUpdate::Full(result)) => Ok(full(result)),
                    Ok(LiveUpdate::Append(append)) if appends => {
                        Ok(Outcome::Send(SubscriptionUpdate::Append(append)))
                    }
                    Ok(LiveUpdate::Append(_)) => live.full(&source, now).map(full),
                    Err(e) => Err(e),
                },
            };
            let outcome =
                outcome.unwrap_or_else(|e| update_error(ComputeRequestError::from(e).to_wire()));
            (live, outcome)
        })
        .await;
        drop(slot);
        joined.map_err(|join| {
            let wire =
                ErrorName::DefaultInternal.error("the computation failed; see the server log");
            tracing::error!(subscription = %self.id, instance = %wire.instance_id, error = %join,
                "subscription evaluation failed");
            wire
        })
    }

    fn send_update(&self, permit: mpsc::Permit<'_, Outgoing>, update: SubscriptionUpdate) {
        let message = ServerMessage::SubscriptionUpdate(SubscriptionUpdateMessage {
            subscription_id: self.id,
            update,
        });
        self.send(permit, &message);
    }

    /// A subscription that fails for good gets a creation error and stops (PROTOCOL §5).
    fn send_fatal(&self, permit: mpsc::Permit<'_, Outgoing>, error: WireError) {
        let message = ServerMessage::SubscriptionCreation(SubscriptionCreationMessage {
            subscription_id: self.id,
            creation: SubscriptionCreation::Error(SubscriptionCreationError {
                serializable_error: error.to_serializable(),
            }),
        });
        self.send(permit, &message);
    }

    fn send(&self, permit: mpsc::Permit<'_, Outgoing>, message: &ServerMessage) {
        if let Some(json) = to_json(message) {
            permit.send(Outgoing::Text {
                owner: Some((self.id, self.generation)),
                json,
            });
        }
    }
}

fn full(result: sightline_wire::scout_compute::ComputeNodeResponse) -> Outcome {
    Outcome::Send(SubscriptionUpdate::Full(FullResult { result }))
}

fn update_error(wire: WireError) -> Outcome {
    Outcome::Send(SubscriptionUpdate::Error(SubscriptionUpdateError {
        serializable_error: wire.to_serializable(),
    }))
}
