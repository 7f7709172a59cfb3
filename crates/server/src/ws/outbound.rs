//! The bounded queue from subscriptions and the connection task to the socket writer.
//!
//! The queue is bounded twice: by messages (the channel's capacity) and by the bytes of
//! subscription frames waiting in it. A shared computation never waits for one slow
//! reader: a frame that does not fit is refused, and that subscriber is owed one fresh
//! full result, sent when its queue has room again (changes meanwhile coalesce into it).
//! Connection messages (creations, pings, pongs, errors) travel in a second, small queue
//! that the writer drains first: a subscription's creation answer must not wait behind
//! megabytes of other subscriptions' full results, nor a pong behind a backlog. They wait
//! for room instead of being refused. A subscription's own order still holds: its creation
//! message is queued before it joins its computation, and the writer sends every waiting
//! connection message before any frame it takes from the frame queue.
//! Each subscription message carries its subscription's generation, and the writer drops
//! messages of generations that were unsubscribed or replaced, so nothing is sent for an
//! id after `unsubscribe`.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use uuid::Uuid;

/// The producers' end of a connection's queue.
#[derive(Debug, Clone)]
pub(crate) struct Outbound {
    tx: mpsc::Sender<Outgoing>,
    control: mpsc::Sender<Outgoing>,
    queued: QueuedBytes,
    budget: usize,
}

/// Bytes of text frames waiting in a connection's queue, and in all of the server's (for
/// `/metrics`); the writer subtracts what it takes. It also counts every byte the writer
/// ever took, so a reader that keeps up with a steady stream (its queue never empty, never
/// shrinking) is told apart from one that stopped reading.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueuedBytes {
    connection: Arc<AtomicUsize>,
    server: Arc<AtomicUsize>,
    drained: Arc<AtomicUsize>,
}

impl QueuedBytes {
    /// Adds `len` bytes; returns the connection's bytes before.
    fn add(&self, len: usize) -> usize {
        self.server.fetch_add(len, Ordering::AcqRel);
        self.connection.fetch_add(len, Ordering::AcqRel)
    }

    /// A frame of `len` bytes left the queue without reaching the writer (refused).
    fn refused(&self, len: usize) {
        self.server.fetch_sub(len, Ordering::AcqRel);
        self.connection.fetch_sub(len, Ordering::AcqRel);
    }

    /// The writer took a frame of `len` bytes off the queue.
    pub(crate) fn taken(&self, len: usize) {
        self.refused(len);
        self.drained.fetch_add(len, Ordering::AcqRel);
    }

    /// Bytes the writer has taken off the queue since the connection opened (wrapping).
    pub(crate) fn drained(&self) -> usize {
        self.drained.load(Ordering::Acquire)
    }

    /// The connection's bytes waiting now.
    pub(crate) fn get(&self) -> usize {
        self.connection.load(Ordering::Acquire)
    }
}

impl Outbound {
    /// A queue of at most `capacity` messages and `budget` bytes of subscription frames;
    /// `server` counts the bytes queued on every connection.
    pub(crate) fn new(
        capacity: usize,
        budget: usize,
        server: Arc<AtomicUsize>,
    ) -> (Self, Receivers, QueuedBytes) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let (control, control_rx) = mpsc::channel(capacity.max(1));
        let queued = QueuedBytes {
            connection: Arc::default(),
            server,
            drained: Arc::default(),
        };
        let outbound = Outbound {
            tx,
            control,
            queued: queued.clone(),
            budget,
        };
        let receivers = Receivers {
            frames: rx,
            control: control_rx,
        };
        (outbound, receivers, queued)
    }

    /// Queues a subscription frame if it fits; `false` when the reader is too far behind
    /// (the caller owes that subscriber a fresh full result). A frame larger than the whole
    /// budget still goes out when nothing else waits, so every result can be delivered.
    pub(crate) fn try_frame(&self, owner: (Uuid, u64), json: String) -> bool {
        let len = json.len();
        let before = self.queued.add(len);
        if before > 0 && before.saturating_add(len) > self.budget {
            self.queued.refused(len);
            return false;
        }
        let frame = Outgoing::Text {
            owner: Some(owner),
            json,
        };
        if self.tx.try_send(frame).is_err() {
            self.queued.refused(len);
            return false;
        }
        true
    }

    /// Whether the reader caught up enough to be sent a fresh full result.
    pub(crate) fn has_room(&self) -> bool {
        self.queued.get() <= self.budget / 2 && self.tx.capacity() > 0
    }

    /// Queues a small connection message (a ping) without waiting and whatever the bytes
    /// waiting: a busy queue must not keep the client from being asked for a sign of life.
    /// `false` if the queue holds its most messages or the connection is gone.
    pub(crate) fn try_control(&self, json: String) -> bool {
        let len = json.len();
        self.queued.add(len);
        let message = Outgoing::Text { owner: None, json };
        if self.control.try_send(message).is_err() {
            self.queued.refused(len);
            return false;
        }
        true
    }

    /// Queues a connection message (ahead of waiting frames), waiting for room; `false`
    /// once the connection is gone.
    pub(crate) async fn send(&self, owner: Option<(Uuid, u64)>, json: String) -> bool {
        let Ok(permit) = self.control.reserve().await else {
            return false;
        };
        self.queued.add(json.len());
        permit.send(Outgoing::Text { owner, json });
        true
    }

    /// Asks the writer to close the socket after what is queued.
    pub(crate) async fn close(&self, code: u16, reason: &'static str) {
        let _ = self.tx.send(Outgoing::Close { code, reason }).await;
    }
}

/// The writer's ends of a connection's two queues.
#[derive(Debug)]
pub(crate) struct Receivers {
    /// Subscription frames and the close request, in order.
    pub(crate) frames: mpsc::Receiver<Outgoing>,
    /// Connection messages, sent before any waiting frame.
    pub(crate) control: mpsc::Receiver<Outgoing>,
}

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
