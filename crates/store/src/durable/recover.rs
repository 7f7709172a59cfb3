//! Opening a data directory: load the catalog and segment indexes, replay the log into a
//! fresh head, and decide what the damage found (if any) means.
//!
//! Everything is read and checked before anything on disk is touched, so a refusal leaves
//! the directory exactly as it was. Only then are torn tails truncated, leftover temporary
//! files and segments superseded by a finished compaction deleted, and (with repair)
//! unreadable segments renamed to `*.corrupt`.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config::{OpenError, RecoveryReport, StoreConfig};
use super::segment::Segment;
use super::{catalog, codec, frame, wal};
use crate::head::Head;
use crate::index::Index;

/// The state a store starts from.
pub(crate) struct Recovered {
    pub(crate) index: Index,
    pub(crate) head: Head,
    /// Sorted by `max_seq`.
    pub(crate) segments: Vec<Arc<Segment>>,
    pub(crate) next_seq: u64,
    pub(crate) next_wal: u64,
    /// Bytes of log files kept (they hold the replayed head until its flush).
    pub(crate) wal_bytes: u64,
    pub(crate) report: RecoveryReport,
}

/// Changes to make once recovery has decided to go ahead.
#[derive(Default)]
struct Deferred {
    delete: Vec<PathBuf>,
    quarantine: Vec<PathBuf>,
    /// Log files to cut back to this length: a torn tail, zeros written ahead and unused, or
    /// the frames of a recycled file's earlier use.
    truncate: Vec<(PathBuf, u64)>,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn inconsistent(file: &Path, detail: String) -> OpenError {
    OpenError::Inconsistent {
        file: file.to_path_buf(),
        detail,
    }
}

pub(crate) fn recover(
    cfg: &StoreConfig,
    dir: &Path,
    wal_dir: &Path,
    seg_dir: &Path,
) -> Result<Recovered, OpenError> {
    let mut report = RecoveryReport::default();
    let mut later = Deferred::default();
    let mut index = Index::default();
    let cat_path = dir.join(catalog::FILE);
    let mut next_seq = 1;
    let mut have_units = false;
    let mut flushed_wal = 0;
    match catalog::read(dir).map_err(io_err(&cat_path))? {
        None => {}
        Some(Ok(cat)) => {
            next_seq = cat.next_seq.max(1);
            flushed_wal = cat.flushed_wal;
            for (i, m) in cat.series.iter().enumerate() {
                if let Some(m) = m {
                    if !index.register(crate::api::SeriesId(i as u64), m) {
                        return Err(inconsistent(&cat_path, format!("series {i} is listed twice")));
                    }
                }
            }
            for (d, c, u) in cat.units {
                index.set_unit(&d, &c, u);
            }
            have_units = true;
        }
        Some(Err(e)) if cfg.repair => {
            tracing::warn!(error = %e, "catalog damaged; rebuilding it from segments and the log (units may be lost)");
            later.quarantine.push(cat_path.clone());
        }
        Some(Err(e)) => {
            return Err(inconsistent(
                &cat_path,
                format!("catalog damaged ({e}); start with --repair to rebuild it from segments and the log"),
            ))
        }
    }

    // Segments.
    let mut segments = Vec::new();
    for entry in fs::read_dir(seg_dir).map_err(io_err(seg_dir))? {
        let path = entry.map_err(io_err(seg_dir))?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.ends_with(".tmp") {
            later.delete.push(path);
            continue;
        }
        if !name.ends_with(".sls") {
            continue;
        }
        match Segment::open(&path) {
            Ok(s) => segments.push(Arc::new(s)),
            Err(e) if cfg.repair => {
                tracing::warn!(file = %path.display(), error = %e, "moving an unreadable segment aside");
                later.quarantine.push(path);
                report.segments_quarantined += 1;
            }
            Err(e) => {
                return Err(OpenError::SegmentCorrupt {
                    file: path,
                    detail: e.to_string(),
                })
            }
        }
    }
    // A compaction that finished writing but crashed before deleting its inputs leaves
    // segments whose sequence range lies inside the merged one: the merged one supersedes them.
    let superseded = |a: &Segment| {
        segments.iter().any(|b| {
            !std::ptr::eq(a, &**b)
                && a.partition == b.partition
                && b.min_seq <= a.min_seq
                && a.max_seq <= b.max_seq
                && (b.min_seq, b.max_seq) != (a.min_seq, a.max_seq)
        })
    };
    let (old, live): (Vec<_>, Vec<_>) = segments.iter().cloned().partition(|s| superseded(s));
    later.delete.extend(old.iter().map(|s| s.path.clone()));
    let mut segments = live;
    segments.sort_by_key(|s| s.max_seq);
    for s in &segments {
        for (id, sb) in &s.series {
            if !index.register(*id, &sb.meta) {
                return Err(inconsistent(
                    &s.path,
                    format!(
                        "series id {} names a different series than the catalog",
                        id.0
                    ),
                ));
            }
            if !have_units {
                if let Some(u) = &sb.unit {
                    index.set_unit(&sb.meta.dataset, &sb.meta.channel, u.clone());
                }
            }
        }
        next_seq = next_seq.max(s.max_seq + 1);
    }
    report.segments_loaded = segments.len() as u64;

    // The log.
    let head = Head::default();
    let files = wal::list(wal_dir).map_err(io_err(wal_dir))?;
    let mut wal_bytes = 0;
    for (i, &n) in files.iter().enumerate() {
        let path = wal::file_path(wal_dir, n);
        if n <= flushed_wal {
            // Flushed to segments; the crash came before the file was deleted.
            later.delete.push(path);
            continue;
        }
        let buf = fs::read(&path).map_err(io_err(&path))?;
        let last = i + 1 == files.len();
        report.wal_files += 1;
        let mut pos = 0usize;
        let mut kept = buf.len() as u64;
        while pos < buf.len() {
            let checked = frame::check_frame(&buf, pos, n);
            // The end of this file's log: zeros written ahead and never used, or a recycled
            // file's earlier frames.
            if checked == Err(frame::FrameFault::Stale) || frame::is_unused(&buf, pos) {
                kept = pos as u64;
                later.truncate.push((path.clone(), kept));
                break;
            }
            let fault = match checked {
                Ok((ps, pe)) => match codec::decode(&buf[ps..pe]) {
                    Ok(plan) => {
                        let mut ok = true;
                        for s in &plan.series {
                            ok &= index.register(s.id, &s.meta);
                        }
                        if !ok && !cfg.repair {
                            return Err(inconsistent(
                                &path,
                                format!("record at byte {pos} names a series id already used by another series"),
                            ));
                        }
                        report.records_replayed += 1;
                        report.points_replayed += plan.points;
                        for s in plan.series {
                            if index.meta(s.id).is_some_and(|m| **m == *s.meta) {
                                if let Some(u) = s.unit {
                                    index.set_unit(&s.meta.dataset, &s.meta.channel, u);
                                }
                                head.insert(s.id, s.points);
                            }
                        }
                        pos = pe;
                        continue;
                    }
                    Err(e) => format!("undecodable record: {e}"),
                },
                Err(f) => f.describe().to_string(),
            };
            let next = frame::next_valid(&buf, pos + 1, n);
            if next.is_none() && last {
                // The zeros after the damage were written ahead, never used, and frames of
                // a recycled file's earlier use are not this log's: neither is lost bytes.
                let used = buf.iter().rposition(|&b| b != 0).map_or(pos, |i| i + 1);
                let used = frame::next_stale(&buf, pos + 1, n).map_or(used, |s| s.min(used));
                report.bytes_truncated = (used - pos) as u64;
                kept = pos as u64;
                later.truncate.push((path.clone(), kept));
                break;
            }
            if !cfg.repair {
                return Err(OpenError::WalCorrupt {
                    file: path,
                    offset: pos as u64,
                    detail: fault,
                });
            }
            let skip_to = next.unwrap_or(buf.len());
            tracing::warn!(file = %path.display(), offset = pos, bytes = skip_to - pos, %fault, "repair: dropping a damaged log record");
            report.records_dropped += 1;
            report.bytes_dropped += (skip_to - pos) as u64;
            pos = skip_to;
        }
        wal_bytes += kept;
    }
    let next_wal = files.last().map_or(1, |n| n + 1);

    // Decided: make the changes.
    for (path, len) in &later.truncate {
        let f = fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        f.set_len(*len).map_err(io_err(path))?;
        f.sync_all().map_err(io_err(path))?;
    }
    for p in &later.delete {
        if let Err(e) = fs::remove_file(p) {
            tracing::warn!(file = %p.display(), error = %e, "could not delete a leftover file");
        }
    }
    for p in &later.quarantine {
        let mut to = p.clone().into_os_string();
        to.push(".corrupt");
        fs::rename(p, &to).map_err(io_err(p))?;
    }
    if !later.delete.is_empty() || !later.quarantine.is_empty() {
        wal::sync_dir(seg_dir).map_err(io_err(seg_dir))?;
        wal::sync_dir(wal_dir).map_err(io_err(wal_dir))?;
    }
    tracing::info!(
        dir = %dir.display(),
        wal_files = report.wal_files,
        records_replayed = report.records_replayed,
        points_replayed = report.points_replayed,
        bytes_truncated = report.bytes_truncated,
        records_dropped = report.records_dropped,
        segments = report.segments_loaded,
        segments_quarantined = report.segments_quarantined,
        "store recovered"
    );
    Ok(Recovered {
        index,
        head,
        segments,
        next_seq,
        next_wal,
        wal_bytes,
        report,
    })
}
