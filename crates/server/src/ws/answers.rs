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

use std::time::Duration;
use tokio::sync::watch;

/// Longest an answered entry waits for the rest of its message before it starts anyway, so
/// one slow setup cannot hold back the others' results for long.
const LONGEST_HOLD: Duration = Duration::from_secs(1);

/// The entries of one subscribe message still unanswered.
pub(crate) struct MessageAnswers {
    unanswered: watch::Sender<usize>,
}

impl MessageAnswers {
    /// One entry per `Unanswered` handed out; `entries` is how many will be.
    pub(crate) fn new(entries: usize) -> Self {
        MessageAnswers {
            unanswered: watch::channel(entries).0,
        }
    }

    /// The handle of one entry.
    pub(crate) fn entry(&self) -> Unanswered {
        Unanswered {
            unanswered: self.unanswered.clone(),
            counted: false,
        }
    }
}

/// One entry not answered yet; dropping it (a failed or stopped setup) counts as answered,
/// so the rest never wait for an entry that will not come.
pub(crate) struct Unanswered {
    unanswered: watch::Sender<usize>,
    counted: bool,
}

impl Unanswered {
    /// Records this entry's answer as queued, then waits until every entry of its message
    /// is answered, or [`LONGEST_HOLD`].
    pub(crate) async fn answered(mut self) {
        self.count();
        let mut rest = self.unanswered.subscribe();
        let _ = tokio::time::timeout(LONGEST_HOLD, rest.wait_for(|n| *n == 0)).await;
    }

    fn count(&mut self) {
        if !self.counted {
            self.counted = true;
            self.unanswered.send_modify(|n| *n = n.saturating_sub(1));
        }
    }
}

impl Drop for Unanswered {
    fn drop(&mut self) {
        self.count();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_every_entry_and_a_dropped_one_counts() {
        let answers = MessageAnswers::new(3);
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
        let answers = MessageAnswers::new(2);
        let (a, _never) = (answers.entry(), answers.entry());
        let held = tokio::time::timeout(LONGEST_HOLD * 10, a.answered()).await;
        assert!(
            held.is_ok(),
            "an answered entry waited for ever for the rest"
        );
    }
}
