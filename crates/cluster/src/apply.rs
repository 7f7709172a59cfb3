//! The applier: follows the write log in order from the first sequence this node has not
//! applied, and writes each chunk of ready messages into the local store with one store write
//! (one sync), then advances [`Progress`].
//!
//! Every node applies the same messages in the same order, so every node's store converges
//! to the same state, and its change feed (which drives subscriptions) fires from applying,
//! whichever node took the write. A message the local store refuses (two nodes accepted
//! different types for a new channel at the same moment) is refused on every node alike: it
//! is logged and skipped.

use crate::codec;
use crate::error::ClusterError;
use crate::progress::Progress;
use async_nats::jetstream::consumer::{pull::OrderedConfig, DeliverPolicy};
use async_nats::jetstream::stream::Stream;
use futures::StreamExt as _;
use sightline_store::{SeriesWrite, Store, StoreError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Most messages applied in one store write.
const CHUNK: usize = 512;
/// How often the applied position is written to disk while messages flow.
const PERSIST_EVERY: Duration = Duration::from_millis(200);
/// Longest pull request; the idle heartbeat is half of it.
const PULL_EXPIRY: Duration = Duration::from_secs(4);
/// How often the watchdog compares the log's end with the applied position.
const WATCHDOG_TICK: Duration = Duration::from_secs(1);
/// How long the log may hold unapplied writes with none arriving before the consumer is
/// replaced.
const STALL_LIMIT: Duration = Duration::from_secs(3);
/// Pause before following the log again after NATS failed.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// What the applier needs.
pub(crate) struct Applier {
    pub(crate) stream: Stream,
    pub(crate) local: Arc<dyn Store>,
    pub(crate) progress: Arc<Progress>,
    pub(crate) filter: String,
    pub(crate) node_id: String,
}

/// Why applying stopped for good.
#[derive(Debug, thiserror::Error)]
enum Fatal {
    #[error("the local store failed")]
    Store(#[source] StoreError),
    /// The next message the log delivers is past writes this node never applied: they
    /// expired while the node was away (or cut off from NATS).
    #[error(transparent)]
    Behind(ClusterError),
}

impl Applier {
    /// Follows the log until `stop` turns true or the local store fails.
    pub(crate) async fn run(self, mut stop: watch::Receiver<bool>) {
        while !*stop.borrow() {
            tokio::select! {
                result = self.follow_watched() => match result {
                    Ok(()) => {}
                    Err(FollowError::Fatal(e)) => {
                        tracing::error!(node = %self.node_id, "cluster: applying the write log stopped: {}", error_chain(&e));
                        break;
                    }
                    Err(FollowError::Nats(e)) => {
                        tracing::warn!(node = %self.node_id, error = %e, applied = self.progress.applied(),
                            "cluster: lost the write log; following it again");
                        tokio::time::sleep(RETRY_AFTER).await;
                    }
                },
                _ = stop.changed() => {}
            }
        }
        if let Err(e) = self.progress.persist() {
            tracing::warn!(error = %e, "cluster: could not record the applied position");
        }
    }

    /// [`Applier::follow`], given up when the log has writes this node has not applied and
    /// none arrived for [`STALL_LIMIT`]: a consumer left on a NATS server that died can wait a
    /// long time before the client library notices, and the writers on this node wait with it.
    async fn follow_watched(&self) -> Result<(), FollowError> {
        let follow = self.follow();
        tokio::pin!(follow);
        let mut tick = tokio::time::interval(WATCHDOG_TICK);
        let mut last_applied = self.progress.applied();
        let mut stalled_since: Option<Instant> = None;
        loop {
            tokio::select! {
                result = &mut follow => return result,
                _ = tick.tick() => {
                    let applied = self.progress.applied();
                    if applied != last_applied {
                        (last_applied, stalled_since) = (applied, None);
                        continue;
                    }
                    if self.progress.unpersisted() {
                        // Writes stopped arriving: record where they stopped, so a kill
                        // now replays nothing.
                        self.persist().await;
                    }
                    let log_end = match tokio::time::timeout(WATCHDOG_TICK, self.stream.get_info()).await {
                        Ok(Ok(info)) => info.state.last_sequence,
                        // No answer: the log itself is electing a leader; nothing to read yet.
                        _ => continue,
                    };
                    if log_end <= applied {
                        stalled_since = None;
                    } else if stalled_since.get_or_insert_with(Instant::now).elapsed() >= STALL_LIMIT {
                        return Err(FollowError::Nats(
                            format!("no write arrived for {STALL_LIMIT:?} although the log holds up to {log_end} and this node applied {applied}").into(),
                        ));
                    }
                }
            }
        }
    }

    /// One consumer's life: from the next unapplied sequence until an error.
    async fn follow(&self) -> Result<(), FollowError> {
        let applied = self.progress.applied();
        let deliver_policy = if applied == 0 {
            DeliverPolicy::All
        } else {
            DeliverPolicy::ByStartSequence {
                start_sequence: applied + 1,
            }
        };
        let consumer = self
            .stream
            .create_consumer(OrderedConfig {
                filter_subject: self.filter.clone(),
                deliver_policy,
                // Short pulls, so a consumer left on a NATS server that died is noticed
                // (missed heartbeats) in seconds rather than half a minute.
                max_expires: PULL_EXPIRY,
                ..Default::default()
            })
            .await
            .map_err(nats)?;
        let messages = consumer.messages().await.map_err(nats)?;
        let mut chunks = messages.ready_chunks(CHUNK);
        let mut persisted = Instant::now();
        while let Some(chunk) = chunks.next().await {
            let mut entries = Vec::with_capacity(chunk.len());
            for message in chunk {
                let message = message.map_err(nats)?;
                let seq = message.info().map_err(FollowError::Nats)?.stream_sequence;
                let expected = entries.last().map_or(self.progress.applied(), |&(s, _)| s) + 1;
                if seq < expected {
                    continue; // Redelivered after the consumer was recreated.
                }
                if seq > expected {
                    // The log holds every write under one subject tree, so its sequences
                    // have no holes: a jump means writes expired before this node saw them.
                    // Apply what came before the hole, then refuse.
                    if !entries.is_empty() {
                        let last = entries.last().map_or(0, |&(s, _)| s);
                        self.apply(entries).await?;
                        self.progress.advance(last);
                    }
                    let applied = self.progress.applied();
                    self.progress.refuse(seq);
                    return Err(FollowError::Fatal(Fatal::Behind(ClusterError::Behind {
                        applied,
                        first: seq,
                    })));
                }
                entries.push((seq, message.message.payload));
            }
            let Some(&(last, _)) = entries.last() else {
                continue;
            };
            self.apply(entries).await?;
            self.progress.advance(last);
            if persisted.elapsed() >= PERSIST_EVERY {
                persisted = Instant::now();
                self.persist().await;
            }
        }
        Err(FollowError::Nats(
            "the write log's message stream ended".into(),
        ))
    }

    /// Records the applied position on disk; a failed record only means more replay after a
    /// restart.
    async fn persist(&self) {
        let progress = self.progress.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || progress.persist()).await {
            tracing::warn!(error = %e, "cluster: could not record the applied position");
        }
    }

    /// Writes a chunk with one store write; if the store refuses it, message by message so
    /// one refused message does not take the others with it.
    async fn apply(&self, entries: Vec<(u64, bytes::Bytes)>) -> Result<(), FollowError> {
        let mut all = Vec::new();
        let mut decoded = Vec::with_capacity(entries.len());
        for (seq, payload) in &entries {
            let mut writes = Vec::new();
            match codec::decode_into(payload, &mut writes) {
                Ok(()) => decoded.push((*seq, writes)),
                Err(e) => tracing::error!(seq, error = %e, "cluster: skipping a log message"),
            }
        }
        for (_, writes) in &decoded {
            all.extend(writes.iter().cloned());
        }
        match self.write(all).await {
            Ok(()) => return Ok(()),
            Err(e) if !refusal(&e) => return Err(FollowError::Fatal(Fatal::Store(e))),
            Err(_) => {}
        }
        for (seq, writes) in decoded {
            match self.write(writes).await {
                Ok(()) => {}
                Err(e) if refusal(&e) => {
                    tracing::error!(seq, error = %e, "cluster: every node refuses this log message; skipped")
                }
                Err(e) => return Err(FollowError::Fatal(Fatal::Store(e))),
            }
        }
        Ok(())
    }

    async fn write(&self, writes: Vec<SeriesWrite>) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let local = self.local.clone();
        match tokio::task::spawn_blocking(move || local.write(writes)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(StoreError::Closed),
        }
    }
}

/// Whether the store refused the write's content (the same on every node) rather than failed.
fn refusal(e: &StoreError) -> bool {
    match e {
        // Cardinality limits refuse alike on every node as long as the nodes share them.
        StoreError::TypeConflict { .. }
        | StoreError::LengthMismatch { .. }
        | StoreError::TooManySeries { .. }
        | StoreError::TooManyTags { .. }
        | StoreError::TagTooLong { .. } => true,
        StoreError::Io(_)
        | StoreError::Corrupt { .. }
        | StoreError::Closed
        | StoreError::Unavailable { .. } => false,
    }
}

enum FollowError {
    Fatal(Fatal),
    Nats(Box<dyn std::error::Error + Send + Sync>),
}

fn nats(e: impl std::error::Error + Send + Sync + 'static) -> FollowError {
    FollowError::Nats(Box::new(e))
}

/// `e` and its sources, `: `-separated, for a log line.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
