//! A lower bound on the input points in a live window, kept from what each update counts
//! of its own new range, so that `Auto`'s raw-vs-bucketed decision for a window far above
//! (or below) its limit costs the new data instead of a count over the whole window.
//!
//! ```text
//!   cells of window/16:   | k−16 | ... | k−1 | k |      a cell holds the points counted in
//!   window:                 [start ............. end]   the ranges that began inside it
//!   floor(start) = Σ cells starting at or after start   (every such point is in the window)
//! ```
//!
//! Each update counts (from block metadata, a lower bound) the points that entered its
//! range `(previous end, end]` and adds them to the cell holding the range's first
//! instant. A cell counts toward the floor only while it starts inside the window, so
//! the floor undercounts by at most one cell plus what was written into the past, never
//! overcounts: points are only ever replaced, not removed (retention removes data older
//! than any window).

use std::collections::VecDeque;

/// Cells per window: the floor misses at most one of them.
const CELLS: i64 = 16;

/// Counted points per cell of the window.
#[derive(Debug, Clone, Default)]
pub(crate) struct CountFloor {
    /// Cell width in ns; 0 before the first full result.
    cell: i64,
    /// `(cell index, points counted)`, ascending, within the window.
    cells: VecDeque<(i64, u64)>,
}

impl CountFloor {
    /// An empty floor over cells of `window / 16`.
    pub(crate) fn new(window: i64) -> Self {
        CountFloor {
            cell: (window / CELLS).max(1),
            cells: VecDeque::new(),
        }
    }

    /// The `[start, end]` range of each cell overlapping `[start, end]`, for seeding a
    /// floor from counts over the whole window (the cell holding `start` is cut to it, and
    /// its points then count toward the floor only while the window still starts in it).
    pub(crate) fn cell_ranges(&self, start: i64, end: i64) -> Vec<(i64, i64)> {
        if self.cell == 0 || start > end {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut k = start.div_euclid(self.cell);
        while let Some(lo) = k.checked_mul(self.cell) {
            if lo > end {
                break;
            }
            let hi = lo.saturating_add(self.cell - 1).min(end);
            out.push((lo.max(start), hi));
            if hi == i64::MAX {
                break;
            }
            k += 1;
        }
        out
    }

    /// Adds `points` counted in a range starting at `from`, forgetting cells that start
    /// before `start` (they have left the window).
    pub(crate) fn add(&mut self, from: i64, points: u64, start: i64) {
        let first = self.first_cell(start);
        while self.cells.front().is_some_and(|(k, _)| *k < first) {
            self.cells.pop_front();
        }
        if self.cell == 0 || points == 0 {
            return;
        }
        let k = from.div_euclid(self.cell);
        match self.cells.back_mut() {
            Some((last, n)) if *last == k => *n = n.saturating_add(points),
            Some((last, _)) if *last > k => {
                // A range earlier than the newest cell (cannot happen while ranges follow
                // each other): count it where it belongs.
                if let Some((_, n)) = self.cells.iter_mut().find(|(c, _)| *c == k) {
                    *n = n.saturating_add(points);
                } else {
                    let at = self.cells.partition_point(|(c, _)| *c < k);
                    self.cells.insert(at, (k, points));
                }
            }
            _ => self.cells.push_back((k, points)),
        }
    }

    /// Points surely in the window starting at `start`.
    pub(crate) fn floor(&self, start: i64) -> u64 {
        let first = self.first_cell(start);
        self.cells
            .iter()
            .rev()
            .take_while(|(k, _)| *k >= first)
            .fold(0u64, |sum, (_, n)| sum.saturating_add(*n))
    }

    /// The first cell that starts at or after `start`.
    fn first_cell(&self, start: i64) -> i64 {
        let cell = self.cell.max(1);
        start
            .div_euclid(cell)
            .saturating_add(i64::from(start.rem_euclid(cell) != 0))
    }
}
