//! The token file: named API tokens with their grants, kept as salted SHA-256 hashes in
//! `<data-dir>/tokens.json`. Both `sightline token` and the server use this one
//! implementation.
//!
//! A token looks like `sl_<id>_<secret>`: the 16-hex-digit `id` finds its record, the whole
//! token is hashed with the record's random salt and compared in constant time. The secret
//! is printed once at creation and never stored.
//!
//! Changes are safe against a running server and against other `sightline token` commands:
//! a writer takes an exclusive lock on `tokens.json.lock`, writes `tokens.json.tmp`, syncs it
//! and renames it over `tokens.json`, so a reader sees the old file or the new one, never a
//! half-written one. The server notices the new file by polling (see `registry.rs`).

use super::grants::Grants;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

/// The file name of the token file inside a data directory.
pub const TOKEN_FILE_NAME: &str = "tokens.json";

const FORMAT_VERSION: u32 = 1;
const TOKEN_PREFIX: &str = "sl_";
const ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;
const SALT_BYTES: usize = 16;

/// One named token as stored: never the secret itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenRecord {
    /// Unique name, used to list and revoke the token.
    pub name: String,
    /// Public part of the token that finds this record (hex).
    pub id: String,
    /// Random salt (base64) hashed before the token.
    salt: String,
    /// SHA-256 of salt and token (base64).
    hash: String,
    /// What the token may read and write.
    pub grants: Grants,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether `token` is this record's secret, compared in constant time.
    fn verifies(&self, token: &str) -> bool {
        let (Ok(salt), Ok(expected)) = (STANDARD.decode(&self.salt), STANDARD.decode(&self.hash))
        else {
            return false;
        };
        salted_hash(&salt, token).ct_eq(&expected).into()
    }

    /// Whether the token has expired at `now`.
    pub fn expired_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|at| at <= now)
    }
}

/// The whole file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSet {
    version: u32,
    /// Every token, in creation order.
    pub tokens: Vec<TokenRecord>,
}

/// Why a token was not accepted. Deliberately coarse: a caller learns only that it failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    /// Not of the `sl_<id>_<secret>` form, unknown, or wrong.
    #[error("the token is not valid")]
    Invalid,
    /// Known and correct, but past its expiry.
    #[error("the token has expired")]
    Expired,
}

impl TokenSet {
    /// The record `token` belongs to, if it is valid at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<&TokenRecord, TokenRejection> {
        let id = token_id(token).ok_or(TokenRejection::Invalid)?;
        let record = self
            .tokens
            .iter()
            .find(|r| r.id == id)
            .ok_or(TokenRejection::Invalid)?;
        if !record.verifies(token) {
            return Err(TokenRejection::Invalid);
        }
        if record.expired_at(now) {
            return Err(TokenRejection::Expired);
        }
        Ok(record)
    }

    /// The record named `name`.
    pub fn get(&self, name: &str) -> Option<&TokenRecord> {
        self.tokens.iter().find(|r| r.name == name)
    }
}

/// Why reading or changing the token file failed.
#[derive(Debug, thiserror::Error)]
pub enum TokenFileError {
    /// The file or its lock could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file concerned.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a token file.
    #[error("{path} is not a valid token file")]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// Where the JSON is wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a newer Sightline.
    #[error("{path} has format version {found}; this Sightline reads version {FORMAT_VERSION}")]
    UnknownVersion {
        /// The file concerned.
        path: PathBuf,
        /// Its version.
        found: u32,
    },
    /// `create` with a name already taken.
    #[error("a token named `{name}` already exists; revoke it first or choose another name")]
    NameTaken {
        /// The name.
        name: String,
    },
    /// `revoke` of a name that does not exist.
    #[error("no token is named `{name}`")]
    NoSuchToken {
        /// The name.
        name: String,
    },
    /// A name that cannot be listed or typed back.
    #[error("token names are 1 to 64 letters, digits, `-`, `_` or `.`; `{name}` is not")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// The system's random source failed.
    #[error("the system random source failed: {0}")]
    Random(getrandom::Error),
}

/// The token file of one data directory.
#[derive(Debug, Clone)]
pub struct TokenFile {
    path: PathBuf,
}

impl TokenFile {
    /// The token file inside `data_dir` (which need not exist yet).
    pub fn in_data_dir(data_dir: &Path) -> Self {
        TokenFile {
            path: data_dir.join(TOKEN_FILE_NAME),
        }
    }

    /// The token file at `path`.
    pub fn at(path: PathBuf) -> Self {
        TokenFile { path }
    }

