//! Why a computation was refused or failed, for subscriptions (PROTOCOL §5) and HTTP compute
//! alike, and the one exhaustive map of each kind to its catalogue name and parameters.

use super::catalogue::ErrorName;
use crate::human::duration_ns;
use sightline_compute::{ComputeError, Diagnostic, DiagnosticKind, Unsupported};
use sightline_wire::errors::{list_param, WireError};
use sightline_wire::persistent_compute::{
    InvalidComputationType, PollingOnlyComputationType, UnavailableResultConfigurationReason,
};
use sightline_wire::time::TimeError;
use std::collections::BTreeSet;

/// A computation refused at subscribe (or request) time, or failed while running.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ComputeRequestError {
    /// A time or duration field is malformed.
    #[error("`{field}` is not a valid time")]
    InvalidTime {
        field: &'static str,
        #[source]
        source: TimeError,
    },
    /// `windowWidth` below zero.
    #[error("windowWidth is negative ({})", duration_ns(*.window))]
    WindowNegative { window: i64 },
    /// `windowWidth` over the configured maximum.
    #[error("windowWidth {} exceeds the maximum {}", duration_ns(*.window), duration_ns(*.max))]
    WindowTooLarge { window: i64, max: i64 },
    /// The window plus the graph's look-back is over the configured maximum.
    #[error(
        "windowWidth {} plus look-back {} exceeds the maximum",
        duration_ns(*.window),
        duration_ns(*.look_back)
    )]
    WindowWithLookBackTooLarge { window: i64, look_back: i64 },
    /// The window's inputs hold more points than the configured limit.
    #[error("the window holds more than {limit} points")]
    TooManyPoints { limit: u64 },
    /// Node types that cannot be streamed.
    #[error("these computations cannot be streamed: {}", names(.types.iter().map(|t| t.as_str())))]
    InvalidComputation {
        types: BTreeSet<InvalidComputationType>,
    },
    /// Node types that stream only as full results, with appends asked for.
    #[error(
        "these computations stream only as full results (allowAppends false): {}",
        names(.types.iter().map(|t| t.as_str()))
    )]
    PollingOnly {
        types: BTreeSet<PollingOnlyComputationType>,
    },
    /// A node Sightline does not evaluate.
    #[error("compute node `{}` at `{}` is not supported", .node.variant, .node.path)]
    UnsupportedNode { node: Unsupported },
    /// `resultConfiguration` cannot be honoured.
    #[error("result configuration unavailable: {}", .reason.as_str())]
    UnavailableResultConfiguration {
        reason: UnavailableResultConfigurationReason,
    },
    /// A `resultConfiguration` variant this server does not know.
    #[error("unknown resultConfiguration type `{type_name}`")]
    UnknownResultConfiguration { type_name: String },
    /// Planning found problems; each carries its JSON path.
    #[error("{}", .diagnostics.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("; "))]
    Plan { diagnostics: Vec<Diagnostic> },
    /// Evaluation failed.
    #[error(transparent)]
    Evaluation(#[from] ComputeError),
}

fn names<'a>(items: impl Iterator<Item = &'a str>) -> String {
    list_param(items)
}

