//! The pool of threads that evaluate subscriptions, one per core, named `sightline-eval-N`.
//!
//! Live evaluation is CPU work that must not block the async runtime, but handing each
//! evaluation to tokio's blocking pool grew it to a hundred threads that mostly fought
//! for two cores. This pool is bounded and first-in first-out: each computation has at most
//! one job queued or running at a time (its task awaits the result), so the queue is
//! bounded by the number of live computations, no computation can starve the rest, and
//! changes that arrive while a job waits fold into that computation's next update.
//!
//! Two lanes share the threads: updates of live computations, and the setup of new
//! subscriptions (validation and planning). When both hold work the threads alternate
//! between them, so a burst of ten thousand subscribe entries neither stalls the updates
//! of the computations already live nor waits behind them.
//!
//! A live update that took microseconds last time runs where its computation's task runs
//! instead ([`run_here`], chosen by the caller): handing it to a pool thread and back cost
//! two thread wake-ups, more than the update itself.
//!
//! Lock order: the queue's mutex is the only lock here, and no job runs while it is held.

use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use thiserror::Error;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// An evaluation that did not produce a result.
#[derive(Debug, Error)]
#[error("the evaluation panicked or the pool stopped; see the server log")]
pub(crate) struct EvalFailed;

/// Which kind of work a job is; see the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lane {
    /// An evaluation of a live computation (updates, snapshots, catch-ups).
    Update,
    /// Validating and planning a new subscription.
    Setup,
}

#[derive(Default)]
struct Queue {
    updates: VecDeque<Job>,
    setups: VecDeque<Job>,
    /// The lane of the last job taken while both had work, to alternate.
    last_was_setup: bool,
    closed: bool,
}

impl Queue {
    fn push(&mut self, lane: Lane, job: Job) {
        match lane {
            Lane::Update => self.updates.push_back(job),
            Lane::Setup => self.setups.push_back(job),
        }
    }

    fn pop(&mut self) -> Option<Job> {
        let setup_first = !self.last_was_setup || self.updates.is_empty();
        let job = if setup_first {
            self.setups.pop_front().map(|j| (j, true))
        } else {
            None
        };
        let (job, setup) = job.or_else(|| self.updates.pop_front().map(|j| (j, false)))?;
        self.last_was_setup = setup;
        Some(job)
    }
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// The evaluation threads; they stop when the pool is dropped.
pub(crate) struct EvalPool {
    shared: Arc<Shared>,
    threads: usize,
}

impl EvalPool {
    /// Starts `threads` named evaluation threads (at least one).
    pub(crate) fn new(threads: usize) -> Self {
        let shared = Arc::new(Shared::default());
        let mut started = 0;
        for i in 0..threads.max(1) {
            let worker = shared.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("sightline-eval-{i}"))
                .spawn(move || work(&worker));
            match spawned {
                Ok(_) => started += 1,
                Err(error) => tracing::error!(%error, "could not start an evaluation thread"),
            }
        }
        EvalPool {
            shared,
            threads: started,
        }
    }

    /// Runs `f` on an evaluation thread and waits for its result without blocking the
    /// runtime. Falls back to tokio's blocking pool if no evaluation thread could start.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        lane: Lane,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, EvalFailed> {
        if self.threads == 0 {
            return tokio::task::spawn_blocking(f).await.map_err(|_| EvalFailed);
        }
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(f());
        });
        self.shared.queue.lock().push(lane, job);
        self.shared.ready.notify_one();
        rx.await.map_err(|_| EvalFailed)
    }
}

/// Runs `f` on the calling thread, as a job of the pool would run: a panic is logged and
/// reported as [`EvalFailed`] instead of unwinding into the caller. For evaluations known
/// to take microseconds, where the handoff to a pool thread and back (two thread wake-ups)
/// would cost more than the work.
pub(crate) fn run_here<T>(f: impl FnOnce() -> T) -> Result<T, EvalFailed> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        tracing::error!("a subscription evaluation panicked");
        EvalFailed
    })
}

impl Drop for EvalPool {
    fn drop(&mut self) {
        self.shared.queue.lock().closed = true;
        self.shared.ready.notify_all();
    }
}

fn work(shared: &Shared) {
    loop {
        let job = {
            let mut queue = shared.queue.lock();
            loop {
                if queue.closed {
                    return;
                }
                if let Some(job) = queue.pop() {
                    break job;
                }
                shared.ready.wait(&mut queue);
            }
        };
        // A panic drops the job's sender, which the waiting task sees as a failure; the
        // thread lives on for the next job.
        let _ = run_here(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_jobs_and_survives_a_panic() {
        let pool = EvalPool::new(2);
        assert_eq!(pool.run(Lane::Update, || 2 + 2).await.ok(), Some(4));
        let failed = pool.run(Lane::Setup, || -> u32 { panic!("boom") }).await;
        assert!(failed.is_err());
        let name = pool
            .run(Lane::Update, || {
                std::thread::current().name().map(str::to_owned)
            })
            .await
            .ok()
            .flatten();
        assert!(name.is_some_and(|n| n.starts_with("sightline-eval-")));
    }
}
