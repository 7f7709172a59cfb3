//! [`ClusterError`]: why a node could not join the cluster, or stopped following it.

/// Why a node could not join the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// No NATS server answered.
    #[error("cannot reach NATS at {urls}; is nats-server running with JetStream (-js)?")]
    Connect {
        /// The URLs tried.
        urls: String,
        /// Why.
        #[source]
        source: async_nats::ConnectError,
    },
    /// The stream could not be opened or created.
    #[error("cannot open or create the JetStream stream `{stream}`")]
    Stream {
        /// Stream name.
        stream: String,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The node's cluster state file could not be read or written.
    #[error("cluster state in {dir}")]
    State {
        /// The state directory.
        dir: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The log no longer holds every write this node still has to apply. The node keeps
    /// running so `/health` can say so, but refuses writes and applies nothing more.
    #[error(
        "this node has applied the write log up to sequence {applied}, but the log now starts \
         at {first}: the writes between have expired. Re-seed the node: stop it, replace its \
         data directory with a copy of a stopped, caught-up node's, and start it again"
    )]
    Behind {
        /// Last sequence this node applied.
        applied: u64,
        /// First sequence the log still holds.
        first: u64,
    },
    /// The stream was deleted and created anew since this node last applied it.
    #[error(
        "the write log `{stream}` was created anew since this node last applied it, so its \
         data directory belongs to an older cluster. Re-seed the node: stop it, replace its \
         data directory with a copy of a stopped, caught-up node's (or an empty one), and \
         start it again"
    )]
    StreamReplaced {
        /// Stream name.
        stream: String,
    },
}
