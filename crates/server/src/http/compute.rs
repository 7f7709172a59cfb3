//! HTTP compute: the same plans the subscriptions use, over a fixed range.

use super::read_json;
use crate::app::App;
use crate::auth::Caller;
use crate::compute_limits;
use crate::error::{blocking, ApiError, ComputeRequestError};
use crate::source::StoreSource;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sightline_compute::Plan;
use sightline_wire::scout_compute::{
    ComputableNode, ComputeNodeRequest, ComputeNodeResponse, ComputeUnitResult,
    ComputeUnitsRequest, Context,
};
use sightline_wire::time::timestamp_to_nanos;
use std::sync::Arc;

/// `POST /compute/v2/compute`.
pub(crate) async fn compute(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Body,
) -> Result<Json<ComputeNodeResponse>, ApiError> {
    let req: ComputeNodeRequest =
        read_json(body, app.config.max_body_bytes, "ComputeNodeRequest").await?;
    let store = app.store.clone();
    let limits_app = app.clone();
    let response = blocking(move || {
        let config = &limits_app.config;
        compute_limits::check_graph(config, &req.node)?;
        let source = StoreSource(store.as_ref());
        let range = time_range(&req)?;
        let plan = checked_plan(&caller, &req.node, &req.context, &source)?;
        compute_limits::check_points(config, plan.raw_point_count(&source, range.0, range.1))?;
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
    caller: Caller,
    body: Body,
) -> Result<Json<ComputeUnitResult>, ApiError> {
    let req: ComputeUnitsRequest =
        read_json(body, app.config.max_body_bytes, "ComputeUnitsRequest").await?;
    let store = app.store.clone();
    let app = app.clone();
    let units = blocking(move || {
        compute_limits::check_graph(&app.config, &req.node)?;
        let source = StoreSource(store.as_ref());
        checked_plan(&caller, &req.node, &req.context, &source).map(|plan| plan.unit_result())
    })
    .await?;
    Ok(Json(units))
}

/// Plans the graph and refuses it (403 `Compute:NotAuthorized`) if it reads a dataset the
/// caller may not read, before any planning error could describe such a dataset.
pub(super) fn checked_plan(
    caller: &Caller,
    node: &ComputableNode,
    context: &Context,
    source: &dyn sightline_compute::DataSource,
) -> Result<Plan, ApiError> {
    let planned = sightline_compute::plan(node, context, source);
    caller.require_read(
        crate::reads::unreadable(caller, &planned)
            .iter()
            .map(String::as_str),
    )?;
    Ok(planned.map_err(|diagnostics| ComputeRequestError::Plan { diagnostics })?)
}

pub(super) fn time_range(req: &ComputeNodeRequest) -> Result<(i64, i64), ApiError> {
    let bad =
        |field: &'static str| move |source| ComputeRequestError::InvalidTime { field, source };
    let start = timestamp_to_nanos(&req.start).map_err(bad("start"))?;
    let end = timestamp_to_nanos(&req.end).map_err(bad("end"))?;
    Ok((start, end))
}
