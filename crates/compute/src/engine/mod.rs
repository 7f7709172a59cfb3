//! Evaluation of planned expressions over a time range.
//!
//! The contract every evaluator keeps: `eval(e, a, b)` returns exactly the points of `e`
//! with timestamps in `[a, b]`, as they would be computed over **all** stored data up to
//! `b`. Nodes that look back (derivative: one point, rolling: the window, alignment: the
//! fill limit, time shift: the shift) read what they need before `a` themselves, so an
//! append over `[from, end]` costs the new data plus the look-back, never the window.
//!
//! Results are grouped: one entry per tag-value tuple (`tagsToGroupBy`), a single entry
//! with no tags when nothing is grouped.
//!
//! ```text
//!   eval(derivative(x), a, b)
//!     └─ with_history(x, a, b, 1): nth_before(series, a, 1) = p  → eval(x, p, b)
//!        output: points of x in [p, b] → differences → keep [a, b]
//! ```

mod enums;
mod intervals;
mod leaves;
mod numeric;
mod ranges;
mod rolling;
mod rolling_acc;
mod scalar;
mod series;
mod window;

use std::collections::BTreeMap;

use crate::columns::{self, Columns};
use crate::ir::ChannelInput;
use crate::source::DataSource;

pub(crate) use intervals::Range;
pub(crate) use leaves::{look_back_of, Leaves};
pub(crate) use rolling::RollingStates;
pub(crate) use series::AnyColumns;

/// Tag values of a group; empty when not grouped.
pub(crate) type Tags = BTreeMap<String, String>;
/// One result per group.
pub(crate) type Grouped<T> = Vec<(Tags, T)>;

/// Evaluates expressions against a data source.
#[derive(Clone, Copy)]
pub(crate) struct Engine<'a> {
    pub(crate) source: &'a dyn DataSource,
    /// A live computation's rolling states: rolling nodes continue them instead of
    /// re-reading their window, and leave them for the next update. `None`: stateless.
    rolling: Option<&'a RollingStates>,
}

impl<'a> Engine<'a> {
    /// A stateless engine (HTTP compute, snapshots, catch-ups).
    pub(crate) fn new(source: &'a dyn DataSource) -> Self {
        Engine {
            source,
            rolling: None,
        }
    }

    /// An engine that continues and updates a live computation's rolling states.
    pub(crate) fn live(source: &'a dyn DataSource, rolling: &'a RollingStates) -> Self {
        Engine {
            source,
            rolling: Some(rolling),
        }
    }

    /// Series of a channel split into groups, series ids sorted so merges are stable.
    fn groups(&self, input: &ChannelInput) -> Grouped<Vec<u64>> {
        let metas = self
            .source
            .series(&input.dataset, &input.channel, &input.tags);
        let mut groups: BTreeMap<Tags, Vec<u64>> = BTreeMap::new();
        if input.group_by.is_empty() {
            groups.insert(Tags::new(), Vec::new());
        }
        for m in metas {
            if !input.tag_tests.iter().all(|t| t.passes(&m.tags)) {
                continue;
            }
            let key: Tags = input
                .group_by
                .iter()
                .map(|k| (k.clone(), m.tags.get(k).cloned().unwrap_or_default()))
                .collect();
            groups.entry(key).or_default().push(m.id);
        }
        groups
            .into_iter()
            .map(|(k, mut ids)| {
                ids.sort_unstable();
                ids.dedup();
                (k, ids)
            })
            .collect()
    }

    /// Reads a channel leaf per group with `read`.
    fn read_leaf<V: Clone>(
        &self,
        input: &ChannelInput,
        a: i64,
        b: i64,
        read: impl Fn(&[u64], i64, i64) -> Columns<V>,
    ) -> Grouped<Columns<V>> {
        self.groups(input)
            .into_iter()
            .map(|(tags, ids)| (tags, read(&ids, a, b)))
            .collect()
    }

    pub(crate) fn read_numeric(&self, c: &ChannelInput, a: i64, b: i64) -> Grouped<Columns<f64>> {
        self.read_leaf(c, a, b, |ids, a, b| {
            columns::numeric(ids, self.source, a, b)
        })
    }

    /// Bounds on [`Engine::count`] from metadata alone.
    pub(crate) fn count_bounds(&self, leaves: &Leaves<'_>, a: i64, b: i64) -> (u64, u64) {
        leaves
            .iter()
            .map(|(c, shift)| {
                let ids = self.all_ids(c);
                columns::count_bounds(
                    &ids,
                    self.source,
                    a.saturating_sub(*shift),
                    b.saturating_sub(*shift),
                )
            })
            .fold((0, 0), |(lo, hi), (l, h)| {
                (lo.saturating_add(l), hi.saturating_add(h))
            })
    }

    /// Points stored for the leaves of `leaves` in `[a, b]` (after their time shifts).
    pub(crate) fn count(&self, leaves: &Leaves<'_>, a: i64, b: i64) -> u64 {
        leaves
            .iter()
            .map(|(c, shift)| {
                let ids = self.all_ids(c);
                columns::count(
                    &ids,
                    self.source,
                    a.saturating_sub(*shift),
                    b.saturating_sub(*shift),
                )
            })
            .sum()
    }

    fn all_ids(&self, c: &ChannelInput) -> Vec<u64> {
        self.groups(c)
            .into_iter()
            .flat_map(|(_, ids)| ids)
            .collect()
    }

