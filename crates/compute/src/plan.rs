//! Planning: lowers a wire `ComputableNode` into a [`Plan`] after checking it against the
//! context and the data source, collecting every problem with its JSON path.
//!
//! Issue-2 scope: `series` summaries of one channel, named by `channel.dataSource` or by
//! `selectNumeric`/`selectEnum`/`selectLogs` on a `saved` (or `reference`) dataset, or
//! through a `raw` reference to a context variable. Every other variant is reported as
//! [`DiagnosticKind::UnsupportedNode`] at its path, without descending into it.

use std::collections::BTreeMap;

use wire::scout_compute::{
    ChannelSeries, ComputableNode, ComputeNode, Context, Dataset, DecimateStrategy, EnumSeries,
    LogSeries, NumericSeries, OutputFormat, Reference, SelectSeries, Series, StringConstant,
    SummarizationStrategy, SummarizeSeries, VariableValue,
};

use crate::error::{Diagnostic, DiagnosticKind, InvalidReason};
use crate::source::{ChannelKind, DataSource};

/// `SummarizeSeries.buckets` when absent (PROTOCOL §6).
pub const DEFAULT_BUCKETS: u64 = 1_000;

/// Dataset references may point at other references; deeper than this is taken as a cycle.
const MAX_REFERENCE_DEPTH: usize = 16;

/// A checked computation, ready to evaluate over any range or to stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub(crate) input: ChannelInput,
    /// Raw results up to this many points in the range, bucketed above.
    pub(crate) buckets: u64,
    /// Bucket width (ns) asked for by the request; otherwise derived from the range.
    pub(crate) resolution: Option<i64>,
}

/// One channel, narrowed by tags: the only input of issue-2 plans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChannelInput {
    pub(crate) kind: ChannelKind,
    pub(crate) dataset: String,
    pub(crate) channel: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) unit: Option<String>,
}

/// Plans `node` against `context` and `source`, reporting all problems at once.
pub fn plan(
    node: &ComputableNode,
    context: &Context,
    source: &dyn DataSource,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut lowerer = Lowerer {
        source: Some(source),
        diagnostics: Vec::new(),
    };
    let plan = lowerer.node(node, context);
    match plan {
        Some(plan) if lowerer.diagnostics.is_empty() => Ok(plan),
        _ => Err(lowerer.diagnostics),
    }
}

/// A context with nothing in it, for walking a node's structure alone.
pub(crate) fn empty_context() -> Context {
    Context {
        variables: BTreeMap::new(),
        function_variables: None,
        dataset_references: BTreeMap::new(),
        default_fill_strategy: None,
        default_alignment_strategy: None,
        apply_data_scope_offsets: None,
        resolve_assets_through_datasets: None,
    }
}

/// Walks the typed node. Without a source it only checks structure (used by `classify`).
pub(crate) struct Lowerer<'a> {
    source: Option<&'a dyn DataSource>,
    diagnostics: Vec<Diagnostic>,
}

