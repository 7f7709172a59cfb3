//! Where a request carries its token, and the login/logout endpoints that set and clear the
//! browser cookie.
//!
//! In order of preference:
//! 1. `Authorization: Bearer TOKEN` (every client that can set headers);
//! 2. the WebSocket subprotocol `sightline.bearer.TOKEN` in `Sec-WebSocket-Protocol`
//!    (browsers cannot set headers on a WebSocket; offer `["sightline",
//!    "sightline.bearer.TOKEN"]` and the server answers `sightline`, so the token is not
//!    echoed);
//! 3. the `sightline_token` cookie, HttpOnly and `SameSite=Strict`, set by
//!    `POST /sightline/v1/login` (a page's scripts never see the token, and other sites'
//!    pages cannot send it).

use super::caller::AuthFailure;
use super::token_file::TokenRejection;
use crate::app::App;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use std::sync::Arc;

/// The cookie that carries a browser's token.
const COOKIE: &str = "sightline_token";
/// The WebSocket subprotocol prefix that carries a browser's token.
const PROTOCOL_PREFIX: &str = "sightline.bearer.";
/// The plain subprotocol a browser offers next to the token one, answered instead of it.
const PLAIN_PROTOCOL: &str = "sightline";
/// Largest login body: a token and some JSON.
const LOGIN_BODY_LIMIT: usize = 4096;

/// The token a request presents, if any.
pub(super) fn token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers)
        .or_else(|| protocol_token(headers))
        .or_else(|| cookie(headers))
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

fn offered_protocols(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
}

fn protocol_token(headers: &HeaderMap) -> Option<&str> {
    offered_protocols(headers).find_map(|p| p.strip_prefix(PROTOCOL_PREFIX))
}

fn cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find_map(|(name, value)| (name == COOKIE && !value.is_empty()).then_some(value))
}

/// The subprotocol the WebSocket upgrade must answer with, if the client offered any we
/// speak: `sightline` when offered, else the token protocol itself (a client that offers
/// protocols fails the handshake unless one is echoed).
pub(crate) fn websocket_protocol(headers: &HeaderMap) -> Option<String> {
    let mut token_protocol = None;
    for protocol in offered_protocols(headers) {
        if protocol == PLAIN_PROTOCOL {
            return Some(protocol.to_string());
        }
        if protocol.starts_with(PROTOCOL_PREFIX) && token_protocol.is_none() {
            token_protocol = Some(protocol.to_string());
        }
    }
    token_protocol
}

#[derive(Deserialize)]
struct LoginRequest {
    token: String,
}

/// `POST /sightline/v1/login`: checks the token (JSON `{"token": "..."}` or
/// `Authorization: Bearer`) and sets it as an HttpOnly cookie. 204 on success.
pub(crate) async fn login(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    let bytes = axum::body::to_bytes(body, LOGIN_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::BodyTooLarge {
            limit: LOGIN_BODY_LIMIT,
        })?;
    let from_body = serde_json::from_slice::<LoginRequest>(&bytes)
        .ok()
        .map(|r| r.token);
    let token = from_body
        .or_else(|| bearer(&headers).map(str::to_string))
        .ok_or(ApiError::Unauthenticated {
            reason: AuthFailure::Missing,
        })?;
    let Some(registry) = app.auth.as_deref() else {
        // Auth is off: nothing to remember.
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    let credential = registry.verify(&token).map_err(|rejection| {
        let reason = match rejection {
            TokenRejection::Invalid => AuthFailure::Invalid,
            TokenRejection::Expired => AuthFailure::Expired,
        };
        ApiError::Unauthenticated { reason }
    })?;
    let max_age = credential.expires_at.map_or(30 * 24 * 3600, |at| {
        (at - chrono::Utc::now()).num_seconds().max(0)
    });
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    let value = HeaderValue::from_str(&cookie).map_err(|_| ApiError::Unauthenticated {
        reason: AuthFailure::Invalid,
    })?;
    tracing::info!(token = %credential.name, "browser login");
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, value)]).into_response())
}

/// `POST /sightline/v1/logout`: clears the cookie. 204.
pub(crate) async fn logout() -> Response {
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    match HeaderValue::from_str(&cookie) {
        Ok(value) => (StatusCode::NO_CONTENT, [(header::SET_COOKIE, value)]).into_response(),
        Err(_) => StatusCode::NO_CONTENT.into_response(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn tokens_are_found_where_clients_put_them() {
        let h = headers(&[(header::AUTHORIZATION, "Bearer sl_a_b")]);
        assert_eq!(token(&h), Some("sl_a_b"));
        let h = headers(&[(header::AUTHORIZATION, "Basic xyz")]);
        assert_eq!(token(&h), None);
        let h = headers(&[(
            header::SEC_WEBSOCKET_PROTOCOL,
            "sightline, sightline.bearer.sl_a_b",
        )]);
        assert_eq!(token(&h), Some("sl_a_b"));
        assert_eq!(websocket_protocol(&h).as_deref(), Some("sightline"));
        let h = headers(&[(header::SEC_WEBSOCKET_PROTOCOL, "sightline.bearer.sl_a_b")]);
        assert_eq!(
            websocket_protocol(&h).as_deref(),
            Some("sightline.bearer.sl_a_b")
        );
        let h = headers(&[(header::COOKIE, "theme=dark; sightline_token=sl_a_b")]);
        assert_eq!(token(&h), Some("sl_a_b"));
        assert_eq!(websocket_protocol(&h), None);
    }
}
