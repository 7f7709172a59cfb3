//! Owns the caller's side of one subscription: it receives the raw updates the session
//! routes to it, merges them into a [`WindowState`], and unsubscribes when dropped.

use crate::error::ClientError;
use crate::merge::WindowState;
use crate::session::{Command, ConnectionEvent, Incoming};
use futures::Stream;
use sightline_wire::api::SerializableError;
use sightline_wire::persistent_compute::SubscriptionUpdate;
use tokio::sync::mpsc;
use uuid::Uuid;

/// What [`Subscription::next`] reports; the merged state is in [`Subscription::state`].
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The server accepted the subscription (again, after a reconnect); the unit of the
    /// result, when it has one.
    Created {
        /// Unit symbol, e.g. `bar`.
        unit: Option<String>,
    },
    /// A full result replaced the state.
    Full,
    /// An append was merged into the state.
    Append,
    /// The server reported a transient error; the subscription continues.
    ServerError(SerializableError),
    /// The connection changed.
    Connection(ConnectionEvent),
}

/// A live subscription. Dropping it unsubscribes.
pub struct Subscription {
    id: Uuid,
    window: i64,
    events: mpsc::Receiver<Incoming>,
    commands: mpsc::UnboundedSender<Command>,
    state: Option<WindowState>,
    unit: Option<String>,
    /// The server (re)created the subscription: its next full result starts a new state,
    /// since the ends of its appends continue from that server's clock, not the old one's.
    new_baseline: bool,
}

impl Subscription {
    pub(crate) fn new(
        id: Uuid,
        window: i64,
        events: mpsc::Receiver<Incoming>,
        commands: mpsc::UnboundedSender<Command>,
    ) -> Self {
        Subscription {
            id,
            window,
            events,
            commands,
            state: None,
            unit: None,
            new_baseline: true,
        }
    }

    /// The subscription id on the wire.
    pub fn id(&self) -> Uuid {
        self.id
    }

    /// The merged window, once the first full result arrived.
    pub fn state(&self) -> Option<&WindowState> {
        self.state.as_ref()
    }

    /// The unit of the result, from the last creation message.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// Waits for the next event and merges it into the state. `None` once the session has
    /// ended. A refused subscription yields [`ClientError::Refused`] and stays refused; a
    /// merge failure yields [`ClientError::Merge`], keeps the state, and asks the server for
    /// a fresh full result.
    pub async fn next(&mut self) -> Option<Result<Event, ClientError>> {
        let incoming = self.events.recv().await?;
        Some(self.apply(incoming))
    }

    fn apply(&mut self, incoming: Incoming) -> Result<Event, ClientError> {
        match incoming {
            Incoming::Created(Ok(unit)) => {
                self.unit.clone_from(&unit);
                self.new_baseline = true;
                Ok(Event::Created { unit })
            }
            Incoming::Created(Err(error)) => {
                // The server stopped it; do not resubscribe it on the next connection.
                let _ = self.commands.send(Command::Unsubscribe(self.id));
                Err(ClientError::Refused { error })
            }
            Incoming::Update(SubscriptionUpdate::Full(full)) => {
                match &mut self.state {
                    Some(state) if !self.new_baseline => state.apply_full(&full.result),
                    _ => WindowState::new(self.window, &full.result).map(|s| {
                        self.state = Some(s);
                        self.new_baseline = false;
                    }),
                }
                .map_err(|e| self.resync(e))?;
                Ok(Event::Full)
            }
            Incoming::Update(SubscriptionUpdate::Append(append)) => {
                let Some(state) = &mut self.state else {
                    return Err(self.resync(crate::merge::MergeError::NoBaseline));
                };
                state.apply_append(&append).map_err(|e| self.resync(e))?;
                Ok(Event::Append)
            }
            Incoming::Update(SubscriptionUpdate::Error(e)) => {
                Ok(Event::ServerError(e.serializable_error))
            }
            Incoming::Update(other) => Err(ClientError::UnknownUpdate {
                kind: other.variant_name().to_string(),
            }),
            Incoming::Connection(event) => Ok(Event::Connection(event)),
        }
    }

    fn resync(&self, error: crate::merge::MergeError) -> ClientError {
        tracing::warn!(%error, "update could not be merged; asking for a fresh full result");
        let _ = self.commands.send(Command::Resync(self.id));
        ClientError::Merge(error)
    }

    /// The merged states as a stream: one clone per full or append merged. Connection and
    /// creation events are skipped; errors are passed on.
    pub fn states(self) -> impl Stream<Item = Result<WindowState, ClientError>> {
        futures::stream::unfold(self, |mut sub| async move {
            loop {
                match sub.next().await? {
                    Ok(Event::Full | Event::Append) => {
                        let state = sub.state.clone()?;
                        return Some((Ok(state), sub));
                    }
                    Ok(_) => continue,
                    Err(e) => return Some((Err(e), sub)),
                }
            }
        })
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.commands.send(Command::Unsubscribe(self.id));
    }
}
