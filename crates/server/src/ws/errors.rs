//! The wire errors of subscription validation (PROTOCOL §5) and the one mapping of compute
//! diagnostics and errors to upstream `Compute:*` names.

use sightline_compute::{ComputeError, Diagnostic, DiagnosticKind, Unsupported};
use sightline_wire::errors::{list_param, ErrorCode, WireError};
use sightline_wire::persistent_compute::{
    InvalidComputationType, PollingOnlyComputationType, UnavailableResultConfigurationReason,
};
use std::collections::BTreeSet;

fn bad(name: &str, message: impl Into<String>) -> WireError {
    WireError::new(ErrorCode::InvalidArgument, name, message)
}

pub(crate) fn invalid_argument(message: String) -> WireError {
    bad("Default:InvalidArgument", message)
}

pub(crate) fn window_negative(window: i64) -> WireError {
    bad(
        "PersistentCompute:WindowNegative",
        format!("windowWidth is negative ({window} ns)"),
    )
    .with_param("window", window.to_string())
}

pub(crate) fn window_too_large(window: i64, max: i64) -> WireError {
    bad(
        "PersistentCompute:WindowTooLarge",
        format!("windowWidth {window} ns exceeds the maximum {max} ns"),
    )
}

pub(crate) fn window_with_look_back_too_large(window: i64, look_back: i64) -> WireError {
    bad(
        "PersistentCompute:WindowWithLookBackTooLarge",
        format!("windowWidth {window} ns plus look-back {look_back} ns exceeds the maximum"),
    )
}

pub(crate) fn too_many_points(limit: u64) -> WireError {
    bad(
        "PersistentCompute:TooManyPoints",
        format!("the window holds more than {limit} points"),
    )
    .with_param("limit", limit.to_string())
}

pub(crate) fn invalid_computation(types: &BTreeSet<InvalidComputationType>) -> WireError {
    let names = list_param(types.iter().map(|t| t.as_str()));
    bad(
        "PersistentCompute:InvalidComputation",
        format!("these computations cannot be streamed: {names}"),
    )
    .with_param("invalidTypes", names)
}

pub(crate) fn polling_only(types: &BTreeSet<PollingOnlyComputationType>) -> WireError {
    let names = list_param(types.iter().map(|t| t.as_str()));
    bad(
        "PersistentCompute:PollingOnlyComputation",
        format!("these computations stream only as full results (allowAppends false): {names}"),
    )
    .with_param("pollingOnlyTypes", names)
}

pub(crate) fn unsupported_node(node: &Unsupported) -> WireError {
    bad(
        "Sightline:UnsupportedComputeNode",
        format!(
            "compute node `{}` at `{}` is not supported",
            node.variant, node.path
        ),
    )
    .with_param("variant", node.variant.clone())
    .with_param("path", node.path.clone())
}

pub(crate) fn unavailable_result_configuration(
    reason: UnavailableResultConfigurationReason,
) -> WireError {
    bad(
        "PersistentCompute:UnavailableResultConfiguration",
        format!("result configuration unavailable: {}", reason.as_str()),
    )
    .with_param("reason", reason.as_str())
}

/// All planning problems as one error: named after the first, listing every one with its path.
pub(crate) fn diagnostics_error(diagnostics: &[Diagnostic]) -> WireError {
    let Some(first) = diagnostics.first() else {
        return invalid_argument("the compute graph is invalid".to_string());
    };
    let message = diagnostics
        .iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("; ");
    let mut wire = diagnostic_error(first);
    wire.message = message;
    wire.with_param(
        "paths",
        list_param(diagnostics.iter().map(|d| d.path.as_str())),
    )
}

fn diagnostic_error(d: &Diagnostic) -> WireError {
    let message = d.to_string();
    let with_path = |w: WireError| w.with_param("path", d.path.clone());
    with_path(match &d.kind {
        DiagnosticKind::UnsupportedNode { variant } => {
            bad("Sightline:UnsupportedComputeNode", message).with_param("variant", variant.clone())
        }
        DiagnosticKind::ChannelNotFound { channel, .. } => {
            bad("Compute:SelectSeriesResolvedNoChannels", message)
                .with_param("channelName", channel.clone())
        }
        DiagnosticKind::WrongChannelType {
            channel,
            expected,
            actual,
            ..
        } => bad("Compute:ChannelHasWrongType", message)
            .with_param("channel", channel.clone())
            .with_param("seriesType", format!("{actual:?}").to_uppercase())
            .with_param(
                "validTypes",
                format!("[{}]", format!("{expected:?}").to_uppercase()),
            ),
        DiagnosticKind::MissingVariable { name } => {
            bad("Compute:MissingVariable", message).with_param("variableName", name.clone())
        }
        DiagnosticKind::VariableHasWrongType { name, expected, .. } => {
            bad("Compute:VariableHasWrongType", message)
                .with_param("variableName", name.clone())
                .with_param("expectedType", *expected)
        }
        DiagnosticKind::UnitConversionInvalid { from, to } => {
            bad("Compute:UnitConversionInvalid", message)
                .with_param("inputUnit", from.clone())
                .with_param("outputUnit", to.clone())
        }
        DiagnosticKind::InvalidRegex { pattern } => {
            bad("Compute:CannotCompileRegexp", message).with_param("regex", pattern.clone())
        }
        DiagnosticKind::InvalidArgument { argument, .. } => {
            bad("Default:InvalidArgument", message).with_param("argument", *argument)
        }
    })
}

/// A runtime compute failure.
pub(crate) fn compute_error(e: &ComputeError) -> WireError {
    match e {
        ComputeError::InvalidRange { .. } => bad("Compute:InvalidLiteralRange", e.to_string()),
    }
}
