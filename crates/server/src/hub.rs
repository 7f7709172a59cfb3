//! Routes the store's change feed to the live computations that read each channel: an
//! index from channel to computations, O(1) to register and to drop, so a write wakes only
//! the computations that read what it wrote.
//!
//! A computation registers a [`Signal`] for the (dataset, channel) pairs its plan reads.
//! The hub lowers the signal's earliest changed timestamp and wakes it; the computation
//! takes the accumulated value when it is ready to compute, so bursts of writes coalesce
//! into one update. The signal also keeps when it was last rung and the usual gap between
//! rings, so a computation whose update falls due long after the last write can wait the
//! few milliseconds until the next one instead of sending data that is a write interval
//! old ([`Signal::fresher`]).

use parking_lot::RwLock;
use sightline_store::Change;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{broadcast, Notify};
use tokio::time::Instant;

/// "No change pending" marker for [`Signal::earliest`].
const NONE_PENDING: i64 = i64::MAX;
/// Rings closer together than this are one burst (one write touching several channels a
/// computation reads, or one request split in batches): they do not count as a gap.
const BURST: Duration = Duration::from_millis(2);
/// Weight of the newest gap in the running mean of gaps between rings.
const GAP_WEIGHT: f64 = 0.25;

/// A subscription's doorbell.
#[derive(Debug)]
pub(crate) struct Signal {
    earliest: AtomicI64,
    notify: Notify,
    /// What ring times count from.
    epoch: Instant,
    /// When it was last rung, ns after `epoch`, plus one (0: never).
    rung_at: AtomicU64,
    /// Running mean of the gaps between rings, ns (0: unknown yet).
    gap: AtomicU64,
}

