//! Reads across the heads and segments: each source that may hold points of the series in
//! the window is found from in-memory bounds (head ranges, segment block index), and then
//!
//! - if the sources' time ranges do not overlap (the usual case: in-order data), their
//!   points are appended in time order, decoding blocks straight into the output;
//! - otherwise (late points written into a flushed range) each source is read on its own
//!   and they are merged oldest to newest, so on equal timestamps the newest write wins.

use std::ops::Range;

use super::segment::{BlockMeta, Segment, SeriesBlocks};
use super::{Inner, Version};
use crate::api::SeriesId;
use crate::points::{merge_newer, Points};

/// One place points of the series may be.
enum Source<'a> {
    /// A head's points in the window, copied out under its lock.
    Head(Points),
    /// A run of blocks of one segment.
    Blocks {
        seg: &'a Segment,
        blocks: &'a [BlockMeta],
    },
}

/// A source with the bounds of what it may hold in the window.
struct Bounded<'a> {
    lo: i64,
    hi: i64,
    src: Source<'a>,
}

fn block_run(sb: &SeriesBlocks, start: i64, end: i64) -> Range<usize> {
    let lo = sb.blocks.partition_point(|b| b.max_ts < start);
    let hi = lo + sb.blocks[lo..].partition_point(|b| b.min_ts <= end);
    lo..hi
}

/// Sources in precedence order (oldest first).
fn sources<'a>(v: &'a Version, id: SeriesId, start: i64, end: i64) -> Vec<Bounded<'a>> {
    let mut out = Vec::new();
    for seg in &v.segments {
        if seg.max_ts < start || seg.min_ts > end {
            continue;
        }
        let Some(sb) = seg.series.get(&id) else {
            continue;
        };
        let r = block_run(sb, start, end);
        if r.is_empty() {
            continue;
        }
        let blocks = &sb.blocks[r];
        let (Some(first), Some(last)) = (blocks.first(), blocks.last()) else {
            continue;
        };
        out.push(Bounded {
            lo: first.min_ts.max(start),
            hi: last.max_ts.min(end),
            src: Source::Blocks { seg, blocks },
        });
    }
    for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
        if let Some(slot) = head.get(id) {
            let d = slot.read();
            let p = d.points.slice(start, end);
            if let (Some(&lo), Some(&hi)) = (p.ts.first(), p.ts.last()) {
                out.push(Bounded {
                    lo,
                    hi,
                    src: Source::Head(p),
                });
            }
        }
    }
    out
}