    /// Where the file lives.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file; a missing file is an empty set.
    pub fn load(&self) -> Result<TokenSet, TokenFileError> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokenSet::default()),
            Err(source) => return Err(self.io("reading", source)),
        };
        let set: TokenSet =
            serde_json::from_slice(&text).map_err(|source| TokenFileError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        if set.version != FORMAT_VERSION {
            return Err(TokenFileError::UnknownVersion {
                path: self.path.clone(),
                found: set.version,
            });
        }
        Ok(set)
    }

    /// Adds a token and returns its record and the secret token, which is shown once.
    pub fn create(
        &self,
        name: &str,
        grants: Grants,
        expires_at: Option<DateTime<Utc>>,
    ) -> Result<(TokenRecord, String), TokenFileError> {
        if name.is_empty()
            || name.len() > 64
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(TokenFileError::InvalidName {
                name: name.to_string(),
            });
        }
        let id = hex(&random::<ID_BYTES>()?);
        let token = format!(
            "{TOKEN_PREFIX}{id}_{}",
            URL_SAFE_NO_PAD.encode(random::<SECRET_BYTES>()?)
        );
        let salt = random::<SALT_BYTES>()?;
        let record = TokenRecord {
            name: name.to_string(),
            id,
            salt: STANDARD.encode(salt),
            hash: STANDARD.encode(salted_hash(&salt, &token)),
            grants,
            created_at: Utc::now(),
            expires_at,
        };
        let stored = record.clone();
        self.change(move |set| {
            if set.get(&stored.name).is_some() {
                return Err(TokenFileError::NameTaken { name: stored.name });
            }
            set.tokens.push(stored);
            Ok(())
        })?;
        Ok((record, token))
    }

    /// Removes the token named `name`; a running server refuses it within about a second.
    pub fn revoke(&self, name: &str) -> Result<TokenRecord, TokenFileError> {
        let mut removed = None;
        self.change(|set| {
            let at = set
                .tokens
                .iter()
                .position(|r| r.name == name)
                .ok_or_else(|| TokenFileError::NoSuchToken {
                    name: name.to_string(),
                })?;
            removed = Some(set.tokens.remove(at));
            Ok(())
        })?;
        removed.ok_or_else(|| TokenFileError::NoSuchToken {
            name: name.to_string(),
        })
    }

    /// Read, change and atomically replace the file under an exclusive lock.
    fn change(
        &self,
        edit: impl FnOnce(&mut TokenSet) -> Result<(), TokenFileError>,
    ) -> Result<(), TokenFileError> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| self.io("creating the directory of", e))?;
        }
        let lock_path = self.sibling("lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.io("opening the lock of", e))?;
        lock.lock().map_err(|e| self.io("locking", e))?;
        let mut set = self.load()?;
        set.version = FORMAT_VERSION;
        edit(&mut set)?;
        let mut json =
            serde_json::to_vec_pretty(&set).map_err(|source| TokenFileError::Corrupt {
                path: self.path.clone(),
                source,
            })?;
        json.push(b'\n');
        let tmp = self.sibling("tmp");
        let mut file = private_file(&tmp).map_err(|e| self.io("writing", e))?;
        file.write_all(&json)
            .and_then(|()| file.sync_all())
            .map_err(|e| self.io("writing", e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io("replacing", e))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Make the rename itself durable; failure here is not worth refusing the change.
            let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
        }
        drop(lock);
        Ok(())
    }

    fn sibling(&self, extension: &str) -> PathBuf {
        let mut name = self.path.clone().into_os_string();
        name.push(".");
        name.push(extension);
        PathBuf::from(name)
    }

    fn io(&self, action: &'static str, source: std::io::Error) -> TokenFileError {
        TokenFileError::Io {
            action,
            path: self.path.clone(),
            source,
        }
    }
}

/// Creates `path` readable by its owner only: it holds hashes, but they are still secrets'
/// fingerprints.
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.create(true).write(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path)
}

/// The `id` part of `sl_<id>_<secret>`, if the token has that form.
fn token_id(token: &str) -> Option<&str> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == ID_BYTES * 2 && !secret.is_empty()).then_some(id)
}

fn salted_hash(salt: &[u8], token: &str) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(salt);
    hasher.update(token.as_bytes());
    hasher.finalize().into()
}

fn random<const N: usize>() -> Result<[u8; N], TokenFileError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(TokenFileError::Random)?;
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::auth::grants::RidPattern;

    fn grants() -> Grants {
        Grants {
            read: vec![RidPattern::parse("*").unwrap()],
            write: vec![],
        }
    }

    #[test]
    fn created_tokens_verify_and_only_their_hash_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_data_dir(dir.path());
        let (record, token) = file.create("reader", grants(), None).unwrap();
        let set = file.load().unwrap();
        assert_eq!(set.verify(&token, Utc::now()).unwrap().name, "reader");
        let text = std::fs::read_to_string(file.path()).unwrap();
        assert!(
            !text.contains(&token[record.id.len() + 4..]),
            "secret stored"
        );
        // A wrong secret with the right id, and garbage, are both refused alike.
        let wrong = format!("sl_{}_{}", record.id, "A".repeat(43));
        assert_eq!(set.verify(&wrong, Utc::now()), Err(TokenRejection::Invalid));
        assert_eq!(
            set.verify("nonsense", Utc::now()),
            Err(TokenRejection::Invalid)
        );
    }

    #[test]
    fn names_are_unique_and_revocation_removes() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_data_dir(&dir.path().join("new"));
        let (_, token) = file.create("a", grants(), None).unwrap();
        assert!(matches!(
            file.create("a", grants(), None),
            Err(TokenFileError::NameTaken { .. })
        ));
        assert!(matches!(
            file.create("bad name", grants(), None),
            Err(TokenFileError::InvalidName { .. })
        ));
        file.revoke("a").unwrap();
        assert!(file.load().unwrap().verify(&token, Utc::now()).is_err());
        assert!(matches!(
            file.revoke("a"),
            Err(TokenFileError::NoSuchToken { .. })
        ));
    }

    #[test]
    fn expired_tokens_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_data_dir(dir.path());
        let soon = Utc::now() + chrono::Duration::seconds(60);
        let (_, token) = file.create("t", grants(), Some(soon)).unwrap();
        let set = file.load().unwrap();
        assert!(set.verify(&token, Utc::now()).is_ok());
        assert_eq!(
            set.verify(&token, soon + chrono::Duration::seconds(1)),
            Err(TokenRejection::Expired)
        );
    }

    #[test]
    fn concurrent_creations_all_survive() {
        let dir = tempfile::tempdir().unwrap();
        let file = TokenFile::in_data_dir(dir.path());
        std::thread::scope(|s| {
            for i in 0..8 {
                let file = file.clone();
                s.spawn(move || file.create(&format!("t{i}"), grants(), None).unwrap());
            }
        });
        assert_eq!(file.load().unwrap().tokens.len(), 8);
    }
}
