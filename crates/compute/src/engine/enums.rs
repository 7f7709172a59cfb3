//! Enum and log series: channel reads, time shifts, value maps, range filters and log
//! message filters.

use std::sync::Arc;

use crate::columns::{self, Columns};
use crate::engine::intervals::keep_inside;
use crate::engine::{cols, pair2, Engine, Grouped};
use crate::ir::{EnumS, LogFilter, LogS};
use crate::source::LogEntry;

impl Engine<'_> {
    /// Points of an enum series in `[a, b]`.
    pub(crate) fn enum_series(&self, e: &EnumS, a: i64, b: i64) -> Grouped<Columns<Arc<str>>> {
        match e {
            EnumS::Channel(c) => self.read_leaf(c, a, b, |ids, a, b| {
                columns::strings(ids, self.source, a, b)
            }),
            EnumS::Shift(x, d) => self
                .enum_series(x, a.saturating_sub(*d), b.saturating_sub(*d))
                .into_iter()
                .map(|(g, mut c)| {
                    c.ts.iter_mut().for_each(|t| *t = t.saturating_add(*d));
                    (g, c)
                })
                .collect(),
            // First `[lo, hi)` containing the value wins; NaN matches nothing.
            EnumS::ValueMap {
                input,
                mapping,
                default,
            } => self
                .num(input, a, b)
                .into_iter()
                .map(|(g, c)| {
                    let labels: Vec<Arc<str>> = mapping
                        .iter()
                        .map(|(_, _, s)| Arc::from(s.as_str()))
                        .collect();
                    let default: Option<Arc<str>> = default.as_deref().map(Arc::from);
                    let (mut ts, mut vs) = (Vec::new(), Vec::new());
                    for (&t, &v) in c.ts.iter().zip(&c.values) {
                        let hit = mapping.iter().position(|(lo, hi, _)| *lo <= v && v < *hi);
                        if let Some(label) = hit.map(|i| labels[i].clone()).or(default.clone()) {
                            ts.push(t);
                            vs.push(label);
                        }
                    }
                    (g, cols(ts, vs))
                })
                .collect(),
            EnumS::RangeFilter { input, ranges } => {
                let data = self.enum_series(input, a, b);
                let ranges = self.ranges(ranges, a, b);
                pair2(&data, &ranges)
                    .into_iter()
                    .map(|(g, d, r)| (g, keep_inside(d, r)))
                    .collect()
            }
        }
    }

    /// Log points in `[a, b]`, keeping their series ids (log point ids derive from them).
    pub(crate) fn logs(&self, e: &LogS, a: i64, b: i64) -> Grouped<Columns<LogEntry>> {
        match e {
            LogS::Channel(c) => {
                self.read_leaf(c, a, b, |ids, a, b| columns::logs(ids, self.source, a, b))
            }
            LogS::Filter { input, filter } => self
                .logs(input, a, b)
                .into_iter()
                .map(|(g, c)| {
                    let mut out = Columns {
                        ts: Vec::new(),
                        values: Vec::new(),
                        series: Vec::new(),
                    };
                    for i in 0..c.ts.len() {
                        if matches(filter, &c.values[i].0) {
                            out.ts.push(c.ts[i]);
                            out.values.push(c.values[i].clone());
                            out.series.push(c.series.get(i).copied().unwrap_or(0));
                        }
                    }
                    (g, out)
                })
                .collect(),
        }
    }
}

fn matches(f: &LogFilter, message: &str) -> bool {
    match f {
        LogFilter::Regex(r) => r.is_match(message),
        LogFilter::Contains(s) => message.to_lowercase().contains(&s.to_lowercase()),
        LogFilter::And(v) => v.iter().all(|x| matches(x, message)),
        LogFilter::Or(v) => v.iter().any(|x| matches(x, message)),
        LogFilter::Not(x) => !matches(x, message),
    }
}
