//! `SelectValue`: the first or last point of a series, or the first, last or n-th range,
//! within the window `[start, end]`. An empty window gives an absent value.

use crate::engine::{AnyColumns, Engine, Grouped};
use crate::plan::ValueSelect;
use crate::render::{point_body, wire_range, Body};

/// The selected value of each group over `[start, end]`.
pub(crate) fn select(engine: &Engine<'_>, v: &ValueSelect, start: i64, end: i64) -> Grouped<Body> {
    match v {
        ValueSelect::Point {
            series,
            last,
            skip_nan,
        } => engine
            .any_series(series, start, end)
            .into_iter()
            .map(|(g, c)| {
                let i = pick(&c, *last, *skip_nan);
                (g, point_body(&c, i))
            })
            .collect(),
        ValueSelect::Range {
            ranges,
            index,
            descending,
        } => engine
            .ranges(ranges, start, end)
            .into_iter()
            .map(|(g, mut rs)| {
                if *descending {
                    rs.reverse();
                }
                let r = usize::try_from(*index).ok().and_then(|i| rs.get(i));
                (g, Body::RangeValue(r.map(wire_range)))
            })
            .collect(),
    }
}

/// Index of the first (or last) point of `c`, skipping NaN values when asked.
pub(crate) fn pick(c: &AnyColumns, last: bool, skip_nan: bool) -> Option<usize> {
    let n = c.ts().len();
    let keep = |i: usize| match c {
        AnyColumns::Num(c) => !skip_nan || !c.values[i].is_nan(),
        AnyColumns::Enum(_) | AnyColumns::Log(_) => true,
    };
    if last {
        (0..n).rev().find(|&i| keep(i))
    } else {
        (0..n).find(|&i| keep(i))
    }
}
