//! PROTOCOL §5 classification: which upstream variants cannot stream at all
//! (`InvalidComputationType`), which stream only by polling (`PollingOnlyComputationType`),
//! and which Sightline does not evaluate yet.
//!
//! The first two come from [`TABLE`], matched against the node's JSON form so that every
//! upstream variant is covered, including those nested under nodes Sightline does not
//! evaluate. The JSON form of a union is `{"type": V, V: payload}`, so a union variant is
//! any object whose `type` string names one of its own keys.

use std::collections::BTreeSet;

use serde_json::Value;
use wire::persistent_compute::{InvalidComputationType as I, PollingOnlyComputationType as P};
use wire::scout_compute::ComputableNode;

use crate::error::DiagnosticKind;
use crate::lower::Lowerer;
use crate::plan::empty_context;

/// The §5 verdict on a node, computed without reading data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    /// Types that make a subscription impossible (`PersistentCompute:InvalidComputation`).
    pub invalid: BTreeSet<I>,
    /// Types that allow full results only (`PersistentCompute:PollingOnlyComputation` with appends).
    pub polling_only: BTreeSet<P>,
    /// Variants Sightline does not evaluate (`Sightline:UnsupportedComputeNode`).
    pub unsupported: Vec<Unsupported>,
}

/// A union variant Sightline does not evaluate, where it sits in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// Upstream variant name (or, for an unknown variant, the `type` the client sent).
    pub variant: String,
    /// JSON path, e.g. `node.series.input.numeric.cumulativeSum`.
    pub path: String,
}

