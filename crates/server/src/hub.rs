//! Routes the store's change feed to the live computations that read each channel: an
//! index from channel to computations, O(1) to register and to drop, so a write wakes only
//! the computations that read what it wrote.
//!
//! A computation registers a [`Signal`] for the (dataset, channel) pairs its plan reads.
//! The hub lowers the signal's earliest changed timestamp and wakes it; the computation
//! takes the accumulated value when it is ready to compute, so bursts of writes coalesce
//! into one update.

use parking_lot::RwLock;
use sightline_store::Change;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Weak};
use tokio::sync::{broadcast, Notify};

/// "No change pending" marker for [`Signal::earliest`].
const NONE_PENDING: i64 = i64::MAX;

/// A subscription's doorbell.
#[derive(Debug)]
pub(crate) struct Signal {
    earliest: AtomicI64,
    notify: Notify,
}

impl Signal {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Signal {
            earliest: AtomicI64::new(NONE_PENDING),
            notify: Notify::new(),
        })
    }

    /// Records a change at or after `t` and wakes the subscription.
    pub(crate) fn raise(&self, t: i64) {
        self.earliest.fetch_min(t, Ordering::AcqRel);
        self.notify.notify_one();
    }

    /// Waits until a change is recorded (returns at once if one already is).
    ///
    /// A raise while nobody waits leaves `Notify` a permit, and a later `take` empties the
    /// change without using it: the next wait must not return on that stale permit. It
    /// did, and the computation then evaluated with nothing changed, in the `minDelay`
    /// slot the next write needed (an update with no new point, the write's update one
    /// interval later).
    pub(crate) async fn wait(&self) {
        while self.earliest.load(Ordering::Acquire) == NONE_PENDING {
            self.notify.notified().await;
        }
    }

    /// Takes the earliest changed timestamp since the last take, if any.
    pub(crate) fn take(&self) -> Option<i64> {
        match self.earliest.swap(NONE_PENDING, Ordering::AcqRel) {
            NONE_PENDING => None,
            t => Some(t),
        }
    }
}

type ChannelKey = (Arc<str>, Arc<str>);
/// A signal's identity: its address, stable while it is registered (the route holds a
/// `Weak`, which keeps the allocation and so the address from being reused).
type SignalKey = usize;

/// The routing table from channels to signals.
#[derive(Debug, Default)]
pub(crate) struct ChangeHub {
    routes: RwLock<HashMap<ChannelKey, HashMap<SignalKey, Weak<Signal>>>>,
}

impl ChangeHub {
    /// Starts the task that consumes `changes` and returns the hub.
    pub(crate) fn start(mut changes: broadcast::Receiver<Arc<Vec<Change>>>) -> Arc<Self> {
        let hub = Arc::new(ChangeHub::default());
        let weak = Arc::downgrade(&hub);
        tokio::spawn(async move {
            loop {
                let event = changes.recv().await;
                let Some(hub) = weak.upgrade() else { return };
                match event {
                    Ok(batch) => hub.route(&batch),
                    // Missed changes: every subscription must assume everything changed.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "change feed lagged; refreshing all subscriptions");
                        hub.raise_all(i64::MIN);
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        hub
    }

    /// Registers `signal` for changes to each (dataset, channel).
    pub(crate) fn watch(&self, channels: &[(String, String)], signal: &Arc<Signal>) {
        let mut routes = self.routes.write();
        for (dataset, channel) in channels {
            let key: ChannelKey = (Arc::from(dataset.as_str()), Arc::from(channel.as_str()));
            routes
                .entry(key)
                .or_default()
                .insert(signal_key(signal), Arc::downgrade(signal));
        }
    }

    /// Drops `signal`'s routes for `channels` (the ones it was registered with).
    pub(crate) fn unwatch(&self, channels: &[(String, String)], signal: &Arc<Signal>) {
        let mut routes = self.routes.write();
        for (dataset, channel) in channels {
            let key: ChannelKey = (Arc::from(dataset.as_str()), Arc::from(channel.as_str()));
            if let Some(list) = routes.get_mut(&key) {
                list.remove(&signal_key(signal));
                if list.is_empty() {
                    routes.remove(&key);
                }
            }
        }
    }

    fn route(&self, batch: &[Change]) {
        let mut dead = false;
        {
            let routes = self.routes.read();
            for change in batch {
                let key = (change.dataset.clone(), change.channel.clone());
                if let Some(list) = routes.get(&key) {
                    for weak in list.values() {
                        match weak.upgrade() {
                            Some(signal) => signal.raise(change.earliest),
                            None => dead = true,
                        }
                    }
                }
            }
        }
        if dead {
            self.prune();
        }
    }

    fn raise_all(&self, t: i64) {
        for signal in self
            .routes
            .read()
            .values()
            .flat_map(HashMap::values)
            .filter_map(Weak::upgrade)
        {
            signal.raise(t);
        }
    }

    fn prune(&self) {
        let mut routes = self.routes.write();
        routes.retain(|_, list| {
            list.retain(|_, w| w.strong_count() > 0);
            !list.is_empty()
        });
    }
}

fn signal_key(signal: &Arc<Signal>) -> SignalKey {
    Arc::as_ptr(signal) as usize
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_taken_change_does_not_wake_the_next_wait() {
        let signal = Signal::new();
        signal.raise(5);
        signal.wait().await;
        assert_eq!(signal.take(), Some(5));
        let idle = tokio::time::timeout(Duration::from_millis(50), signal.wait()).await;
        assert!(idle.is_err(), "woke with no change pending");
        signal.raise(7);
        let woke = tokio::time::timeout(Duration::from_secs(5), signal.wait()).await;
        assert!(woke.is_ok(), "missed a change");
        assert_eq!(signal.take(), Some(7));
    }
}
