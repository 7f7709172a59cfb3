//! Authentication and authorization: API tokens, their dataset grants, and the check every
//! endpoint goes through.
//!
//! Owns: the token file (`token_file.rs`, shared with `sightline token`), RID patterns and
//! grants (`grants.rs`), the server's reloading view of the file (`registry.rs`), the
//! [`Caller`] extractor (`caller.rs`), and where a request may carry its token
//! (`presented.rs`: `Authorization: Bearer`, the `sightline.bearer.TOKEN` WebSocket
//! protocol, or the `sightline_token` cookie set by `POST /sightline/v1/login`).
//!
//! How an endpoint uses it: the router puts [`authenticate`] in front of every route but
//! the open ones (`/persistent-compute/enabled`, `/health`, login and logout, and
//! `/metrics` when it is public), so a new route is protected by default. The middleware
//! answers 401 `Default:Unauthorized` without a valid token and otherwise hands the handler
//! a [`Caller`]: take it as an argument and check each dataset before touching it, e.g.
//! `caller.require_write(rids)?` (403 `Default:PermissionDenied`) or
//! `caller.require_read(rids)?` (403 `Compute:NotAuthorized`); subscriptions refuse with
//! `PersistentCompute:PermissionDenied`. With auth off every check passes.
//!
//! Must not know: how data is stored or computed; it sees dataset RIDs only.

mod caller;
mod grants;
mod presented;
mod registry;
mod token_file;

pub(crate) use caller::{AuthFailure, Caller};
pub use grants::{Grants, PatternError, RidPattern};
pub(crate) use presented::{login, logout, websocket_protocol};
pub(crate) use registry::{Registry, TokenWatch};
pub use token_file::{
    TokenFile, TokenFileError, TokenRecord, TokenRejection, TokenSet, TOKEN_FILE_NAME,
};

use crate::app::App;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Whether requests need a token.
#[derive(Debug, Clone, Default)]
pub enum AuthMode {
    /// Every request may do everything (only sensible on a loopback address).
    #[default]
    Off,
    /// Requests need a token from this file, which is reloaded when it changes.
    Tokens(TokenFile),
}

/// Checks the request's token and hands the handler its [`Caller`].
pub(crate) async fn authenticate(
    State(app): State<Arc<App>>,
    mut request: Request,
    next: Next,
) -> Response {
    let caller = match app.auth.as_deref() {
        None => Caller::anyone(),
        Some(registry) => match presented::token(request.headers()) {
            None => return unauthenticated(AuthFailure::Missing),
            Some(token) => match registry.verify(token) {
                Ok(credential) => Caller::token(credential),
                Err(TokenRejection::Invalid) => return unauthenticated(AuthFailure::Invalid),
                Err(TokenRejection::Expired) => return unauthenticated(AuthFailure::Expired),
            },
        },
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

fn unauthenticated(reason: AuthFailure) -> Response {
    ApiError::Unauthenticated { reason }.into_response()
}
