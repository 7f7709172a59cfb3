//! Lowering: walks a wire `ComputableNode` into the engine's expressions ([`crate::ir`]),
//! checking it against the context and the data source and collecting every problem
//! with its JSON path. One module per node family; this one holds the walker and the
//! series sources (channels, selections, references, datasets).

mod consts;
mod numeric;
mod other;
mod summaries;
mod tags;

use std::collections::BTreeMap;

use wire::scout_compute::{
    ChannelSeries, ComputableNode, ComputeNode, Context, Dataset, Reference, SelectSeries,
    StringConstant, VariableValue,
};

use crate::error::{Diagnostic, DiagnosticKind, InvalidReason};
use crate::ir::{AnySeries, ChannelInput, EnumS, LogS, Num};
use crate::plan::Plan;
use crate::source::{ChannelKind, DataSource};

/// Dataset references may point at other references; deeper than this is taken as a cycle.
const MAX_REFERENCE_DEPTH: usize = 16;

/// Plans `node` against `context` and `source`, reporting all problems at once.
pub fn plan(
    node: &ComputableNode,
    context: &Context,
    source: &dyn DataSource,
) -> Result<Plan, Vec<Diagnostic>> {
    let mut lowerer = Lowerer::new(source);
    let plan = lowerer.node(node, context);
    match plan {
        Some(plan) if !lowerer.has_diagnostics() => Ok(plan),
        _ => Err(lowerer.into_diagnostics()),
    }
}

/// A lowered series with the unit symbol of its values.
pub(crate) type Typed<T> = (T, Option<String>);

/// Walks the typed node. Without a source it only checks structure (used by `classify`).
pub(crate) struct Lowerer<'a> {
    source: Option<&'a dyn DataSource>,
    diagnostics: Vec<Diagnostic>,
    /// Set when any channel is grouped: the result is then `grouped`.
    pub(crate) grouped: bool,
    /// Rolling nodes built so far: the next one's live-state slot.
    rolling_slots: usize,
}

impl<'a> Lowerer<'a> {
    pub(crate) fn new(source: &'a dyn DataSource) -> Self {
        Lowerer {
            source: Some(source),
            diagnostics: Vec::new(),
            grouped: false,
            rolling_slots: 0,
        }
    }

    /// A lowerer that checks structure only, for [`crate::classify`].
    pub(crate) fn structural() -> Self {
        Lowerer {
            source: None,
            diagnostics: Vec::new(),
            grouped: false,
            rolling_slots: 0,
        }
    }

    /// A fresh live-state slot for a rolling node being built.
    pub(crate) fn rolling_slot(&mut self) -> usize {
        self.rolling_slots += 1;
        self.rolling_slots - 1
    }

    pub(crate) fn into_diagnostics(self) -> Vec<Diagnostic> {
        self.diagnostics
    }

    pub(crate) fn has_diagnostics(&self) -> bool {
        !self.diagnostics.is_empty()
    }

    pub(crate) fn report(&mut self, path: impl Into<String>, kind: DiagnosticKind) {
        self.diagnostics.push(Diagnostic {
            path: path.into(),
            kind,
        });
    }

    pub(crate) fn unsupported(&mut self, path: &str, variant: &str) {
        self.report(
            format!("{path}.{variant}"),
            DiagnosticKind::UnsupportedNode {
                variant: variant.to_string(),
            },
        );
    }

    pub(crate) fn invalid(&mut self, path: &str, argument: &'static str, reason: InvalidReason) {
        let path = if path.ends_with(argument) {
            path.to_string()
        } else {
            format!("{path}.{argument}")
        };
        self.report(path, DiagnosticKind::InvalidArgument { argument, reason });
    }

    /// Any series (`Series` union).
    pub(crate) fn series(
        &mut self,
        s: &wire::scout_compute::Series,
        ctx: &Context,
        path: &str,
    ) -> Option<Typed<AnySeries>> {
        use wire::scout_compute::Series;
        match s {
            Series::Numeric(n) => self
                .numeric(n, ctx, &format!("{path}.numeric"))
                .map(|(e, u)| (AnySeries::Numeric(e), u)),
            Series::Enum(e) => self
                .enum_series(e, ctx, &format!("{path}.enum"))
                .map(|e| (AnySeries::Enum(e), None)),
            Series::Log(l) => self
                .log(l, ctx, &format!("{path}.log"))
                .map(|l| (AnySeries::Log(l), None)),
            Series::Raw(r) => self.raw_any(r, ctx, &format!("{path}.raw")),
            other => {
                self.unsupported(path, other.variant_name());
                None
            }
        }
    }

    /// A `raw` reference whose type is decided by the variable.
    fn raw_any(&mut self, r: &Reference, ctx: &Context, path: &str) -> Option<Typed<AnySeries>> {
        let value = self.variable(&r.name, ctx, path)??;
        match value {
            VariableValue::ComputeNode(cn) => {
                let inner = &cn.context;
                match &cn.series_node {
                    ComputeNode::Numeric(n) => self
                        .numeric(n, inner, path)
                        .map(|(e, u)| (AnySeries::Numeric(e), u)),
                    ComputeNode::Enum(e) => self
                        .enum_series(e, inner, path)
                        .map(|e| (AnySeries::Enum(e), None)),
                    ComputeNode::Log(l) => {
                        self.log(l, inner, path).map(|l| (AnySeries::Log(l), None))
                    }
                    other => {
                        self.wrong_variable(path, &r.name, "series", other.variant_name());
                        None
                    }
                }
            }
            VariableValue::Channel(_) | VariableValue::Series(_) => {
                let input = self.source_input(value, ctx, path, None)?;
                let unit = input.unit.clone();
                Some(match input.kind {
                    ChannelKind::Numeric => (AnySeries::Numeric(Num::Channel(input)), unit),
                    ChannelKind::Enum => (AnySeries::Enum(EnumS::Channel(input)), None),
                    ChannelKind::Log => (AnySeries::Log(LogS::Channel(input)), None),
                })
            }
            other => {
                self.wrong_variable(path, &r.name, "series", other.variant_name());
                None
            }
        }
    }

