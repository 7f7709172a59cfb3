//! Background upkeep of the segment set: flushing a frozen head into segments (then trimming
//! the log), compacting partitions (`compact.rs`, which says when and what), and dropping
//! expired segments.
//! All of it runs under [`Inner::maint`], so the segment list has one writer at a time.
//!
//! A flush or compaction can be given up part way ([`Deadline`]): when the store closes, or
//! when closing's own flush runs out of time. Giving up deletes the files it wrote and
//! changes nothing else, so the points stay in the log and the next open replays them: a
//! store with a million series closes in bounded time and loses nothing acknowledged.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::compact::MAX_SEGMENTS_PER_PARTITION;
use super::segment::{Segment, SegmentError, SegmentWriter};
use super::{catalog, wal, Inner, Maint};
use crate::api::StoreError;
use crate::head::Head;

/// Series written between two looks at the [`Deadline`].
const SERIES_PER_CHECK: usize = 256;

/// When a flush or compaction in progress must give up.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Deadline(Option<Instant>);

impl Deadline {
    /// No limit but the store closing.
    pub(crate) const NONE: Deadline = Deadline(None);

    /// Give up at `at`.
    pub(crate) fn at(at: Instant) -> Deadline {
        Deadline(Some(at))
    }
}

/// What a flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flushed {
    /// There was no frozen head.
    Nothing,
    /// The frozen head is in segments and its log files are gone.
    Done,
    /// Given up: the frozen head and its log files are still there.
    Abandoned,
}

impl From<SegmentError> for StoreError {
    fn from(e: SegmentError) -> Self {
        match e {
            SegmentError::Io(e) => StoreError::Io(e),
            other => StoreError::Corrupt {
                detail: other.to_string(),
            },
        }
    }
}

impl Inner {
    /// Partition number of a timestamp.
    pub(crate) fn partition_of(&self, t: i64) -> i64 {
        t.div_euclid(self.partition_width())
    }

    fn partition_width(&self) -> i64 {
        i64::try_from(self.config.partition.as_nanos())
            .unwrap_or(i64::MAX)
            .max(1)
    }

    /// Flushes a frozen head if there is one; in the background also compacts and expires.
    pub(crate) fn maintain(
        &self,
        background: bool,
        until: Deadline,
    ) -> Result<Flushed, StoreError> {
        let mut m = self.maint.lock();
        let flushed = self.flush_frozen(&mut m, until)?;
        if background && flushed != Flushed::Abandoned {
            self.compact(&mut m, MAX_SEGMENTS_PER_PARTITION)?;
            self.retention(&mut m)?;
        }
        Ok(flushed)
    }

    /// Whether work in progress must give up now.
    pub(crate) fn must_give_up(&self, until: Deadline) -> bool {
        self.stopping.load(Ordering::Acquire) || until.0.is_some_and(|at| Instant::now() >= at)
    }

    fn flush_frozen(&self, m: &mut Maint, until: Deadline) -> Result<Flushed, StoreError> {
        let v = self.current();
        let Some(frozen) = v.frozen.clone() else {
            return Ok(Flushed::Nothing);
        };
        let seq = m.next_seq;
        let Some(segs) = self.write_head(&frozen, seq, until)? else {
            return Ok(Flushed::Abandoned);
        };
        if self.must_give_up(until) {
            // The catalog of a million series takes a while too; the log still has it all.
            remove_segments(&segs);
            return Ok(Flushed::Abandoned);
        }
        m.next_seq += 1;
        // The log files this flush makes redundant: named in the catalog, so a crash before
        // they are deleted does not replay them over the segments (counting them twice).
        let flushed_wal = self.ingest.lock().frozen_wal.unwrap_or(0);
        let body = catalog::encode(&self.index.read(), m.next_seq, flushed_wal);
        catalog::store(&self.dir, &body)?;
        wal::sync_dir(&self.seg_dir)?;
        {
            let mut w = self.version.write();
            let mut next = (**w).clone();
            next.frozen = None;
            next.segments.extend(segs.iter().cloned());
            next.segments.sort_by_key(|s| s.max_seq);
            *w = Arc::new(next);
        }
        {
            let mut ing = self.ingest.lock();
            if let Some(upto) = ing.frozen_wal.take() {
                ing.wal.trim(upto)?;
                self.mirror_log_sizes(&ing.wal);
            }
        }
        let _s = self.signal.lock();
        self.flushed.notify_all();
        tracing::debug!(
            seq,
            segments = segs.len(),
            points = frozen.points(),
            "flushed head"
        );
        Ok(Flushed::Done)
    }

