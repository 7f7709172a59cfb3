//! What a live numeric bucketed plot keeps between appends: the statistics of each
//! group's latest (open) bucket, so an append whose changes all lie after the previous
//! end reads only the points after it, however wide the buckets are.
//!
//! ```text
//!   buckets:   ... | k-1 | k (open: stats of its points up to `upto`) |
//!   append:                              (upto ......... end]  -> bucket k continued,
//!                                                                 k+1 ... built fresh
//! ```
//!
//! The append resends bucket `k` (its stamp is after `upto`, the append's start) and the
//! buckets after it, never the ones before. When a change lands at or before `upto`, or
//! `upto` sits exactly on a bucket boundary (then bucket `k − 1`, stamped `upto`, must be
//! resent too), the caller rebuilds from the start of the bucket holding the change.

use crate::engine::{take_group, Engine, Grouped, Tags};
use crate::ir::Num;
use crate::render::Body;
use crate::summarize::{bucketed_numeric_continuing, NumericAcc};

/// A bucket's stamp and the statistics of its points so far.
type Open = (i64, NumericAcc);

/// The open bucket of each group (`None`: the group has no point yet), as of `upto`.
#[derive(Debug, Clone)]
pub(crate) struct OpenBuckets {
    groups: Vec<(Tags, Option<Open>)>,
    /// Every point at or before this is in the statistics; none after it.
    upto: i64,
}

impl OpenBuckets {
    /// The buckets of `series` over `[read_from, end]` from scratch (`read_from` a bucket
    /// start), one body per group, keeping the last bucket of each group open.
    pub(crate) fn rebuild(
        engine: &Engine<'_>,
        series: &Num,
        read_from: i64,
        end: i64,
        width: i64,
        origin: i64,
    ) -> (OpenBuckets, Grouped<Body>) {
        let mut groups = Vec::new();
        let mut bodies = Vec::new();
        for (g, cols) in engine.num(series, read_from, end) {
            let (plot, open) = bucketed_numeric_continuing(None, &cols, width, origin);
            groups.push((g.clone(), open));
            bodies.push((g, Body::BucketedNumeric(plot)));
        }
        (OpenBuckets { groups, upto: end }, bodies)
    }

    /// Whether an append from `from` to a window ending after `last_end` can continue the
    /// open buckets: they are as of `last_end`, nothing at or before it changed
    /// (`from == last_end` while the earliest change is later), and `last_end` is not the
    /// first instant of its bucket.
    pub(crate) fn can_continue(
        &self,
        last_end: i64,
        changed_after_last_end: bool,
        width: i64,
        origin: i64,
    ) -> bool {
        let bucket = |t: i64| t.saturating_sub(origin).div_euclid(width);
        self.upto == last_end
            && changed_after_last_end
            && bucket(last_end) == bucket(last_end.saturating_sub(1))
    }

    /// The buckets of the points in `(upto, end]`, the open ones continued, one body per
    /// group; moves `upto` to `end`.
    pub(crate) fn extend(
        &mut self,
        engine: &Engine<'_>,
        series: &Num,
        end: i64,
        width: i64,
        origin: i64,
    ) -> Grouped<Body> {
        let fresh = engine.num(series, self.upto.saturating_add(1), end);
        let mut old: Vec<Option<(Tags, Option<Open>)>> = std::mem::take(&mut self.groups)
            .into_iter()
            .map(Some)
            .collect();
        let mut bodies = Vec::with_capacity(fresh.len());
        for (i, (g, cols)) in fresh.into_iter().enumerate() {
            // Only a bucket holding `upto` is open: an earlier one is complete, and the
            // client keeps it (its stamp is at or before the append's start `upto`).
            let open = take_group(&mut old, i, &g)
                .and_then(|(_, open)| open)
                .filter(|(stamp, _)| *stamp > self.upto);
            let (plot, open) = bucketed_numeric_continuing(open, &cols, width, origin);
            self.groups.push((g.clone(), open));
            bodies.push((g, Body::BucketedNumeric(plot)));
        }
        self.upto = end;
        bodies
    }
}
