//! Posting request bodies to a running server: bearer token, retries of what a retry can fix
//! (connection failures, 5xx, 429) with capped exponential back-off, and the server's error
//! name for what it refused.

use bytes::Bytes;
use std::time::Duration;

/// Attempts per request before giving up on a server that is down or overloaded.
const ATTEMPTS: u32 = 8;
/// Longest wait between two attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a request did not succeed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("{status} {error_name}: {message}")]
    Refused {
        status: u16,
        error_name: String,
        message: String,
    },
    #[error("unauthorized ({status})")]
    Unauthorized { status: u16 },
    #[error("unreachable after {attempts} attempts")]
    Unreachable {
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    #[error("server kept answering {status}")]
    Busy { status: u16, attempts: u32 },
}

/// A client of one server.
#[derive(Debug, Clone)]
pub(crate) struct Sender {
    client: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Sender {
    pub(crate) fn new(url: &str, token: Option<String>) -> Result<Self, reqwest::Error> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Sender {
            client,
            base: url.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub(crate) fn base(&self) -> &str {
        &self.base
    }

    /// Posts a JSON `body` to `path`, retrying what a retry can fix.
    pub(crate) async fn post_json(&self, path: &str, body: Bytes) -> Result<(), SendError> {
        self.post(path, "application/json", body).await
    }

    /// Posts `body` of `content_type` to `path`, retrying what a retry can fix.
    pub(crate) async fn post(
        &self,
        path: &str,
        content_type: &'static str,
        body: Bytes,
    ) -> Result<(), SendError> {
        let url = format!("{}{path}", self.base);
        let mut backoff = Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut request = self
                .client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body.clone());
            if let Some(token) = &self.token {
                request = request.bearer_auth(token);
            }
            let retry = match request.send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status().as_u16();
                    if status == 401 || status == 403 {
                        return Err(SendError::Unauthorized { status });
                    }
                    if status != 429 && status < 500 {
                        let body = response.bytes().await.unwrap_or_default();
                        return Err(refused(status, &body));
                    }
                    Err(SendError::Busy {
                        status,
                        attempts: attempt,
                    })
                }
                Err(source) => Err(SendError::Unreachable {
                    attempts: attempt,
                    source,
                }),
            };
            if attempt >= ATTEMPTS {
                return retry;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }
}

/// The upstream error body (`errorName`, `parameters`) of a refused request.
fn refused(status: u16, body: &[u8]) -> SendError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let error_name = json["errorName"]
        .as_str()
        .unwrap_or("(no error name)")
        .to_string();
    let message = match json["message"].as_str() {
        Some(m) => m.to_string(),
        None if json.is_null() => {
            String::from_utf8_lossy(&body[..body.len().min(500)]).into_owned()
        }
        None => json["parameters"].to_string(),
    };
    SendError::Refused {
        status,
        error_name,
        message,
    }
}
