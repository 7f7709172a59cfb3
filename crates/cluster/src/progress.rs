//! How far this node has applied the write log: the last applied stream sequence, kept in
//! memory for waiters and on disk (`<data-dir>/cluster/applied`) so a restart resumes where
//! it stopped.
//!
//! The file may trail the store: it is written after the store has applied a chunk, so a
//! crash between the two replays a few writes on restart, which same-timestamp replace makes
//! harmless. It is never ahead of the store. It also names the stream instance (its creation
//! time), so a node never resumes into a log that was deleted and made anew.

use sightline_store::Readiness;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;

/// What the state file says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Saved {
    /// Creation time of the stream instance, nanoseconds since the epoch.
    pub(crate) stream_created: i128,
    /// Last applied sequence.
    pub(crate) applied: u64,
}

/// The applied position, shared by the applier (which advances it) and writers (which wait
/// on it to read their own writes).
#[derive(Debug)]
pub(crate) struct Progress {
    applied: watch::Sender<u64>,
    /// Sequence to reach before the node reports ready: the log's end when the node started.
    target: AtomicU64,
    /// First sequence the log held when this node found it had expired writes the node never
    /// applied; 0 while the node is not behind. Once set it stays: only a re-seed clears it.
    refused_from: AtomicU64,
    /// Last position written to disk, so an idle node records its final position once.
    persisted: AtomicU64,
    path: PathBuf,
    stream_created: i128,
}

impl Progress {
    /// Reads the state file in `dir`, if any.
    pub(crate) fn load(dir: &Path) -> io::Result<Option<Saved>> {
        let text = match std::fs::read_to_string(dir.join("applied")) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut fields = text.split_whitespace();
        let parsed = (|| {
            let stream_created = fields.next()?.parse().ok()?;
            let applied = fields.next()?.parse().ok()?;
            Some(Saved {
                stream_created,
                applied,
            })
        })();
        parsed.map(Some).ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{} is not a cluster state file",
                    dir.join("applied").display()
                ),
            )
        })
    }

    /// Progress at `applied` of the stream instance created at `stream_created`, to reach
    /// `target` before ready.
    pub(crate) fn new(dir: &Path, stream_created: i128, applied: u64, target: u64) -> Self {
        Progress {
            applied: watch::Sender::new(applied),
            target: AtomicU64::new(target),
            refused_from: AtomicU64::new(0),
            persisted: AtomicU64::new(0),
            path: dir.join("applied"),
            stream_created,
        }
    }

    /// Last applied sequence.
    pub(crate) fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Records that everything up to `seq` is in the store.
    pub(crate) fn advance(&self, seq: u64) {
        self.applied.send_if_modified(|a| {
            let moved = seq > *a;
            *a = (*a).max(seq);
            moved
        });
    }

    /// Writes the applied position to disk: a temporary file, synced, renamed over the old.
    pub(crate) fn persist(&self) -> io::Result<()> {
        let tmp = self.path.with_extension("tmp");
        let mut file = std::fs::File::create(&tmp)?;
        let applied = self.applied();
        writeln!(file, "{} {}", self.stream_created, applied)?;
        file.sync_all()?;
        std::fs::rename(&tmp, &self.path)?;
        if let Some(dir) = self.path.parent() {
            std::fs::File::open(dir)?.sync_all()?;
        }
        self.persisted.store(applied, Ordering::Relaxed);
        Ok(())
    }

    /// Whether the position moved since it was last written to disk.
    pub(crate) fn unpersisted(&self) -> bool {
        self.persisted.load(Ordering::Relaxed) != self.applied()
    }

    /// Waits until `seq` is applied; false if `timeout` passed first.
    pub(crate) async fn wait_for(&self, seq: u64, timeout: Duration) -> bool {
        let mut rx = self.applied.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|&a| a >= seq))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Records that the log now starts at `first_available`, past writes this node never
    /// applied: the node can no longer become current.
    pub(crate) fn refuse(&self, first_available: u64) {
        self.refused_from
            .store(first_available.max(1), Ordering::SeqCst);
    }

    /// Ready once the log's end at start-up is applied; refusing for good once writes the
    /// node never applied expired from the log.
    pub(crate) fn readiness(&self) -> Readiness {
        let (applied, target) = (self.applied(), self.target.load(Ordering::Relaxed));
        let refused_from = self.refused_from.load(Ordering::SeqCst);
        if refused_from != 0 {
            Readiness::Refusing {
                applied,
                first_available: refused_from,
            }
        } else if applied >= target {
            Readiness::Ready
        } else {
            Readiness::CatchingUp { applied, target }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn persists_and_reloads() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(Progress::load(dir.path()).expect("load"), None);
        let p = Progress::new(dir.path(), 1234, 0, 10);
        assert_eq!(
            p.readiness(),
            Readiness::CatchingUp {
                applied: 0,
                target: 10
            }
        );
        p.advance(10);
        p.advance(3);
        assert_eq!(p.applied(), 10);
        assert_eq!(p.readiness(), Readiness::Ready);
        p.persist().expect("persist");
        assert_eq!(
            Progress::load(dir.path()).expect("load"),
            Some(Saved {
                stream_created: 1234,
                applied: 10
            })
        );
    }

    #[test]
    fn refusing_outlasts_catching_up() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = Progress::new(dir.path(), 1, 4, 10);
        p.refuse(8);
        p.advance(10);
        assert_eq!(
            p.readiness(),
            Readiness::Refusing {
                applied: 10,
                first_available: 8
            }
        );
    }

    #[test]
    fn a_damaged_state_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("applied"), "garbage").expect("write");
        assert!(Progress::load(dir.path()).is_err());
    }

    #[tokio::test]
    async fn waiters_wake_when_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = std::sync::Arc::new(Progress::new(dir.path(), 0, 0, 0));
        let waiter = {
            let p = p.clone();
            tokio::spawn(async move { p.wait_for(5, Duration::from_secs(10)).await })
        };
        p.advance(5);
        assert!(waiter.await.expect("join"));
        assert!(!p.wait_for(6, Duration::from_millis(10)).await);
    }
}
