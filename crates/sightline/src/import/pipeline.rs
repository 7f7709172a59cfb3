//! Importing one file: a reader thread turns the file into encoded request bodies (bounded
//! queue, so memory does not grow with the file), the async side keeps up to `in_flight`
//! requests going, and the checkpoint advances over the prefix of the file whose requests
//! have all been acknowledged.
//!
//! ```text
//!  reader thread ──(queue of in_flight bodies)──► up to in_flight POSTs ──► acks
//!  parse + encode                                                            │
//!                           checkpoint = end of the longest acknowledged prefix
//! ```

use super::checkpoint::{self, Checkpoint, FileIdentity, Totals};
use super::chunk::Position;
use super::csv_source::ColumnOptions;
use super::encode::Encoder;
use super::error::ImportError;
use super::progress::Progress;
use super::schema::Schema;
use super::send::{SendError, Sender};
use super::source::Source;
use bytes::Bytes;
use futures::stream::{FuturesUnordered, StreamExt as _};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::time::Instant;

const ROWS_PATH: &str = "/storage/writer/v1";
/// How far acknowledgements may run ahead of the oldest unacknowledged request (in requests
/// per in-flight slot), which bounds the totals kept for the checkpoint.
const WINDOW_PER_REQUEST: usize = 16;

/// Which writer endpoint carries the points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Columnar protobuf `WriteBatchesRequest` to `POST /storage/writer/v1/nominal-columnar`
    /// (the least server CPU per point).
    NominalColumnar,
    /// JSON `WriteColumnBatchesRequest` to `POST /storage/writer/v1/columnar`.
    Columnar,
    /// Protobuf `WriteRequestNominal` to `POST /storage/writer/v1/nominal/{dataSourceRid}`
    /// (the upstream streaming clients' format; less server CPU per point).
    Nominal,
}

/// What one file import needs besides the file.
#[derive(Debug, Clone)]
pub(crate) struct FileJob {
    pub(crate) path: PathBuf,
    pub(crate) checkpoint: PathBuf,
    pub(crate) resume: bool,
    pub(crate) dataset: String,
    pub(crate) tags: BTreeMap<String, String>,
    pub(crate) units: BTreeMap<String, String>,
    pub(crate) columns: ColumnOptions,
    pub(crate) batch_points: usize,
    pub(crate) in_flight: usize,
    pub(crate) format: Format,
}

/// What a finished file import did.
#[derive(Debug, Clone)]
pub(crate) struct FileSummary {
    pub(crate) totals: Totals,
    /// Points sent by this run (less than `totals.points` after a resume).
    pub(crate) points_this_run: u64,
    pub(crate) channels: usize,
    pub(crate) bytes: u64,
    pub(crate) elapsed: std::time::Duration,
    pub(crate) resumed_at_line: Option<u64>,
    pub(crate) unmatched_units: Vec<String>,
}

/// One encoded piece of the file, ready to send.
struct Prepared {
    body: Bytes,
    units_body: Option<Bytes>,
    units: Vec<String>,
    rows: u64,
    points: u64,
    time_range: Option<(i64, i64)>,
    first_line: u64,
    last_line: u64,
    end: Position,
}

enum FromReader {
    Chunk(Prepared),
    Failed(ImportError),
}

/// An entry of the send window, in file order.
struct Slot {
    acked: bool,
    prepared_meta: Prepared,
}

