//! HTTP compute: the same plans the subscriptions use, over a fixed range.

use super::read_json;
use crate::app::App;
use crate::error::{blocking, ApiError, ComputeRequestError};
use crate::source::StoreSource;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sightline_wire::scout_compute::{
    ComputeNodeRequest, ComputeNodeResponse, ComputeUnitResult, ComputeUnitsRequest,
};
use sightline_wire::time::timestamp_to_nanos;
use std::sync::Arc;

/// `POST /compute/v2/compute`.
pub(crate) async fn compute(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<ComputeNodeResponse>, ApiError> {
    let req: ComputeNodeRequest =
        read_json(body, app.config.max_body_bytes, "ComputeNodeRequest").await?;
    let store = app.store.clone();
    let response = blocking(move || {
        let source = StoreSource(store.as_ref());
        let range = time_range(&req)?;
        let plan = sightline_compute::plan(&req.node, &req.context, &source)
            .map_err(|diagnostics| ComputeRequestError::Plan { diagnostics })?;
        Ok(plan
            .compute(&source, range.0, range.1)
            .map_err(ComputeRequestError::from)?)
    })
    .await?;
    Ok(Json(response))
}

/// `POST /compute/v2/compute/units`.
pub(crate) async fn compute_units(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<ComputeUnitResult>, ApiError> {
    let req: ComputeUnitsRequest =
        read_json(body, app.config.max_body_bytes, "ComputeUnitsRequest").await?;
    let store = app.store.clone();
    let units = blocking(move || {
        let source = StoreSource(store.as_ref());
        sightline_compute::plan(&req.node, &req.context, &source)
            .map(|plan| plan.unit_result())
            .map_err(|diagnostics| ComputeRequestError::Plan { diagnostics }.into())
    })
    .await?;
    Ok(Json(units))
}

pub(super) fn time_range(req: &ComputeNodeRequest) -> Result<(i64, i64), ApiError> {
    let bad =
        |field: &'static str| move |source| ComputeRequestError::InvalidTime { field, source };
    let start = timestamp_to_nanos(&req.start).map_err(bad("start"))?;
    let end = timestamp_to_nanos(&req.end).map_err(bad("end"))?;
    Ok((start, end))
}