    /// A `raw` reference that must be of `expected` kind.
    pub(crate) fn raw_typed(
        &mut self,
        r: &Reference,
        ctx: &Context,
        path: &str,
        expected: ChannelKind,
    ) -> Option<Typed<AnySeries>> {
        let value = self.variable(&r.name, ctx, path)??;
        if let VariableValue::Channel(_) | VariableValue::Series(_) = value {
            let input = self.source_input(value, ctx, path, Some(expected))?;
            let unit = input.unit.clone();
            return Some(match expected {
                ChannelKind::Numeric => (AnySeries::Numeric(Num::Channel(input)), unit),
                ChannelKind::Enum => (AnySeries::Enum(EnumS::Channel(input)), None),
                ChannelKind::Log => (AnySeries::Log(LogS::Channel(input)), None),
            });
        }
        let got = self.raw_any(r, ctx, path)?;
        let kind = match &got.0 {
            AnySeries::Numeric(_) => ChannelKind::Numeric,
            AnySeries::Enum(_) => ChannelKind::Enum,
            AnySeries::Log(_) => ChannelKind::Log,
        };
        if kind != expected {
            self.wrong_variable(path, &r.name, expected.as_str(), kind.as_str());
            return None;
        }
        Some(got)
    }

    fn source_input(
        &mut self,
        value: &VariableValue,
        ctx: &Context,
        path: &str,
        expected: Option<ChannelKind>,
    ) -> Option<ChannelInput> {
        match value {
            VariableValue::Channel(c) => self.channel(c, ctx, path, expected),
            VariableValue::Series(sv) => {
                let mut group_by = Vec::new();
                for (i, t) in sv.group_by_tags.iter().enumerate() {
                    group_by.push(self.string(t, ctx, &format!("{path}.groupByTags.{i}"))?);
                }
                let mut input = self.select(&sv.select, ctx, path, expected)?;
                self.set_group_by(&mut input, group_by);
                Some(input)
            }
            _ => None,
        }
    }

    fn set_group_by(&mut self, input: &mut ChannelInput, mut group_by: Vec<String>) {
        group_by.sort();
        group_by.dedup();
        if !group_by.is_empty() {
            self.grouped = true;
        }
        input.group_by = group_by;
    }

    pub(crate) fn wrong_variable(
        &mut self,
        path: &str,
        name: &str,
        expected: &'static str,
        actual: &str,
    ) {
        self.report(
            path,
            DiagnosticKind::VariableHasWrongType {
                name: name.to_string(),
                expected,
                actual: actual.to_string(),
            },
        );
    }

    /// Looks a variable up; `Some(None)` in structural mode, where the context is unknown.
    pub(crate) fn variable<'c>(
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

    pub(crate) fn channel(
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
        let mut ok = true;
        for (key, value) in &d.tags {
            match self.string(value, ctx, &format!("{path}.tags.{key}")) {
                Some(v) => {
                    tags.insert(key.clone(), v);
                }
                None => ok = false,
            }
        }
        let tag_tests = match &d.tag_filters {
            Some(f) => self.tag_filters(f, ctx, &format!("{path}.tagFilters")),
            None => Some(Vec::new()),
        };
        let mut group_by: Vec<String> = d.tags_to_group_by.clone();
        for (i, t) in d.group_by_tags.iter().enumerate() {
            match self.string(t, ctx, &format!("{path}.groupByTags.{i}")) {
                Some(v) => group_by.push(v),
                None => ok = false,
            }
        }
        let (dataset, channel, tag_tests) = (dataset?, channel?, tag_tests?);
        if !ok {
            return None;
        }
        let mut input = self.resolve(dataset, channel, tags, expected, &path)?;
        input.tag_tests = tag_tests;
        self.set_group_by(&mut input, group_by);
        Some(input)
    }

    pub(crate) fn select(
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

    pub(crate) fn string(
        &mut self,
        s: &StringConstant,
        ctx: &Context,
        path: &str,
    ) -> Option<String> {
        match s {
            StringConstant::Literal(v) => Some(v.clone()),
            StringConstant::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)?? {
                    VariableValue::String(v) => Some(v.clone()),
                    other => {
                        self.wrong_variable(&path, name, "string", other.variant_name());
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

    /// A channel that does not exist (yet) reads as an empty series of the expected type,
    /// so a subscription made before the first write fills in when data arrives. A
    /// channel of another type is an error.
    fn resolve(
        &mut self,
        dataset: String,
        channel: String,
        tags: BTreeMap<String, String>,
        expected: Option<ChannelKind>,
        path: &str,
    ) -> Option<ChannelInput> {
        let source = self.source?;
        let meta = source.channel(&dataset, &channel);
        let kind = match (&meta, expected) {
            (Some(m), Some(e)) if m.kind != e => {
                self.report(
                    path,
                    DiagnosticKind::WrongChannelType {
                        dataset,
                        channel,
                        expected: e,
                        actual: m.kind,
                    },
                );
                return None;
            }
            (Some(m), _) => m.kind,
            (None, Some(e)) => e,
            (None, None) => ChannelKind::Numeric,
        };
        Some(ChannelInput {
            kind,
            dataset,
            channel,
            tags,
            group_by: Vec::new(),
            tag_tests: Vec::new(),
            unit: meta.and_then(|m| m.unit),
        })
    }
}
