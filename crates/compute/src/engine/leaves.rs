//! The channel leaves of an expression with the time shift applied above each, for
//! counting input points and guessing look-back reads.

use crate::ir::{AnySeries, ChannelInput, EnumS, LogS, Num, Ranges};

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

    pub(crate) fn of_enum(e: &'a EnumS) -> Self {
        let mut l = Leaves::default();
        l.enum_s(e, 0);
        l
    }

    pub(crate) fn of_log(e: &'a LogS) -> Self {
        let mut l = Leaves::default();
        l.log(e, 0);
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
            | Num::CumulativeSum { input: x, .. }
            | Num::Integral { input: x, .. } => self.num(x, s),
            Num::Combine { inputs, .. } => inputs.iter().for_each(|x| self.num(x, s)),
            Num::Shift(x, d) => self.num(x, s.saturating_add(*d)),
            Num::TimeDifference { input, .. } => self.any(input, s),
            Num::RangeFilter { input, ranges } => {
                self.num(input, s);
                self.ranges(ranges, s);
            }
            Num::EnumToNumeric { input, .. } | Num::EnumTest { input, .. } => {
                self.enum_s(input, s)
            }
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

/// How far before a changed input timestamp the output of `e` can change (negative time
/// shifts move changes earlier; every other node only looks backward in its inputs, so a
/// change at `t` affects outputs at `t` or later).
pub(crate) fn look_back(leaves: &Leaves<'_>) -> i64 {
    leaves
        .iter()
        .map(|(_, shift)| shift.saturating_neg().max(0))
        .max()
        .unwrap_or(0)
}
