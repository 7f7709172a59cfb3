//! [`ClusterStore`]: the [`Store`] a cluster node serves from. Writes go to the replicated
//! log and are acknowledged once JetStream has them (and this node has applied them, so a
//! writer reads its own write); everything else is the node's local store, which the
//! [`Applier`] keeps in step with the log.

use crate::apply::Applier;
use crate::config::ClusterConfig;
use crate::error::ClusterError;
use crate::open::{connect, open_stream, stream_error};
use crate::progress::Progress;
use crate::{codec, subject};
use async_nats::jetstream;
use bytes::Bytes;
use parking_lot::Mutex;
use sightline_store::{
    Change, ChannelInfo, LogEntry, Readiness, SeriesId, SeriesInfo, SeriesWrite, Store, StoreError,
    Tags, WriteReceipt,
};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::{broadcast, watch};

/// How long `close` waits for the applier to finish the chunk it is writing.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// A cluster node's store: the replicated write log in front of the local store.
pub struct ClusterStore {
    local: Arc<dyn Store>,
    jetstream: jetstream::Context,
    runtime: Handle,
    config: ClusterConfig,
    progress: Arc<Progress>,
    stop: watch::Sender<bool>,
    /// Receives once the applier has stopped; taken by `close`.
    applier_done: Mutex<Option<std::sync::mpsc::Receiver<()>>>,
    closed: AtomicBool,
    /// Writes acknowledged through this node, for `/metrics`.
    published: AtomicU64,
}

impl ClusterStore {
    /// Joins the cluster: connects to NATS, opens (or creates) the stream, checks that the
    /// log still holds everything this node has not applied, and starts applying it. The
    /// node reports [`Readiness::CatchingUp`] until it has applied the log's end as of now,
    /// or [`Readiness::Refusing`] (for good, until re-seeded) when the log no longer holds
    /// writes it has not applied.
    pub async fn start(
        local: Arc<dyn Store>,
        config: ClusterConfig,
    ) -> Result<Arc<ClusterStore>, ClusterError> {
        let state_error = |source| ClusterError::State {
            dir: config.state_dir.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&config.state_dir).map_err(state_error)?;
        let saved = Progress::load(&config.state_dir).map_err(state_error)?;
        let client = connect(&config).await?;
        let jetstream = jetstream::new(client);
        let stream = open_stream(&jetstream, &config).await?;
        let info = stream
            .get_info()
            .await
            .map_err(|e| stream_error(&config, e))?;
        let created = info.created.unix_timestamp_nanos();
        let applied = match saved {
            Some(s) if s.stream_created == created => s.applied,
            Some(_) => {
                return Err(ClusterError::StreamReplaced {
                    stream: config.stream.clone(),
                })
            }
            None => 0,
        };
        let (first, last) = (info.state.first_sequence, info.state.last_sequence);
        let progress = Arc::new(Progress::new(&config.state_dir, created, applied, last));
        progress.persist().map_err(state_error)?;
        let (stop, stop_rx) = watch::channel(false);
        let applier_done = if last > applied && first > applied + 1 {
            // The node runs, so `/health` can say why it refuses; it applies nothing more.
            progress.refuse(first);
            tracing::error!(node = %config.node_id, "cluster: {}", ClusterError::Behind { applied, first });
            None
        } else {
            tracing::info!(
                node = %config.node_id, stream = %config.stream, applied, log_end = last,
                replicas = info.config.num_replicas, "cluster: joined; applying the write log"
            );
            let (done_tx, done_rx) = std::sync::mpsc::channel();
            let applier = Applier {
                stream,
                local: local.clone(),
                progress: progress.clone(),
                filter: subject::all(&config.subject_prefix),
                node_id: config.node_id.clone(),
            };
            tokio::spawn(async move {
                applier.run(stop_rx).await;
                let _ = done_tx.send(());
            });
            Some(done_rx)
        };
        Ok(Arc::new(ClusterStore {
            local,
            jetstream,
            runtime: Handle::current(),
            config,
            progress,
            stop,
            applier_done: Mutex::new(applier_done),
            closed: AtomicBool::new(false),
            published: AtomicU64::new(0),
        }))
    }

