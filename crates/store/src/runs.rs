//! One series' points in a head as ordered, disjoint sorted runs, so a write that lands in
//! the past of a series (a second writer, a late batch) costs the run it touches, not a copy
//! of everything after it.
//!
//! ```text
//!   Runs [ run 0: t 10..19 ] [ run 1: t 20..29 ] [ run 2: t 30..  (grows by appends) ]
//!          each run a Points (sorted columns), run i's last < run i+1's first
//! ```
//!
//! A batch after the last point, or in a gap between two runs, goes into the run before it
//! while that run's columns have room (it moves nothing there). When they have none, the
//! batch starts a new run with twice the room of the full one (up to [`RUN_POINTS`])
//! instead of growing it, so a series written in order never reallocates (and copies, and
//! faults in afresh) its columns: each point is copied into the head once, and a sparse
//! series gets small runs. Inside the series, only one run less than half full is made
//! this way at a time (a writer going backwards in small batches would otherwise reserve
//! room per batch); past that, a batch joins a small run before it or stands as its own
//! run. A batch that falls between two consecutive points of one run (two writers'
//! stretches that an append joined) splits the run there, once, instead of merging with
//! it. A batch that overlaps runs is merged with them (the batch wins on equal timestamps)
//! and the result is cut into runs of at most [`RUN_POINTS`], so the next late write into
//! that stretch costs at most that much. A batch is placed by checking the gap after the
//! last run and after the run the latest inner batch went into before any binary search
//! over the runs (each step of which reads another run's columns).

use std::borrow::Cow;
use std::ops::Range;

use crate::api::ValueType;
use crate::points::{merge_newer, Points};

/// Size of the runs an out-of-order write leaves behind: small enough that re-merging one
/// is cheap, large enough that a window read crosses few of them.
pub(crate) const RUN_POINTS: usize = 4096;

/// The sorted, disjoint runs of one series. Never holds an empty run.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Runs {
    runs: Vec<Points>,
    value_type: ValueType,
    len: usize,
    /// [`RUN_POINTS`], smaller in tests so a few points exercise every case.
    max_run: usize,
    /// The inner run the latest batch before the last run went into: a second writer's
    /// next batch usually lands right after it. Only a guess, checked before use.
    inner_front: usize,
}

impl Runs {
    /// No points of type `vt`.
    pub(crate) fn empty(vt: ValueType) -> Self {
        Runs {
            runs: Vec::new(),
            value_type: vt,
            len: 0,
            max_run: RUN_POINTS,
            inner_front: 0,
        }
    }

    /// First and last timestamp, if any.
    pub(crate) fn bounds(&self) -> Option<(i64, i64)> {
        let first = *self.runs.first()?.ts.first()?;
        let last = *self.runs.last()?.ts.last()?;
        Some((first, last))
    }

    /// Inserts a normalized batch (sorted, distinct timestamps); the batch wins on equal
    /// timestamps.
    pub(crate) fn upsert(&mut self, batch: Points) {
        let (Some(&first), Some(&last)) = (batch.ts.first(), batch.ts.last()) else {
            return;
        };
        let (i, j) = self.locate(first, last);
        let before = self.len;
        if i >= j {
            self.insert_in_gap(i, batch);
        } else if let Some(at) = self.gap_inside(i, j, first, last) {
            // The batch falls between two consecutive points of one run: an append after
            // the last point joined two writers' stretches into that run. Split it there
            // once; this and every later batch of the earlier stretch then land in a gap.
            let tail = self.runs[i].split_off(at);
            self.runs.insert(i + 1, tail);
            self.insert_in_gap(i + 1, batch);
        } else {
            self.merge_into(i..j, batch);
        }
        debug_assert!(self.len >= before);
    }

    /// Runs `i..` end at or after `first`; runs `..j` start at or before `last`. The gaps
    /// after the last run and after the inner front are tried first: a binary search
    /// touches a run's columns per step, each a likely cache miss, and was 4 % of the
    /// server's CPU under a columnar write.
    fn locate(&self, first: i64, last: i64) -> (usize, usize) {
        let gap_after = |k: usize| {
            let ends_before = self.runs.get(k)?.ts.last().is_some_and(|&t| t < first);
            let next_starts_after = self
                .runs
                .get(k + 1)
                .is_none_or(|r| r.ts.first().is_some_and(|&t| t > last));
            (ends_before && next_starts_after).then_some(k + 1)
        };
        if let Some(g) = self
            .runs
            .len()
            .checked_sub(1)
            .and_then(gap_after)
            .or_else(|| gap_after(self.inner_front))
        {
            return (g, g);
        }
        self.search(first, last)
    }

