//! Reads a CSV file in bounded chunks: header → schema (time column, time format, numeric or
//! text per column, from the first rows), then rows → one column of points per channel.
//! Memory is bounded by the chunk size, whatever the file size; a resumed read seeks straight
//! to the checkpointed byte offset.

use super::chunk::{Chunk, ChunkBuilder, Position, Values};
use super::error::ImportError;
use super::schema::{self, ChannelSpec, Kind, Schema, SAMPLE_ROWS};
use super::time::TimeFormat;
use csv::ByteRecord;
use std::collections::VecDeque;
use std::fs::File;
use std::path::{Path, PathBuf};

/// How to read the columns, from the command line.
#[derive(Debug, Clone, Default)]
pub(crate) struct ColumnOptions {
    pub(crate) time_column: Option<String>,
    pub(crate) time_format: Option<TimeFormat>,
    pub(crate) string_columns: Vec<String>,
    pub(crate) delimiter: u8,
}

/// A CSV file being read.
pub(crate) struct CsvSource {
    path: PathBuf,
    reader: csv::Reader<File>,
    schema: Schema,
    /// Rows read ahead to decide the schema, replayed before reading on.
    sampled: VecDeque<(ByteRecord, Position)>,
    record: ByteRecord,
    position: Position,
}

impl CsvSource {
    /// Opens `path`; with `resume`, continues with that schema from that position.
    pub(crate) fn open(
        path: &Path,
        options: &ColumnOptions,
        resume: Option<(Schema, Position)>,
    ) -> Result<Self, ImportError> {
        let csv_err = |source| ImportError::Csv {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(|source| ImportError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(file);
        let headers: Vec<String> = reader
            .headers()
            .map_err(csv_err)?
            .iter()
            .map(|h| h.trim().to_string())
            .collect();
        if headers.is_empty() || headers.iter().all(String::is_empty) {
            return Err(ImportError::NoHeader {
                path: path.to_path_buf(),
            });
        }
        let mut sampled = VecDeque::new();
        let start = position_of(reader.position());
        let (schema, position) = match resume {
            Some((schema, position)) => {
                let mut pos = csv::Position::new();
                pos.set_byte(position.byte)
                    .set_line(position.line)
                    .set_record(position.record);
                reader.seek(pos).map_err(csv_err)?;
                (schema, position)
            }
            None => {
                let mut record = ByteRecord::new();
                while sampled.len() < SAMPLE_ROWS
                    && reader.read_byte_record(&mut record).map_err(csv_err)?
                {
                    sampled.push_back((record.clone(), position_of(reader.position())));
                }
                let schema = detect(path, &headers, options, sampled.iter().map(|(r, _)| r))?;
                (schema, start)
            }
        };
        Ok(CsvSource {
            path: path.to_path_buf(),
            reader,
            schema,
            sampled,
            record: ByteRecord::new(),
            position,
        })
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Where reading continues.
    pub(crate) fn position(&self) -> Position {
        self.position
    }

    /// Reads rows until about `target_points` points are gathered or the file ends.
    pub(crate) fn next_chunk(
        &mut self,
        target_points: usize,
    ) -> Result<Option<Chunk>, ImportError> {
        let mut chunk = ChunkBuilder::new(&self.schema, self.position.line, target_points);
        while chunk.points() < target_points {
            let (record, line) = match self.sampled.pop_front() {
                Some((record, end)) => {
                    self.position = end;
                    self.record = record;
                    let line = self.record.position().map_or(end.line, |p| p.line());
                    (&self.record, line)
                }
                None => {
                    let more =
                        self.reader
                            .read_byte_record(&mut self.record)
                            .map_err(|source| ImportError::Csv {
                                path: self.path.clone(),
                                source,
                            })?;
                    if !more {
                        break;
                    }
                    let line = self
                        .record
                        .position()
                        .map_or(self.position.line, |p| p.line());
                    self.position = position_of(self.reader.position());
                    (&self.record, line)
                }
            };
            if record.iter().all(|c| c.trim_ascii().is_empty()) {
                continue; // blank line
            }
            let t = parse_time(&self.path, &self.schema, record, line)?;
            chunk.row(t);
            for (i, spec) in self.schema.channels.iter().enumerate() {
                let cell = record.get(spec.index).unwrap_or(b"").trim_ascii();
                if cell.is_empty() {
                    continue;
                }
                if let Some(values) = chunk.values(i) {
                    push_cell(&self.path, spec, values, cell, line)?;
                    chunk.pushed(i, t);
                }
            }
        }
        Ok(chunk.finish(self.position))
    }
}

fn position_of(p: &csv::Position) -> Position {
    Position {
        byte: p.byte(),
        line: p.line(),
        record: p.record(),
    }
}

fn parse_time(
    path: &Path,
    schema: &Schema,
    record: &ByteRecord,
    line: u64,
) -> Result<i64, ImportError> {
    let cell = record.get(schema.time_index).unwrap_or(b"");
    std::str::from_utf8(cell)
        .ok()
        .and_then(|s| schema.time_format.parse(s))
        .ok_or_else(|| ImportError::BadTime {
            path: path.to_path_buf(),
            line,
            column: schema.time_column.clone(),
            cell: String::from_utf8_lossy(cell).into_owned(),
            expected: schema.time_format.describe(),
        })
}

fn push_cell(
    path: &Path,
    spec: &ChannelSpec,
    values: &mut Values,
    cell: &[u8],
    line: u64,
) -> Result<(), ImportError> {
    let text = std::str::from_utf8(cell);
    match values {
        Values::Doubles(values) => {
            let value = text
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| ImportError::BadNumber {
                    path: path.to_path_buf(),
                    line,
                    column: spec.name.clone(),
                    cell: String::from_utf8_lossy(cell).into_owned(),
                })?;
            values.push(value);
        }
        Values::Strings(values) => {
            let text = text.map_err(|_| ImportError::NotUtf8 {
                path: path.to_path_buf(),
                line,
                column: spec.name.clone(),
            })?;
            values.push(text.to_string());
        }
    }
    Ok(())
}

/// Decides the schema from the header and the first rows.
fn detect<'a>(
    path: &Path,
    headers: &[String],
    options: &ColumnOptions,
    sample: impl Iterator<Item = &'a ByteRecord> + Clone,
) -> Result<Schema, ImportError> {
    let time_index = schema::time_column_index(headers, options.time_column.as_deref())
        .ok_or_else(|| ImportError::NoTimeColumn {
            path: path.to_path_buf(),
            name: options.time_column.clone().unwrap_or_default(),
            columns: schema::column_list(headers),
        })?;
    let time_column = headers[time_index].clone();
    for name in &options.string_columns {
        if !headers.contains(name) {
            return Err(ImportError::UnknownColumn {
                path: path.to_path_buf(),
                flag: "--string-columns",
                name: name.clone(),
                columns: schema::column_list(headers),
            });
        }
    }
    let time_format = match options.time_format {
        Some(format) if format != TimeFormat::Auto => format,
        _ => {
            let first = sample
                .clone()
                .enumerate()
                .find_map(|(i, r)| {
                    let cell = r.get(time_index)?.trim_ascii();
                    (!cell.is_empty()).then_some((i, cell))
                })
                .ok_or_else(|| ImportError::NoTime {
                    path: path.to_path_buf(),
                    column: time_column.clone(),
                })?;
            let (row, cell) = first;
            std::str::from_utf8(cell)
                .ok()
                .and_then(TimeFormat::detect)
                .ok_or_else(|| ImportError::BadTime {
                    path: path.to_path_buf(),
                    line: row as u64 + 2,
                    column: time_column.clone(),
                    cell: String::from_utf8_lossy(cell).into_owned(),
                    expected: "RFC 3339 or an epoch number",
                })?
        }
    };
    let mut channels = Vec::new();
    for (index, name) in headers.iter().enumerate() {
        if index == time_index {
            continue;
        }
        if name.is_empty() {
            continue; // an unnamed column (e.g. a pandas index) is not a channel
        }
        if channels.iter().any(|c: &ChannelSpec| &c.name == name) {
            return Err(ImportError::DuplicateColumn {
                path: path.to_path_buf(),
                name: name.clone(),
            });
        }
        let numeric = !options.string_columns.contains(name)
            && sample.clone().all(|r| {
                let cell = r.get(index).unwrap_or(b"").trim_ascii();
                cell.is_empty() || std::str::from_utf8(cell).is_ok_and(schema::is_numeric)
            });
        channels.push(ChannelSpec {
            name: name.clone(),
            index,
            kind: if numeric { Kind::Numeric } else { Kind::Text },
        });
    }
    if channels.is_empty() {
        return Err(ImportError::NoChannels {
            path: path.to_path_buf(),
            name: time_column,
        });
    }
    Ok(Schema {
        time_column,
        time_index,
        time_format,
        channels,
    })
}