    /// Writes every series of a head, one segment file per time partition it touches.
    /// `None` if it gave up (see [`Deadline`]); then no file it wrote is left.
    fn write_head(
        &self,
        head: &Head,
        seq: u64,
        until: Deadline,
    ) -> Result<Option<Vec<Arc<Segment>>>, StoreError> {
        if self.must_give_up(until) {
            return Ok(None);
        }
        let all = head.all();
        // The index before the series' locks (lock order: see the module docs of `durable`).
        let index = self.index.read();
        let mut metas = Vec::with_capacity(all.len());
        for (id, _) in &all {
            let meta = index
                .meta(*id)
                .cloned()
                .ok_or_else(|| StoreError::Corrupt {
                    detail: format!("head holds series {} the index does not know", id.0),
                })?;
            let unit = index
                .channel(&meta.dataset, &meta.channel)
                .and_then(|c| c.unit);
            metas.push((meta, unit));
        }
        drop(index);
        let guards: Vec<_> = all.iter().map(|(_, s)| s.read()).collect();
        // Each series' stretch of each partition, by position in the series: found run by
        // run (a stretch that spans runs is joined), so no series is copied whole here.
        let mut parts: BTreeMap<i64, Vec<(usize, std::ops::Range<usize>)>> = BTreeMap::new();
        let w = self.partition_width();
        for (si, g) in guards.iter().enumerate() {
            let mut open: Option<(i64, std::ops::Range<usize>)> = None;
            for (offset, ts) in g.points.timestamp_runs() {
                let mut i = 0;
                while i < ts.len() {
                    let p = self.partition_of(ts[i]);
                    let end = match p.checked_add(1).and_then(|q| q.checked_mul(w)) {
                        Some(limit) => i + ts[i..].partition_point(|&t| t < limit),
                        None => ts.len(),
                    };
                    match &mut open {
                        Some((q, r)) if *q == p => r.end = offset + end,
                        _ => {
                            if let Some((q, r)) = open.take() {
                                parts.entry(q).or_default().push((si, r));
                            }
                            open = Some((p, offset + i..offset + end));
                        }
                    }
                    i = end;
                }
            }
            if let Some((q, r)) = open {
                parts.entry(q).or_default().push((si, r));
            }
        }
        let mut out = Vec::with_capacity(parts.len());
        for (p, entries) in parts {
            let mut wr = SegmentWriter::create(&self.seg_dir, p, seq, seq)?;
            for (n, (si, r)) in entries.into_iter().enumerate() {
                if n % SERIES_PER_CHECK == 0 && self.must_give_up(until) {
                    wr.abandon();
                    remove_segments(&out);
                    return Ok(None);
                }
                let (meta, unit) = &metas[si];
                // The run itself when one run holds the stretch (a series written in order
                // within a run), else a copy of just the stretch, freed once it is written.
                let (column, r) = guards[si].points.column(r);
                wr.series(all[si].0, meta, unit.clone(), &column, r)?;
            }
            out.push(Arc::new(wr.finish()?));
        }
        Ok(Some(out))
    }

    /// Swaps `old` for `new` in the published version, then deletes the old files (readers
    /// holding them keep reading through their open handles).
    pub(crate) fn replace_segments(&self, old: &[Arc<Segment>], new: Option<Arc<Segment>>) {
        {
            let mut w = self.version.write();
            let mut next = (**w).clone();
            next.segments
                .retain(|s| !old.iter().any(|o| Arc::ptr_eq(o, s)));
            next.segments.extend(new);
            next.segments.sort_by_key(|s| s.max_seq);
            *w = Arc::new(next);
        }
        for s in old {
            if let Err(e) = fs::remove_file(&s.path) {
                if e.kind() != io::ErrorKind::NotFound {
                    tracing::warn!(file = %s.path.display(), error = %e, "could not delete a replaced segment");
                }
            }
        }
        if let Err(e) = wal::sync_dir(&self.seg_dir) {
            tracing::warn!(error = %e, "could not sync the segment directory");
        }
    }

    /// Deletes segments whose newest point is older than the retention.
    pub(crate) fn retention(&self, _m: &mut Maint) -> Result<usize, StoreError> {
        let Some(keep) = self.config.retention else {
            return Ok(0);
        };
        let keep = i64::try_from(keep.as_nanos()).unwrap_or(i64::MAX);
        let cutoff = self.config.clock.now_ns().saturating_sub(keep);
        let expired: Vec<Arc<Segment>> = self
            .current()
            .segments
            .iter()
            .filter(|s| s.max_ts < cutoff)
            .cloned()
            .collect();
        if !expired.is_empty() {
            let bytes: u64 = expired.iter().map(|s| s.bytes).sum();
            self.replace_segments(&expired, None);
            tracing::info!(
                segments = expired.len(),
                bytes,
                "retention dropped expired segments"
            );
        }
        Ok(expired.len())
    }
}

/// Deletes segment files written by a flush that gave up (never installed, so no reader has
/// them). A file left behind would be loaded next to the replayed log: harmless (the log's
/// points win) but wasteful, so a failure is only logged.
fn remove_segments(segs: &[Arc<Segment>]) {
    for s in segs {
        if let Err(e) = fs::remove_file(&s.path) {
            tracing::warn!(file = %s.path.display(), error = %e, "could not delete a segment of an abandoned flush");
        }
    }
}