/// Whether the bounds, taken in time order, never overlap; returns that order.
fn disjoint_order(srcs: &[Bounded<'_>]) -> Option<Vec<usize>> {
    let mut order: Vec<usize> = (0..srcs.len()).collect();
    order.sort_by_key(|&i| srcs[i].lo);
    order
        .windows(2)
        .all(|w| srcs[w[0]].hi < srcs[w[1]].lo)
        .then_some(order)
}

fn log_damage(seg: &Segment, e: &super::segment::SegmentError) {
    tracing::error!(file = %seg.path.display(), error = %e, "skipping a damaged segment block");
}

/// Appends the points of `blocks` within `[start, end]` to `out`.
fn read_blocks(seg: &Segment, blocks: &[BlockMeta], start: i64, end: i64, out: &mut Points) {
    for b in blocks {
        let res = if b.min_ts >= start && b.max_ts <= end {
            seg.read_block(b, out)
        } else {
            let mut tmp = Points::with_capacity(out.value_type(), b.count as usize);
            seg.read_block(b, &mut tmp).map(|()| {
                let r = tmp.range(start, end);
                tmp.copy_range_into(r, out);
            })
        };
        if let Err(e) = res {
            log_damage(seg, &e);
        }
    }
}

impl Inner {
    /// The merged points of a series in `[start, end]`, or `None` for an unknown series.
    pub(crate) fn collect(&self, id: SeriesId, start: i64, end: i64) -> Option<Points> {
        let vt = self.index.read().meta(id)?.value_type;
        if start > end {
            return Some(Points::empty(vt));
        }
        let v = self.current();
        let mut srcs = sources(&v, id, start, end);
        if let Some(order) = disjoint_order(&srcs) {
            let total: usize = srcs
                .iter()
                .map(|s| match &s.src {
                    Source::Head(p) => p.len(),
                    Source::Blocks { blocks, .. } => blocks.iter().map(|b| b.count as usize).sum(),
                })
                .sum();
            let mut out: Option<Points> = None;
            for i in order {
                let src = std::mem::replace(&mut srcs[i].src, Source::Head(Points::empty(vt)));
                match (src, &mut out) {
                    (Source::Head(p), None) => out = Some(p),
                    (Source::Head(p), Some(o)) => o.append(p),
                    (Source::Blocks { seg, blocks }, o) => {
                        let o = o.get_or_insert_with(|| Points::with_capacity(vt, total));
                        read_blocks(seg, blocks, start, end, o);
                    }
                }
            }
            return Some(out.unwrap_or_else(|| Points::empty(vt)));
        }
        let mut acc = Points::empty(vt);
        for s in srcs {
            let run = match s.src {
                Source::Head(p) => p,
                Source::Blocks { seg, blocks } => {
                    let mut p = Points::empty(vt);
                    read_blocks(seg, blocks, start, end, &mut p);
                    p
                }
            };
            acc = merge_newer(acc, run);
        }
        Some(acc)
    }

    /// Bounds on [`Self::count`] from block metadata and the heads, decoding nothing: a
    /// block that straddles `start` or `end` adds its whole count to the upper bound only,
    /// and sources whose extents overlap (same timestamps stored twice) make the lower
    /// bound the largest single exact count.
    pub(crate) fn count_bounds(&self, id: SeriesId, start: i64, end: i64) -> (u64, u64) {
        if start > end {
            return (0, 0);
        }
        let v = self.current();
        // (min_ts, max_ts, count, exact)
        let mut items: Vec<(i64, i64, u64, bool)> = Vec::new();
        for seg in &v.segments {
            if seg.max_ts < start || seg.min_ts > end {
                continue;
            }
            let Some(sb) = seg.series.get(&id) else {
                continue;
            };
            for b in &sb.blocks[block_run(sb, start, end)] {
                let exact = b.min_ts >= start && b.max_ts <= end;
                items.push((b.min_ts, b.max_ts, u64::from(b.count), exact));
            }
        }
        for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
            if let Some(slot) = head.get(id) {
                let d = slot.read();
                if let Some((lo, hi, n)) = d.points.bounds_in(start, end) {
                    items.push((lo, hi, n, true));
                }
            }
        }
        items.sort_by_key(|i| i.0);
        let upper: u64 = items.iter().map(|i| i.2).sum();
        let exact = items.iter().filter(|i| i.3).map(|i| i.2);
        let lower = if items.windows(2).all(|w| w[0].1 < w[1].0) {
            exact.sum()
        } else {
            exact.max().unwrap_or(0)
        };
        (lower, upper)
    }

    /// Points in `[start, end]` without decoding values; whole blocks count from the index.
    pub(crate) fn count(&self, id: SeriesId, start: i64, end: i64) -> u64 {
        if start > end {
            return 0;
        }
        let v = self.current();
        let mut bounds: Vec<(i64, i64, u64)> = Vec::new();
        for seg in &v.segments {
            if seg.max_ts < start || seg.min_ts > end {
                continue;
            }
            let Some(sb) = seg.series.get(&id) else {
                continue;
            };
            for b in &sb.blocks[block_run(sb, start, end)] {
                if b.min_ts >= start && b.max_ts <= end {
                    bounds.push((b.min_ts, b.max_ts, u64::from(b.count)));
                    continue;
                }
                let mut ts = Vec::new();
                if let Err(e) = seg.read_ts(b, &mut ts) {
                    log_damage(seg, &e);
                    continue;
                }
                let lo = ts.partition_point(|&t| t < start);
                let hi = ts.partition_point(|&t| t <= end);
                if lo < hi {
                    bounds.push((ts[lo], ts[hi - 1], (hi - lo) as u64));
                }
            }
        }
        for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
            if let Some(slot) = head.get(id) {
                let d = slot.read();
                if let Some(b) = d.points.bounds_in(start, end) {
                    bounds.push(b);
                }
            }
        }
        bounds.sort_by_key(|b| b.0);
        if bounds.windows(2).all(|w| w[0].1 < w[1].0) {
            return bounds.iter().map(|b| b.2).sum();
        }
        // Overlapping sources may share timestamps: count the merged timestamps.
        let mut all = Vec::new();
        for seg in &v.segments {
            let Some(sb) = seg.series.get(&id) else {
                continue;
            };
            for b in &sb.blocks[block_run(sb, start, end)] {
                if let Err(e) = seg.read_ts(b, &mut all) {
                    log_damage(seg, &e);
                }
            }
        }
        for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
            if let Some(slot) = head.get(id) {
                let d = slot.read();
                d.points.timestamps_in(start, end, &mut all);
            }
        }
        all.retain(|&t| start <= t && t <= end);
        all.sort_unstable();
        all.dedup();
        all.len() as u64
    }

    /// The `n`-th distinct timestamp before `t`: each source contributes at most its last
    /// `n`, which is all the union's last `n` can come from. The heads are asked first:
    /// on the live path they hold the answer, and then a segment (or a block) whose newest
    /// point is no later than the `n`-th candidate so far is skipped without a decode.
    pub(crate) fn nth_before(&self, id: SeriesId, t: i64, n: usize) -> Option<i64> {
        if n == 0 {
            return None;
        }
        let v = self.current();
        let mut cand: Vec<i64> = Vec::new();
        for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
            if let Some(slot) = head.get(id) {
                let d = slot.read();
                d.points.last_before(t, n, &mut cand);
            }
        }
        // Below or at `floor`, a timestamp cannot be among the last `n` before `t`.
        let mut floor = nth_largest(&mut cand, n);
        let mut ts = Vec::new();
        for seg in v.segments.iter().rev() {
            if seg.min_ts >= t || seg.max_ts <= floor {
                continue;
            }
            let Some(sb) = seg.series.get(&id) else {
                continue;
            };
            let upto = sb.blocks.partition_point(|b| b.min_ts < t);
            let mut got = 0usize;
            for b in sb.blocks[..upto].iter().rev() {
                if b.max_ts <= floor {
                    continue;
                }
                ts.clear();
                if let Err(e) = seg.read_ts(b, &mut ts) {
                    log_damage(seg, &e);
                    continue;
                }
                let k = ts.partition_point(|&x| x < t);
                let take = &ts[k.saturating_sub(n - got)..k];
                got += take.len();
                cand.extend_from_slice(take);
                if got >= n {
                    break;
                }
            }
            floor = nth_largest(&mut cand, n);
        }
        (cand.len() >= n).then_some(floor)
    }

    /// First and last timestamp of a series from the segments' block index and the heads'
    /// sorted columns: no block is decoded.
    pub(crate) fn time_bounds(&self, id: SeriesId) -> Option<(i64, i64)> {
        let v = self.current();
        let mut bounds: Option<(i64, i64)> = None;
        let mut widen = |lo: i64, hi: i64| {
            bounds = Some(bounds.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
        };
        for seg in &v.segments {
            let Some(sb) = seg.series.get(&id) else {
                continue;
            };
            if let (Some(first), Some(last)) = (sb.blocks.first(), sb.blocks.last()) {
                widen(first.min_ts, last.max_ts);
            }
        }
        for head in [v.frozen.as_ref(), Some(&v.active)].into_iter().flatten() {
            if let Some(slot) = head.get(id) {
                let d = slot.read();
                if let Some((lo, hi)) = d.points.bounds() {
                    widen(lo, hi);
                }
            }
        }
        bounds
    }
}

/// Keeps the `n` largest distinct timestamps of `cand` (sorted, newest last) and returns
/// the smallest of them, or `i64::MIN` while there are fewer than `n`.
fn nth_largest(cand: &mut Vec<i64>, n: usize) -> i64 {
    cand.sort_unstable();
    cand.dedup();
    let extra = cand.len().saturating_sub(n);
    cand.drain(..extra);
    if cand.len() < n {
        i64::MIN
    } else {
        cand[0]
    }
}
