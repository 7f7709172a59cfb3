//! Error names and bodies on the wire: the Conjure HTTP error body and `SerializableError`.
//!
//! Each layer keeps its own typed error enum; the server maps them here, in one exhaustive
//! match per enum, to a [`WireError`] that knows its code, name and parameters.

use crate::api::SerializableError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Conjure error codes and the HTTP status each stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// 400.
    InvalidArgument,
    /// 401: no credentials, or unknown, revoked or expired ones.
    Unauthorized,
    /// 403.
    PermissionDenied,
    /// 404.
    NotFound,
    /// 409.
    Conflict,
    /// 408: the request body did not arrive in time (not a Conjure code; HTTP's own).
    RequestTimeout,
    /// 413: a body or batch over the configured size.
    RequestEntityTooLarge,
    /// 500.
    Internal,
    /// 503: the server is shutting down or overloaded.
    Unavailable,
}

impl ErrorCode {
    /// The HTTP status for this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidArgument => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::PermissionDenied => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict => 409,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::RequestEntityTooLarge => 413,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
        }
    }

    /// The Conjure `errorCode` string.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "INVALID_ARGUMENT",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::RequestEntityTooLarge => "REQUEST_ENTITY_TOO_LARGE",
            ErrorCode::PermissionDenied => "PERMISSION_DENIED",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::Unavailable => "SERVICE_UNAVAILABLE",
        }
    }
}

/// An error ready for the wire: code, `Namespace:Name`, a message and string parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError {
    /// Conjure code, which decides the status.
    pub code: ErrorCode,
    /// `Namespace:Name`, e.g. `PersistentCompute:InvalidComputation`.
    pub name: String,
    /// Human-readable detail; never internal state.
    pub message: String,
    /// Parameters; list values are written `[A, B]`.
    pub params: BTreeMap<String, String>,
    /// Unique id so a report can be matched with the server log.
    pub instance_id: uuid::Uuid,
}

impl WireError {
    /// A new error with a fresh instance id and no parameters.
    pub fn new(code: ErrorCode, name: impl Into<String>, message: impl Into<String>) -> Self {
        WireError {
            code,
            name: name.into(),
            message: message.into(),
            params: BTreeMap::new(),
            instance_id: uuid::Uuid::new_v4(),
        }
    }

    /// Adds a parameter.
    pub fn with_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.insert(key.into(), value.into());
        self
    }

    /// The `SerializableError` sent inside WebSocket messages.
    pub fn to_serializable(&self) -> SerializableError {
        SerializableError {
            name: self.name.clone(),
            message: Some(self.message.clone()),
            error_instance_id: self.instance_id.to_string(),
            status_code: i32::from(self.code.status()),
            params: self.params.clone(),
        }
    }

    /// The Conjure HTTP error body.
    pub fn to_http_body(&self) -> ConjureErrorBody<'_> {
        ConjureErrorBody {
            error_code: self.code.as_str(),
            error_name: &self.name,
            error_instance_id: self.instance_id,
            message: &self.message,
            parameters: &self.params,
        }
    }
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.name, self.message)
    }
}

impl std::error::Error for WireError {}

/// The JSON body of an HTTP error response.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConjureErrorBody<'a> {
    /// Conjure code, e.g. `INVALID_ARGUMENT`.
    pub error_code: &'static str,
    /// `Namespace:Name`.
    pub error_name: &'a str,
    /// Instance id, also logged.
    pub error_instance_id: uuid::Uuid,
    /// Detail for a human; Conjure clients ignore it.
    pub message: &'a str,
    /// String parameters.
    pub parameters: &'a BTreeMap<String, String>,
}

/// Writes a list parameter the way upstream does: `[A, B]`.
pub fn list_param<I, S>(items: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let parts: Vec<String> = items.into_iter().map(|s| s.as_ref().to_string()).collect();
    format!("[{}]", parts.join(", "))
}
