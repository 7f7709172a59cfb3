//! Owns the client's error type: what can go wrong connecting, subscribing and merging.

use sightline_wire::api::SerializableError;

/// A failure the caller sees.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No server URL was given.
    #[error("no server URL given")]
    NoUrls,
    /// A URL is not a `ws://` or `wss://` URL.
    #[error(
        "`{url}` is not a WebSocket URL (ws://host:port/persistent-compute/ws, or wss:// for TLS)"
    )]
    BadUrl {
        /// The URL as given.
        url: String,
    },
    /// The extra CA certificate file cannot be used.
    #[error("cannot use the CA certificate file {}: {reason}", .path.display())]
    BadCaCert {
        /// The file as given.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS configuration could not be made.
    #[error("cannot set up TLS: {reason}")]
    Tls {
        /// Why.
        reason: String,
    },
    /// A `wss://` server's certificate is not trusted by the platform's roots or the extra
    /// CA certificate.
    #[error("the server's certificate is not trusted ({reason}) at {url}; pass --ca-cert FILE (Options::ca_cert) with the CA certificate that signed it, e.g. the server's own --tls-cert file when it is self-signed")]
    UntrustedCertificate {
        /// The URL whose certificate was refused.
        url: String,
        /// rustls's reason, e.g. `UnknownIssuer` or `NotValidForName`.
        reason: String,
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
