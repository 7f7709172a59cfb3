//! The planned form of a compute graph: what the engine evaluates.
//!
//! Booleans are numeric series of `1.0` (true) and `0.0` (false), so comparisons, `and`,
//! `or`, `ifElse` and range predicates share the numeric alignment code.

use std::collections::BTreeMap;

use crate::source::ChannelKind;

/// One channel read, narrowed by tags and optionally grouped by tag values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ChannelInput {
    pub(crate) kind: ChannelKind,
    pub(crate) dataset: String,
    pub(crate) channel: String,
    pub(crate) tags: BTreeMap<String, String>,
    /// One output group per distinct tuple of these tags' values; empty: all series merged.
    pub(crate) group_by: Vec<String>,
    /// Series must pass every test (`tagFilters`, `filterByTag` pushed down to the leaf).
    pub(crate) tag_tests: Vec<TagTest>,
    pub(crate) unit: Option<String>,
}

/// A test on one tag of a series: its value is (or, negated, is not) one of `values`.
/// A series without the key fails an `in` test and passes a `not in` test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TagTest {
    pub(crate) key: String,
    pub(crate) values: Vec<String>,
    pub(crate) negate: bool,
}

impl TagTest {
    pub(crate) fn passes(&self, tags: &BTreeMap<String, String>) -> bool {
        let hit = tags
            .get(&self.key)
            .is_some_and(|v| self.values.iter().any(|x| x == v));
        hit != self.negate
    }
}

/// Pointwise functions of one value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Unary {
    Abs,
    Negate,
    Sqrt,
    Ln,
    Log10,
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    /// `v · mul + add`: scale, offset, unit conversion.
    Affine {
        mul: f64,
        add: f64,
    },
    /// `1.0` where the comparison with the constant holds, else `0.0` (NaN: `0.0`).
    Compare {
        op: Cmp,
        threshold: f64,
    },
    /// `1.0` where `lo (<|<=) v (<|<=) hi` (inside) or outside it.
    Bounds {
        lo: f64,
        hi: f64,
        inside: bool,
        inclusive: bool,
    },
}

/// Comparisons; NaN compares false.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

/// Functions of the aligned values of several inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Combine {
    Add,
    Sub,
    Mul,
    Div,
    FloorDiv,
    Pow,
    Mod,
    Atan2,
    Max,
    Min,
    Mean,
    Sum,
    Product,
    /// Not aligned: every input point; several at one timestamp are reduced with the
    /// aggregate (first input's when none is given).
    Union(Option<Agg>),
    Compare(Cmp),
    And,
    Or,
    /// `inputs[0] != 0 ? inputs[1] : inputs[2]`.
    IfElse,
}

/// What happens to negative outputs of derivative / valueDifference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Negatives {
    Allow,
    Zero,
    Exclude,
}

/// Rolling window extent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Window {
    /// `(t − w, t]` in ns.
    Time(i64),
    /// The current point and the `n − 1` before it.
    Points(usize),
}

/// Reductions over a rolling window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Agg {
    Sum,
    Mean,
    Min,
    Max,
    Count,
    StdDev,
    Rms,
    /// Quantile in `[0, 1]`, linear interpolation between closest ranks.
    Percentile(f64),
}

/// A numeric (or boolean) series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Num {
    Channel(ChannelInput),
    Constant(f64),
    Unary(Unary, Box<Num>),
    /// Aligned combination of several inputs; `fill` is the forward-fill limit (ns).
    Combine {
        op: Combine,
        inputs: Vec<Num>,
        fill: i64,
    },
    Shift(Box<Num>, i64),
    Derivative {
        input: Box<Num>,
        unit_ns: f64,
        negatives: Negatives,
    },
    ValueDifference {
        input: Box<Num>,
        negatives: Negatives,
    },
    TimeDifference {
        input: Box<AnySeries>,
        unit_ns: f64,
    },
    Rolling {
        input: Box<Num>,
        window: Window,
        agg: Agg,
        /// This node's own slot for the state a live computation keeps between updates
        /// (`engine::rolling`): numbered by the lowerer, one per node built, and lowering
        /// never copies a built expression, so no two rolling nodes of a plan share one.
        slot: usize,
    },
    /// Keeps points whose value passes the comparison (NaN never passes).
    ThresholdFilter {
        input: Box<Num>,
        op: Cmp,
        threshold: f64,
    },
    DropNan(Box<Num>),
    /// Keeps points inside any of the ranges.
    RangeFilter {
        input: Box<Num>,
        ranges: Box<Ranges>,
    },
    EnumToNumeric {
        input: Box<EnumS>,
        mapping: BTreeMap<String, f64>,
        default: Option<f64>,
    },
    /// `1.0` where the enum value passes the filter.
    EnumTest {
        input: Box<EnumS>,
        filter: StringFilter,
    },
    CumulativeSum {
        input: Box<Num>,
        start: i64,
    },
    /// Keeps only these keys in each group's tags; groups stay distinct even when their
    /// kept tags coincide (upstream: cardinality is preserved).
    SelectTags {
        input: Box<Num>,
        keys: Vec<String>,
    },
    Integral {
        input: Box<Num>,
        start: i64,
        unit_ns: f64,
    },
}

