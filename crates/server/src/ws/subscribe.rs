//! Subscription validation (PROTOCOL §5) and planning, run once per subscribe entry.

use crate::app::App;
use crate::auth::Caller;
use crate::error::ComputeRequestError;
use crate::source::StoreSource;
use sightline_compute::{LiveComputation, LiveMode, Plan};
use sightline_wire::persistent_compute::{
    ResultConfiguration, StreamingComputeNodeSubscription, UnavailableResultConfigurationReason,
};
use sightline_wire::scout_compute::ComputeUnitResult;
use sightline_wire::time::duration_to_nanos;
use std::time::Duration;

/// A validated subscription, ready to run.
pub(crate) struct Prepared {
    pub(crate) plan: Plan,
    pub(crate) live: LiveComputation,
    pub(crate) unit_result: ComputeUnitResult,
    /// At most one update per this interval.
    pub(crate) min_delay: Duration,
    /// Whether the client takes appends; otherwise every update is a full result.
    pub(crate) appends: bool,
}

/// Checks every §5 rule in order and plans the computation; also returns the request's
/// canonical form, which subscriptions of the same computation share.
pub(crate) fn prepare(
    app: &App,
    caller: &Caller,
    subscription: &StreamingComputeNodeSubscription,
) -> Result<(Prepared, String), ComputeRequestError> {
    let request = &subscription.compute_request;
    let options = &subscription.subscription_options;

    let window = duration_to_nanos(&request.window_width).map_err(|source| {
        ComputeRequestError::InvalidTime {
            field: "windowWidth",
            source,
        }
    })?;
    if window < 0 {
        return Err(ComputeRequestError::WindowNegative { window });
    }
    let max_window = i64::try_from(app.config.max_window.as_nanos()).unwrap_or(i64::MAX);
    if window > max_window {
        return Err(ComputeRequestError::WindowTooLarge {
            window,
            max: max_window,
        });
    }

    let appends = options.allow_appends == Some(true) || options.result_configuration.is_some();
    let classification = sightline_compute::classify(&request.node);
    if !classification.invalid.is_empty() {
        return Err(ComputeRequestError::InvalidComputation {
            types: classification.invalid,
        });
    }
    // Polling-only types are named before unsupported ones: the client can fix the former
    // by turning appends off, and should hear that first.
    if appends && !classification.polling_only.is_empty() {
        return Err(ComputeRequestError::PollingOnly {
            types: classification.polling_only,
        });
    }
    if let Some(node) = classification.unsupported.into_iter().next() {
        return Err(ComputeRequestError::UnsupportedNode { node });
    }

    crate::compute_limits::check_graph(&app.config, &request.node)?;
    let source = StoreSource(app.store.as_ref());
    let planned = sightline_compute::plan(&request.node, &request.context, &source);
    // Grants before planning errors: those could describe a dataset the caller may not read.
    let rids = crate::reads::unreadable(caller, &planned);
    if !rids.is_empty() {
        return Err(ComputeRequestError::PermissionDenied { rids });
    }
    let plan = planned.map_err(|diagnostics| ComputeRequestError::Plan { diagnostics })?;
    if window.saturating_add(plan.look_back()) > max_window {
        return Err(ComputeRequestError::WindowWithLookBackTooLarge {
            window,
            look_back: plan.look_back(),
        });
    }

    let now = app.clock.now_nanos();
    let points = plan.raw_point_count(&source, now.saturating_sub(window), now);
    if points > app.config.max_points_per_subscription {
        return Err(ComputeRequestError::TooManyPoints {
            limit: app.config.max_points_per_subscription,
        });
    }

    let mode = match &options.result_configuration {
        None => LiveMode::Auto,
        Some(ResultConfiguration::AppendOnly(config)) if config.decimate_results => {
            LiveMode::Bucketed
        }
        Some(ResultConfiguration::AppendOnly(_)) => {
            if points > app.config.max_undecimated_points {
                return Err(ComputeRequestError::UnavailableResultConfiguration {
                    reason:
                        UnavailableResultConfigurationReason::TooManyPointsForUndecimatedAppends,
                });
            }
            LiveMode::Raw
        }
        Some(ResultConfiguration::Unknown(unknown)) => {
            return Err(ComputeRequestError::UnknownResultConfiguration {
                type_name: unknown.type_name.clone(),
            })
        }
    };

    let min_delay = Duration::from_millis(u64::try_from(options.min_delay.0).unwrap_or(0));
    let prepared = Prepared {
        unit_result: plan.unit_result(),
        live: plan.live(window, mode),
        plan,
        min_delay,
        appends,
    };
    Ok((prepared, canonical_key(subscription, appends)))
}

/// The request as JSON with sorted keys (`serde_json::Value` maps are ordered), plus the
/// effective appends flag: equal keys mean the same graph, context, window, result
/// configuration and `minDelay`.
fn canonical_key(subscription: &StreamingComputeNodeSubscription, appends: bool) -> String {
    let canonical = serde_json::to_value(subscription).and_then(|v| serde_json::to_string(&v));
    match canonical {
        Ok(json) => format!("{appends}:{json}"),
        // Never shared: a unique key.
        Err(_) => format!("unshared:{}", uuid::Uuid::new_v4()),
    }
}
