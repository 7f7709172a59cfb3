//! `POST /sightline/v1/expressions/compile`: the expression language of `sightline-expr`
//! exposed to the web page, so the page and `sightline watch` share one parser. Channel
//! types come from the store's catalogue, so `valve.state` compiles to an enum series.

use super::read_json;
use crate::app::App;
use crate::error::ApiError;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};
use sightline_expr::{ChannelKind, ChannelTypes};
use sightline_store::{Store, ValueType};
use sightline_wire::scout_compute::ComputableNode;
use std::sync::Arc;

/// The request body.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CompileRequest {
    /// The expression text.
    expression: String,
    /// The dataset of channels written without one; optional when every channel names its
    /// dataset.
    #[serde(default)]
    dataset: Option<String>,
}

/// The response body: the graph and what it produces.
#[derive(Debug, Serialize)]
pub(crate) struct CompileResponse {
    node: ComputableNode,
    /// `numeric`, `enum`, `log` or `ranges`.
    kind: &'static str,
}

/// The store's catalogue as the expression language's channel types, limited to the
/// datasets the caller may read (others are typed by use, revealing nothing).
struct StoreCatalogue<'a>(&'a dyn Store, &'a crate::auth::Caller);

impl ChannelTypes for StoreCatalogue<'_> {
    fn kind(&self, dataset: &str, channel: &str) -> Option<ChannelKind> {
        if !self.1.can_read(dataset) {
            return None;
        }
        let info = self.0.channel(dataset, channel)?;
        Some(match info.value_type {
            ValueType::Double | ValueType::Int | ValueType::Uint64 => ChannelKind::Numeric,
            ValueType::String => ChannelKind::Enum,
            ValueType::Log => ChannelKind::Log,
        })
    }
}

/// `POST /sightline/v1/expressions/compile`.
pub(crate) async fn compile(
    State(app): State<Arc<App>>,
    caller: crate::auth::Caller,
    body: Body,
) -> Result<Json<CompileResponse>, ApiError> {
    // Expressions are short; a body far beyond the longest one is refused unread.
    let limit = app
        .config
        .max_body_bytes
        .min(sightline_expr::MAX_EXPRESSION_BYTES * 4);
    let req: CompileRequest = read_json(body, limit, "CompileExpressionRequest").await?;
    let compiled = sightline_expr::compile(
        &req.expression,
        req.dataset.as_deref(),
        &StoreCatalogue(app.store.as_ref(), &caller),
    )
    .map_err(|error| ApiError::InvalidExpression { error })?;
    Ok(Json(CompileResponse {
        node: compiled.node,
        kind: compiled.kind.as_str(),
    }))
}