impl ComputeRequestError {
    /// The wire form: the one place names and parameters of compute errors are decided.
    pub(crate) fn to_wire(&self) -> WireError {
        use ErrorName::*;
        let message = self.to_string();
        match self {
            ComputeRequestError::InvalidTime { field, source } => DefaultInvalidArgument
                .error(format!("{message}: {source}"))
                .with_param("field", *field),
            ComputeRequestError::WindowNegative { window } => PersistentComputeWindowNegative
                .error(message)
                .with_param("window", window.to_string()),
            // People read the message in durations; programs read exact nanoseconds here.
            ComputeRequestError::WindowTooLarge { window, max } => PersistentComputeWindowTooLarge
                .error(message)
                .with_param("windowWidthNanos", window.to_string())
                .with_param("maxNanos", max.to_string()),
            ComputeRequestError::WindowWithLookBackTooLarge { window, look_back } => {
                PersistentComputeWindowWithLookBackTooLarge
                    .error(message)
                    .with_param("windowWidthNanos", window.to_string())
                    .with_param("lookBackNanos", look_back.to_string())
            }
            ComputeRequestError::TooManyPoints { limit } => PersistentComputeTooManyPoints
                .error(message)
                .with_param("limit", limit.to_string()),
            ComputeRequestError::InvalidComputation { types } => {
                PersistentComputeInvalidComputation
                    .error(message)
                    .with_param("invalidTypes", names(types.iter().map(|t| t.as_str())))
            }
            ComputeRequestError::PollingOnly { types } => PersistentComputePollingOnlyComputation
                .error(message)
                .with_param("pollingOnlyTypes", names(types.iter().map(|t| t.as_str()))),
            ComputeRequestError::UnsupportedNode { node } => SightlineUnsupportedComputeNode
                .error(message)
                .with_param("variant", node.variant.clone())
                .with_param("path", node.path.clone()),
            ComputeRequestError::UnavailableResultConfiguration { reason } => {
                PersistentComputeUnavailableResultConfiguration
                    .error(message)
                    .with_param("reason", reason.as_str())
            }
            ComputeRequestError::UnknownResultConfiguration { type_name } => DefaultInvalidArgument
                .error(message)
                .with_param("type", type_name.clone()),
            ComputeRequestError::Plan { diagnostics } => diagnostics_error(diagnostics, message),
            ComputeRequestError::Evaluation(e) => match e {
                ComputeError::InvalidRange { .. } => ComputeInvalidLiteralRange.error(message),
            },
        }
    }
}

/// All planning problems as one error: named after the first, listing every one with its path.
fn diagnostics_error(diagnostics: &[Diagnostic], message: String) -> WireError {
    let Some(first) = diagnostics.first() else {
        return ErrorName::DefaultInvalidArgument.error("the compute graph is invalid");
    };
    let mut wire = diagnostic_error(first);
    wire.message = message;
    wire.with_param(
        "paths",
        list_param(diagnostics.iter().map(|d| d.path.as_str())),
    )
}

fn diagnostic_error(d: &Diagnostic) -> WireError {
    use ErrorName::*;
    let message = d.to_string();
    let wire = match &d.kind {
        DiagnosticKind::UnsupportedNode { variant } => SightlineUnsupportedComputeNode
            .error(message)
            .with_param("variant", variant.clone()),
        DiagnosticKind::ChannelNotFound { channel, .. } => ComputeSelectSeriesResolvedNoChannels
            .error(message)
            .with_param("channelName", channel.clone()),
        DiagnosticKind::WrongChannelType {
            channel,
            expected,
            actual,
            ..
        } => ComputeChannelHasWrongType
            .error(message)
            .with_param("channel", channel.clone())
            .with_param("seriesType", format!("{actual:?}").to_uppercase())
            .with_param(
                "validTypes",
                format!("[{}]", format!("{expected:?}").to_uppercase()),
            ),
        DiagnosticKind::MissingVariable { name } => ComputeMissingVariable
            .error(message)
            .with_param("variableName", name.clone()),
        DiagnosticKind::VariableHasWrongType { name, expected, .. } => ComputeVariableHasWrongType
            .error(message)
            .with_param("variableName", name.clone())
            .with_param("expectedType", *expected),
        DiagnosticKind::UnitConversionInvalid { from, to } => ComputeUnitConversionInvalid
            .error(message)
            .with_param("inputUnit", from.clone())
            .with_param("outputUnit", to.clone()),
        DiagnosticKind::InvalidRegex { pattern } => ComputeCannotCompileRegexp
            .error(message)
            .with_param("regex", pattern.clone()),
        DiagnosticKind::InvalidArgument { argument, .. } => DefaultInvalidArgument
            .error(message)
            .with_param("argument", *argument),
    };
    wire.with_param("path", d.path.clone())
}
