//! Batch HTTP compute, the polling calls of dashboards that send hundreds of panels at once:
//! `POST /compute/v2/computeWithUnits`, `/compute/v2/compute/batch` and
//! `/compute/v2/compute/batch-units`.
//!
//! Entries are independent: each gets its own result in request order, and one that fails
//! is reported in its slot (`ComputeNodeResult.error`) without failing the others. Entries
//! run in parallel on the blocking pool, each holding one of the server's compute slots
//! (shared with subscriptions), and read through one [`CachedSource`] so entries that read
//! the same series over the same range share one store read.

use super::compute::time_range;
use super::read_json;
use crate::app::App;
use crate::error::{blocking, ApiError, ComputeRequestError, ErrorName};
use crate::read_cache::CachedSource;
use axum::body::Body;
use axum::extract::State;
use axum::Json;
use sightline_compute::DataSource;
use sightline_wire::errors::WireError;
use sightline_wire::scout_compute::{
    BatchComputeUnitResult, BatchComputeUnitsRequest, BatchComputeWithUnitsRequest,
    BatchComputeWithUnitsResponse, ComputeNodeRequest, ComputeNodeResponse, ComputeNodeResult,
    ComputeUnitResult, ComputeUnitsRequest, ComputeWithUnitsResponse, ComputeWithUnitsResult,
    ErrorResult, UnitComputationError, UnitResult,
};
use std::sync::Arc;

/// `POST /compute/v2/computeWithUnits`: one computation and its unit; errors are HTTP errors.
pub(crate) async fn compute_with_units(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<ComputeWithUnitsResponse>, ApiError> {
    let req: ComputeNodeRequest =
        read_json(body, app.config.max_body_bytes, "ComputeWithUnitsRequest").await?;
    let store = app.store.clone();
    let (compute_result, compute_unit) = blocking(move || {
        let source = CachedSource::new(store);
        with_units(&req, &source)
    })
    .await?;
    Ok(Json(ComputeWithUnitsResponse {
        compute_result,
        compute_unit,
    }))
}

/// `POST /compute/v2/compute/batch`.
pub(crate) async fn batch(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<BatchComputeWithUnitsResponse>, ApiError> {
    let req: BatchComputeWithUnitsRequest = read_json(
        body,
        app.config.max_body_bytes,
        "BatchComputeWithUnitsRequest",
    )
    .await?;
    let results = run_all(&app, req.requests, |entry, source| {
        let (result, unit) = with_units(&entry, source).map_err(|e| e.to_wire())?;
        Ok(ComputeWithUnitsResult {
            compute_result: ComputeNodeResult::Success(result),
            unit_result: unit,
        })
    })
    .await
    .into_iter()
    .map(|outcome| {
        outcome.unwrap_or_else(|error| ComputeWithUnitsResult {
            compute_result: ComputeNodeResult::Error(ErrorResult {
                error_type: error.name.clone(),
                code: i32::from(error.code.status()),
            }),
            unit_result: no_unit(&error),
        })
    })
    .collect();
    Ok(Json(BatchComputeWithUnitsResponse { results }))
}

/// `POST /compute/v2/compute/batch-units`: the unit of each computation; one that cannot be
/// planned answers `noUnitAvailable` with its error.
pub(crate) async fn batch_units(
    State(app): State<Arc<App>>,
    body: Body,
) -> Result<Json<BatchComputeUnitResult>, ApiError> {
    let req: BatchComputeUnitsRequest =
        read_json(body, app.config.max_body_bytes, "BatchComputeUnitsRequest").await?;
    let results = run_all(&app, req.requests, |entry: ComputeUnitsRequest, source| {
        sightline_compute::plan(&entry.node, &entry.context, source)
            .map(|plan| plan.unit_result())
            .map_err(|diagnostics| ComputeRequestError::Plan { diagnostics }.to_wire())
    })
    .await
    .into_iter()
    .map(|outcome| outcome.unwrap_or_else(|error| no_unit(&error)))
    .collect();
    Ok(Json(BatchComputeUnitResult { results }))
}

/// Plans and evaluates one entry: its result over the range and its unit.
fn with_units(
    req: &ComputeNodeRequest,
    source: &dyn DataSource,
) -> Result<(ComputeNodeResponse, ComputeUnitResult), ApiError> {
    let (start, end) = time_range(req)?;
    let plan = sightline_compute::plan(&req.node, &req.context, source)
        .map_err(|diagnostics| ComputeRequestError::Plan { diagnostics })?;
    let result = plan
        .compute(source, start, end)
        .map_err(ComputeRequestError::from)?;
    Ok((result, plan.unit_result()))
}

/// Runs `work` on every entry in parallel within the compute slots, sharing one read cache;
/// the outcomes come back in entry order.
async fn run_all<E, T, F>(app: &Arc<App>, entries: Vec<E>, work: F) -> Vec<Result<T, WireError>>
where
    E: Send + 'static,
    T: Send + 'static,
    F: Fn(E, &CachedSource) -> Result<T, WireError> + Send + Sync + 'static,
{
    let count = entries.len();
    let source = Arc::new(CachedSource::new(app.store.clone()));
    let work = Arc::new(work);
    let tasks: Vec<_> = entries
        .into_iter()
        .map(|entry| {
            let (app, source, work) = (app.clone(), source.clone(), work.clone());
            async move {
                // The semaphore is never closed; without a permit the entry still runs.
                let _slot = app.compute_slots.acquire().await.ok();
                tokio::task::spawn_blocking(move || work(entry, &source))
                    .await
                    .unwrap_or_else(|e| {
                        let error =
                            ErrorName::DefaultInternal.error("internal error; see the server log");
                        tracing::error!(instance = %error.instance_id, %e, "batch entry failed");
                        Err(error)
                    })
            }
        })
        .collect();
    let outcomes = futures::future::join_all(tasks).await;
    tracing::debug!(
        entries = count,
        store_reads = source.store_reads(),
        "batch computed"
    );
    outcomes
}

/// The unit slot of an entry that failed.
fn no_unit(error: &WireError) -> ComputeUnitResult {
    ComputeUnitResult::Single(UnitResult::NoUnitAvailable(vec![
        UnitComputationError::Error(error.to_serializable()),
    ]))
}
