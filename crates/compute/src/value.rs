//! `SelectValue`: the first or last point of a series, or the first, last or n-th range,
//! within the window `[start, end]`. An empty window gives an absent value.

use wire::scout_compute::{EnumPoint, LogPoint, LogValue, NumericPoint};
use wire::time::nanos_to_timestamp;

use crate::engine::{Engine, Grouped};
use crate::eval::{series_cols_pub, wire_range, Body, SeriesPoint};
use crate::ir::AnySeries;
use crate::plan::ValueSelect;
use crate::summarize::log_id;

pub(crate) fn select(engine: &Engine<'_>, v: &ValueSelect, start: i64, end: i64) -> Grouped<Body> {
    match v {
        ValueSelect::Point {
            series,
            last,
            skip_nan,
        } => series_cols_pub(engine, series, start, end)
            .into_iter()
            .map(|(g, (ts, values))| (g, point(series, &ts, values, *last, *skip_nan)))
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

fn point(series: &AnySeries, ts: &[i64], values: SeriesPoint, last: bool, skip_nan: bool) -> Body {
    let pick = |keep: &dyn Fn(usize) -> bool| {
        let mut idx = (0..ts.len()).filter(|&i| keep(i));
        if last {
            idx.last()
        } else {
            idx.next()
        }
    };
    let t = |i: usize| nanos_to_timestamp(ts[i]);
    match (series, values) {
        (_, SeriesPoint::Num(v)) => {
            let i = pick(&|i| !skip_nan || !v[i].is_nan());
            Body::NumericPoint(i.map(|i| NumericPoint {
                timestamp: t(i),
                value: v[i],
            }))
        }
        (_, SeriesPoint::Enum(v)) => Body::EnumPoint(pick(&|_| true).map(|i| EnumPoint {
            timestamp: t(i),
            value: v[i].to_string(),
        })),
        (_, SeriesPoint::Log(v, series)) => Body::LogPoint(pick(&|_| true).map(|i| LogPoint {
            timestamp: t(i),
            value: LogValue {
                message: v[i].0.to_string(),
                args: (*v[i].1).clone(),
                id: log_id(series.get(i).copied().unwrap_or(0), ts[i]),
            },
        })),
    }
}