impl<'a> Lowerer<'a> {
    /// A lowerer that checks structure only, for [`crate::classify`].
    pub(crate) fn structural() -> Self {
        Lowerer {
            source: None,
            diagnostics: Vec::new(),
        }
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    fn report(&mut self, path: impl Into<String>, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            path: path.into(),
            kind,
        });
    }

    fn unsupported(&mut self, path: &str, variant: &str) {
        self.report(
            format!("{path}.{variant}"),
            DiagnosticKind::UnsupportedNode {
                variant: variant.to_string(),
            },
        );
    }

    pub(crate) fn node(&mut self, node: &ComputableNode, ctx: &Context) -> Option<Plan> {
        match node {
            ComputableNode::Series(s) => self.summarize(s, ctx, "node.series"),
            other => {
                self.unsupported("node", other.variant_name());
                None
            }
        }
    }

    fn summarize(&mut self, s: &SummarizeSeries, ctx: &Context, path: &str) -> Option<Plan> {
        let mut buckets = DEFAULT_BUCKETS;
        let mut resolution = None;
        if let Some(b) = s.buckets {
            match u64::try_from(b) {
                Ok(b) if b > 0 => buckets = b,
                _ => self.invalid(path, "buckets", InvalidReason::NotPositive),
            }
        }
        if let Some(r) = s.resolution {
            if r.0 > 0 {
                resolution = Some(r.0);
            } else {
                self.invalid(path, "resolution", InvalidReason::NotPositive);
            }
        }
        match &s.summarization_strategy {
            None => {}
            Some(SummarizationStrategy::Decimate(d)) => match d {
                DecimateStrategy::Resolution(r) if r.resolution.0 > 0 => {
                    resolution = Some(r.resolution.0)
                }
                DecimateStrategy::Resolution(_) => self.invalid(
                    &format!("{path}.summarizationStrategy.decimate.resolution"),
                    "resolution",
                    InvalidReason::NotPositive,
                ),
                DecimateStrategy::Buckets(b) => match u64::try_from(b.buckets) {
                    Ok(n) if n > 0 => buckets = n,
                    _ => self.invalid(
                        &format!("{path}.summarizationStrategy.decimate.buckets"),
                        "buckets",
                        InvalidReason::NotPositive,
                    ),
                },
                other => self.unsupported(
                    &format!("{path}.summarizationStrategy.decimate"),
                    other.variant_name(),
                ),
            },
            Some(other) => self.unsupported(
                &format!("{path}.summarizationStrategy"),
                other.variant_name(),
            ),
        }
        // Arrow output and extra per-bucket aggregations change the result's shape; refuse
        // them rather than silently answering in the legacy shape.
        match s.output_format {
            None | Some(OutputFormat::Legacy) => {}
            Some(f) => self.unsupported(&format!("{path}.outputFormat"), f.as_str()),
        }
        if !s.numeric_aggregations.is_empty() {
            self.unsupported(path, "numericAggregations");
        }
        let input = self.series(&s.input, ctx, &format!("{path}.input"))?;
        Some(Plan {
            input,
            buckets,
            resolution,
        })
    }

    fn invalid(&mut self, path: &str, argument: &'static str, reason: InvalidReason) {
        let path = if path.ends_with(argument) {
            path.to_string()
        } else {
            format!("{path}.{argument}")
        };
        self.report(path, DiagnosticKind::InvalidArgument { argument, reason });
    }

    fn series(&mut self, s: &Series, ctx: &Context, path: &str) -> Option<ChannelInput> {
        match s {
            Series::Numeric(n) => self.numeric(n, ctx, &format!("{path}.numeric")),
            Series::Enum(e) => self.enum_series(e, ctx, &format!("{path}.enum")),
            Series::Log(l) => self.log(l, ctx, &format!("{path}.log")),
            Series::Raw(r) => self.raw(r, ctx, &format!("{path}.raw"), None),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn numeric(&mut self, s: &NumericSeries, ctx: &Context, path: &str) -> Option<ChannelInput> {
        let kind = Some(ChannelKind::Numeric);
        match s {
            NumericSeries::Channel(c) => self.channel(c, ctx, &format!("{path}.channel"), kind),
            NumericSeries::SelectNumeric(sel) => {
                self.select(sel, ctx, &format!("{path}.selectNumeric"), kind)
            }
            NumericSeries::Raw(r) => self.raw(r, ctx, &format!("{path}.raw"), kind),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn enum_series(&mut self, s: &EnumSeries, ctx: &Context, path: &str) -> Option<ChannelInput> {
        let kind = Some(ChannelKind::Enum);
        match s {
            EnumSeries::Channel(c) => self.channel(c, ctx, &format!("{path}.channel"), kind),
            EnumSeries::SelectEnum(sel) => {
                self.select(sel, ctx, &format!("{path}.selectEnum"), kind)
            }
            EnumSeries::Raw(r) => self.raw(r, ctx, &format!("{path}.raw"), kind),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn log(&mut self, s: &LogSeries, ctx: &Context, path: &str) -> Option<ChannelInput> {
        let kind = Some(ChannelKind::Log);
        match s {
            LogSeries::Channel(c) => self.channel(c, ctx, &format!("{path}.channel"), kind),
            LogSeries::SelectLogs(sel) => {
                self.select(sel, ctx, &format!("{path}.selectLogs"), kind)
            }
            LogSeries::Raw(r) => self.raw(r, ctx, &format!("{path}.raw"), kind),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    /// A `raw` reference: a series defined by a context variable (a compute node with its
    /// own context, a channel, or a series selection).
    fn raw(
        &mut self,
        r: &Reference,
        ctx: &Context,
        path: &str,
        expected: Option<ChannelKind>,
    ) -> Option<ChannelInput> {
        let value = self.variable(&r.name, ctx, path)??;
        let wrong = |actual: &str| DiagnosticKind::VariableHasWrongType {
            name: r.name.clone(),
            expected: "series",
            actual: actual.to_string(),
        };
        match value {
            VariableValue::ComputeNode(cn) => {
                let inner = &cn.context;
                let (got, input) = match &cn.series_node {
                    ComputeNode::Numeric(n) => (ChannelKind::Numeric, self.numeric(n, inner, path)),
                    ComputeNode::Enum(e) => (ChannelKind::Enum, self.enum_series(e, inner, path)),
                    ComputeNode::Log(l) => (ChannelKind::Log, self.log(l, inner, path)),
                    other => {
                        self.report(path, wrong(other.variant_name()));
                        return None;
                    }
                };
                match expected {
                    Some(e) if e != got => {
                        self.report(path, wrong(got.as_str()));
                        None
                    }
                    _ => input,
                }
            }
            VariableValue::Channel(c) => self.channel(c, ctx, path, expected),
            VariableValue::Series(sv) => {
                if !sv.group_by_tags.is_empty() {
                    self.unsupported(path, "groupByTags");
                }
                self.select(&sv.select, ctx, path, expected)
            }
            other => {
                self.report(path, wrong(other.variant_name()));
                None
            }
        }
    }

    /// Looks a variable up; `Some(None)` in structural mode, where the context is unknown.
    fn variable<'c>(
        &mut self,
        name: &str,
        ctx: &'c Context,
        path: &str,
    ) -> Option<Option<&'c VariableValue>> {
        if self.source.is_none() {
            return Some(None);
        }
        match ctx.variables.get(name) {
            Some(v) => Some(Some(v)),
            None => {
                self.report(
                    path,
                    DiagnosticKind::MissingVariable {
                        name: name.to_string(),
                    },
                );
                None
            }
        }
    }

    fn channel(
        &mut self,
        c: &ChannelSeries,
        ctx: &Context,
        path: &str,
        expected: Option<ChannelKind>,
    ) -> Option<ChannelInput> {
        let ChannelSeries::DataSource(d) = c else {
            self.unsupported(path, c.variant_name());
            return None;
        };
        let path = format!("{path}.dataSource");
        let dataset = self.string(&d.data_source_rid, ctx, &format!("{path}.dataSourceRid"));
        let channel = self.string(&d.channel, ctx, &format!("{path}.channel"));
        let mut tags = BTreeMap::new();
        let mut tags_ok = true;
        for (key, value) in &d.tags {
            match self.string(value, ctx, &format!("{path}.tags.{key}")) {
                Some(v) => {
                    tags.insert(key.clone(), v);
                }
                None => tags_ok = false,
            }
        }
        if let Some(f) = &d.tag_filters {
            self.unsupported(&format!("{path}.tagFilters"), f.variant_name());
        }
        if !d.tags_to_group_by.is_empty() {
            self.unsupported(&path, "tagsToGroupBy");
        }
        if !d.group_by_tags.is_empty() {
            self.unsupported(&path, "groupByTags");
        }
        let (dataset, channel) = (dataset?, channel?);
        if !tags_ok {
            return None;
        }
        self.resolve(dataset, channel, tags, expected, &path)
    }

    fn select(
        &mut self,
        s: &SelectSeries,
        ctx: &Context,
        path: &str,
        expected: Option<ChannelKind>,
    ) -> Option<ChannelInput> {
        let name = match &s.name {
            Some(n) => self.string(n, ctx, &format!("{path}.name")),
            None => {
                self.invalid(path, "name", InvalidReason::Missing);
                None
            }
        };
        let dataset = match &s.dataset {
            Some(d) => self.dataset(d, ctx, &format!("{path}.dataset"), 0),
            None => {
                self.invalid(path, "dataset", InvalidReason::Missing);
                None
            }
        };
        if let Some(sampling) = &s.sampling {
            self.unsupported(&format!("{path}.sampling"), sampling.variant_name());
        }
        self.resolve(dataset?, name?, BTreeMap::new(), expected, path)
    }

    fn dataset(&mut self, d: &Dataset, ctx: &Context, path: &str, depth: usize) -> Option<String> {
        match d {
            Dataset::Saved(s) => self.string(&s.rid, ctx, &format!("{path}.saved.rid")),
            Dataset::Reference(r) => {
                let path = format!("{path}.reference");
                let name = self.string(&r.name, ctx, &format!("{path}.name"))?;
                self.source?;
                if depth >= MAX_REFERENCE_DEPTH {
                    self.invalid(&path, "name", InvalidReason::Cycle);
                    return None;
                }
                match ctx.dataset_references.get(&name) {
                    Some(inner) => self.dataset(inner, ctx, &path, depth + 1),
                    None => {
                        self.report(&path, DiagnosticKind::MissingVariable { name });
                        None
                    }
                }
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn string(&mut self, s: &StringConstant, ctx: &Context, path: &str) -> Option<String> {
        match s {
            StringConstant::Literal(v) => Some(v.clone()),
            StringConstant::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)?? {
                    VariableValue::String(v) => Some(v.clone()),
                    other => {
                        self.report(
                            path,
                            DiagnosticKind::VariableHasWrongType {
                                name: name.clone(),
                                expected: "string",
                                actual: other.variant_name().to_string(),
                            },
                        );
                        None
                    }
                }
            }
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    fn resolve(
        &mut self,
        dataset: String,
        channel: String,
        tags: BTreeMap<String, String>,
        expected: Option<ChannelKind>,
        path: &str,
    ) -> Option<ChannelInput> {
        let source = self.source?;
        let Some(meta) = source.channel(&dataset, &channel) else {
            self.report(path, DiagnosticKind::ChannelNotFound { dataset, channel });
            return None;
        };
        if let Some(expected) = expected {
            if expected != meta.kind {
                self.report(
                    path,
                    DiagnosticKind::WrongChannelType {
                        dataset,
                        channel,
                        expected,
                        actual: meta.kind,
                    },
                );
                return None;
            }
        }
        Some(ChannelInput {
            kind: meta.kind,
            dataset,
            channel,
            tags,
            unit: meta.unit,
        })
    }
}
