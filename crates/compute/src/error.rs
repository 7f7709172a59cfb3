//! Typed problems: planning diagnostics (each with the JSON path of the node) and runtime
//! compute errors.

use crate::source::ChannelKind;

/// One problem found while planning a compute graph.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} (at `{path}`)")]
pub struct Diagnostic {
    /// JSON path of the offending node, e.g. `node.series.input.numeric.channel`.
    pub path: String,
    /// What is wrong there.
    pub kind: DiagnosticKind,
}

/// What is wrong with a node. The server maps each kind to its wire error name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiagnosticKind {
    /// A union variant (or option) Sightline does not evaluate; `Sightline:UnsupportedComputeNode`.
    #[error("compute node `{variant}` is not supported")]
    UnsupportedNode {
        /// Upstream variant or field name.
        variant: String,
    },
    /// The dataset has no such channel; `Compute:ChannelNotFound`-like.
    #[error("channel `{channel}` not found in dataset `{dataset}`")]
    ChannelNotFound {
        /// Dataset RID.
        dataset: String,
        /// Channel name.
        channel: String,
    },
    /// A numeric series over an enum channel, and the like.
    #[error("channel `{channel}` of dataset `{dataset}` is {actual}, expected {expected}")]
    WrongChannelType {
        /// Dataset RID.
        dataset: String,
        /// Channel name.
        channel: String,
        /// What the node needs.
        expected: ChannelKind,
        /// What the channel holds.
        actual: ChannelKind,
    },
    /// A `variable` / `raw` reference not in `Context.variables`; `Compute:MissingVariable`.
    #[error("variable `{name}` is not defined in the context")]
    MissingVariable {
        /// Variable name.
        name: String,
    },
    /// A variable of another type than the node needs; `Compute:VariableHasWrongType`.
    #[error("variable `{name}` is `{actual}`, expected {expected}")]
    VariableHasWrongType {
        /// Variable name.
        name: String,
        /// What the node needs.
        expected: &'static str,
        /// The variable's union variant.
        actual: String,
    },
    /// Units that cannot be converted into each other; `Compute:UnitConversionInvalid`.
    #[error("cannot convert unit `{from}` to `{to}`")]
    UnitConversionInvalid {
        /// Unit of the input (empty when it has none).
        from: String,
        /// Unit asked for.
        to: String,
    },
    /// A regular expression that does not compile; `Compute:CannotCompileRegexp`.
    #[error("invalid regular expression `{pattern}`")]
    InvalidRegex {
        /// The pattern as given.
        pattern: String,
    },
    /// A field out of range or missing; `Compute:InvalidArgument`-like.
    #[error("invalid argument `{argument}`: {reason}")]
    InvalidArgument {
        /// Field name.
        argument: &'static str,
        /// Why it was refused.
        reason: InvalidReason,
    },
}

impl DiagnosticKind {
    /// The dataset RID this problem names, if any: a caller may not learn what a dataset it
    /// cannot read holds, so the server checks read grants on these too.
    pub fn dataset(&self) -> Option<&str> {
        match self {
            DiagnosticKind::ChannelNotFound { dataset, .. }
            | DiagnosticKind::WrongChannelType { dataset, .. } => Some(dataset),
            DiagnosticKind::UnsupportedNode { .. }
            | DiagnosticKind::MissingVariable { .. }
            | DiagnosticKind::VariableHasWrongType { .. }
            | DiagnosticKind::UnitConversionInvalid { .. }
            | DiagnosticKind::InvalidRegex { .. }
            | DiagnosticKind::InvalidArgument { .. } => None,
        }
    }
}

/// Why an argument was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InvalidReason {
    /// Must be greater than zero.
    #[error("must be positive")]
    NotPositive,
    /// A required field is absent.
    #[error("is required")]
    Missing,
    /// Outside the allowed range (e.g. a percentile outside `[0, 1]`).
    #[error("is out of range")]
    OutOfRange,
    /// The input must be a numeric series.
    #[error("must be numeric")]
    NotNumeric,
    /// A reference loops back to itself.
    #[error("reference cycle")]
    Cycle,
}

/// Why evaluating a planned computation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComputeError {
    /// `start` after `end`.
    #[error("range start {start} is after end {end}")]
    InvalidRange {
        /// Requested start (ns).
        start: i64,
        /// Requested end (ns).
        end: i64,
    },
}
