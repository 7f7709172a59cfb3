//! Answers first: the entries of one subscribe message start their results only once every
//! entry of the message has been answered (its creation message queued), or after
//! [`LONGEST_HOLD`].
//!
//! A dashboard subscribes to all its panels in one message. Each entry is validated and
//! planned on its own, and as soon as one joined its computation its first full result
//! (often hundreds of kilobytes) went out. The answers of the entries still being set up
//! then queued behind those results in the socket, so a client learned that its last panel
//! was created only after reading and parsing every other panel's full result: 100 panels
//! per message took seconds to be answered. Holding the results until the message is
//! answered puts all the small creation messages first; the results follow at once.
//!
//! The same holds across connections: a control room opens many dashboards at once, and one
//! dashboard's results took the client's (and the cores') time while another's answers
//! waited. So an answered entry also waits until no entry on any connection is unanswered,
//! within the same bound.

use std::time::Duration;
use tokio::sync::watch;

/// Longest an answered entry waits for the rest of its message, and for every other message
/// being answered, before it starts anyway, so one slow setup cannot hold back the others'
/// results for long.
const LONGEST_HOLD: Duration = Duration::from_secs(1);

/// Entries unanswered on every connection; the server keeps one (`App`).
pub(crate) type Everywhere = watch::Sender<usize>;

/// The entries of one subscribe message still unanswered.
pub(crate) struct MessageAnswers {
    unanswered: watch::Sender<usize>,
    everywhere: Everywhere,
    /// Entries not handed out yet; counted as answered when this is dropped.
    left: usize,
}

impl MessageAnswers {
    /// One entry per `Unanswered` handed out; `entries` is how many will be.
    pub(crate) fn new(entries: usize, everywhere: &Everywhere) -> Self {
        // Only reaching zero wakes anyone: thousands of entries wait on these counts.
        everywhere.send_if_modified(|n| {
            *n += entries;
            false
        });
        MessageAnswers {
            unanswered: watch::channel(entries).0,
            everywhere: everywhere.clone(),
            left: entries,
        }
    }

    /// The handle of one entry.
    pub(crate) fn entry(&mut self) -> Unanswered {
        self.left = self.left.saturating_sub(1);
        Unanswered {
            unanswered: self.unanswered.clone(),
            everywhere: self.everywhere.clone(),
            counted: false,
        }
    }
}

impl Drop for MessageAnswers {
    fn drop(&mut self) {
        for _ in 0..self.left {
            answer_one(&self.unanswered, &self.everywhere);
        }
    }
}

/// One entry not answered yet; dropping it (a failed or stopped setup) counts as answered,
/// so the rest never wait for an entry that will not come.
pub(crate) struct Unanswered {
    unanswered: watch::Sender<usize>,
    everywhere: Everywhere,
    counted: bool,
}

impl Unanswered {
    /// Counts this entry answered (if [`Unanswered::answering`] did not), then waits until
    /// every entry of its message, and every entry on any connection, is answered, or
    /// [`LONGEST_HOLD`].
    pub(crate) async fn answered(mut self) {
        self.answering();
        let mut rest = self.unanswered.subscribe();
        let mut all = self.everywhere.subscribe();
        let _ = tokio::time::timeout(LONGEST_HOLD, async {
            let _ = rest.wait_for(|n| *n == 0).await;
            let _ = all.wait_for(|n| *n == 0).await;
        })
        .await;
    }

    /// Counts this entry answered, once: its creation message is about to be queued.
    pub(crate) fn answering(&mut self) {
        if !self.counted {
            self.counted = true;
            answer_one(&self.unanswered, &self.everywhere);
        }
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        self.answering();
    }
}

/// Counts one entry answered, waking the waiters of a count that reaches zero.
fn answer_one(message: &watch::Sender<usize>, everywhere: &Everywhere) {
    for count in [message, everywhere] {
        count.send_if_modified(|n| {
            *n = n.saturating_sub(1);
            *n == 0
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_every_entry_and_a_dropped_one_counts() {
        let everywhere = watch::channel(0).0;
        let mut answers = MessageAnswers::new(3, &everywhere);
        let (a, b, c) = (answers.entry(), answers.entry(), answers.entry());
        let first = tokio::spawn(a.answered());
        tokio::task::yield_now().await;
        assert!(!first.is_finished());
        drop(b);
        let third = tokio::spawn(c.answered());
        let both = tokio::time::timeout(Duration::from_millis(500), async {
            first.await.ok();
            third.await.ok();
        });
        assert!(
            both.await.is_ok(),
            "entries kept waiting after all were answered"
        );
    }

    #[tokio::test]
    async fn an_entry_never_answered_holds_the_rest_only_for_a_while() {
        let everywhere = watch::channel(0).0;
        let mut answers = MessageAnswers::new(2, &everywhere);
        let (a, _never) = (answers.entry(), answers.entry());
        let held = tokio::time::timeout(LONGEST_HOLD * 10, a.answered()).await;
        assert!(
            held.is_ok(),
            "an answered entry waited for ever for the rest"
        );
    }

    #[tokio::test]
    async fn an_answered_message_waits_for_other_messages_being_answered() {
        let everywhere = watch::channel(0).0;
        let mut first = MessageAnswers::new(1, &everywhere);
        let mut second = MessageAnswers::new(2, &everywhere);
        let done = first.entry();
        let held = tokio::spawn(done.answered());
        tokio::task::yield_now().await;
        assert!(
            !held.is_finished(),
            "started while another message was unanswered"
        );
        let a = second.entry();
        drop(a);
        tokio::task::yield_now().await;
        assert!(!held.is_finished());
        // The second message's last entry is never handed out: dropping the message
        // counts it answered.
        drop(second);
        let started = tokio::time::timeout(Duration::from_millis(500), held).await;
        assert!(
            started.is_ok(),
            "kept waiting after every message was answered"
        );
        assert_eq!(*everywhere.borrow(), 0);
        drop(first);
        assert_eq!(*everywhere.borrow(), 0);
    }
}