    /// Publishes on the runtime and waits here, on the caller's (blocking) thread, for the
    /// log's acknowledgement and for this node to apply it.
    fn publish(&self, subject: String, payload: Bytes) -> Result<(), StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let jetstream = self.jetstream.clone();
        let progress = self.progress.clone();
        let (timeout, visible_within) = (
            self.config.publish_timeout,
            self.config.read_your_writes_timeout,
        );
        self.runtime.spawn(async move {
            let acked = tokio::time::timeout(timeout, async {
                jetstream.publish(subject, payload).await?.await
            })
            .await;
            let result = match acked {
                Ok(Ok(ack)) => {
                    if !progress.wait_for(ack.sequence, visible_within).await {
                        tracing::warn!(
                            seq = ack.sequence,
                            "cluster: write acknowledged by the log but not yet applied here"
                        );
                    }
                    Ok(())
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "cluster: the write log refused a write");
                    Err(unavailable(Box::new(e)))
                }
                Err(e) => {
                    tracing::warn!(timeout = ?timeout, "cluster: the write log did not acknowledge a write in time");
                    Err(unavailable(Box::new(e)))
                }
            };
            let _ = tx.send(result);
        });
        rx.recv().unwrap_or_else(|e| Err(unavailable(Box::new(e))))
    }
}

fn unavailable(source: Box<dyn std::error::Error + Send + Sync>) -> StoreError {
    StoreError::Unavailable {
        what: "the replicated write log",
        source,
    }
}

impl Store for ClusterStore {
    fn write(&self, batch: Vec<SeriesWrite>) -> Result<WriteReceipt, StoreError> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(StoreError::Closed);
        }
        if let Readiness::Refusing {
            applied,
            first_available,
        } = self.progress.readiness()
        {
            // It would never apply (and so never read) the write itself; another node will.
            return Err(StoreError::Unavailable {
                what: "this cluster node",
                source: Box::new(ClusterError::Behind {
                    applied,
                    first: first_available,
                }),
            });
        }
        self.local.validate(&batch)?;
        let Some(first) = batch.first() else {
            return Ok(WriteReceipt::default());
        };
        let points = batch.iter().map(|w| w.timestamps.len() as u64).sum();
        let subject = subject::for_dataset(&self.config.subject_prefix, &first.dataset);
        self.publish(subject, Bytes::from(codec::encode(&batch)))?;
        self.published.fetch_add(1, Ordering::Relaxed);
        Ok(WriteReceipt { points })
    }

    fn validate(&self, batch: &[SeriesWrite]) -> Result<(), StoreError> {
        self.local.validate(batch)
    }

    fn channel(&self, dataset: &str, channel: &str) -> Option<ChannelInfo> {
        self.local.channel(dataset, channel)
    }

    fn channels(&self, dataset: &str) -> Vec<ChannelInfo> {
        self.local.channels(dataset)
    }

    fn datasets(&self) -> Vec<Arc<str>> {
        self.local.datasets()
    }

    fn series(&self, dataset: &str, channel: &str, filter: &Tags) -> Vec<SeriesInfo> {
        self.local.series(dataset, channel, filter)
    }

    fn read_numeric(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<f64>,
    ) {
        self.local.read_numeric(id, start, end, timestamps, values)
    }

    fn read_strings(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<Arc<str>>,
    ) {
        self.local.read_strings(id, start, end, timestamps, values)
    }

    fn read_logs(
        &self,
        id: SeriesId,
        start: i64,
        end: i64,
        timestamps: &mut Vec<i64>,
        values: &mut Vec<LogEntry>,
    ) {
        self.local.read_logs(id, start, end, timestamps, values)
    }

    fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64> {
        self.local.nth_before(id, t, n)
    }

    fn count(&self, id: SeriesId, start: i64, end: i64) -> u64 {
        self.local.count(id, start, end)
    }

    fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)> {
        self.local.time_bounds(id)
    }

    fn changes(&self) -> broadcast::Receiver<Arc<Vec<Change>>> {
        self.local.changes()
    }

    fn readiness(&self) -> Readiness {
        self.progress.readiness()
    }

    fn metrics(&self) -> Vec<(&'static str, f64)> {
        let mut figures = self.local.metrics();
        figures.push((
            "cluster_ready",
            f64::from(u8::from(self.progress.readiness() == Readiness::Ready)),
        ));
        figures.push(("cluster_applied_sequence", self.progress.applied() as f64));
        figures.push((
            "cluster_acknowledged_writes_total",
            self.published.load(Ordering::Relaxed) as f64,
        ));
        figures
    }

    fn close(&self) -> Result<(), StoreError> {
        self.closed.store(true, Ordering::SeqCst);
        self.stop.send_replace(true);
        let done = self.applier_done.lock().take();
        if let Some(done) = done {
            if done.recv_timeout(STOP_TIMEOUT).is_err() {
                tracing::warn!("cluster: the applier did not stop in time");
            }
        }
        if let Err(e) = self.progress.persist() {
            tracing::warn!(error = %e, "cluster: could not record the applied position");
        }
        self.local.close()
    }
}
