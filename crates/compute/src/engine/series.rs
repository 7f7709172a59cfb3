//! Evaluating any series (numeric, enum or log) into its typed columns per group: what
//! result shaping and value selection start from.

use std::sync::Arc;

use crate::columns::Columns;
use crate::engine::{Engine, Grouped};
use crate::ir::AnySeries;
use crate::source::LogEntry;

/// The evaluated columns of one group, typed by the series they came from.
pub(crate) enum AnyColumns {
    Num(Columns<f64>),
    Enum(Columns<Arc<str>>),
    Log(Columns<LogEntry>),
}

impl AnyColumns {
    /// The points' timestamps, ascending.
    pub(crate) fn ts(&self) -> &[i64] {
        match self {
            AnyColumns::Num(c) => &c.ts,
            AnyColumns::Enum(c) => &c.ts,
            AnyColumns::Log(c) => &c.ts,
        }
    }
}

impl Engine<'_> {
    /// Points of `s` in `[a, b]`, per group.
    pub(crate) fn any_series(&self, s: &AnySeries, a: i64, b: i64) -> Grouped<AnyColumns> {
        match s {
            AnySeries::Numeric(n) => self
                .num(n, a, b)
                .into_iter()
                .map(|(g, c)| (g, AnyColumns::Num(c)))
                .collect(),
            AnySeries::Enum(e) => self
                .enum_series(e, a, b)
                .into_iter()
                .map(|(g, c)| (g, AnyColumns::Enum(c)))
                .collect(),
            AnySeries::Log(l) => self
                .logs(l, a, b)
                .into_iter()
                .map(|(g, c)| (g, AnyColumns::Log(c)))
                .collect(),
        }
    }
}
