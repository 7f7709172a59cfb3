//! Tag predicates: `tagFilters` on channel sources and `filterByTag` on series.
//!
//! Both narrow which stored series a channel read merges, so `filterByTag` is pushed down
//! onto every channel leaf of its input (like `tags`): a derived series is made of
//! per-timestamp combinations of leaf points, and its groups carry the leaves' tags, so
//! filtering leaves filters the series they produce. Pushing down keeps look-back and
//! incremental evaluation unchanged.

use wire::scout_compute::{
    Context, StringConstant, StringSetConstantV2, TagFilterOperator, TagFilters, TagPredicate,
    VariableValue,
};

use crate::ir::{AnySeries, ChannelInput, EnumS, LogS, Num, Ranges, TagTest};
use crate::lower::Lowerer;

impl Lowerer<'_> {
    /// A `TagPredicate` (`in`, `notIn`, `and`) as a conjunction of tests.
    pub(crate) fn tag_predicate(
        &mut self,
        p: &TagPredicate,
        ctx: &Context,
        path: &str,
    ) -> Option<Vec<TagTest>> {
        let path = format!("{path}.{}", p.variant_name());
        let test = |l: &mut Self, key: &StringConstant, values: &StringSetConstantV2, negate| {
            let key = l.string(key, ctx, &format!("{path}.key"));
            let values = l.string_set(values, ctx, &format!("{path}.values"));
            Some(vec![TagTest {
                key: key?,
                values: values?,
                negate,
            }])
        };
        match p {
            TagPredicate::In(t) => test(self, &t.key, &t.values, false),
            TagPredicate::NotIn(t) => test(self, &t.key, &t.values, true),
            TagPredicate::And(a) => {
                let left = self.tag_predicate(&a.left, ctx, &format!("{path}.left"));
                let right = self.tag_predicate(&a.right, ctx, &format!("{path}.right"));
                let mut all = left?;
                all.extend(right?);
                Some(all)
            }
            other => {
                self.unsupported(&path, other.variant_name());
                None
            }
        }
    }

    /// `DataSourceChannel.tagFilters` (`single`, `and`) as a conjunction of tests.
    pub(crate) fn tag_filters(
        &mut self,
        f: &TagFilters,
        ctx: &Context,
        path: &str,
    ) -> Option<Vec<TagTest>> {
        let path = format!("{path}.{}", f.variant_name());
        match f {
            TagFilters::Single(t) => {
                let key = self.string(&t.key, ctx, &format!("{path}.key"));
                let values = self.strings(&t.values, ctx, &format!("{path}.values"));
                Some(vec![TagTest {
                    key: key?,
                    values: values?,
                    negate: t.operator == TagFilterOperator::NotIn,
                }])
            }
            TagFilters::And(all) => {
                let mut out = Some(Vec::new());
                for (i, f) in all.iter().enumerate() {
                    match (self.tag_filters(f, ctx, &format!("{path}.{i}")), &mut out) {
                        (Some(t), Some(o)) => o.extend(t),
                        _ => out = None,
                    }
                }
                out
            }
            other => {
                self.unsupported(&path, other.variant_name());
                None
            }
        }
    }

    /// A list of string constants, every problem reported.
    pub(crate) fn strings(
        &mut self,
        v: &[StringConstant],
        ctx: &Context,
        path: &str,
    ) -> Option<Vec<String>> {
        let all: Vec<Option<String>> = v
            .iter()
            .enumerate()
            .map(|(i, s)| self.string(s, ctx, &format!("{path}.{i}")))
            .collect();
        all.into_iter().collect()
    }

    fn string_set(
        &mut self,
        v: &StringSetConstantV2,
        ctx: &Context,
        path: &str,
    ) -> Option<Vec<String>> {
        match v {
            StringSetConstantV2::Literal(v) => self.strings(v, ctx, &format!("{path}.literal")),
            StringSetConstantV2::Variable(name) => {
                let path = format!("{path}.variable");
                match self.variable(name, ctx, &path)? {
                    None => Some(Vec::new()),
                    Some(VariableValue::StringSet(s)) => Some(s.to_vec()),
                    Some(other) => {
                        self.wrong_variable(&path, name, "stringSet", other.variant_name());
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
}

fn restrict_leaf(c: &mut ChannelInput, tests: &[TagTest]) {
    c.tag_tests.extend_from_slice(tests);
}

/// Adds `tests` to every channel leaf of a numeric expression.
pub(crate) fn restrict_num(e: &mut Num, tests: &[TagTest]) {
    match e {
        Num::Channel(c) => restrict_leaf(c, tests),
        Num::Constant(_) => {}
        Num::Unary(_, x)
        | Num::Shift(x, _)
        | Num::Derivative { input: x, .. }
        | Num::ValueDifference { input: x, .. }
        | Num::Rolling { input: x, .. }
        | Num::ThresholdFilter { input: x, .. }
        | Num::DropNan(x)
        | Num::SelectTags { input: x, .. }
        | Num::CumulativeSum { input: x, .. }
        | Num::Integral { input: x, .. } => restrict_num(x, tests),
        Num::Combine { inputs, .. } => inputs.iter_mut().for_each(|x| restrict_num(x, tests)),
        Num::TimeDifference { input, .. } => restrict_any(input, tests),
        Num::RangeFilter { input, ranges } => {
            restrict_num(input, tests);
            restrict_ranges(ranges, tests);
        }
        Num::EnumToNumeric { input, .. } | Num::EnumTest { input, .. } => {
            restrict_enum(input, tests)
        }
    }
}

/// Adds `tests` to every channel leaf of an enum expression.
pub(crate) fn restrict_enum(e: &mut EnumS, tests: &[TagTest]) {
    match e {
        EnumS::Channel(c) => restrict_leaf(c, tests),
        EnumS::Shift(x, _) => restrict_enum(x, tests),
        EnumS::ValueMap { input, .. } => restrict_num(input, tests),
        EnumS::RangeFilter { input, ranges } => {
            restrict_enum(input, tests);
            restrict_ranges(ranges, tests);
        }
    }
}

/// Adds `tests` to every channel leaf of a log expression.
pub(crate) fn restrict_log(e: &mut LogS, tests: &[TagTest]) {
    match e {
        LogS::Channel(c) => restrict_leaf(c, tests),
        LogS::Filter { input, .. } => restrict_log(input, tests),
    }
}

fn restrict_any(e: &mut AnySeries, tests: &[TagTest]) {
    match e {
        AnySeries::Numeric(n) => restrict_num(n, tests),
        AnySeries::Enum(x) => restrict_enum(x, tests),
        AnySeries::Log(x) => restrict_log(x, tests),
    }
}

fn restrict_ranges(e: &mut Ranges, tests: &[TagTest]) {
    match e {
        Ranges::Runs { predicate: x, .. } | Ranges::Crossover(x) => restrict_num(x, tests),
        Ranges::Union(v) | Ranges::Intersect(v) => {
            v.iter_mut().for_each(|x| restrict_ranges(x, tests))
        }
        Ranges::Not(x)
        | Ranges::DurationFilter { input: x, .. }
        | Ranges::Padded { input: x, .. } => restrict_ranges(x, tests),
        Ranges::OnChange(x) => restrict_any(x, tests),
    }
}
