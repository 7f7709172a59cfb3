//! The readiness gate: a cluster node whose store refuses (writes it never applied expired
//! from the write log) answers every data endpoint with 503 `Sightline:StoreUnavailable`
//! instead of serving data it knows is incomplete. `/health`, `/metrics` and the page stay
//! reachable so an operator can see why. A node still catching up serves as usual (its
//! `/health` keeps balancers away until it is current).

use crate::app::App;
use crate::error::ApiError;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use sightline_store::Readiness;
use std::sync::Arc;

/// The middleware.
pub(crate) async fn refuse_when_behind(
    State(app): State<Arc<App>>,
    request: Request,
    next: Next,
) -> Response {
    match app.store().readiness() {
        Readiness::Refusing {
            applied,
            first_available,
        } => ApiError::NodeBehindLog {
            applied,
            first_available,
        }
        .into_response(),
        Readiness::Ready | Readiness::CatchingUp { .. } => next.run(request).await,
    }
}