    /// [`Self::locate`] by binary search alone.
    fn search(&self, first: i64, last: i64) -> (usize, usize) {
        let i = self
            .runs
            .partition_point(|r| r.ts.last().is_some_and(|&t| t < first));
        let j = self
            .runs
            .partition_point(|r| r.ts.first().is_some_and(|&t| t <= last));
        (i, j)
    }

    /// Where run `i` would be split for a batch spanning `[first, last]` that overlaps
    /// only run `i` (`j == i + 1`) and holds none of its timestamps: the index of the
    /// run's first point after `last`.
    fn gap_inside(&self, i: usize, j: usize, first: i64, last: i64) -> Option<usize> {
        if j != i + 1 {
            return None;
        }
        let run = &self.runs[i].ts;
        let at = run.partition_point(|&t| t < first);
        (at > 0 && run.get(at).is_some_and(|&t| t > last)).then_some(at)
    }

    /// `batch` lies strictly between run `i - 1` and run `i`.
    fn insert_in_gap(&mut self, i: usize, batch: Points) {
        let after_last = i == self.runs.len();
        let into = self.put_in_gap(i, batch);
        if !after_last {
            self.inner_front = into;
        }
    }

    /// [`Self::insert_in_gap`]'s placement; returns the index of the run that took `batch`.
    fn put_in_gap(&mut self, i: usize, batch: Points) -> usize {
        self.len += batch.len();
        let after_last = i == self.runs.len();
        let max_run = self.max_run;
        let Some(k) = i.checked_sub(1) else {
            // The series' first points, or points before its first run.
            self.runs.insert(i, batch);
            return i;
        };
        let prev = &mut self.runs[k];
        let fits = prev.len() + batch.len() <= max_run;
        // A run takes the batch while its columns have room: that moves nothing. The last
        // run may pass `max_run` only when it was made for a bigger batch.
        if prev.has_room_for(batch.len()) && (fits || after_last) {
            prev.append(batch);
            return k;
        }
        // No room: a new run with twice the room of the one before (up to `max_run`)
        // rather than growing that one, which would copy its points once more and fault in
        // fresh memory for them. Inner runs get it only while no other inner run is less
        // than half full, so a writer going backwards in small batches (each landing right
        // after the same run) reserves once, not per batch.
        let room = (2 * prev.len()).min(max_run).max(batch.len());
        if after_last || !self.sparse_inner_run() {
            let mut run = Points::with_capacity(self.value_type, room);
            run.append(batch);
            self.runs.insert(i, run);
            i
        } else if fits {
            self.runs[k].append(batch);
            k
        } else {
            self.runs.insert(i, batch);
            i
        }
    }

    /// Whether a run other than the last is less than half full: the slack
    /// [`Self::insert_in_gap`] allows one of per series, besides the last run's.
    fn sparse_inner_run(&self) -> bool {
        let inner = self.runs.len().saturating_sub(1);
        self.runs[..inner].iter().any(|r| r.spare() > r.len())
    }

    /// Merges `batch` with the runs it overlaps and puts the result back in pieces of at
    /// most [`RUN_POINTS`].
    fn merge_into(&mut self, overlapped: Range<usize>, batch: Points) {
        let mut older = Points::with_capacity(
            self.value_type,
            self.runs[overlapped.clone()].iter().map(Points::len).sum(),
        );
        for r in self.runs.drain(overlapped.clone()) {
            self.len -= r.len();
            older.append(r);
        }
        let merged = merge_newer(older, batch);
        self.len += merged.len();
        let pieces = cut(merged, self.max_run);
        self.runs.splice(overlapped.start..overlapped.start, pieces);
    }

    /// Calls `f` with each run and the index range of its points in `[start, end]`, in time
    /// order, skipping runs with none.
    pub(crate) fn for_each_in(
        &self,
        start: i64,
        end: i64,
        mut f: impl FnMut(&Points, Range<usize>),
    ) {
        if start > end {
            return;
        }
        let from = self
            .runs
            .partition_point(|r| r.ts.last().is_some_and(|&t| t < start));
        for r in &self.runs[from..] {
            if r.ts.first().is_some_and(|&t| t > end) {
                break;
            }
            let range = r.range(start, end);
            if !range.is_empty() {
                f(r, range);
            }
        }
    }

