//! `sightline serve --cluster ...`: the flags of cluster mode and putting the node's local
//! store behind the replicated write log (`sightline-cluster`).

use anyhow::Context as _;
use sightline_cluster::{ClusterConfig, ClusterStore, Replicas};
use sightline_store::{parse_duration, Readiness, Store};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Cluster flags of `sightline serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ClusterArgs {
    /// Run as a cluster node on NATS JetStream: comma-separated server URLs
    /// (`nats://127.0.0.1:4222,nats://127.0.0.1:4223`). Writes are acknowledged once the
    /// replicated log has them; every node applies the log to its own store. See docs/cluster.md.
    #[arg(long, value_delimiter = ',', value_name = "NATS_URLS")]
    cluster: Vec<String>,
    /// This node's name in the cluster (unique per node); defaults to the host name and port.
    #[arg(long, requires = "cluster")]
    node_id: Option<String>,
    /// Copies JetStream keeps of the write log when this node creates it: `auto` (three when
    /// the NATS cluster has room, else one) or a number from 1 to 5.
    #[arg(long, default_value = "auto", value_parser = parse_replicas, requires = "cluster")]
    cluster_replicas: Replicas,
    /// How long the write log keeps writes when this node creates it (e.g. `7d`); default
    /// keeps everything. A node further behind than this must be re-seeded.
    #[arg(long, value_parser = parse_duration, requires = "cluster")]
    cluster_retention: Option<Duration>,
}

fn parse_replicas(text: &str) -> Result<Replicas, String> {
    match text {
        "auto" => Ok(Replicas::Auto),
        n => match n.parse::<usize>() {
            Ok(n @ 1..=5) => Ok(Replicas::Exactly(n)),
            _ => Err(format!(
                "`{n}` is not `auto` or a number of copies from 1 to 5"
            )),
        },
    }
}

/// The store to serve from: `local` itself, or, in cluster mode, the replicated log in front
/// of it.
pub(crate) async fn store(
    local: Arc<dyn Store>,
    args: &ClusterArgs,
    data_dir: &Path,
    listen: &str,
) -> anyhow::Result<Arc<dyn Store>> {
    if args.cluster.is_empty() {
        return Ok(local);
    }
    let node_id = args.node_id.clone().unwrap_or_else(|| listen.to_string());
    let mut config = ClusterConfig::new(args.cluster.clone(), node_id.clone(), data_dir);
    config.replicas = args.cluster_replicas;
    config.retention = args.cluster_retention;
    let store = ClusterStore::start(local, config)
        .await
        .with_context(|| format!("joining the cluster as node `{node_id}`"))?;
    let watched = store.clone();
    tokio::spawn(async move {
        let mut reported = None;
        loop {
            match watched.readiness() {
                Readiness::Ready => {
                    tracing::info!(node = %node_id, "cluster: caught up with the write log; ready");
                    return;
                }
                Readiness::CatchingUp { applied, target } => {
                    if reported.is_none_or(|r: u64| applied >= r + 100_000) {
                        tracing::info!(applied, target, "cluster: catching up with the write log");
                        reported = Some(applied);
                    }
                }
                // The store logged why and how to re-seed; `/health` says it too.
                Readiness::Refusing { .. } => return,
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    Ok(store)
}
