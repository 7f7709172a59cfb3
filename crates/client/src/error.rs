//! Owns the client's error type: what can go wrong connecting, subscribing and merging.

use sightline_wire::api::SerializableError;

/// A failure the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No server URL was given.
    #[error("no server URL given")]
    NoUrls,
    /// A URL is not a `ws://` URL.
    #[error("`{url}` is not a WebSocket URL (ws://host:port/persistent-compute/ws)")]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// A `wss://` URL: this client speaks plain `ws://` only.
    #[error("`{url}` needs TLS, which this client does not speak yet; connect with ws:// (e.g. through a TLS-terminating proxy on the same host)")]
    TlsUnsupported {
        /// The URL as given.
        url: String,
    },
    /// The token cannot be sent as an HTTP header.
    #[error("the token contains characters an HTTP header cannot carry")]
    BadToken,
    /// Every server refused or was unreachable on the first attempt.
    #[error("could not connect to any of {}: {last}", .urls.join(", "))]
    Unreachable {
        /// The URLs tried.
        urls: Vec<String>,
        /// The last failure, e.g. `connection refused` or `HTTP 401`.
        last: String,
    },
    /// The server refused the subscription (bad graph, no permission, ...).
    #[error("subscription refused: {}: {}", .error.name, .error.message.as_deref().unwrap_or("no message"))]
    Refused {
        /// The upstream error, with its name and parameters.
        error: SerializableError,
    },
    /// An update broke the merge rules; the state is unchanged and a fresh full result
    /// has been requested.
    #[error("update could not be merged: {0}")]
    Merge(#[from] crate::merge::MergeError),
    /// The server sent an update kind this client does not know; the state is unchanged.
    #[error("the server sent an update of kind `{kind}`, which this client does not know")]
    UnknownUpdate {
        /// The upstream variant name.
        kind: String,
    },
    /// The session ended (the client was dropped or gave up).
    #[error("the session has ended")]
    Closed,
}
