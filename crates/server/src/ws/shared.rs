//! Shared evaluation: every subscription of the same computation (canonical request JSON:
//! graph, context, window, result configuration, cadence) joins one [`Computation`], which
//! is evaluated once per update (on the evaluation pool, or on its own task when its updates
//! take microseconds) and encoded once; each subscriber's frame only differs in its id
//! ([`UpdateFrame`]).
//!
//! A computation is one task: it waits for a change to the channels it reads (the hub
//! rings its one signal), `minDelay`, or a subscriber owed a full result, then evaluates.
//! When `minDelay` passes long after the last write and the next write is a few
//! milliseconds away, it waits for that write, so an update carries fresh points rather
//! than points a write interval old.
//! A subscriber that joins late is owed a full result: it gets a snapshot of the window in
//! the shape the others hold, ending after their last update, so the appends that follow
//! merge into it exactly as into theirs. A subscriber whose queue refused appends (a slow
//! reader) is owed the window since the start of the first one it missed: once its queue
//! has room it gets one append covering all it missed, and then follows the others again;
//! one that missed a full result gets a snapshot.
//!
//! Lock order: [`Computations`]' map, then the hub's routes (registering a new
//! computation) or a computation's member list; never the reverse. No lock is held while
//! evaluating or awaiting.

use super::frame::UpdateFrame;
use super::outbound::{to_json, Outbound};
use super::subscribe::Prepared;
use crate::app::App;
use crate::error::{ComputeRequestError, ErrorName};
use crate::eval_pool::{EvalFailed, Lane};
use crate::hub::Signal;
use crate::source::StoreSource;
use parking_lot::Mutex;
use sightline_compute::{LiveComputation, LiveUpdate, Plan};
use sightline_wire::errors::WireError;
use sightline_wire::persistent_compute::{
    FullResult, ServerMessage, SubscriptionCreation, SubscriptionCreationError,
    SubscriptionCreationMessage, SubscriptionUpdate, SubscriptionUpdateError,
};
use sightline_wire::scout_compute::ComputeNodeResponse;
use sightline_wire::time::timestamp_to_nanos;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::time::Instant;
use uuid::Uuid;

/// How often an idle computation re-checks its window without a write: future-dated points
/// enter the window and Auto mode falls back to raw as old points leave it.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// `update` argument meaning "nothing was written; only time moved".
const NO_CHANGE: i64 = i64::MAX;
/// Shortest wait before retrying a subscriber whose queue was full.
const RETRY: Duration = Duration::from_millis(50);
/// An update whose previous one took less than this runs on the computation's own task
/// instead of the evaluation pool: the handoff (two thread wake-ups) costs more than such
/// an update, and it holds the runtime no longer than a socket write does. Snapshots,
/// catch-ups and slower updates go to the pool, which bounds them.
const RUN_HERE_BELOW: Duration = Duration::from_micros(200);

/// The live computations of a server, by canonical request.
#[derive(Default)]
pub(crate) struct Computations {
    map: Mutex<HashMap<String, Weak<Computation>>>,
}

/// One subscriber: where its frames go, and under which generation of its id.
pub(crate) struct Subscriber {
    pub(crate) id: Uuid,
    pub(crate) generation: u64,
    pub(crate) tx: Outbound,
}

