//! The channel leaves of an expression with the time shift applied above each, for
//! counting input points and guessing look-back reads.

use crate::ir::{AnySeries, ChannelInput, EnumS, LogS, Num, Ranges};
use crate::plan::{Output, Plan, ValueSelect};

/// `(leaf, shift)`: a stored point at `t` reaches the output at `t + shift`.
#[derive(Debug, Default)]
pub(crate) struct Leaves<'a>(Vec<(&'a ChannelInput, i64)>);

impl<'a> Leaves<'a> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &(&'a ChannelInput, i64)> {
        self.0.iter()
    }

    pub(crate) fn of_num(e: &'a Num) -> Self {
        let mut l = Leaves::default();
        l.num(e, 0);
        l
    }

    pub(crate) fn of_any(e: &'a AnySeries) -> Self {
        let mut l = Leaves::default();
        l.any(e, 0);
        l
    }

    pub(crate) fn of_ranges(e: &'a Ranges) -> Self {
        let mut l = Leaves::default();
        l.ranges(e, 0);
        l
    }

    fn any(&mut self, e: &'a AnySeries, s: i64) {
        match e {
            AnySeries::Numeric(n) => self.num(n, s),
            AnySeries::Enum(x) => self.enum_s(x, s),
            AnySeries::Log(x) => self.log(x, s),
        }
    }

    fn num(&mut self, e: &'a Num, s: i64) {
        match e {
            Num::Channel(c) => self.0.push((c, s)),
            Num::Constant(_) => {}
            Num::Unary(_, x)
            | Num::Derivative { input: x, .. }
            | Num::ValueDifference { input: x, .. }
            | Num::Rolling { input: x, .. }
            | Num::ThresholdFilter { input: x, .. }
            | Num::DropNan(x)
            | Num::SelectTags { input: x, .. }
            | Num::CumulativeSum { input: x, .. }
            | Num::Integral { input: x, .. } => self.num(x, s),
            Num::Combine { inputs, .. } => inputs.iter().for_each(|x| self.num(x, s)),
            Num::Shift(x, d) => self.num(x, s.saturating_add(*d)),
            Num::TimeDifference { input, .. } => self.any(input, s),
            Num::RangeFilter { input, ranges } => {
                self.num(input, s);
                self.ranges(ranges, s);
            }
            Num::EnumToNumeric { input, .. } | Num::EnumTest { input, .. } => self.enum_s(input, s),
        }
    }

    fn enum_s(&mut self, e: &'a EnumS, s: i64) {
        match e {
            EnumS::Channel(c) => self.0.push((c, s)),
            EnumS::Shift(x, d) => self.enum_s(x, s.saturating_add(*d)),
            EnumS::ValueMap { input, .. } => self.num(input, s),
            EnumS::RangeFilter { input, ranges } => {
                self.enum_s(input, s);
                self.ranges(ranges, s);
            }
        }
    }

    fn log(&mut self, e: &'a LogS, s: i64) {
        match e {
            LogS::Channel(c) => self.0.push((c, s)),
            LogS::Filter { input, .. } => self.log(input, s),
        }
    }

    fn ranges(&mut self, e: &'a Ranges, s: i64) {
        match e {
            Ranges::Runs { predicate, .. } => self.num(predicate, s),
            Ranges::Crossover(x) => self.num(x, s),
            Ranges::Union(v) | Ranges::Intersect(v) => v.iter().for_each(|x| self.ranges(x, s)),
            Ranges::Not(x)
            | Ranges::DurationFilter { input: x, .. }
            | Ranges::Padded { input: x, .. } => self.ranges(x, s),
            Ranges::OnChange(x) => self.any(x, s),
        }
    }
}

/// How far before a changed input timestamp the output can change. Every node looks only
/// backward in its inputs (a change at `t` affects outputs at `t` or later) except negative
/// time shifts, which move changes earlier, and padding before ranges.
pub(crate) fn look_back_num(e: &Num) -> i64 {
    match e {
        Num::Channel(_) | Num::Constant(_) => 0,
        Num::Unary(_, x)
        | Num::Derivative { input: x, .. }
        | Num::ValueDifference { input: x, .. }
        | Num::Rolling { input: x, .. }
        | Num::ThresholdFilter { input: x, .. }
        | Num::DropNan(x)
        | Num::SelectTags { input: x, .. }
        | Num::CumulativeSum { input: x, .. }
        | Num::Integral { input: x, .. } => look_back_num(x),
        Num::Combine { inputs, .. } => inputs.iter().map(look_back_num).max().unwrap_or(0),
        Num::Shift(x, d) => look_back_num(x).saturating_sub(*d).max(0),
        Num::TimeDifference { input, .. } => look_back_any(input),
        Num::RangeFilter { input, ranges } => look_back_num(input).max(look_back_ranges(ranges)),
        Num::EnumToNumeric { input, .. } | Num::EnumTest { input, .. } => look_back_enum(input),
    }
}

pub(crate) fn look_back_enum(e: &EnumS) -> i64 {
    match e {
        EnumS::Channel(_) => 0,
        EnumS::Shift(x, d) => look_back_enum(x).saturating_sub(*d).max(0),
        EnumS::ValueMap { input, .. } => look_back_num(input),
        EnumS::RangeFilter { input, ranges } => look_back_enum(input).max(look_back_ranges(ranges)),
    }
}

pub(crate) fn look_back_any(e: &AnySeries) -> i64 {
    match e {
        AnySeries::Numeric(n) => look_back_num(n),
        AnySeries::Enum(x) => look_back_enum(x),
        AnySeries::Log(_) => 0,
    }
}

pub(crate) fn look_back_ranges(e: &Ranges) -> i64 {
    match e {
        Ranges::Runs { predicate, .. } => look_back_num(predicate),
        Ranges::Crossover(x) => look_back_num(x),
        Ranges::Union(v) | Ranges::Intersect(v) => {
            v.iter().map(look_back_ranges).max().unwrap_or(0)
        }
        Ranges::Not(x) | Ranges::DurationFilter { input: x, .. } => look_back_ranges(x),
        Ranges::Padded { input, before, .. } => {
            look_back_ranges(input).saturating_add((*before).max(0))
        }
        Ranges::OnChange(x) => look_back_any(x),
    }
}

/// Look-back of a plan's output.
pub(crate) fn look_back_of(o: &Output) -> i64 {
    match o {
        Output::Series(s) | Output::Value(ValueSelect::Point { series: s, .. }) => look_back_any(s),
        Output::Ranges { ranges, .. } | Output::Value(ValueSelect::Range { ranges, .. }) => {
            look_back_ranges(ranges)
        }
    }
}

impl Plan {
    /// The channel leaves the plan reads, with their time shifts.
    pub(crate) fn leaves(&self) -> Leaves<'_> {
        match &self.output {
            Output::Series(s) | Output::Value(ValueSelect::Point { series: s, .. }) => {
                Leaves::of_any(s)
            }
            Output::Ranges { ranges, .. } | Output::Value(ValueSelect::Range { ranges, .. }) => {
                Leaves::of_ranges(ranges)
            }
        }
    }
}
