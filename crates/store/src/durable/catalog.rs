//! The catalog file: every series identity, channel units, the next flush sequence
//! number and the newest log file the flushes made redundant, rewritten whole (temp file,
//! sync, rename) after each flush. Segments also carry the identities of the series they
//! hold, so a lost catalog costs only units.
//!
//! ```text
//! catalog.bin = "SLCAT001" | u32 crc(body) | body
//! body = u64 next_seq | u64 n_slots | n × (u8 present [, series identity])
//!      | u32 n_units | (str dataset, str channel, str unit)*
//!      [| u64 flushed_wal]     (absent in catalogs written before it existed: 0)
//! ```

use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use super::bytes::{Malformed, Put, Reader};
use super::codec::{get_meta, put_meta};
use super::wal::sync_dir;
use crate::index::{Index, SeriesMeta};

const MAGIC: &[u8; 8] = b"SLCAT001";
/// File name inside the data directory.
pub(crate) const FILE: &str = "catalog.bin";

/// What the catalog holds.
#[derive(Debug, Default)]
pub(crate) struct Catalog {
    pub(crate) next_seq: u64,
    /// Log files numbered up to this one hold only points that segments hold: a crash
    /// before they were deleted must not replay them (0: none known).
    pub(crate) flushed_wal: u64,
    pub(crate) series: Vec<Option<Arc<SeriesMeta>>>,
    pub(crate) units: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
}

/// Serializes the catalog of `index` (cheap; done under the index lock).
pub(crate) fn encode(index: &Index, next_seq: u64, flushed_wal: u64) -> Vec<u8> {
    let mut body = Vec::new();
    body.put_u64(next_seq);
    body.put_u64(index.slots().len() as u64);
    for s in index.slots() {
        match s {
            Some(m) => {
                body.put_u8(1);
                put_meta(&mut body, m);
            }
            None => body.put_u8(0),
        }
    }
    let units = index.units();
    body.put_u32(units.len() as u32);
    for (d, c, u) in &units {
        body.put_str(d);
        body.put_str(c);
        body.put_str(u);
    }
    body.put_u64(flushed_wal);
    let mut file = Vec::with_capacity(body.len() + 12);
    file.extend_from_slice(MAGIC);
    file.put_u32(crc32fast::hash(&body));
    file.extend_from_slice(&body);
    file
}

/// Replaces the catalog file with `file` atomically (temp file, sync, rename, sync dir).
pub(crate) fn store(dir: &Path, file: &[u8]) -> io::Result<()> {
    let tmp = dir.join(format!("{FILE}.tmp"));
    {
        use std::io::Write;
        let mut f = fs::File::create(&tmp)?;
        f.write_all(file)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, dir.join(FILE))?;
    sync_dir(dir)
}

/// Reads the catalog; `Ok(None)` if there is none yet.
pub(crate) fn read(dir: &Path) -> io::Result<Option<Result<Catalog, Malformed>>> {
    let bytes = match fs::read(dir.join(FILE)) {
        Ok(b) => b,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(parse(&bytes)))
}

fn parse(bytes: &[u8]) -> Result<Catalog, Malformed> {
    let mut r = Reader::new(bytes);
    if r.take(8, "catalog magic")? != MAGIC {
        return Err(Malformed {
            at: 0,
            what: "catalog magic",
        });
    }
    let crc = r.u32("catalog crc")?;
    let body = r.take(r.remaining(), "catalog body")?;
    if crc32fast::hash(body) != crc {
        return Err(Malformed {
            at: 8,
            what: "catalog checksum",
        });
    }
    let mut r = Reader::new(body);
    let next_seq = r.u64("next seq")?;
    let n = r.u64("slot count")?;
    if n > r.remaining() as u64 {
        return Err(r.err("slot count"));
    }
    let mut series = Vec::with_capacity(n as usize);
    for _ in 0..n {
        series.push(match r.u8("slot flag")? {
            0 => None,
            _ => Some(Arc::new(get_meta(&mut r)?)),
        });
    }
    let k = r.count(12, "unit count")?;
    let mut units = Vec::with_capacity(k);
    for _ in 0..k {
        units.push((
            r.arc_str("dataset")?,
            r.arc_str("channel")?,
            r.arc_str("unit")?,
        ));
    }
    let flushed_wal = if r.remaining() >= 8 {
        r.u64("flushed log file")?
    } else {
        0
    };
    Ok(Catalog {
        next_seq,
        flushed_wal,
        series,
        units,
    })
}