/// A set-of-strings test, for enum filters.
#[derive(Debug, Clone)]
pub(crate) enum StringFilter {
    In(Vec<String>),
    NotIn(Vec<String>),
    Regex(Vec<regex::Regex>),
}

impl PartialEq for StringFilter {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (StringFilter::In(a), StringFilter::In(b)) => a == b,
            (StringFilter::NotIn(a), StringFilter::NotIn(b)) => a == b,
            (StringFilter::Regex(a), StringFilter::Regex(b)) => a
                .iter()
                .map(|r| r.as_str())
                .eq(b.iter().map(|r| r.as_str())),
            _ => false,
        }
    }
}

impl StringFilter {
    pub(crate) fn test(&self, v: &str) -> bool {
        match self {
            StringFilter::In(s) => s.iter().any(|x| x == v),
            StringFilter::NotIn(s) => !s.iter().any(|x| x == v),
            StringFilter::Regex(rs) => rs.iter().any(|r| r.is_match(v)),
        }
    }
}

/// An enum (string) series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EnumS {
    Channel(ChannelInput),
    Shift(Box<EnumS>, i64),
    /// First matching `[lo, hi)` wins; unmatched points take `default` or are dropped.
    ValueMap {
        input: Box<Num>,
        mapping: Vec<(f64, f64, String)>,
        default: Option<String>,
    },
    RangeFilter {
        input: Box<EnumS>,
        ranges: Box<Ranges>,
    },
}

/// A log series.
#[derive(Debug, Clone)]
pub(crate) enum LogS {
    Channel(ChannelInput),
    Filter { input: Box<LogS>, filter: LogFilter },
}

impl PartialEq for LogS {
    fn eq(&self, other: &Self) -> bool {
        format!("{self:?}") == format!("{other:?}")
    }
}

/// A predicate over log points.
#[derive(Debug, Clone)]
pub(crate) enum LogFilter {
    /// The message matches the regex (unanchored).
    Regex(regex::Regex),
    /// The message contains the text, ignoring case.
    Contains(String),
    And(Vec<LogFilter>),
    Or(Vec<LogFilter>),
    Not(Box<LogFilter>),
}

/// Any series type, for nodes that only look at timestamps or changes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AnySeries {
    Numeric(Num),
    Enum(EnumS),
    Log(LogS),
}

/// Persistence options of predicate ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Persistence {
    pub(crate) min_points: usize,
    pub(crate) min_duration: i64,
    /// Start the range where persistence is satisfied instead of at the first match.
    pub(crate) start_at_persistence: bool,
}

impl Default for Persistence {
    fn default() -> Self {
        Persistence {
            min_points: 1,
            min_duration: 0,
            start_at_persistence: false,
        }
    }
}

/// A range series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Ranges {
    /// Runs of points where a boolean series is true.
    Runs {
        predicate: Box<Num>,
        persistence: Persistence,
    },
    Union(Vec<Ranges>),
    Intersect(Vec<Ranges>),
    Not(Box<Ranges>),
    DurationFilter {
        input: Box<Ranges>,
        op: Cmp,
        duration: i64,
        /// Open ends measured to the window bound (true) or as infinite.
        window_bound: bool,
    },
    Padded {
        input: Box<Ranges>,
        before: i64,
        after: i64,
    },
    OnChange(Box<AnySeries>),
    Crossover(Box<Num>),
}