pub(crate) async fn import_file(
    job: FileJob,
    sender: &Sender,
    interrupt: &mut (impl std::future::Future<Output = ()> + Unpin),
) -> Result<FileSummary, ImportError> {
    let started = Instant::now();
    let identity = FileIdentity::of(&job.path)?;
    let previous = checkpoint::load(&job.checkpoint);
    let resume_from = match (job.resume, previous) {
        (true, Some(c)) => {
            check_matches(&job, &identity, &c)?;
            Some(c)
        }
        (true, None) => {
            eprintln!(
                "{}: no checkpoint of an interrupted import; importing from the start",
                job.path.display()
            );
            None
        }
        (false, Some(c)) => {
            eprintln!(
                "{}: an earlier import stopped at line {}; importing from the start again \
                 (pass --resume to continue from there instead)",
                job.path.display(),
                c.position.line
            );
            None
        }
        (false, None) => None,
    };

    // Open in the reader thread's place now, so schema errors come before any request.
    let source = {
        let (path, columns) = (job.path.clone(), job.columns.clone());
        let resume = resume_from.as_ref().map(|c| (c.schema.clone(), c.position));
        tokio::task::spawn_blocking(move || Source::open(&path, &columns, resume))
            .await
            .map_err(|_| ImportError::ReaderGone)??
    };
    let schema = source.schema().clone();
    let start_position = source.position();
    let mut done = resume_from.as_ref().map(|c| c.done).unwrap_or_default();
    let mut units_sent: BTreeSet<String> = resume_from
        .as_ref()
        .map(|c| c.units_sent.iter().cloned().collect())
        .unwrap_or_default();
    let unmatched_units: Vec<String> = job
        .units
        .keys()
        .filter(|u| !schema.channels.iter().any(|c| &c.name == *u))
        .cloned()
        .collect();

    let (tx, mut rx) = tokio::sync::mpsc::channel(job.in_flight.max(1));
    let reader = {
        let encoder = Encoder::new(&job.dataset, job.tags.clone());
        let units = job.units.clone();
        let already = units_sent.clone();
        let (batch_points, format) = (job.batch_points, job.format);
        std::thread::spawn(move || {
            read_file(source, encoder, format, units, already, batch_points, tx)
        })
    };

    let label = job.path.file_name().map_or_else(
        || job.path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let mut progress = Progress::new(&label, identity.size, start_position.byte);
    let mut position = start_position;
    let mut window: VecDeque<Slot> = VecDeque::new();
    let mut next_seq: u64 = 0;
    let mut first_seq: u64 = 0;
    let mut requests = FuturesUnordered::new();
    let mut reader_done = false;
    let mut points_this_run = 0u64;
    let mut failure: Option<ImportError> = None;
    let mut interrupted = false;

    loop {
        if reader_done && requests.is_empty() {
            break;
        }
        tokio::select! {
            biased;
            () = &mut *interrupt, if !interrupted => {
                interrupted = true;
                reader_done = true;
                rx.close();
            }
            Some((seq, result)) = requests.next(), if !requests.is_empty() => {
                let result: Result<(), SendError> = result;
                let index = (seq - first_seq) as usize;
                match result {
                    Ok(()) => {
                        if let Some(slot) = window.get_mut(index) {
                            slot.acked = true;
                            // The body is no longer needed; only the slot's totals are.
                            slot.prepared_meta.body = Bytes::new();
                            slot.prepared_meta.units_body = None;
                        }
                        let mut advanced = false;
                        while window.front().is_some_and(|s| s.acked) {
                            if let Some(slot) = window.pop_front() {
                                let p = slot.prepared_meta;
                                first_seq += 1;
                                done.add(p.rows, p.points, p.time_range);
                                points_this_run += p.points;
                                units_sent.extend(p.units);
                                position = p.end;
                                advanced = true;
                            }
                        }
                        if advanced {
                            save(&job, &identity, &schema, position, done, &units_sent)?;
                            progress.update(position.byte, points_this_run);
                        }
                    }
                    Err(error) => {
                        if failure.is_none() {
                            let slot = window.get(index);
                            failure = Some(describe(&job.path, sender, error, slot));
                        }
                        reader_done = true;
                        rx.close();
                    }
                }
            }
            message = rx.recv(), if !reader_done
                && requests.len() < job.in_flight.max(1)
                && window.len() < WINDOW_PER_REQUEST * job.in_flight.max(1) => {
                match message {
                    Some(FromReader::Chunk(prepared)) => {
                        let seq = next_seq;
                        next_seq += 1;
                        let (body, units_body) = (prepared.body.clone(), prepared.units_body.clone());
                        window.push_back(Slot { acked: false, prepared_meta: prepared });
                        let sender = sender.clone();
                        let (path, content_type) = match job.format {
                            Format::NominalColumnar => (
                                "/storage/writer/v1/nominal-columnar".to_string(),
                                "application/x-protobuf",
                            ),
                            Format::Columnar => ("/storage/writer/v1/columnar".to_string(), "application/json"),
                            Format::Nominal => (
                                format!("/storage/writer/v1/nominal/{}", job.dataset),
                                "application/x-protobuf",
                            ),
                        };
                        requests.push(async move {
                            if let Some(units_body) = units_body {
                                if let Err(e) = sender.post_json(ROWS_PATH, units_body).await {
                                    return (seq, Err(e));
                                }
                            }
                            (seq, sender.post(&path, content_type, body).await)
                        });
                    }
                    Some(FromReader::Failed(error)) => {
                        failure.get_or_insert(error);
                        reader_done = true;
                    }
                    None => reader_done = true,
                }
            }
        }
    }
    drop(rx);
    let _ = reader.join();
    progress.finish();
    if let Some(error) = failure {
        return Err(error);
    }
    if interrupted {
        return Err(ImportError::Interrupted {
            path: job.path.clone(),
            rows: done.rows,
        });
    }
    checkpoint::remove(&job.checkpoint);
    Ok(FileSummary {
        totals: done,
        points_this_run,
        channels: schema.channels.len(),
        bytes: identity.size,
        elapsed: started.elapsed(),
        resumed_at_line: resume_from.map(|c| c.position.line),
        unmatched_units,
    })
}

/// The reader thread: chunks → encoded bodies, until the file ends, an error, or the
/// receiver is gone.
fn read_file(
    mut source: Source,
    encoder: Encoder,
    format: Format,
    units: BTreeMap<String, String>,
    mut units_sent: BTreeSet<String>,
    batch_points: usize,
    tx: tokio::sync::mpsc::Sender<FromReader>,
) {
    loop {
        let chunk = match source.next_chunk(batch_points) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => return,
            Err(error) => {
                let _ = tx.blocking_send(FromReader::Failed(error));
                return;
            }
        };
        let body = match format {
            Format::Columnar => {
                let mut body = Vec::with_capacity(chunk.points as usize * 48 + 1024);
                encoder.columnar(&chunk, &mut body);
                body
            }
            Format::Nominal => encoder.nominal(&chunk),
            Format::NominalColumnar => encoder.columnar_proto(&chunk),
        };
        let unit_entries: Vec<_> = chunk
            .series
            .iter()
            .filter(|s| !units_sent.contains(&*s.channel))
            .filter_map(|s| units.get(&*s.channel).map(|u| (s, u.as_str())))
            .collect();
        let new_units: Vec<String> = unit_entries
            .iter()
            .map(|(s, _)| s.channel.to_string())
            .collect();
        let units_body =
            (!unit_entries.is_empty()).then(|| Bytes::from(encoder.units(&unit_entries)));
        units_sent.extend(new_units.iter().cloned());
        let prepared = Prepared {
            body: Bytes::from(body),
            units_body,
            units: new_units,
            rows: chunk.rows,
            points: chunk.points,
            time_range: chunk.time_range,
            first_line: chunk.first_line,
            last_line: chunk.last_line(),
            end: chunk.end,
        };
        if tx.blocking_send(FromReader::Chunk(prepared)).is_err() {
            return;
        }
    }
}