    /// The points in `[start, end]` as one sorted column.
    pub(crate) fn slice(&self, start: i64, end: i64) -> Points {
        let mut out = Points::empty(self.value_type);
        self.for_each_in(start, end, |r, range| r.copy_range_into(range, &mut out));
        out
    }

    /// First and last timestamp in `[start, end]` and how many points lie there.
    pub(crate) fn bounds_in(&self, start: i64, end: i64) -> Option<(i64, i64, u64)> {
        let mut found: Option<(i64, i64, u64)> = None;
        self.for_each_in(start, end, |r, range| {
            let (lo, hi) = (r.ts[range.start], r.ts[range.end - 1]);
            let n = range.len() as u64;
            found = Some(found.map_or((lo, hi, n), |(a, _, m)| (a, hi, m + n)));
        });
        found
    }

    /// Appends the timestamps in `[start, end]` to `out`.
    pub(crate) fn timestamps_in(&self, start: i64, end: i64, out: &mut Vec<i64>) {
        self.for_each_in(start, end, |r, range| out.extend_from_slice(&r.ts[range]));
    }

    /// Up to the last `n` timestamps strictly before `t`, ascending, appended to `out`.
    pub(crate) fn last_before(&self, t: i64, n: usize, out: &mut Vec<i64>) {
        let upto = self
            .runs
            .partition_point(|r| r.ts.first().is_some_and(|&x| x < t));
        let mut taken: Vec<&[i64]> = Vec::new();
        let mut got = 0;
        for r in self.runs[..upto].iter().rev() {
            if got >= n {
                break;
            }
            let k = r.ts.partition_point(|&x| x < t);
            let take = &r.ts[k.saturating_sub(n - got)..k];
            got += take.len();
            taken.push(take);
        }
        for s in taken.into_iter().rev() {
            out.extend_from_slice(s);
        }
    }

    /// Timestamp of the `n`-th point strictly before `t` (n = 1: the previous point).
    pub(crate) fn nth_before(&self, t: i64, n: usize) -> Option<i64> {
        if n == 0 {
            return None;
        }
        let mut last = Vec::with_capacity(n.min(RUN_POINTS));
        self.last_before(t, n, &mut last);
        if last.len() < n {
            return None;
        }
        last.first().copied()
    }

    /// Each run's timestamps with the position of its first point in the whole series.
    pub(crate) fn timestamp_runs(&self) -> impl Iterator<Item = (usize, &[i64])> {
        self.runs.iter().scan(0, |start, r| {
            let at = *start;
            *start += r.len();
            Some((at, &r.ts[..]))
        })
    }

    /// The points at positions `range` of the series (in time order) as one column, and
    /// their range in it: the run itself when one run holds them all, else a copy of just
    /// those points. Flushing writes each series' stretch of a partition through it, so a
    /// copy lives only while that stretch is written.
    pub(crate) fn column(&self, range: Range<usize>) -> (Cow<'_, Points>, Range<usize>) {
        let mut copy: Option<Points> = None;
        let mut run_start = 0;
        for run in &self.runs {
            let run_end = run_start + run.len();
            let (from, to) = (range.start.max(run_start), range.end.min(run_end));
            if from < to {
                let local = from - run_start..to - run_start;
                if copy.is_none() && (from, to) == (range.start, range.end) {
                    return (Cow::Borrowed(run), local);
                }
                let out =
                    copy.get_or_insert_with(|| Points::with_capacity(self.value_type, range.len()));
                run.copy_range_into(local, out);
            }
            run_start = run_end;
        }
        let out = copy.unwrap_or_else(|| Points::empty(self.value_type));
        let len = out.len();
        (Cow::Owned(out), 0..len)
    }

    /// Every point as one column: borrowed when the series is one run, copied otherwise.
    #[cfg(test)]
    pub(crate) fn contiguous(&self) -> Cow<'_, Points> {
        match self.runs.as_slice() {
            [] => Cow::Owned(Points::empty(self.value_type)),
            [one] => Cow::Borrowed(one),
            many => Cow::Owned(concat(self.value_type, many, self.len)),
        }
    }
}

/// The runs one after another (they are ordered and disjoint, so the result is sorted).
#[cfg(test)]
fn concat(vt: ValueType, runs: &[Points], len: usize) -> Points {
    let mut all = Points::with_capacity(vt, len);
    for r in runs {
        r.copy_range_into(0..r.len(), &mut all);
    }
    all
}