impl Signal {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Signal {
            earliest: AtomicI64::new(NONE_PENDING),
            notify: Notify::new(),
            epoch: Instant::now(),
            rung_at: AtomicU64::new(0),
            gap: AtomicU64::new(0),
        })
    }

    /// Records a change at or after `t`, rung at `now`, and wakes the subscription.
    pub(crate) fn raise(&self, t: i64, now: Instant) {
        self.earliest.fetch_min(t, Ordering::AcqRel);
        self.note_ring(now);
        self.notify.notify_one();
    }

    /// Keeps the ring time and the running mean gap. Only the hub's task rings, so the
    /// loads and stores need not be one atomic step.
    fn note_ring(&self, now: Instant) {
        let at = (now.saturating_duration_since(self.epoch).as_nanos() as u64).saturating_add(1);
        let last = self.rung_at.swap(at, Ordering::AcqRel);
        let gap = at.saturating_sub(last);
        if last == 0 || gap < BURST.as_nanos() as u64 {
            return;
        }
        let mean = self.gap.load(Ordering::Relaxed);
        let mean = if mean == 0 {
            gap
        } else {
            (mean as f64 * (1.0 - GAP_WEIGHT) + gap as f64 * GAP_WEIGHT) as u64
        };
        self.gap.store(mean, Ordering::Relaxed);
    }

    /// Called when an update is due with a change pending: waits for the next ring if the
    /// pending change is more than a quarter of the usual gap old and the next ring is
    /// expected within a quarter of `min_delay` (writes come more often than updates). Once
    /// an update went out right after a write, the next falls due just after a write too,
    /// so steady writes rarely need a wait. The update then carries points a few
    /// milliseconds old instead of up to a write interval old, and is late by at most a
    /// quarter of `min_delay`. A write may come up to half a gap late (a loaded writer, a
    /// slow disk) and still be waited for.
    pub(crate) async fn fresher(&self, min_delay: Duration) {
        let Some((until, rung)) = self.worth_waiting(Instant::now(), min_delay) else {
            return;
        };
        let next_ring = async {
            while self.rung_at.load(Ordering::Acquire) == rung {
                self.notify.notified().await;
            }
        };
        let _ = tokio::time::timeout_at(until, next_ring).await;
    }

    /// Until when to wait for a ring after the last one at `now` (see
    /// [`Signal::fresher`]), and that last ring as recorded: a ring that lands while this
    /// is judged is the one waited for, not missed.
    fn worth_waiting(&self, now: Instant, min_delay: Duration) -> Option<(Instant, u64)> {
        let recorded = self.rung_at.load(Ordering::Acquire);
        let gap = Duration::from_nanos(self.gap.load(Ordering::Relaxed));
        if recorded == 0 || gap.is_zero() || gap >= min_delay {
            return None;
        }
        let rung = self.epoch + Duration::from_nanos(recorded - 1);
        let age = now.saturating_duration_since(rung);
        let expected = rung + gap;
        let hold = min_delay / 4;
        if age <= gap / 4 || expected.saturating_duration_since(now) > hold {
            return None;
        }
        Some(((expected + gap / 2).min(now + hold), recorded))
    }

    /// Waits until a change is recorded (returns at once if one already is).
    ///
    /// A raise while nobody waits leaves `Notify` a permit, and a later `take` empties the
    /// change without using it: the next wait must not return on that stale permit. It
    /// did, and the computation then evaluated with nothing changed, in the `minDelay`
    /// slot the next write needed (an update with no new point, the write's update one
    /// interval later).
    pub(crate) async fn wait(&self) {
        while !self.pending() {
            self.notify.notified().await;
        }
    }

    /// Whether a change is recorded and not taken yet.
    pub(crate) fn pending(&self) -> bool {
        self.earliest.load(Ordering::Acquire) != NONE_PENDING
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
        let now = Instant::now();
        let mut dead = false;
        {
            let routes = self.routes.read();
            for change in batch {
                let key = (change.dataset.clone(), change.channel.clone());
                if let Some(list) = routes.get(&key) {
                    for weak in list.values() {
                        match weak.upgrade() {
                            Some(signal) => signal.raise(change.earliest, now),
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
        let now = Instant::now();
        for signal in self
            .routes
            .read()
            .values()
            .flat_map(HashMap::values)
            .filter_map(Weak::upgrade)
        {
            signal.raise(t, now);
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

    #[tokio::test]
    async fn a_taken_change_does_not_wake_the_next_wait() {
        let signal = Signal::new();
        signal.raise(5, Instant::now());
        signal.wait().await;
        assert_eq!(signal.take(), Some(5));
        let idle = tokio::time::timeout(Duration::from_millis(50), signal.wait()).await;
        assert!(idle.is_err(), "woke with no change pending");
        signal.raise(7, Instant::now());
        let woke = tokio::time::timeout(Duration::from_secs(5), signal.wait()).await;
        assert!(woke.is_ok(), "missed a change");
        assert_eq!(signal.take(), Some(7));
    }

    /// When [`Signal::worth_waiting`] would stop waiting, if it would wait.
    fn until(signal: &Signal, now: Instant, min_delay: Duration) -> Option<Instant> {
        signal.worth_waiting(now, min_delay).map(|(until, _)| until)
    }

    /// Rings `signal` every `gap` from `start`, `times` times; returns the last ring time.
    fn ring_every(signal: &Signal, start: Instant, gap: Duration, times: u32) -> Instant {
        let mut at = start;
        for i in 0..times {
            at = start + gap * i;
            signal.raise(0, at);
        }
        at
    }

    #[test]
    fn an_old_change_waits_for_the_next_write_when_it_is_near() {
        let signal = Signal::new();
        let gap = Duration::from_millis(100);
        let last = ring_every(&signal, signal.epoch, gap, 10);
        let min_delay = Duration::from_secs(1);
        // Fresh: sent at once.
        assert_eq!(until(&signal, last + gap / 5, min_delay), None);
        assert!(until(&signal, last + gap / 3, min_delay).is_some());
        // 80 ms old, the next write due in 20 ms: wait for it, with slack for a late one.
        let now = last + Duration::from_millis(80);
        assert_eq!(until(&signal, now, min_delay), Some(last + gap + gap / 2));
        // Never longer than a quarter of minDelay.
        let short = Duration::from_millis(120);
        assert_eq!(
            until(&signal, last + Duration::from_millis(60), short),
            None,
            "the next write is 40 ms away, more than 30 ms"
        );
        let now = last + Duration::from_millis(75);
        assert_eq!(until(&signal, now, short), Some(now + short / 4));
        let now = last + Duration::from_millis(95);
        assert_eq!(until(&signal, now, short), Some(now + short / 4));
    }

    #[test]
    fn rare_or_bursty_writes_never_hold_an_update() {
        let signal = Signal::new();
        let min_delay = Duration::from_millis(100);
        // Writes rarer than minDelay: the next one may be far.
        let last = ring_every(&signal, signal.epoch, Duration::from_millis(500), 5);
        assert_eq!(
            until(&signal, last + Duration::from_millis(450), min_delay),
            None
        );
        // Rings of one burst are not gaps: one ring's gap stays unknown.
        let burst = Signal::new();
        let last = ring_every(&burst, burst.epoch, Duration::from_micros(100), 20);
        assert_eq!(burst.gap.load(Ordering::Relaxed), 0);
        assert_eq!(
            until(&burst, last + Duration::from_millis(50), min_delay),
            None
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_update_goes_when_the_next_write_rings() {
        let signal = Signal::new();
        let gap = Duration::from_millis(100);
        let last = ring_every(&signal, Instant::now(), gap, 10);
        tokio::time::sleep_until(last + Duration::from_millis(90)).await;
        let started = Instant::now();
        let waiting = signal.fresher(Duration::from_secs(1));
        let ring = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            signal.raise(0, Instant::now());
        };
        tokio::join!(waiting, ring);
        assert_eq!(started.elapsed(), Duration::from_millis(5));
    }
}