impl Computations {
    /// Adds `subscriber` to the live computation of `key` (its plan must be equal too: a
    /// plan also depends on what the store held when it was made), or starts one.
    pub(crate) fn join(
        &self,
        app: &Arc<App>,
        key: String,
        prepared: Prepared,
        subscriber: Subscriber,
    ) -> Membership {
        let mut map = self.map.lock();
        let live = map.get(&key).and_then(Weak::upgrade);
        let subscriber = match live {
            Some(c) if c.plan == prepared.plan => match c.add(subscriber) {
                Ok(membership) => return membership,
                Err(back) => back,
            },
            _ => subscriber,
        };
        let computation = Arc::new(Computation {
            plan: prepared.plan.clone(),
            signal: Signal::new(),
            wake: Notify::new(),
            members: Mutex::new(Members::default()),
            closed: watch::channel(false).0,
        });
        app.hub
            .watch(&prepared.plan.watched_channels(), &computation.signal);
        map.insert(key.clone(), Arc::downgrade(&computation));
        drop(map);
        let membership = match computation.add(subscriber) {
            Ok(membership) => membership,
            // Not reachable: nothing else knows the new computation yet.
            Err(_) => Membership::detached(computation.clone()),
        };
        let task = Task {
            app: app.clone(),
            computation,
            key,
            appends: prepared.appends,
            min_delay: prepared.min_delay,
        };
        tokio::spawn(task.run(prepared.live));
        membership
    }

    /// Distinct live computations (shared by one or more subscriptions).
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }

    fn forget(&self, key: &str, computation: &Arc<Computation>) {
        let mut map = self.map.lock();
        let ours = map
            .get(key)
            .is_some_and(|w| std::ptr::eq(w.as_ptr(), Arc::as_ptr(computation)));
        if ours {
            map.remove(key);
        }
    }
}

/// A computation shared by its subscribers.
pub(crate) struct Computation {
    plan: Plan,
    /// Rung by the hub when a channel the plan reads changes.
    signal: Arc<Signal>,
    /// Rung when a subscriber joins, leaves or is owed a full result.
    wake: Notify,
    members: Mutex<Members>,
    /// Set when the computation ends for good; members stop waiting.
    closed: watch::Sender<bool>,
}

#[derive(Default)]
struct Members {
    next: u64,
    list: HashMap<u64, Member>,
    closed: bool,
}

struct Member {
    subscriber: Subscriber,
    owed: Owed,
}

/// What a subscriber is owed before it can take the shared updates again.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Owed {
    /// Nothing: it holds what the others hold.
    Nothing,
    /// An append starting at or before this time (it missed appends).
    Since(i64),
    /// A full result (it just joined, or missed a full result).
    Full,
}

impl Owed {
    /// What is owed after a frame starting at `start` (`None`: a full result) was refused.
    fn missed(self, start: Option<i64>) -> Owed {
        match (self, start) {
            (Owed::Full, _) | (_, None) => Owed::Full,
            (Owed::Nothing, Some(s)) => Owed::Since(s),
            (Owed::Since(t), Some(s)) => Owed::Since(t.min(s)),
        }
    }
}

impl Computation {
    fn add(self: &Arc<Self>, subscriber: Subscriber) -> Result<Membership, Subscriber> {
        let mut members = self.members.lock();
        if members.closed {
            return Err(subscriber);
        }
        members.next += 1;
        let key = members.next;
        members.list.insert(
            key,
            Member {
                subscriber,
                owed: Owed::Full,
            },
        );
        drop(members);
        self.wake.notify_one();
        Ok(Membership {
            computation: self.clone(),
            key: Some(key),
        })
    }
}

/// A subscriber's place in a computation; dropping it leaves.
pub(crate) struct Membership {
    computation: Arc<Computation>,
    key: Option<u64>,
}

impl Membership {
    fn detached(computation: Arc<Computation>) -> Self {
        Membership {
            computation,
            key: None,
        }
    }

    /// Resolves when the computation ended for good (after a fatal error).
    pub(crate) async fn ended(&self) {
        let mut closed = self.computation.closed.subscribe();
        let _ = closed.wait_for(|c| *c).await;
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let Some(key) = self.key else { return };
        let empty = {
            let mut members = self.computation.members.lock();
            members.list.remove(&key);
            members.list.is_empty()
        };
        if empty {
            self.computation.wake.notify_one();
        }
    }
}

/// What a round evaluates.
struct Asks {
    /// An update for the members up to date, from this earliest change (`None`: none).
    earliest: Option<i64>,
    /// A snapshot for members owed a full result.
    snapshot: bool,
    /// A catch-up append from this time for members behind.
    catch_up: Option<i64>,
}