    /// Whether any leaf holds a point before `t` (shifted), i.e. looking further back
    /// could find more input.
    pub(crate) fn data_before(&self, leaves: &Leaves<'_>, t: i64) -> bool {
        if t == i64::MIN {
            return false;
        }
        leaves.iter().any(|(c, shift)| {
            let end = t.saturating_sub(*shift).saturating_sub(1);
            // The newest point at or before `end`: found in the in-memory head on the
            // live path, where a count would walk every run back to the first.
            self.all_ids(c).iter().any(|&id| {
                self.source
                    .nth_before(id, end.saturating_add(1), 1)
                    .is_some()
            })
        })
    }

    /// A first guess of how far back `n` points of every leaf lie before `a`.
    pub(crate) fn guess_start(&self, leaves: &Leaves<'_>, a: i64, n: usize) -> i64 {
        let mut start = a;
        for (c, shift) in leaves.iter() {
            let at = a.saturating_sub(*shift);
            for id in self.all_ids(c) {
                let t = self.source.nth_before(id, at, n).unwrap_or(i64::MIN);
                start = start.min(t.saturating_add(*shift));
            }
        }
        start
    }

    /// Evaluates with `eval` from far enough back that every group holds at least `n`
    /// points before `a` (or all there are), doubling the look-back until it does.
    pub(crate) fn with_history<T>(
        &self,
        leaves: &Leaves<'_>,
        a: i64,
        b: i64,
        n: usize,
        mut eval: impl FnMut(i64, i64) -> Grouped<Columns<T>>,
        slack: i64,
    ) -> Grouped<Columns<T>> {
        if n == 0 {
            return eval(a, b);
        }
        let mut lo = self.guess_start(leaves, a, n).saturating_sub(slack).min(a);
        loop {
            let out = eval(lo, b);
            let enough = out
                .iter()
                .all(|(_, c)| c.ts.partition_point(|&t| t < a) >= n);
            if enough || !self.data_before(leaves, lo) {
                return out;
            }
            let back = a.saturating_sub(lo).max(1);
            lo = a.saturating_sub(back.saturating_mul(2));
        }
    }
}

/// Pairs groups of several inputs: every combination whose shared tag keys agree, tagged
/// with the union of their tags. An ungrouped input pairs with every group.
pub(crate) fn pair_groups<T>(inputs: &[Grouped<T>]) -> Vec<(Tags, Vec<&T>)> {
    let mut combos: Vec<(Tags, Vec<&T>)> = vec![(Tags::new(), Vec::new())];
    for groups in inputs {
        let mut next = Vec::new();
        for (tags, members) in &combos {
            for (g, value) in groups {
                if g.iter().all(|(k, v)| tags.get(k).is_none_or(|x| x == v)) {
                    let mut merged = tags.clone();
                    merged.extend(g.iter().map(|(k, v)| (k.clone(), v.clone())));
                    let mut m = members.clone();
                    m.push(value);
                    next.push((merged, m));
                }
            }
        }
        combos = next;
    }
    combos
}

/// Pairs the groups of two inputs of different types (see [`pair_groups`]).
pub(crate) fn pair2<'x, A, B>(a: &'x Grouped<A>, b: &'x Grouped<B>) -> Vec<(Tags, &'x A, &'x B)> {
    let mut out = Vec::new();
    for (ga, va) in a {
        for (gb, vb) in b {
            if gb.iter().all(|(k, v)| ga.get(k).is_none_or(|x| x == v)) {
                let mut tags = ga.clone();
                tags.extend(gb.iter().map(|(k, v)| (k.clone(), v.clone())));
                out.push((tags, va, vb));
            }
        }
    }
    out
}

/// Keeps the points with timestamps in `[a, b]`.
pub(crate) fn clip<V>(mut c: Columns<V>, a: i64, b: i64) -> Columns<V> {
    let lo = c.ts.partition_point(|&t| t < a);
    let hi = c.ts.partition_point(|&t| t <= b);
    if lo == 0 && hi == c.ts.len() {
        return c;
    }
    c.ts.truncate(hi);
    c.values.truncate(hi);
    c.series.truncate(hi.min(c.series.len()));
    c.ts.drain(..lo);
    c.values.drain(..lo);
    c.series.drain(..lo.min(c.series.len()));
    c
}

/// The newest timestamp at or before `b` of any group, if there is one.
pub(crate) fn newest_point<V>(data: &Grouped<Columns<V>>, b: i64) -> Option<i64> {
    data.iter()
        .filter_map(|(_, c)| {
            let last = c.ts.partition_point(|&t| t <= b);
            last.checked_sub(1).map(|i| c.ts[i])
        })
        .max()
}

/// New columns without per-point series ids (derived series).
pub(crate) fn cols<V>(ts: Vec<i64>, values: Vec<V>) -> Columns<V> {
    Columns {
        ts,
        values,
        series: Vec::new(),
    }
}

/// Takes the group `g` out of `old`, looking at position `i` first: groups keep their
/// order from one evaluation to the next, and several may share tags (`selectTags`), so
/// each slot is taken once.
pub(crate) fn take_group<T>(
    old: &mut [Option<(Tags, T)>],
    i: usize,
    g: &Tags,
) -> Option<(Tags, T)> {
    let matches = |slot: &Option<(Tags, T)>| slot.as_ref().is_some_and(|(t, _)| t == g);
    let k = match old.get(i) {
        Some(slot) if matches(slot) => i,
        _ => old.iter().position(matches)?,
    };
    old.get_mut(k)?.take()
}
