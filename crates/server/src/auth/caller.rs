//! [`Caller`]: who made a request and what it may touch, as handlers see it.

use super::registry::Credential;
use crate::error::ApiError;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;

/// The authenticated caller of a request, put there by the authentication middleware.
///
/// Take it as a handler argument and ask it before touching a dataset:
/// [`Caller::can_read`] / [`Caller::can_write`], or [`Caller::unreadable`] /
/// [`Caller::unwritable`] to name every refused RID in the error. With auth off (no tokens
/// and a loopback address) every caller may do everything.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    access: Access,
}

#[derive(Debug, Clone)]
enum Access {
    /// Auth is off.
    Anyone,
    /// A verified token.
    Token(Credential),
}

/// Why a request carries no usable credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthFailure {
    /// No `Authorization: Bearer`, WebSocket protocol token or login cookie.
    #[error("this endpoint needs a token: send `Authorization: Bearer TOKEN` (create one with `sightline token create`)")]
    Missing,
    /// A token that is malformed, unknown or revoked.
    #[error("the token is not valid (it may have been revoked)")]
    Invalid,
    /// A token past its expiry.
    #[error("the token has expired; create a new one with `sightline token create`")]
    Expired,
}

impl Caller {
    /// A caller with every right, when auth is off.
    pub(crate) fn anyone() -> Self {
        Caller {
            access: Access::Anyone,
        }
    }

    /// A caller holding a verified token.
    pub(crate) fn token(credential: Credential) -> Self {
        Caller {
            access: Access::Token(credential),
        }
    }

    /// The verified token, if auth is on.
    pub(crate) fn credential(&self) -> Option<&Credential> {
        match &self.access {
            Access::Anyone => None,
            Access::Token(credential) => Some(credential),
        }
    }

    /// Whether computations and subscriptions may read dataset `rid`.
    pub(crate) fn can_read(&self, rid: &str) -> bool {
        match &self.access {
            Access::Anyone => true,
            Access::Token(credential) => credential.grants.can_read(rid),
        }
    }

    /// Whether writes to dataset `rid` are allowed.
    pub(crate) fn can_write(&self, rid: &str) -> bool {
        match &self.access {
            Access::Anyone => true,
            Access::Token(credential) => credential.grants.can_write(rid),
        }
    }

    /// The RIDs of `rids` this caller may not read, sorted and without duplicates.
    pub(crate) fn unreadable<'a>(&self, rids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        refused(rids, |rid| self.can_read(rid))
    }

    /// The RIDs of `rids` this caller may not write, sorted and without duplicates.
    pub(crate) fn unwritable<'a>(&self, rids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        refused(rids, |rid| self.can_write(rid))
    }

    /// `Err(ApiError::WriteDenied)` naming every dataset of `rids` this caller may not write.
    pub(crate) fn require_write<'a>(
        &self,
        rids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ApiError> {
        let rids = self.unwritable(rids);
        if rids.is_empty() {
            Ok(())
        } else {
            Err(ApiError::WriteDenied { rids })
        }
    }

    /// `Err(ApiError::ReadDenied)` naming every dataset of `rids` this caller may not read.
    pub(crate) fn require_read<'a>(
        &self,
        rids: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), ApiError> {
        let rids = self.unreadable(rids);
        if rids.is_empty() {
            Ok(())
        } else {
            Err(ApiError::ReadDenied { rids })
        }
    }
}

fn refused<'a>(
    rids: impl IntoIterator<Item = &'a str>,
    allowed: impl Fn(&str) -> bool,
) -> Vec<String> {
    let mut out: Vec<String> = rids
        .into_iter()
        .filter(|rid| !allowed(rid))
        .map(str::to_string)
        .collect();
    out.sort();
    out.dedup();
    out
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    /// Fails closed: a route the middleware did not cover has no caller and is refused.
    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(ApiError::Unauthenticated {
                reason: AuthFailure::Missing,
            })
    }
}
