//! Subscription validation (PROTOCOL §5) and planning, run once per subscribe entry.

use super::errors::{self, diagnostics_error};
use crate::app::App;
use crate::source::StoreSource;
use sightline_compute::{LiveComputation, LiveMode, Plan};
use sightline_wire::errors::WireError;
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
) -> Result<Prepared, WireError> {
    let request = &subscription.compute_request;
    let options = &subscription.subscription_options;

    let window = duration_to_nanos(&request.window_width)
        .map_err(|e| errors::invalid_argument(format!("windowWidth: {e}")))?;
    if window < 0 {
        return Err(errors::window_negative(window));
    }
    let max_window = i64::try_from(app.config.max_window.as_nanos()).unwrap_or(i64::MAX);
    if window > max_window {
        return Err(errors::window_too_large(window, max_window));
    }

    let appends = options.allow_appends == Some(true) || options.result_configuration.is_some();
    let classification = sightline_compute::classify(&request.node);
    if !classification.invalid.is_empty() {
        return Err(errors::invalid_computation(&classification.invalid));
    }
    // Polling-only types are named before unsupported ones: the client can fix the former
    // by turning appends off, and should hear that first.
    if appends && !classification.polling_only.is_empty() {
        return Err(errors::polling_only(&classification.polling_only));
    }
    if let Some(first) = classification.unsupported.first() {
        return Err(errors::unsupported_node(first));
    }

    let source = StoreSource(app.store.as_ref());
    let plan = sightline_compute::plan(&request.node, &request.context, &source)
        .map_err(|d| diagnostics_error(&d))?;
    if window.saturating_add(plan.look_back()) > max_window {
        return Err(errors::window_with_look_back_too_large(
            window,
            plan.look_back(),
        ));
    }

    let now = app.clock.now_nanos();
    let points = plan.raw_point_count(&source, now.saturating_sub(window), now);
    if points > app.config.max_points_per_subscription {
        return Err(errors::too_many_points(
            app.config.max_points_per_subscription,
        ));
    }

    let mode = match &options.result_configuration {
        None => LiveMode::Auto,
        Some(ResultConfiguration::AppendOnly(config)) if config.decimate_results => {
            LiveMode::Bucketed
        }
        Some(ResultConfiguration::AppendOnly(_)) => {
            if points > app.config.max_undecimated_points {
                return Err(errors::unavailable_result_configuration(
                    UnavailableResultConfigurationReason::TooManyPointsForUndecimatedAppends,
                ));
            }
            LiveMode::Raw
        }
        Some(ResultConfiguration::Unknown(unknown)) => {
            return Err(errors::invalid_argument(format!(
                "unknown resultConfiguration type `{}`",
                unknown.type_name
            )))
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
