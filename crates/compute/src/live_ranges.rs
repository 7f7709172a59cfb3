//! What a client holds of a live range list, mirrored so a range update is bounded.
//!
//! Deciding between a range list and a `RangesSummary` needs the number of ranges in the
//! window. Recomputing the window on every update makes the cost grow with the window;
//! instead the ranges sent are kept here and updated with the same merge rule the client
//! applies (PROTOCOL §4: drop held ranges touching `[start, end]`, insert the append's,
//! drop those ending before `end − window`). The count is then exact without a re-read,
//! and only a switch to the summary (or any update while a summary is shown, since a
//! summary has no append form) evaluates the whole window.
//!
//! ```text
//!   held:   [r0 )  [r1 )      [r2 ...        (at most maxRanges per group)
//!   append:              [from ........ end]  -> ranges touching it, true starts
//!   merged: [r0 )  [r1 )      [r2' )  [r3 ...
//! ```

use std::collections::BTreeMap;

use crate::engine::{Grouped, Range, Tags};

/// The ranges a client holds, per group.
#[derive(Debug, Clone, Default)]
pub(crate) struct HeldRanges {
    groups: BTreeMap<Tags, Vec<Range>>,
}

impl HeldRanges {
    /// What a full result over the window holds.
    pub(crate) fn from_full(rs: &Grouped<Vec<Range>>) -> Self {
        HeldRanges {
            groups: rs.iter().cloned().collect(),
        }
    }

    /// Applies an append of `new` over `[from, end]` to a window of `window` ns. Range
    /// lists are sorted and non-overlapping (every range node normalizes its output), so
    /// the ranges touching `[from, end]` are a suffix and the expired ones a prefix: the
    /// cost is the ranges changed, not the ranges held.
    pub(crate) fn apply(&mut self, new: &Grouped<Vec<Range>>, from: i64, end: i64, window: i64) {
        let oldest = end.saturating_sub(window);
        for (g, rs) in new {
            let held = self.groups.entry(g.clone()).or_default();
            while held.last().is_some_and(|r| r.touches(from, end)) {
                held.pop();
            }
            let sorted = match (held.last(), rs.first()) {
                (Some(a), Some(b)) => (a.start, a.end) <= (b.start, b.end),
                _ => true,
            };
            held.extend(rs.iter().copied());
            if !sorted {
                held.sort_by_key(|r| (r.start, r.end));
            }
        }
        for held in self.groups.values_mut() {
            let expired = held.partition_point(|r| r.end.is_some_and(|e| e < oldest));
            if expired > 0 {
                held.drain(..expired);
            }
        }
    }

    /// The largest number of ranges held by one group.
    pub(crate) fn max_len(&self) -> usize {
        self.groups.values().map(Vec::len).max().unwrap_or(0)
    }
}