impl Asks {
    /// Whether the round asks only for the update of the members up to date.
    fn only_update(&self) -> bool {
        !self.snapshot && self.catch_up.is_none()
    }
}

/// The encoded results of a round.
struct Frames<'a> {
    update: Option<&'a Encoded>,
    snapshot: Option<&'a Encoded>,
    catch_up: Option<&'a Encoded>,
}

struct Task {
    app: Arc<App>,
    computation: Arc<Computation>,
    key: String,
    appends: bool,
    min_delay: Duration,
}

/// What one evaluation produced for the subscribers up to date, for those owed a full
/// result, and for those catching up.
struct Evaluated {
    live: LiveComputation,
    update: Option<Produced>,
    snapshot: Option<Produced>,
    catch_up: Option<Produced>,
    /// How long the evaluation took.
    took: Duration,
}

/// One update, and the start of its append (`None`: not an append).
struct Produced {
    update: SubscriptionUpdate,
    start: Option<i64>,
}

impl Produced {
    fn new(update: SubscriptionUpdate) -> Self {
        let start = match &update {
            SubscriptionUpdate::Append(a) => timestamp_to_nanos(&a.start).ok(),
            _ => None,
        };
        Produced { update, start }
    }
}

/// An encoded update and the start of its append.
struct Encoded {
    frame: UpdateFrame,
    start: Option<i64>,
}

fn encode(produced: Produced) -> Option<Encoded> {
    Some(Encoded {
        start: produced.start,
        frame: UpdateFrame::encode(produced.update)?,
    })
}

/// Who is owed what at the start of a round.
#[derive(Default)]
struct Roster {
    /// Owed a full result, with room for it.
    fresh: HashSet<u64>,
    /// Owed an append, with room for it.
    behind: HashSet<u64>,
    /// The earliest start any of `behind` needs.
    since: Option<i64>,
    /// Someone is owed something but has no room yet.
    stalled: bool,
}

