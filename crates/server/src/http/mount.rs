//! Where the routes are served: at the root and again under the base path (`/api` by
//! default, which is where the upstream clients' default base URL points), plus the
//! fallback that answers and logs every unknown path, so a client configured with the
//! wrong base URL is visible in the server log instead of silently losing its writes.

use crate::app::App;
use crate::budget::Budget;
use crate::error::{ApiError, ErrorName};
use axum::extract::{Request, State};
use axum::http::{header, Method, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use axum::Router;

/// Serves `routes` at the root and under `app.config.base_path` (if it is not the root).
pub(super) fn mount(routes: Router, app: &App) -> Router {
    let base = normalized_base_path(&app.config.base_path);
    let router = match base {
        Some(base) => routes.clone().nest(&base, routes),
        None => routes,
    };
    let guard = BodyGuard {
        limit: app.config.max_body_bytes,
        budget: app.body_budget.clone(),
    };
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(guard, guard_body))
}

#[derive(Clone)]
struct BodyGuard {
    limit: usize,
    budget: Budget,
}

/// Before a byte of the body is read: a `Content-Length` over the limit is refused (413),
/// and the body's size (the limit, for a body of unknown length) is reserved from the
/// shared in-flight budget until the request is answered.
async fn guard_body(State(guard): State<BodyGuard>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let limit = guard.limit;
    if declared.is_some_and(|length| length > limit as u64) {
        return ApiError::BodyTooLarge { limit }.into_response();
    }
    let body_bytes = match declared {
        Some(length) => usize::try_from(length).unwrap_or(limit),
        None if headers.contains_key(header::TRANSFER_ENCODING) => limit,
        None => 0,
    };
    let _reserved = if body_bytes > 0 {
        match guard.budget.reserve(body_bytes).await {
            Ok(reservation) => Some(reservation),
            Err(error) => return error.into_response(),
        }
    } else {
        None
    };
    next.run(request).await
}

/// `"/api/"` → `Some("/api")`; `""` or `"/"` → `None` (root only).
fn normalized_base_path(path: &str) -> Option<String> {
    let trimmed = path.trim().trim_end_matches('/');
    if trimmed.is_empty() {
        return None;
    }
    if trimmed.starts_with('/') {
        Some(trimmed.to_string())
    } else {
        Some(format!("/{trimmed}"))
    }
}

async fn not_found(method: Method, uri: Uri) -> Response {
    tracing::warn!(%method, path = %uri.path(), "no such endpoint (404); check the client's base URL");
    crate::error::wire_response(
        &ErrorName::DefaultNotFound
            .error(format!("no endpoint {method} {}", uri.path()))
            .with_param("path", uri.path().to_string()),
    )
}

#[cfg(test)]
mod tests {
    use super::normalized_base_path;

    #[test]
    fn base_paths_are_normalized() {
        assert_eq!(normalized_base_path("/api"), Some("/api".to_string()));
        assert_eq!(normalized_base_path("api/"), Some("/api".to_string()));
        assert_eq!(normalized_base_path("/"), None);
        assert_eq!(normalized_base_path(""), None);
    }
}