/// `p` in pieces of at most `max` points (itself if it is that small).
fn cut(p: Points, max: usize) -> Vec<Points> {
    if p.len() <= max {
        return vec![p];
    }
    (0..p.len())
        .step_by(max)
        .map(|at| p.slice(at..(at + max).min(p.len())))
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::api::Values;

    fn pts(ts: &[i64], v: &[f64]) -> Points {
        Points {
            ts: ts.to_vec(),
            values: Values::Double(v.to_vec()),
        }
    }

    fn small(max_run: usize) -> Runs {
        Runs {
            max_run,
            ..Runs::empty(ValueType::Double)
        }
    }

    /// Runs non-empty, each sorted, each ending before the next starts; `len` their sum.
    fn assert_well_formed(r: &Runs) {
        assert!(r.runs.iter().all(|p| !p.is_empty()));
        assert!(r.runs.iter().all(|p| p.ts.windows(2).all(|w| w[0] < w[1])));
        assert!(r.runs.windows(2).all(|w| w[0].ts.last() < w[1].ts.first()));
        assert_eq!(r.len, r.runs.iter().map(Points::len).sum::<usize>());
    }

    #[test]
    fn upsert_appends_and_merges_late_points() {
        let mut r = small(4);
        r.upsert(pts(&[1, 5, 9], &[1., 5., 9.]));
        r.upsert(pts(&[10, 11], &[10., 11.]));
        r.upsert(pts(&[4, 5, 6], &[4., 50., 6.]));
        assert_well_formed(&r);
        assert_eq!(
            *r.contiguous(),
            pts(&[1, 4, 5, 6, 9, 10, 11], &[1., 4., 50., 6., 9., 10., 11.])
        );
        // The merge cut the series into runs of at most 4.
        assert!(r.runs.iter().all(|p| p.len() <= 4));
    }

    #[test]
    fn in_order_writes_fill_runs_made_with_room_and_gap_writes_join_the_run_before() {
        let mut r = small(4);
        for k in 0..10 {
            r.upsert(pts(&[100 + 2 * k, 101 + 2 * k], &[1., 2.]));
        }
        // 20 points in order: the first batch as it came, then runs made with room for 4
        // and filled, never grown.
        let lens: Vec<usize> = r.runs.iter().map(Points::len).collect();
        assert_eq!(lens, [2, 4, 4, 4, 4, 2], "{:?}", r.runs);
        assert!(r.runs[1..].iter().all(|p| p.ts.capacity() == 4));
        r.upsert(pts(&[1, 2], &[1., 2.]));
        r.upsert(pts(&[3], &[3.]));
        r.upsert(pts(&[4], &[4.]));
        assert_eq!(
            r.runs.len(),
            8,
            "late points start one run with room after the first, then fill it"
        );
        assert_eq!(r.runs[1].ts, [3, 4]);
        assert_well_formed(&r);
    }

    #[test]
    fn a_second_stretch_fills_runs_made_with_room_and_a_backward_writer_reserves_once() {
        let mut r = small(6);
        // Writer B far in the future, then writer A's stretch in order, in pairs.
        r.upsert(pts(&[1000, 1001], &[1., 2.]));
        for k in 0..12 {
            r.upsert(pts(&[10 + 2 * k, 11 + 2 * k], &[1., 2.]));
        }
        assert_well_formed(&r);
        let inner = &r.runs[..r.runs.len() - 1];
        let lens: Vec<usize> = inner.iter().map(Points::len).collect();
        assert_eq!(lens, [2, 4, 6, 6, 6], "{:?}", r.runs);
        // Each run was made with room for exactly what it holds: none grew (by doubling,
        // 2 -> 4 -> 8, a run would have room for 8).
        assert!(
            inner.iter().all(|p| p.ts.capacity() == p.len()),
            "{inner:?}"
        );

        // A writer going backwards one point at a time right after a full run: one run
        // with room, then runs of just their points.
        let mut r = small(8);
        r.upsert(pts(&[1000], &[1.]));
        r.upsert(pts(&(0..8).collect::<Vec<_>>(), &[1.; 8]));
        for t in (100..110).rev() {
            r.upsert(pts(&[t], &[1.]));
        }
        assert_well_formed(&r);
        let reserved = r.runs.iter().filter(|p| p.ts.capacity() == 8).count();
        assert!(reserved <= 2, "{reserved} runs with room: {:?}", r.runs);
        assert!(r.runs.iter().map(|p| p.ts.capacity()).sum::<usize>() <= 8 + 8 + 8 + 10);
    }

    #[test]
    fn batches_with_more_room_for_timestamps_than_values_never_grow_a_run() {
        // The columnar decoder reserves timestamps by an estimate (about twice the points)
        // and values exactly. A run that is such a batch has room for timestamps only: it
        // must not count as a run with room, or every later batch of that writer grows its
        // value column by reallocation (3.6 % of the server's CPU in a profile).
        let batch = |from: i64| {
            let mut ts = Vec::with_capacity(210);
            ts.extend(from..from + 100);
            Points::normalize(ts, Values::Double(vec![1.0; 100]))
        };
        let mut r = Runs::empty(ValueType::Double);
        let mut next = [0i64, 1_000_000];
        for step in 0..400 {
            let w = step % 2;
            let before: Vec<_> = r
                .runs
                .iter()
                .map(|p| (p.ts.as_ptr(), p.ts.capacity(), value_column(p)))
                .collect();
            r.upsert(batch(next[w]));
            next[w] += 100;
            for p in &r.runs {
                let moved = before.iter().find(|b| b.0 == p.ts.as_ptr());
                if let Some(&(_, ts_cap, values)) = moved {
                    assert_eq!(
                        (ts_cap, values),
                        (p.ts.capacity(), value_column(p)),
                        "step {step}"
                    );
                }
            }
            assert_well_formed(&r);
        }
    }

    /// Where a run's value column lives and its capacity.
    fn value_column(p: &Points) -> (*const f64, usize) {
        match &p.values {
            Values::Double(v) => (v.as_ptr(), v.capacity()),
            _ => unreachable!("doubles only"),
        }
    }

    #[test]
    fn a_batch_larger_than_a_run_after_the_last_point_is_one_run() {
        let mut r = small(4);
        r.upsert(pts(&[1, 2, 3, 4], &[1.; 4]));
        let big: Vec<i64> = (10..20).collect();
        r.upsert(pts(&big, &[2.; 10]));
        assert_eq!(r.runs.len(), 2);
        assert_eq!(r.runs[1].ts, big);
        assert_well_formed(&r);
    }

    #[test]
    fn a_batch_between_two_points_of_a_run_splits_it_instead_of_merging() {
        let mut r = small(20);
        let stretch = |from: i64| -> Vec<i64> { (from..from + 10).collect() };
        // Writer A twice, then writer B far ahead: B's append joins A's second run, which
        // was made with room (it is after the last point).
        r.upsert(pts(&stretch(0), &[1.; 10]));
        r.upsert(pts(&[10, 11, 12], &[1.; 3]));
        r.upsert(pts(&stretch(1000), &[2.; 10]));
        assert_eq!(r.runs.len(), 2, "{:?}", r.runs);
        // A continues between its last point and B's first: the run is split there, and
        // the batch joins A's part in its room. A merge would have rewritten all 34 points.
        let more: Vec<i64> = (13..24).collect();
        r.upsert(pts(&more, &[3.; 11]));
        assert_eq!(r.runs.len(), 3, "{:?}", r.runs);
        assert_eq!(r.runs[1].ts, (10..24).collect::<Vec<_>>());
        assert_eq!(r.runs[2].ts, stretch(1000), "B's stretch untouched");
        assert_well_formed(&r);
        assert_eq!(r.len, 34);
    }

    #[test]
    fn a_column_is_the_run_itself_or_a_copy_of_just_the_range() {
        let mut r = small(4);
        let ts: Vec<i64> = (0..10).collect();
        let vs: Vec<f64> = ts.iter().map(|&t| t as f64).collect();
        for (t, v) in ts.iter().zip(&vs) {
            r.upsert(pts(&[*t], &[*v]));
        }
        // Runs of 1, 2, 4 and the last 3: each new run has twice the room of the one before.
        let offsets: Vec<usize> = r.timestamp_runs().map(|(at, _)| at).collect();
        assert_eq!(offsets, vec![0, 1, 3, 7]);
        let (inside, range) = r.column(5..7);
        assert!(matches!(inside, Cow::Borrowed(_)));
        assert_eq!(inside.ts[range], [5, 6]);
        for want in [3..9, 0..10, 2..5] {
            let (across, range) = r.column(want.clone());
            assert!(matches!(across, Cow::Owned(_)));
            assert_eq!(across.ts[range.clone()], ts[want.clone()]);
            assert_eq!(across.slice(range), pts(&ts[want.clone()], &vs[want]));
        }
    }

    #[test]
    fn window_reads_cross_runs() {
        let mut r = small(2);
        r.upsert(pts(&[10, 20, 30, 40, 50], &[1., 2., 3., 4., 5.]));
        r.upsert(pts(&[25], &[2.5]));
        assert!(r.runs.len() > 1);
        assert_eq!(r.slice(15, 40), pts(&[20, 25, 30, 40], &[2., 2.5, 3., 4.]));
        assert_eq!(r.bounds_in(15, 40), Some((20, 40, 4)));
        assert_eq!(r.bounds_in(41, 49), None);
        assert_eq!(r.bounds(), Some((10, 50)));
        assert_eq!(r.nth_before(30, 1), Some(25));
        assert_eq!(r.nth_before(30, 3), Some(10));
        assert_eq!(r.nth_before(30, 4), None);
        assert_eq!(r.nth_before(30, 0), None);
        let mut last = Vec::new();
        r.last_before(41, 3, &mut last);
        assert_eq!(last, vec![25, 30, 40]);
    }

    /// [`Runs::locate`] (with its guesses) gives what the two binary searches give.
    fn assert_locates_as_a_search_does(runs: &Runs, batch: &Points) {
        let (Some(&first), Some(&last)) = (batch.ts.first(), batch.ts.last()) else {
            return;
        };
        assert_eq!(
            runs.locate(first, last),
            runs.search(first, last),
            "[{first}, {last}] in {:?}",
            runs.runs
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Writers each going forward through their own stretch (the guesses' case), with
        /// now and then a late batch, read back as a map of latest values.
        #[test]
        fn writers_on_their_own_stretches_match_a_map(
            steps in prop::collection::vec((0usize..3, 1i64..6, any::<bool>()), 1..80),
            max_run in 1usize..9,
        ) {
            let mut runs = small(max_run);
            let mut model = BTreeMap::new();
            let mut next = [0i64, 1_000, 2_000];
            for (writer, n, late) in steps {
                let from = if late { next[writer] - 3 * n } else { next[writer] };
                let ts: Vec<i64> = (from..from + n).collect();
                next[writer] = next[writer].max(from + n);
                let v: Vec<f64> = ts.iter().map(|&t| (t % 7) as f64).collect();
                for (&t, &x) in ts.iter().zip(&v) {
                    model.insert(t, x);
                }
                let batch = Points::normalize(ts, Values::Double(v));
                assert_locates_as_a_search_does(&runs, &batch);
                runs.upsert(batch);
                assert_well_formed(&runs);
            }
            let (ts, v): (Vec<i64>, Vec<f64>) = model.iter().map(|(&t, &x)| (t, x)).unzip();
            prop_assert_eq!(&*runs.contiguous(), &pts(&ts, &v));
        }

        /// Any sequence of batches gives what a map from timestamp to the latest value
        /// gives, and every read agrees with that map.
        #[test]
        fn matches_a_map_of_latest_values(
            batches in prop::collection::vec(prop::collection::vec((0i64..300, -5.0f64..5.0), 1..40), 1..30),
            max_run in 1usize..9,
            window in (0i64..300, 0i64..300),
            n in 0usize..12,
        ) {
            let mut runs = small(max_run);
            let mut model = BTreeMap::new();
            for batch in batches {
                let (ts, v): (Vec<i64>, Vec<f64>) = batch.iter().copied().unzip();
                for &(t, x) in &batch {
                    model.insert(t, x);
                }
                let batch = Points::normalize(ts, Values::Double(v));
                assert_locates_as_a_search_does(&runs, &batch);
                runs.upsert(batch);
                assert_well_formed(&runs);
            }
            let all: Vec<(i64, f64)> = model.iter().map(|(&t, &x)| (t, x)).collect();
            let (ts, v): (Vec<i64>, Vec<f64>) = all.iter().copied().unzip();
            prop_assert_eq!(&*runs.contiguous(), &pts(&ts, &v));
            let (a, b) = window;
            let inside: Vec<(i64, f64)> = model.range(a..=b.max(a)).map(|(&t, &x)| (t, x)).collect();
            let (wts, wv): (Vec<i64>, Vec<f64>) = inside.iter().copied().unzip();
            prop_assert_eq!(runs.slice(a, b.max(a)), pts(&wts, &wv));
            let want = inside.first().map(|f| (f.0, inside[inside.len() - 1].0, inside.len() as u64));
            prop_assert_eq!(runs.bounds_in(a, b.max(a)), want);
            let before: Vec<i64> = model.range(..a).map(|(&t, _)| t).collect();
            let nth = n.checked_sub(1).and_then(|k| before.iter().rev().nth(k).copied());
            prop_assert_eq!(runs.nth_before(a, n), nth);
        }
    }
}
