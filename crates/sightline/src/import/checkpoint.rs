//! The resume point of an interrupted import: a small JSON file (beside the input, or in
//! `--state-dir`) rewritten after each acknowledged prefix of the file. It records the
//! position after the last row whose points — and every earlier row's — the server
//! acknowledged, plus what is needed to read the rest the same way. Rows after it may also
//! have been stored; sending them again is harmless because a point at the same series and
//! timestamp replaces the earlier one.

use super::chunk::Position;
use super::error::ImportError;
use super::schema::Schema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The file's identity when the checkpoint was written; a changed file cannot be resumed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileIdentity {
    pub(crate) size: u64,
    pub(crate) modified_ns: i64,
}

impl FileIdentity {
    pub(crate) fn of(path: &Path) -> Result<Self, ImportError> {
        let meta = std::fs::metadata(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let modified_ns = meta
            .modified()
            .ok()
            .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i64);
        Ok(FileIdentity {
            size: meta.len(),
            modified_ns,
        })
    }
}

/// Totals of the acknowledged prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Totals {
    pub(crate) rows: u64,
    pub(crate) points: u64,
    pub(crate) first_time: Option<i64>,
    pub(crate) last_time: Option<i64>,
}

impl Totals {
    pub(crate) fn add(&mut self, rows: u64, points: u64, range: Option<(i64, i64)>) {
        self.rows += rows;
        self.points += points;
        if let Some((lo, hi)) = range {
            self.first_time = Some(self.first_time.map_or(lo, |t| t.min(lo)));
            self.last_time = Some(self.last_time.map_or(hi, |t| t.max(hi)));
        }
    }
}

/// The checkpoint file's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub(crate) version: u32,
    pub(crate) file: FileIdentity,
    pub(crate) dataset: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) schema: Schema,
    /// Where the unacknowledged part of the file starts.
    pub(crate) position: Position,
    /// What was acknowledged before `position`.
    pub(crate) done: Totals,
    /// Channels whose unit was already set.
    pub(crate) units_sent: Vec<String>,
}

pub(crate) const VERSION: u32 = 1;

/// Where the checkpoint of `input` lives.
pub(crate) fn path_for(input: &Path, state_dir: Option<&Path>) -> PathBuf {
    let name = input
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "input".to_string());
    match state_dir {
        None => input.with_file_name(format!("{name}.sightline-import")),
        Some(dir) => {
            // Two inputs of the same name in different directories get different files.
            let full = std::fs::canonicalize(input).unwrap_or_else(|_| input.to_path_buf());
            let hash = full
                .to_string_lossy()
                .bytes()
                .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
                });
            dir.join(format!("{name}.{:08x}.sightline-import", hash as u32))
        }
    }
}

/// Reads a checkpoint; `None` when there is none or it cannot be read (then the import
/// starts over, which is safe).
pub(crate) fn load(path: &Path) -> Option<Checkpoint> {
    let bytes = std::fs::read(path).ok()?;
    let checkpoint: Checkpoint = serde_json::from_slice(&bytes).ok()?;
    (checkpoint.version == VERSION).then_some(checkpoint)
}

/// Writes a checkpoint atomically (temporary file + rename), so an interruption mid-write
/// leaves the previous one.
pub(crate) fn store(path: &Path, checkpoint: &Checkpoint) -> Result<(), ImportError> {
    let err = |source| ImportError::Checkpoint {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec_pretty(checkpoint).map_err(|e| err(e.into()))?;
    let tmp = path.with_extension("sightline-import.tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}

/// Removes the checkpoint after a complete import.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}
