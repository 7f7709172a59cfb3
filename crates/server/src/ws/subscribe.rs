//! Subscription validation (PROTOCOL §5) and planning, run once per subscribe entry.

use crate::app::App;
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

/// Checks every §5 rule in order and plans the computation.
pub(crate) fn prepare(
    app: &App,
    subscription: &StreamingComputeNodeSubscription,
) -> Result<Prepared, ComputeRequestError> {
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
    let plan = sightline_compute::plan(&request.node, &request.context, &source)
        .map_err(|diagnostics| ComputeRequestError::Plan { diagnostics })?;
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
    Ok(Prepared {
        unit_result: plan.unit_result(),
        live: plan.live(window, mode),
        plan,
        min_delay,
        appends,
    })
}