impl Task {
    async fn run(self, mut live: LiveComputation) {
        let c = self.computation.clone();
        let mut last_round: Option<Instant> = None;
        let mut last_eval = Instant::now();
        // Unknown until measured: the first update runs on the pool.
        let mut last_update_cost = Duration::MAX;
        let mut retry_at: Option<Instant> = None;
        let mut first = true;
        // The last snapshot, valid for joiners until the next update round: it ends at or
        // after the others' last update, so the appends that follow merge into it as into
        // theirs. Subscriptions created in a burst then cost one evaluation per update
        // interval per computation, not one each.
        let mut snapshot_cache: Option<Encoded> = None;
        loop {
            let mut update_due = false;
            if !first {
                let next_update = last_round.map_or_else(Instant::now, |t| t + self.min_delay);
                let idle_at = last_eval + IDLE_TICK.max(self.min_delay);
                let data = async {
                    c.signal.wait().await;
                    tokio::time::sleep_until(next_update).await;
                    c.signal.fresher(self.min_delay).await;
                };
                let retry = async {
                    match retry_at {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                };
                // Only when nothing was written: a pending change is the data branch's to
                // time (it may hold for a fresher write; at a `minDelay` of 1 s the idle
                // tick used to fire first and send the old change at once).
                let idle = async {
                    tokio::time::sleep_until(idle_at).await;
                    if c.signal.pending() {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    _ = data => update_due = true,
                    _ = idle => update_due = true,
                    _ = c.wake.notified() => {}
                    _ = retry => retry_at = None,
                }
            }
            first = false;
            let Some(roster) = self.roster() else { break };
            if roster.stalled && retry_at.is_none() {
                retry_at = Some(Instant::now() + RETRY.max(self.min_delay));
            }
            if !update_due && roster.fresh.is_empty() && roster.behind.is_empty() {
                continue;
            }
            let earliest = update_due.then(|| c.signal.take().unwrap_or(NO_CHANGE));
            if update_due {
                snapshot_cache = None;
            }
            let asks = Asks {
                earliest,
                snapshot: !roster.fresh.is_empty() && snapshot_cache.is_none(),
                catch_up: roster.since.filter(|_| !roster.behind.is_empty()),
            };
            let only_update = asks.only_update();
            let here = only_update && last_update_cost < RUN_HERE_BELOW;
            let Ok(evaluated) = self.evaluate(live, asks, here).await else {
                self.fail();
                break;
            };
            if only_update {
                last_update_cost = evaluated.took;
            }
            live = evaluated.live;
            last_eval = Instant::now();
            let update = evaluated.update.and_then(encode);
            if let Some(fresh) = evaluated.snapshot.and_then(encode) {
                snapshot_cache = Some(fresh);
            }
            let catch_up = evaluated.catch_up.and_then(encode);
            // The first full result starts the `minDelay` clock like an update does, and so
            // does an update round that found nothing changed (a range still open): the
            // cadence bounds evaluations, not only sends, so an unchanged computation is not
            // re-evaluated on every write.
            if update_due || update.is_some() || last_round.is_none() {
                last_round = Some(Instant::now());
            }
            let frames = Frames {
                update: update.as_ref(),
                snapshot: snapshot_cache.as_ref(),
                catch_up: catch_up.as_ref(),
            };
            if self.deliver(&roster, &frames) {
                retry_at = Some(Instant::now() + RETRY.max(self.min_delay));
            }
        }
        self.app.computations.forget(&self.key, &c);
        self.app.hub.unwatch(&c.plan.watched_channels(), &c.signal);
    }

    /// Who is owed what; `None` (and the computation closed) once nobody is left.
    fn roster(&self) -> Option<Roster> {
        let mut members = self.computation.members.lock();
        if members.list.is_empty() {
            members.closed = true;
            return None;
        }
        let mut roster = Roster::default();
        for (key, member) in &members.list {
            if member.owed == Owed::Nothing {
                continue;
            }
            // A stalled reader is sent nothing more until its queue has drained.
            if !member.subscriber.tx.has_room() {
                roster.stalled = true;
                continue;
            }
            match member.owed {
                Owed::Nothing => {}
                Owed::Full => {
                    roster.fresh.insert(*key);
                }
                Owed::Since(t) => {
                    roster.behind.insert(*key);
                    roster.since = Some(roster.since.map_or(t, |s: i64| s.min(t)));
                }
            }
        }
        Some(roster)
    }

    /// Evaluates what `asks` asks for: `here` (an update only, whose previous update took
    /// less than [`RUN_HERE_BELOW`]), or on the pool.
    async fn evaluate(
        &self,
        live: LiveComputation,
        asks: Asks,
        here: bool,
    ) -> Result<Evaluated, EvalFailed> {
        let work = self.evaluation(live, asks);
        if here {
            crate::eval_pool::run_here(work)
        } else {
            self.app.eval.run(Lane::Update, work).await
        }
    }

    /// The evaluation of what `asks` asks for, to run on any thread.
    fn evaluation(
        &self,
        mut live: LiveComputation,
        asks: Asks,
    ) -> impl FnOnce() -> Evaluated + Send + 'static {
        let app = self.app.clone();
        let appends = self.appends;
        move || {
            let started = std::time::Instant::now();
            let source = StoreSource(app.store.as_ref());
            let now = app.clock.now_nanos();
            let update = asks.earliest.and_then(|t| {
                let outcome = match t {
                    // Whole windows only, and data did change: no need to diff first.
                    t if !appends && t != NO_CHANGE => live.full(&source, now).map(full),
                    t => match live.update(&source, t, now) {
                        Ok(LiveUpdate::Unchanged) => Ok(None),
                        Ok(LiveUpdate::Full(result)) => Ok(full(result)),
                        Ok(LiveUpdate::Append(append)) if appends => {
                            Ok(Some(SubscriptionUpdate::Append(append)))
                        }
                        Ok(LiveUpdate::Append(_)) => live.full(&source, now).map(full),
                        Err(e) => Err(e),
                    },
                };
                outcome.unwrap_or_else(|e| update_error(ComputeRequestError::from(e).to_wire()))
            });
            let snapshot = asks.snapshot.then(|| {
                live.snapshot(&source, now)
                    .map(full)
                    .unwrap_or_else(|e| update_error(ComputeRequestError::from(e).to_wire()))
            });
            let catch_up = asks
                .catch_up
                .map(|from| match live.catch_up(&source, from, now) {
                    Ok(LiveUpdate::Append(append)) => Some(SubscriptionUpdate::Append(append)),
                    Ok(LiveUpdate::Full(result)) => full(result),
                    Ok(LiveUpdate::Unchanged) => None,
                    Err(e) => update_error(ComputeRequestError::from(e).to_wire()),
                });
            Evaluated {
                live,
                update: update.map(Produced::new),
                snapshot: snapshot.flatten().map(Produced::new),
                catch_up: catch_up.flatten().map(Produced::new),
                took: started.elapsed(),
            }
        }
    }

    /// Sends the update to the members up to date, the snapshot to the fresh ones of the
    /// roster and the catch-up append to the ones behind (members owed something who were
    /// not in the roster, e.g. joined during the evaluation, wait for the next round).
    /// Returns whether some member's queue refused its frame.
    fn deliver(&self, roster: &Roster, frames: &Frames<'_>) -> bool {
        let mut refused = false;
        // A full result (new shape, or whole windows only) serves everyone; a catch-up
        // append computed in the same round would be in a shape the member does not hold.
        let full_update = frames.update.filter(|u| u.start.is_none());
        let mut members = self.computation.members.lock();
        for (key, member) in members.list.iter_mut() {
            let encoded = match member.owed {
                Owed::Nothing => frames.update,
                Owed::Full if roster.fresh.contains(key) => frames.snapshot,
                Owed::Since(_) if roster.behind.contains(key) => full_update.or(frames.catch_up),
                Owed::Full | Owed::Since(_) => {
                    // Missed this round's update too.
                    if let Some(update) = frames.update {
                        member.owed = member.owed.missed(update.start);
                    }
                    continue;
                }
            };
            let Some(encoded) = encoded else { continue };
            let s = &member.subscriber;
            let frame = encoded.frame.for_subscription(s.id);
            if s.tx.try_frame((s.id, s.generation), frame) {
                member.owed = Owed::Nothing;
            } else {
                member.owed = member.owed.missed(encoded.start);
                refused = true;
            }
        }
        refused
    }

    /// A computation that fails for good sends each subscriber a creation error and ends
    /// (PROTOCOL §5).
    fn fail(&self) {
        let error = ErrorName::DefaultInternal.error("the computation failed; see the server log");
        tracing::error!(instance = %error.instance_id, "a shared computation failed for good");
        let mut members = self.computation.members.lock();
        for member in members.list.values() {
            let s = &member.subscriber;
            let message = ServerMessage::SubscriptionCreation(SubscriptionCreationMessage {
                subscription_id: s.id,
                creation: SubscriptionCreation::Error(SubscriptionCreationError {
                    serializable_error: error.to_serializable(),
                }),
            });
            if let Some(json) = to_json(&message) {
                s.tx.try_frame((s.id, s.generation), json);
            }
        }
        members.closed = true;
        drop(members);
        self.computation.closed.send_replace(true);
    }
}

fn full(result: ComputeNodeResponse) -> Option<SubscriptionUpdate> {
    Some(SubscriptionUpdate::Full(FullResult { result }))
}

fn update_error(wire: WireError) -> Option<SubscriptionUpdate> {
    Some(SubscriptionUpdate::Error(SubscriptionUpdateError {
        serializable_error: wire.to_serializable(),
    }))
}
