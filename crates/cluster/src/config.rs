//! How a node joins the cluster: where NATS is, who this node is, and the settings of the
//! stream that holds the write log (used only by the node that creates it).

use std::path::PathBuf;
use std::time::Duration;

/// How many copies JetStream keeps of the write log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replicas {
    /// Three when the NATS cluster has room for them, else one (a single NATS server).
    Auto,
    /// Exactly this many (1 to 5); creating the stream fails if NATS has fewer servers.
    Exactly(usize),
}

/// Settings of cluster mode.
#[derive(Debug, Clone)]
pub struct ClusterConfig {
    /// NATS server URLs (`nats://host:port`); the client fails over between them.
    pub urls: Vec<String>,
    /// This node's name, shown to NATS and in logs; unique per node.
    pub node_id: String,
    /// Directory for this node's cluster state (the last applied log position); inside the
    /// node's data directory so it moves with the store it describes.
    pub state_dir: PathBuf,
    /// JetStream stream holding the write log.
    pub stream: String,
    /// Subject prefix of the log; dataset tokens follow it.
    pub subject_prefix: String,
    /// Copies of the log kept by JetStream.
    pub replicas: Replicas,
    /// How long the log keeps writes; `None` keeps everything. A node further behind than
    /// this cannot catch up from the log and refuses to start.
    pub retention: Option<Duration>,
    /// How long a write waits for JetStream's acknowledgement before it is refused (the
    /// client retries; the upstream clients give up after 2 s).
    pub publish_timeout: Duration,
    /// How long an acknowledged write waits to be applied on the node that received it, so
    /// the writer reads its own write; past it the write is acknowledged anyway (it is safe in
    /// the log) and a warning is logged.
    pub read_your_writes_timeout: Duration,
}

impl ClusterConfig {
    /// Defaults for a node named `node_id` keeping its state under `data_dir/cluster`.
    pub fn new(urls: Vec<String>, node_id: impl Into<String>, data_dir: &std::path::Path) -> Self {
        ClusterConfig {
            urls,
            node_id: node_id.into(),
            state_dir: data_dir.join("cluster"),
            stream: "SIGHTLINE".to_string(),
            subject_prefix: "sightline.write".to_string(),
            replicas: Replicas::Auto,
            retention: None,
            publish_timeout: Duration::from_secs(5),
            read_your_writes_timeout: Duration::from_secs(5),
        }
    }
}