fn save(
    job: &FileJob,
    identity: &FileIdentity,
    schema: &Schema,
    position: Position,
    done: Totals,
    units_sent: &BTreeSet<String>,
) -> Result<(), ImportError> {
    checkpoint::store(
        &job.checkpoint,
        &Checkpoint {
            version: checkpoint::VERSION,
            file: identity.clone(),
            dataset: job.dataset.clone(),
            tags: job.tags.clone(),
            schema: schema.clone(),
            position,
            done,
            units_sent: units_sent.iter().cloned().collect(),
        },
    )
}

fn check_matches(
    job: &FileJob,
    identity: &FileIdentity,
    c: &Checkpoint,
) -> Result<(), ImportError> {
    let reason = if &c.file != identity {
        Some("an earlier version of the file (its size or modification time changed)".to_string())
    } else if c.dataset != job.dataset {
        Some(format!("an import into dataset {}", c.dataset))
    } else if c.tags != job.tags {
        Some(format!("an import with other tags ({:?})", c.tags))
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ImportError::CheckpointMismatch {
            path: job.path.clone(),
            checkpoint: job.checkpoint.clone(),
            reason,
        }),
        None => Ok(()),
    }
}

fn describe(path: &Path, sender: &Sender, error: SendError, slot: Option<&Slot>) -> ImportError {
    let url = sender.base().to_string();
    match error {
        SendError::Refused {
            status,
            error_name,
            message,
        } => ImportError::Refused {
            path: path.to_path_buf(),
            first_line: slot.map_or(0, |s| s.prepared_meta.first_line),
            last_line: slot.map_or(0, |s| s.prepared_meta.last_line),
            status,
            error_name,
            message,
        },
        SendError::Unauthorized { status } => ImportError::Unauthorized { url, status },
        SendError::Unreachable { attempts, source } => ImportError::Unreachable {
            url,
            attempts,
            source,
        },
        SendError::Busy { status, attempts } => ImportError::ServerBusy {
            url,
            status,
            attempts,
        },
    }
}
