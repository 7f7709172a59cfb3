//! The bounded queue from subscriptions and the connection task to the socket writer.
//!
//! Producers `reserve()` a slot before they compute, so a slow reader pauses producers
//! instead of growing memory; changes keep accumulating in each subscription's signal
//! meanwhile, which coalesces them into one wider update. Each subscription message carries
//! its subscription's generation, and the writer drops messages of generations that were
//! unsubscribed or replaced, so nothing is sent for an id after `unsubscribe`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use uuid::Uuid;

/// One frame for the writer.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A serialized `ServerMessage`; `owner` names the subscription generation it belongs to.
    Text {
        owner: Option<(Uuid, u64)>,
        json: String,
    },
    /// Close the socket with this code and reason.
    Close { code: u16, reason: &'static str },
}

/// The subscription generations currently live on a connection.
#[derive(Debug, Default, Clone)]
pub(crate) struct LiveIds(Arc<Mutex<HashMap<Uuid, u64>>>);

impl LiveIds {
    /// Marks `generation` as the live one for `id`.
    pub(crate) fn set(&self, id: Uuid, generation: u64) {
        self.0.lock().insert(id, generation);
    }

    /// Forgets `id`; queued messages for it will be dropped.
    pub(crate) fn remove(&self, id: &Uuid) -> bool {
        self.0.lock().remove(id).is_some()
    }

    /// Whether a message from `owner` may still be sent.
    pub(crate) fn is_live(&self, owner: &Option<(Uuid, u64)>) -> bool {
        match owner {
            None => true,
            Some((id, generation)) => self.0.lock().get(id) == Some(generation),
        }
    }
}

/// Serializes a server message; serialization of our own types cannot fail in practice,
/// but a failure is logged rather than panicking.
pub(crate) fn to_json(
    message: &sightline_wire::persistent_compute::ServerMessage,
) -> Option<String> {
    match serde_json::to_string(message) {
        Ok(json) => Some(json),
        Err(error) => {
            tracing::error!(%error, "could not serialize a server message");
            None
        }
    }
}
