//! What a client holds of a live range result, mirrored so a range update is bounded.
//!
//! Deciding between a range list and a `RangesSummary`, or picking the n-th range of a
//! `SelectValue`, needs every range in the window. Recomputing the window on every update
//! makes the cost grow with the window; instead the window's ranges are kept here and
//! updated with the same merge rule the client applies (PROTOCOL §4: drop held ranges
//! touching `[from, end]`, insert the ranges evaluated over it, drop those ending before
//! `end − window`). Counts, summaries, selected ranges and late joiners' full results
//! then come from here without a re-read.
//!
//! ```text
//!   held:   [r0 )  [r1 )      [r2 ...        (every range in the window, per group)
//!   append:              [from ........ end]  -> ranges touching it, true starts
//!   merged: [r0 )  [r1 )      [r2' )  [r3 ...
//! ```

use std::collections::VecDeque;

use crate::engine::{take_group, Grouped, Range, Tags};

/// What an append did to the held ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Applied {
    /// Some range touching the append's span, or the set of groups, differs from before:
    /// a client holding the previous state needs the append.
    pub(crate) changed: bool,
    /// Ranges ended before the window start and were dropped. A client of a range list
    /// drops them itself; counts, summaries and selected ranges may change with them.
    pub(crate) expired: bool,
}

/// The window's ranges, per group, in the engine's group order. A deque, since ranges
/// arrive at the back and expire at the front.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeldRanges {
    groups: Grouped<VecDeque<Range>>,
}

impl HeldRanges {
    /// What a full result over the window holds.
    pub(crate) fn from_full(rs: Grouped<Vec<Range>>) -> Self {
        HeldRanges {
            groups: rs.into_iter().map(|(g, r)| (g, r.into())).collect(),
        }
    }

    /// Applies an append of `new` over `[from, end]` to a window of `window` ns. Range
    /// lists are sorted and non-overlapping (every range node normalizes its output), so
    /// the ranges touching `[from, end]` are a suffix and the expired ones a prefix: the
    /// cost is the ranges changed, not the ranges held. Groups follow `new`, which names
    /// every group of the evaluation.
    pub(crate) fn apply(
        &mut self,
        new: &Grouped<Vec<Range>>,
        from: i64,
        end: i64,
        window: i64,
    ) -> Applied {
        let oldest = end.saturating_sub(window);
        let mut applied = Applied {
            changed: !same_groups(new, &self.groups),
            expired: false,
        };
        let mut old: Vec<Option<(Tags, VecDeque<Range>)>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut next = Vec::with_capacity(new.len());
        for (i, (g, rs)) in new.iter().enumerate() {
            let (tags, mut held) =
                take_group(&mut old, i, g).unwrap_or_else(|| (g.clone(), VecDeque::new()));
            let kept = held.len()
                - held
                    .iter()
                    .rev()
                    .take_while(|r| r.touches(from, end))
                    .count();
            applied.changed |= !held.range(kept..).eq(rs.iter());
            held.truncate(kept);
            let sorted = match (held.back(), rs.first()) {
                (Some(a), Some(b)) => (a.start, a.end) <= (b.start, b.end),
                _ => true,
            };
            held.extend(rs.iter().copied());
            if !sorted {
                held.make_contiguous().sort_by_key(|r| (r.start, r.end));
            }
            while held
                .front()
                .is_some_and(|r| r.end.is_some_and(|e| e < oldest))
            {
                held.pop_front();
                applied.expired = true;
            }
            next.push((tags, held));
        }
        self.groups = next;
        applied
    }

    /// When the last range of group `g` started, if it is still open.
    pub(crate) fn open_since(&self, g: &Tags) -> Option<i64> {
        let (_, held) = self.groups.iter().find(|(t, _)| t == g)?;
        held.back()
            .filter(|r| r.end.is_none())
            .and_then(|r| r.start)
    }

    /// The largest number of ranges held by one group.
    pub(crate) fn max_len(&self) -> usize {
        self.groups.iter().map(|(_, r)| r.len()).max().unwrap_or(0)
    }

    /// The ranges of each group, sorted and non-overlapping.
    pub(crate) fn groups(&self) -> &Grouped<VecDeque<Range>> {
        &self.groups
    }
}

/// Whether both name the same groups in the same order.
fn same_groups<A, B>(a: &Grouped<A>, b: &Grouped<B>) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|((x, _), (y, _))| x == y)
}
