//! Ranges as values: the half-open [`Range`] and the operations on range lists that
//! both the range nodes (`ranges.rs`) and the range filters of numeric and enum series
//! use (merge, intersect, complement, keeping the points inside).
//!
//! ```text
//!   merge      [1, 3) [2, 5) [5, 6)   ->  [1, 6)        (overlapping and touching)
//!   intersect  [1, 4) & [3, 6)        ->  [3, 4)
//!   complement [1, 3) [5, 6)          ->  (.., 1) [3, 5) [6, ..)
//! ```

use crate::columns::Columns;

/// A half-open range `[start, end)`; zero-length `[t, t]` ranges mark instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Range {
    pub(crate) start: Option<i64>,
    pub(crate) end: Option<i64>,
}

impl Range {
    /// Whether the range intersects `[a, b]` (inclusive on both ends).
    pub(crate) fn touches(&self, a: i64, b: i64) -> bool {
        self.start.is_none_or(|s| s <= b) && self.end.is_none_or(|e| e >= a)
    }

    pub(crate) fn contains(&self, t: i64) -> bool {
        let after_start = self.start.is_none_or(|s| s <= t);
        let before_end = self
            .end
            .is_none_or(|e| t < e || (Some(e) == self.start && t == e));
        after_start && before_end
    }

    pub(crate) fn lo(&self) -> i64 {
        self.start.unwrap_or(i64::MIN)
    }

    pub(crate) fn hi(&self) -> i64 {
        self.end.unwrap_or(i64::MAX)
    }
}

/// Sorts and merges overlapping and touching ranges.
pub(crate) fn merge(mut rs: Vec<Range>) -> Vec<Range> {
    rs.sort_by_key(|r| (r.lo(), r.hi()));
    let mut out: Vec<Range> = Vec::with_capacity(rs.len());
    for r in rs {
        match out.last_mut() {
            Some(last) if r.lo() <= last.hi() => {
                if r.hi() > last.hi() {
                    last.end = r.end;
                }
            }
            _ => out.push(r),
        }
    }
    out
}

pub(crate) fn intersect(x: &[Range], y: &[Range]) -> Vec<Range> {
    let mut out = Vec::new();
    for r in x {
        for s in y {
            let lo = r.lo().max(s.lo());
            let hi = r.hi().min(s.hi());
            if lo < hi || (lo == hi && (r.lo() == r.hi() || s.lo() == s.hi())) {
                out.push(Range {
                    start: (lo != i64::MIN).then_some(lo),
                    end: (hi != i64::MAX).then_some(hi),
                });
            }
        }
    }
    merge(out)
}

/// The gaps between merged ranges over the whole time axis.
pub(crate) fn complement(rs: &[Range]) -> Vec<Range> {
    let mut out = Vec::new();
    let mut prev: Option<Option<i64>> = Some(None);
    for r in rs {
        if let Some(p) = prev {
            if r.start.is_some() && p.is_none_or(|p| Some(p) != r.start) {
                out.push(Range {
                    start: p,
                    end: r.start,
                });
            }
        }
        prev = r.end.map(Some);
    }
    if let Some(Some(p)) = prev {
        out.push(Range {
            start: Some(p),
            end: None,
        });
    }
    if rs.is_empty() {
        out = vec![Range {
            start: None,
            end: None,
        }];
    }
    out
}

/// Points inside any of the ranges.
pub(crate) fn keep_inside<V: Clone>(c: &Columns<V>, rs: &[Range]) -> Columns<V> {
    let rs = merge(rs.to_vec());
    let mut out = Columns {
        ts: Vec::new(),
        values: Vec::new(),
        series: Vec::new(),
    };
    for i in 0..c.ts.len() {
        let t = c.ts[i];
        if rs.iter().any(|r| r.contains(t)) {
            out.ts.push(t);
            out.values.push(c.values[i].clone());
            if let Some(s) = c.series.get(i) {
                out.series.push(*s);
            }
        }
    }
    out
}
