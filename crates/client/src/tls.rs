//! Owns the client's TLS trust for `wss://` URLs: the platform's root certificates plus an
//! optional extra CA certificate (PEM file), on rustls with the `ring` provider (as the
//! server uses), and recognising an untrusted server certificate among connect failures.

use crate::error::ClientError;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;

/// The rustls client configuration for every `wss://` connection of a session.
pub(crate) fn config(ca_cert: Option<&Path>) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable platform certificates are skipped: a `--ca-cert` may be all that is needed.
    let native = rustls_native_certs::load_native_certs();
    for error in &native.errors {
        tracing::debug!(%error, "skipping a platform root certificate source");
    }
    let (added, ignored) = roots.add_parsable_certificates(native.certs);
    tracing::debug!(added, ignored, "platform root certificates");
    if let Some(path) = ca_cert {
        let bad = |reason: String| ClientError::BadCaCert {
            path: path.to_path_buf(),
            reason,
        };
        let certs = CertificateDer::pem_file_iter(path)
            .map_err(|e| bad(e.to_string()))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(e.to_string()))?;
        if certs.is_empty() {
            return Err(bad(
                "it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into(),
            ));
        }
        for cert in certs {
            roots.add(cert).map_err(|e| bad(e.to_string()))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls {
            reason: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The certificate problem, when a connect failure is the server's certificate being
/// refused (unknown issuer, wrong name, expired, ...).
pub(crate) fn untrusted(error: &tokio_tungstenite::tungstenite::Error) -> Option<String> {
    let tokio_tungstenite::tungstenite::Error::Io(io) = error else {
        return None;
    };
    match io.get_ref()?.downcast_ref::<rustls::Error>()? {
        rustls::Error::InvalidCertificate(why) => Some(format!("{why:?}")),
        _ => None,
    }
}
