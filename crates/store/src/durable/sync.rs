//! Group commit: writers append to the log, then wait here until a sync covers their
//! position. The first waiter becomes the leader and syncs everything appended so far; those
//! who arrive meanwhile wait for the next round, so N concurrent writers cost about two
//! syncs, not N.

use std::fs::File;
use std::io;
use std::sync::Arc;

use parking_lot::{Condvar, Mutex, MutexGuard};

#[derive(Debug)]
struct State {
    file: Arc<File>,
    written: u64,
    synced: u64,
    syncing: bool,
    /// A failed sync leaves the page cache in an unknown state (the kernel may have dropped
    /// the dirty pages), so nothing written since can be promised: every later wait fails.
    failed: Option<io::ErrorKind>,
    /// Syncs run, for `/metrics`: against the writes acknowledged, how well group commit
    /// merges them.
    syncs: u64,
}

/// Shared sync state of the log.
#[derive(Debug)]
pub(crate) struct Syncer {
    state: Mutex<State>,
    cv: Condvar,
}

impl Syncer {
    pub(crate) fn new(file: Arc<File>, position: u64) -> Self {
        Syncer {
            state: Mutex::new(State {
                file,
                written: position,
                synced: position,
                syncing: false,
                failed: None,
                syncs: 0,
            }),
            cv: Condvar::new(),
        }
    }

    /// Syncs run so far.
    pub(crate) fn syncs(&self) -> u64 {
        self.state.lock().syncs
    }

    /// Records that the log holds bytes up to `lsn`.
    pub(crate) fn set_written(&self, lsn: u64) {
        let mut st = self.state.lock();
        st.written = st.written.max(lsn);
    }

    /// The error a failed sync left, if any.
    pub(crate) fn failed(&self) -> Option<io::Error> {
        self.state.lock().failed.map(poisoned)
    }

    /// Blocks until the log is synced at least to `lsn`.
    pub(crate) fn wait(&self, lsn: u64) -> io::Result<()> {
        let mut st = self.state.lock();
        loop {
            if st.synced >= lsn {
                return Ok(());
            }
            if let Some(k) = st.failed {
                return Err(poisoned(k));
            }
            if st.syncing {
                self.cv.wait(&mut st);
                continue;
            }
            self.lead(&mut st);
        }
    }

    /// Syncs everything written so far.
    pub(crate) fn sync_all(&self) -> io::Result<()> {
        let target = self.state.lock().written;
        self.wait(target)
    }

    /// Points later syncs at a new file; the old one must be fully synced already.
    pub(crate) fn switch_file(&self, file: Arc<File>) {
        let mut st = self.state.lock();
        st.file = file;
    }

    fn lead(&self, st: &mut MutexGuard<'_, State>) {
        st.syncing = true;
        let target = st.written;
        let file = st.file.clone();
        let r = MutexGuard::unlocked(st, || file.sync_data());
        st.syncing = false;
        st.syncs += 1;
        match r {
            Ok(()) => st.synced = st.synced.max(target),
            Err(e) => {
                tracing::error!(error = %e, "write-ahead log sync failed; refusing further writes");
                st.failed = Some(e.kind());
            }
        }
        self.cv.notify_all();
    }
}

fn poisoned(kind: io::ErrorKind) -> io::Error {
    io::Error::new(
        kind,
        "an earlier write-ahead log sync failed; the store accepts no more writes",
    )
}