/// Which union a variant must sit in for a [`TABLE`] row to apply.
#[derive(Debug, Clone, Copy)]
enum Field {
    /// Any union.
    Any,
    /// Only the union held by the field of this name (variant names repeat across unions).
    Named(&'static str),
}

/// Extra condition on the variant's payload.
#[derive(Debug, Clone, Copy)]
enum When {
    Always,
    /// The payload has this field set (not absent, not null).
    Has(&'static str),
}

/// A verdict of one row.
#[derive(Debug, Clone, Copy)]
enum Verdict {
    Invalid(I),
    Polling(P),
}

/// Upstream variant -> §5 type. First matching rows win per verdict kind; a variant may
/// have rows of both kinds (upstream lists `SCALAR_UDF` in both enums).
///
/// Not produced by any variant of the API subset Sightline speaks: `POINT_PERSISTENCE`
/// (persistence windows stream here, PROTOCOL §6), `LITERAL_ENUM_SERIES`,
/// `NUMERIC_COMBINE_WITH_TAGS`, `RUN_WITH_FIXED_END`; and `LOG_SERIES`, because Sightline
/// streams log appends.
const TABLE: &[(Field, &str, When, Verdict)] = &[
    (
        Field::Any,
        "cumulativeSum",
        When::Always,
        Verdict::Invalid(I::CumulativeSum),
    ),
    (
        Field::Any,
        "integral",
        When::Always,
        Verdict::Invalid(I::Integral),
    ),
    (
        Field::Any,
        "scalarUdf",
        When::Always,
        Verdict::Invalid(I::ScalarUdf),
    ),
    (
        Field::Any,
        "scalarUdf",
        When::Always,
        Verdict::Polling(P::ScalarUdf),
    ),
    (
        Field::Any,
        "staleRange",
        When::Always,
        Verdict::Invalid(I::StalenessDetection),
    ),
    (
        Field::Any,
        "numericStaleRangesV2",
        When::Always,
        Verdict::Invalid(I::StalenessDetection),
    ),
    (
        Field::Any,
        "categoricalStaleRangesV2",
        When::Always,
        Verdict::Invalid(I::StalenessDetection),
    ),
    (
        Field::Any,
        "literalRanges",
        When::Always,
        Verdict::Invalid(I::LiteralRanges),
    ),
    (
        Field::Any,
        "tagByIntervals",
        When::Always,
        Verdict::Invalid(I::TagByIntervals),
    ),
    (
        Field::Any,
        "phaseUnwrap",
        When::Always,
        Verdict::Invalid(I::PhaseUnwrap),
    ),
    (
        Field::Any,
        "timeRangeFilter",
        When::Has("endTime"),
        Verdict::Invalid(I::TimeRangeFilterWithFixedEnd),
    ),
    (
        Field::Named("summarizationStrategy"),
        "largestTriangleThreeBuckets",
        When::Always,
        Verdict::Polling(P::LttbSummarizationStrategy),
    ),
    (
        Field::Named("summarizationStrategy"),
        "page",
        When::Always,
        Verdict::Polling(P::PageSummarizationStrategy),
    ),
    (
        Field::Named("summarizationStrategy"),
        "truncate",
        When::Always,
        Verdict::Polling(P::TruncateSummarizationStrategy),
    ),
    (
        Field::Any,
        "largestTriangleThreeBuckets",
        When::Always,
        Verdict::Polling(P::LargestTriangleThreeBucketsSeries),
    ),
    (
        Field::Any,
        "frequency",
        When::Always,
        Verdict::Polling(P::FrequencyDomain),
    ),
    (
        Field::Any,
        "frequencyV2",
        When::Always,
        Verdict::Polling(P::FrequencyDomain),
    ),
    (
        Field::Any,
        "spectrogram",
        When::Always,
        Verdict::Polling(P::FrequencyDomain),
    ),
    (
        Field::Any,
        "curve",
        When::Always,
        Verdict::Polling(P::CurveFitting),
    ),
    (
        Field::Any,
        "curveV2",
        When::Always,
        Verdict::Polling(P::CurveFitting),
    ),
    (
        Field::Any,
        "curveFit",
        When::Always,
        Verdict::Polling(P::CurveFitting),
    ),
    (
        Field::Any,
        "signalFilter",
        When::Always,
        Verdict::Polling(P::SignalFilter),
    ),
    (
        Field::Any,
        "udf",
        When::Always,
        Verdict::Polling(P::AggregationUdf),
    ),
    (
        Field::Any,
        "array",
        When::Always,
        Verdict::Polling(P::Array),
    ),
    (
        Field::Any,
        "select1dArrayIndex",
        When::Always,
        Verdict::Polling(P::Array),
    ),
    (
        Field::Any,
        "struct",
        When::Always,
        Verdict::Polling(P::Struct),
    ),
    (
        Field::Any,
        "selectStruct",
        When::Always,
        Verdict::Polling(P::Struct),
    ),
    (
        Field::Any,
        "extractFromStruct",
        When::Always,
        Verdict::Polling(P::Struct),
    ),
];

/// Classifies `node` per PROTOCOL §5. Servers should refuse on `invalid` first, then
/// `polling_only` (when appends were asked for), then `unsupported`.
pub fn classify(node: &ComputableNode) -> Classification {
    let mut out = Classification::default();
    // Serializing generated types cannot fail (string keys, finite structure); an empty
    // walk on the impossible error still leaves `unsupported` from the typed walk below.
    if let Ok(json) = serde_json::to_value(node) {
        walk(&json, "node", "node", &mut out);
    }
    let mut lowerer = Lowerer::structural();
    let _ = lowerer.node(node, &empty_context());
    for d in lowerer.into_diagnostics() {
        if let DiagnosticKind::UnsupportedNode { variant } = d.kind {
            out.unsupported.push(Unsupported {
                variant,
                path: d.path,
            });
        }
    }
    out
}

fn walk(value: &Value, path: &str, field: &str, out: &mut Classification) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(variant)) = map.get("type") {
                if map.contains_key(variant.as_str()) || map.len() == 1 {
                    let payload = map.get(variant.as_str()).unwrap_or(&Value::Null);
                    apply_table(field, variant, payload, out);
                }
            }
            for (key, child) in map {
                if key == "type" {
                    continue;
                }
                walk(child, &format!("{path}.{key}"), key, out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{path}[{i}]"), field, out);
            }
        }
        _ => {}
    }
}

fn apply_table(field: &str, variant: &str, payload: &Value, out: &mut Classification) {
    let (mut invalid_done, mut polling_done) = (false, false);
    for (f, name, when, verdict) in TABLE {
        if *name != variant {
            continue;
        }
        if let Field::Named(expected) = f {
            if *expected != field {
                continue;
            }
        }
        if let When::Has(key) = when {
            if payload.get(key).is_none_or(Value::is_null) {
                continue;
            }
        }
        match verdict {
            Verdict::Invalid(t) if !invalid_done => {
                out.invalid.insert(*t);
                invalid_done = true;
            }
            Verdict::Polling(t) if !polling_done => {
                out.polling_only.insert(*t);
                polling_done = true;
            }
            _ => {}
        }
    }
}
