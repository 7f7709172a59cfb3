//! Joining at start: connecting to NATS and opening (or creating) the write log's stream. A
//! NATS cluster started alongside the nodes (one compose file, one test) may not listen yet,
//! or may listen without a JetStream leader, or have one and still answer "no peers" or
//! "insufficient resources" while its servers count each other: the node waits for that (at
//! most [`PATIENCE`] for each step, saying so in its log) instead of exiting. A refusal that
//! waiting cannot change (a URL that does not parse, refused credentials, a stream of
//! another shape) ends the start at once.

use crate::config::{ClusterConfig, Replicas};
use crate::error::ClusterError;
use async_nats::jetstream::context::{CreateStreamError, CreateStreamErrorKind};
use async_nats::jetstream::{self, stream, ErrorCode};
use async_nats::ConnectErrorKind;
use std::future::Future;
use std::time::{Duration, Instant};

/// Longest a starting node waits for NATS to answer, and then for JetStream to take the
/// stream.
const PATIENCE: Duration = Duration::from_secs(30);
/// First pause between attempts; it doubles up to [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// A client connected to one of `config`'s NATS servers; a refused or unanswered
/// connection, or a name not resolved yet (a container not started yet), is tried again
/// until [`PATIENCE`] has passed.
pub(crate) async fn connect(config: &ClusterConfig) -> Result<async_nats::Client, ClusterError> {
    let urls = config.urls.join(",");
    let connect_error = |source| ClusterError::Connect {
        urls: urls.clone(),
        source,
    };
    let addrs = config
        .urls
        .iter()
        .map(|u| u.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| connect_error(e.into()))?;
    let transient = |e: &async_nats::ConnectError| {
        matches!(
            e.kind(),
            ConnectErrorKind::Io | ConnectErrorKind::TimedOut | ConnectErrorKind::Dns
        )
    };
    patiently(
        &format!("NATS at {urls} does not answer yet"),
        transient,
        || {
            async_nats::ConnectOptions::new()
                .name(format!("sightline-{}", config.node_id))
                .max_reconnects(None)
                .connect(addrs.clone())
        },
    )
    .await
    .map_err(connect_error)
}

/// Runs `attempt` until it succeeds, fails in a way `transient` does not call passing, or
/// [`PATIENCE`] is spent, pausing (and logging that it is `waiting`) between tries.
async fn patiently<T, E: std::fmt::Display, F: Future<Output = Result<T, E>>>(
    waiting: &str,
    transient: impl Fn(&E) -> bool,
    mut attempt: impl FnMut() -> F,
) -> Result<T, E> {
    let deadline = Instant::now() + PATIENCE;
    let mut pause = FIRST_PAUSE;
    loop {
        match attempt().await {
            Err(e) if transient(&e) && Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, retry_in = ?pause, "cluster: {waiting}; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            result => return result,
        }
    }
}

/// The stream error of `config`'s stream.
pub(crate) fn stream_error(
    config: &ClusterConfig,
    e: impl std::error::Error + Send + Sync + 'static,
) -> ClusterError {
    ClusterError::Stream {
        stream: config.stream.clone(),
        source: Box::new(e),
    }
}

/// Opens the stream, or creates it: with three copies when `Auto` and NATS has room for
/// them, else one. Refusals JetStream gives while its cluster is still forming are retried
/// until [`PATIENCE`] has passed.
pub(crate) async fn open_stream(
    jetstream: &jetstream::Context,
    config: &ClusterConfig,
) -> Result<stream::Stream, ClusterError> {
    patiently(
        "JetStream cannot take the write log yet (its cluster may still be forming)",
        |e| is_transient(e, config.replicas),
        || open_once(jetstream, config),
    )
    .await
    .map_err(|e| stream_error(config, e))
}

/// One attempt: the stream if it exists, else a new one.
async fn open_once(
    jetstream: &jetstream::Context,
    config: &ClusterConfig,
) -> Result<stream::Stream, CreateStreamError> {
    if let Ok(stream) = jetstream.get_stream(&config.stream).await {
        return Ok(stream);
    }
    let settings = |replicas: usize| stream::Config {
        name: config.stream.clone(),
        subjects: vec![crate::subject::all(&config.subject_prefix)],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        max_age: config.retention.unwrap_or_default(),
        ..Default::default()
    };
    let first_try = match config.replicas {
        Replicas::Auto => 3,
        Replicas::Exactly(n) => n,
    };
    match jetstream.create_stream(settings(first_try)).await {
        Ok(stream) => Ok(stream),
        Err(e) => {
            // Another node may have created it meanwhile.
            if let Ok(stream) = jetstream.get_stream(&config.stream).await {
                return Ok(stream);
            }
            if config.replicas != Replicas::Auto || is_transient(&e, config.replicas) {
                return Err(e);
            }
            tracing::warn!(error = %e, "cluster: NATS has no room for three copies of the write log; keeping one (run three NATS servers for fault tolerance)");
            jetstream.create_stream(settings(1)).await
        }
    }
}

/// Whether JetStream may take the stream if asked again shortly: it did not answer, or
/// it said its cluster is not ready. With an exact number of copies, also when it has too
/// few peers for them: a forming cluster has not counted them all yet. `Auto` takes that
/// answer as final and keeps one copy, so a NATS of one or two servers starts at once.
fn is_transient(e: &CreateStreamError, replicas: Replicas) -> bool {
    match e.kind() {
        CreateStreamErrorKind::JetStreamUnavailable | CreateStreamErrorKind::TimedOut => true,
        CreateStreamErrorKind::JetStream(e) => {
            let code = e.error_code();
            code == ErrorCode::CLUSTER_NOT_AVAILABLE
                || (matches!(replicas, Replicas::Exactly(_))
                    && [
                        ErrorCode::CLUSTER_NOT_ACTIVE,
                        ErrorCode::CLUSTER_NO_PEERS,
                        ErrorCode::INSUFFICIENT_RESOURCES,
                    ]
                    .contains(&code))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refusal as JetStream's API sends it.
    fn refused(err_code: u64) -> CreateStreamError {
        let body = format!(r#"{{"code":503,"err_code":{err_code},"description":"refused"}}"#);
        let error: jetstream::Error = serde_json::from_str(&body).expect("an API error");
        CreateStreamError::new(CreateStreamErrorKind::JetStream(error))
    }

    #[test]
    fn only_what_a_forming_cluster_says_is_retried() {
        let exactly = Replicas::Exactly(3);
        let unanswered = CreateStreamError::new(CreateStreamErrorKind::TimedOut);
        assert!(is_transient(&unanswered, exactly));
        assert!(is_transient(&unanswered, Replicas::Auto));
        // "JetStream system temporarily unavailable": retried whatever was asked.
        assert!(is_transient(&refused(10008), exactly));
        assert!(is_transient(&refused(10008), Replicas::Auto));
        // Too few peers for three copies: a forming cluster may not have counted them all,
        // but `Auto` takes it as the answer and keeps one copy.
        for code in [10005, 10006, 10023] {
            assert!(is_transient(&refused(code), exactly), "{code}");
            assert!(!is_transient(&refused(code), Replicas::Auto), "{code}");
        }
        // A stream of another shape, a bad name, replicas a lone server cannot hold: final.
        for code in [10058, 10074] {
            assert!(!is_transient(&refused(code), exactly), "{code}");
        }
        let bad_name = CreateStreamError::new(CreateStreamErrorKind::InvalidStreamName);
        assert!(!is_transient(&bad_name, exactly));
    }
}
