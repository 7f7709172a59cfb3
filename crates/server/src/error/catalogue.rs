//! The one catalogue of every error name Sightline sends, with its Conjure code (which decides
//! the HTTP status and the `statusCode` of a `SerializableError`).
//!
//! Every place that answers with an error names it through [`ErrorName`]; no other file holds
//! an error name as a string. Upstream names (`PersistentCompute:*`, `Compute:*`,
//! `NominalChannelWriter:*`) carry the code upstream declares (a test checks each against
//! `spec/conjure-subset.json`); `Default:*` are Conjure's standard errors; `Sightline:*` are
//! Sightline's own, for conditions upstream has no name for.
//!
//! To add an error: add one row to the table below, then build it with [`ErrorName::error`].

use sightline_wire::errors::{ErrorCode, WireError};

/// Declares the enum, its exhaustive name/code `match` and the list of all variants from
/// one table, so a row cannot be missing from any of them.
macro_rules! catalogue {
    ($($(#[doc = $doc:literal])* $variant:ident => ($name:literal, $code:ident),)*) => {
        /// Every error name Sightline emits.
        // A row may land just before the code that first sends it.
        #[allow(dead_code)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub(crate) enum ErrorName {
            $($(#[doc = $doc])* $variant,)*
        }

        impl ErrorName {
            /// Every entry, in table order.
            #[cfg(test)]
            pub(crate) const ALL: &'static [ErrorName] = &[$(ErrorName::$variant,)*];

            /// `Namespace:Name` and Conjure code: the one exhaustive map.
            fn entry(self) -> (&'static str, ErrorCode) {
                match self {
                    $(ErrorName::$variant => ($name, ErrorCode::$code),)*
                }
            }
        }
    };
}

catalogue! {
    // Conjure's standard errors.
    /// A request that is wrong in a way no more specific name covers.
    DefaultInvalidArgument => ("Default:InvalidArgument", InvalidArgument),
    /// A bug or an unexpected failure inside the server; details only in the log.
    DefaultInternal => ("Default:Internal", Internal),
    /// No such endpoint.
    DefaultNotFound => ("Default:NotFound", NotFound),
    /// No credentials, or credentials that are unknown, revoked or expired.
    DefaultUnauthorized => ("Default:Unauthorized", Unauthorized),
    /// Valid credentials that do not grant this request (a write to a dataset the token may
    /// not write).
    DefaultPermissionDenied => ("Default:PermissionDenied", PermissionDenied),

    // The writer API.
    /// A body (or its decoded form) over the configured size.
    WriterPointsTooLarge => ("NominalChannelWriter:PointsTooLarge", RequestEntityTooLarge),
    /// A timestamp that is malformed or outside 1900..2262.
    WriterInvalidTimestamp => ("NominalChannelWriter:InvalidTimestamp", InvalidArgument),
    /// A data source RID that is empty or not a RID.
    WriterInvalidDataSource => ("NominalChannelWriter:InvalidDataSource", InvalidArgument),
    /// An empty or otherwise invalid channel name.
    WriterInvalidChannelName => ("NominalChannelWriter:InvalidChannelName", InvalidArgument),
    /// A write of another point type to a channel that already has one.
    WriterConflictingDataTypes => ("NominalChannelWriter:ConflictingDataTypes", InvalidArgument),
    /// A Telegraf metric whose timestamp is not integer nanoseconds in 1900..2262.
    WriterInvalidTelegrafTimestamp =>
        ("NominalChannelWriter:InvalidTelegrafTimestamp", InvalidArgument),
    /// A column batch with unequal timestamp and value counts.
    WriterMismatchedTimestampsAndValues =>
        ("NominalChannelWriter:MismatchedTimestampsAndValues", InvalidArgument),

    // The persistent-compute (WebSocket) API.
    /// A frame that is not JSON or not a known `ClientMessage`.
    PersistentComputeInvalidClientMessage =>
        ("PersistentCompute:InvalidClientMessage", InvalidArgument),
    /// Node types that cannot be streamed.
    PersistentComputeInvalidComputation =>
        ("PersistentCompute:InvalidComputation", InvalidArgument),
    /// Node types that stream only as full results, with appends asked for.
    PersistentComputePollingOnlyComputation =>
        ("PersistentCompute:PollingOnlyComputation", InvalidArgument),
    /// A subscription reading a dataset its token may not read.
    PersistentComputePermissionDenied =>
        ("PersistentCompute:PermissionDenied", PermissionDenied),
    /// The connection's token was revoked or expired while the subscription ran.
    PersistentComputeSubscriptionAuthExpired =>
        ("PersistentCompute:SubscriptionAuthExpired", PermissionDenied),
    /// The window's inputs hold more points than the configured limit.
    PersistentComputeTooManyPoints => ("PersistentCompute:TooManyPoints", InvalidArgument),
    /// `resultConfiguration` cannot be honoured for this computation.
    PersistentComputeUnavailableResultConfiguration =>
        ("PersistentCompute:UnavailableResultConfiguration", InvalidArgument),
    /// `windowWidth` below zero.
    PersistentComputeWindowNegative => ("PersistentCompute:WindowNegative", InvalidArgument),
    /// `windowWidth` over the configured maximum.
    PersistentComputeWindowTooLarge => ("PersistentCompute:WindowTooLarge", InvalidArgument),
    /// Window plus the graph's look-back over the configured maximum.
    PersistentComputeWindowWithLookBackTooLarge =>
        ("PersistentCompute:WindowWithLookBackTooLarge", InvalidArgument),

    // The compute API (HTTP compute, and graph problems in subscriptions).
    /// A channel the graph names does not exist in its dataset.
    ComputeSelectSeriesResolvedNoChannels =>
        ("Compute:SelectSeriesResolvedNoChannels", InvalidArgument),
    /// A channel whose type the node cannot take.
    ComputeChannelHasWrongType => ("Compute:ChannelHasWrongType", InvalidArgument),
    /// A reference to a variable the context does not define.
    ComputeMissingVariable => ("Compute:MissingVariable", InvalidArgument),
    /// A variable of another type than the node needs.
    ComputeVariableHasWrongType => ("Compute:VariableHasWrongType", InvalidArgument),
    /// Units that cannot be converted into each other.
    ComputeUnitConversionInvalid => ("Compute:UnitConversionInvalid", InvalidArgument),
    /// A regular expression that does not compile.
    ComputeCannotCompileRegexp => ("Compute:CannotCompileRegexp", InvalidArgument),
    /// A literal range whose start is not before its end.
    ComputeInvalidLiteralRange => ("Compute:InvalidLiteralRange", InvalidArgument),
    /// An HTTP computation reading a dataset its token may not read.
    ComputeNotAuthorized => ("Compute:NotAuthorized", PermissionDenied),
    /// An HTTP computation over more points than the configured limit.
    ComputeTooManyPoints => ("Compute:TooManyPoints", InvalidArgument),
    /// A graph over the configured size or fan-in.
    ComputeComputationTooComplex => ("Compute:ComputationTooComplex", InvalidArgument),

    // Sightline's own.
    /// A point type Sightline does not store (arrays, structs, unknown variants).
    SightlineUnsupportedPointType => ("Sightline:UnsupportedPointType", InvalidArgument),
    /// A compute node Sightline does not evaluate.
    SightlineUnsupportedComputeNode => ("Sightline:UnsupportedComputeNode", InvalidArgument),
    /// The store is closing with the server.
    SightlineStoreClosed => ("Sightline:StoreClosed", Unavailable),
    /// The store cannot take writes for now, a retry may succeed (a cluster node whose
    /// replicated write log did not acknowledge the write).
    SightlineStoreUnavailable => ("Sightline:StoreUnavailable", Unavailable),
    /// The store failed to read or write its files; details only in the log.
    SightlineStorageFailure => ("Sightline:StorageFailure", Internal),
    /// The server is draining: new WebSocket connections are refused.
    SightlineShuttingDown => ("Sightline:ShuttingDown", Unavailable),
    /// A discovery request names a dataset that holds no channels.
    SightlineDatasetNotFound => ("Sightline:DatasetNotFound", NotFound),
    /// A discovery request names a channel its dataset does not have.
    SightlineChannelNotFound => ("Sightline:ChannelNotFound", NotFound),
    /// An expression (`POST /sightline/v1/expressions/compile`) that does not compile.
    SightlineInvalidExpression => ("Sightline:InvalidExpression", InvalidArgument),
}

impl ErrorName {
    /// `Namespace:Name`, e.g. `PersistentCompute:WindowNegative`.
    pub(crate) fn as_str(self) -> &'static str {
        self.entry().0
    }

    /// The Conjure code, which decides the HTTP status.
    pub(crate) fn code(self) -> ErrorCode {
        self.entry().1
    }

    /// A wire error of this name with a fresh instance id. The message is for a human and
    /// must hold no internal detail.
    pub(crate) fn error(self, message: impl Into<String>) -> WireError {
        WireError::new(self.code(), self.as_str(), message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, HashSet};

    /// Upstream's `Namespace:Name` → code, from the spec the wire types are generated from.
    fn upstream() -> BTreeMap<String, String> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../spec/conjure-subset.json"
        );
        let text = std::fs::read_to_string(path).expect("read spec/conjure-subset.json");
        let ir: serde_json::Value = serde_json::from_str(&text).expect("spec is JSON");
        let errors = ir["errors"].as_array().expect("spec has errors");
        errors
            .iter()
            .map(|e| {
                let name = format!(
                    "{}:{}",
                    e["namespace"].as_str().expect("namespace"),
                    e["errorName"]["name"].as_str().expect("name")
                );
                (name, e["code"].as_str().expect("code").to_string())
            })
            .collect()
    }

    #[test]
    fn upstream_names_match_the_upstream_definition() {
        let upstream = upstream();
        for name in ErrorName::ALL {
            let (namespace, _) = name.as_str().split_once(':').expect("Namespace:Name");
            match namespace {
                "Default" | "Sightline" => {
                    assert!(
                        !upstream.contains_key(name.as_str()),
                        "{name:?} is upstream's; give it upstream's namespace"
                    );
                }
                _ => {
                    let code = upstream
                        .get(name.as_str())
                        .unwrap_or_else(|| panic!("{} is not defined upstream", name.as_str()));
                    assert_eq!(code, name.code().as_str(), "code of {}", name.as_str());
                }
            }
        }
    }

    #[test]
    fn default_names_are_conjures_standard_ones() {
        // Conjure names each standard error after its code: `Default:PermissionDenied` is
        // `PERMISSION_DENIED`.
        for name in ErrorName::ALL {
            let Some(rest) = name.as_str().strip_prefix("Default:") else {
                continue;
            };
            let code: String = name
                .code()
                .as_str()
                .split('_')
                .map(|word| {
                    let mut chars = word.chars();
                    chars.next().map_or(String::new(), |first| {
                        first.to_string() + &chars.as_str().to_lowercase()
                    })
                })
                .collect();
            assert_eq!(rest, code, "{name:?}");
        }
    }

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for name in ErrorName::ALL {
            assert!(seen.insert(name.as_str()), "{} listed twice", name.as_str());
            let (namespace, short) = name.as_str().split_once(':').expect("Namespace:Name");
            for part in [namespace, short] {
                assert!(
                    part.starts_with(|c: char| c.is_ascii_uppercase())
                        && part.chars().all(|c| c.is_ascii_alphanumeric()),
                    "{} is not Namespace:Name in PascalCase",
                    name.as_str()
                );
            }
        }
    }

    #[test]
    fn status_follows_the_code() {
        let status = |n: ErrorName| n.error("x").code.status();
        assert_eq!(status(ErrorName::DefaultUnauthorized), 401);
        assert_eq!(status(ErrorName::DefaultPermissionDenied), 403);
        assert_eq!(status(ErrorName::PersistentComputePermissionDenied), 403);
        assert_eq!(status(ErrorName::WriterPointsTooLarge), 413);
        assert_eq!(status(ErrorName::SightlineShuttingDown), 503);
    }
}
