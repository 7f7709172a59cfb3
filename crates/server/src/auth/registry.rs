//! The server's view of the token file: verifies presented tokens and reloads the file
//! within about a second of any change, so `sightline token revoke` takes effect without a
//! restart.
//!
//! Lock order: one lock (`loaded`), never held across another lock, an await or file I/O.
//! Verification clones the current `Arc<TokenSet>` under the read guard and works on it
//! after the guard is dropped.

use super::grants::Grants;
use super::token_file::{TokenFile, TokenRejection, TokenSet};
use chrono::{DateTime, Utc};
use parking_lot::RwLock;
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// How often the file's metadata is checked for a change.
const POLL: Duration = Duration::from_secs(1);

/// What identifies one version of the file: a rename gives a new inode, an edit a new
/// modification time or length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
    inode: u64,
}

/// A verified token: who is calling and what it may do.
#[derive(Debug, Clone)]
pub(crate) struct Credential {
    /// The token's name, for logs (never the secret).
    pub(crate) name: String,
    /// The token's public id, to recheck it after a reload.
    id: String,
    pub(crate) grants: Grants,
    pub(crate) expires_at: Option<DateTime<Utc>>,
}

/// The loaded token set, reloaded when the file changes.
pub(crate) struct Registry {
    file: TokenFile,
    loaded: RwLock<Loaded>,
    /// Bumped on every reload, so connections recheck their token at once.
    reloads: watch::Sender<u64>,
}

struct Loaded {
    set: Arc<TokenSet>,
    stamp: Option<FileStamp>,
}

impl Registry {
    /// Loads `file` now and keeps it fresh from a background task while the registry lives.
    /// A file that cannot be read counts as holding no tokens (every request is refused)
    /// until it is fixed.
    pub(crate) fn start(file: TokenFile) -> Arc<Self> {
        let (reloads, _) = watch::channel(0);
        let registry = Arc::new(Registry {
            file,
            loaded: RwLock::new(Loaded {
                set: Arc::new(TokenSet::default()),
                stamp: None,
            }),
            reloads,
        });
        registry.reload(stamp(registry.file.path()));
        tokio::spawn(poll(Arc::downgrade(&registry)));
        registry
    }

    /// The credential `token` stands for, if it is valid now.
    pub(crate) fn verify(&self, token: &str) -> Result<Credential, TokenRejection> {
        let set = self.loaded.read().set.clone();
        let record = set.verify(token, Utc::now())?;
        Ok(Credential {
            name: record.name.clone(),
            id: record.id.clone(),
            grants: record.grants.clone(),
            expires_at: record.expires_at,
        })
    }

    /// Whether `credential` is still in the file and not expired.
    pub(crate) fn still_valid(&self, credential: &Credential) -> bool {
        let set = self.loaded.read().set.clone();
        let now = Utc::now();
        set.tokens
            .iter()
            .any(|r| r.id == credential.id && !r.expired_at(now))
    }

    /// Changes whenever the file was reloaded.
    pub(crate) fn watch_reloads(&self) -> watch::Receiver<u64> {
        self.reloads.subscribe()
    }

    /// Reads the file if its stamp differs from the loaded one.
    fn reload_if_changed(&self) {
        let current = stamp(self.file.path());
        if self.loaded.read().stamp == current {
            return;
        }
        self.reload(current);
    }

    fn reload(&self, stamp: Option<FileStamp>) {
        let set = match self.file.load() {
            Ok(set) => {
                tracing::info!(
                    file = %self.file.path().display(),
                    tokens = set.tokens.len(),
                    "token file loaded"
                );
                set
            }
            Err(error) => {
                tracing::error!(%error, "token file unreadable; refusing every token until it is fixed");
                TokenSet::default()
            }
        };
        *self.loaded.write() = Loaded {
            set: Arc::new(set),
            stamp,
        };
        self.reloads.send_modify(|n| *n += 1);
    }
}

async fn poll(registry: Weak<Registry>) {
    let mut tick = tokio::time::interval(POLL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let Some(registry) = registry.upgrade() else {
            return;
        };
        // Metadata and (rarely) a small file read: off the runtime threads.
        if tokio::task::spawn_blocking(move || registry.reload_if_changed())
            .await
            .is_err()
        {
            return;
        }
    }
}

fn stamp(path: &std::path::Path) -> Option<FileStamp> {
    let meta = std::fs::metadata(path).ok()?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&meta);
    #[cfg(not(unix))]
    let inode = 0;
    Some(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
        inode,
    })
}

/// Longest single wait before an expiry is rechecked (tokio caps sleeps at about two years).
const MAX_EXPIRY_WAIT: Duration = Duration::from_secs(24 * 3600);

/// Watches one connection's token: [`TokenWatch::lost`] resolves once it is revoked or
/// expires, and never when auth is off.
pub(crate) struct TokenWatch {
    watched: Option<(Arc<Registry>, Credential, watch::Receiver<u64>)>,
}

impl TokenWatch {
    /// Watches `credential` in `registry`; `None` for either means nothing to watch.
    pub(crate) fn new(registry: Option<&Arc<Registry>>, credential: Option<&Credential>) -> Self {
        let watched = registry.zip(credential).map(|(registry, credential)| {
            // A new receiver has seen the current value: only later reloads wake it.
            let reloads = registry.watch_reloads();
            (registry.clone(), credential.clone(), reloads)
        });
        TokenWatch { watched }
    }

    /// Resolves when the token stops being valid. Cancel-safe: call it again in a loop.
    pub(crate) async fn lost(&mut self) {
        let Some((registry, credential, reloads)) = &mut self.watched else {
            return std::future::pending().await;
        };
        loop {
            if !registry.still_valid(credential) {
                return;
            }
            let until_expiry = credential.expires_at.map(|at| {
                (at - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_EXPIRY_WAIT)
            });
            tokio::select! {
                changed = reloads.changed() => {
                    if changed.is_err() {
                        // The registry is gone with the server; nothing will change again.
                        return std::future::pending().await;
                    }
                }
                _ = sleep_or_forever(until_expiry) => {}
            }
        }
    }
}

async fn sleep_or_forever(duration: Option<Duration>) {
    match duration {
        // A little past the instant, so the recheck sees the token as expired.
        Some(duration) => tokio::time::sleep(duration + Duration::from_millis(5)).await,
        None => std::future::pending().await,
    }
}
