//! Reads a Parquet file (flat schema) in bounded chunks with the `parquet` crate's arrow-less
//! record API: the time column (native timestamps, epoch numbers or RFC 3339 text) and one
//! channel per other top-level column — numbers and booleans numeric, UTF-8 text as strings.
//! A resumed read skips whole row groups by their metadata, then the rows before the
//! checkpoint within the first group.

use super::chunk::{Chunk, ChunkBuilder, Position, Values};
use super::csv_source::ColumnOptions;
use super::error::ImportError;
use super::schema::{self, ChannelSpec, Kind, Schema};
use super::time::TimeFormat;
use parquet::basic::{ConvertedType, LogicalType, TimeUnit, Type as Physical};
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::file::serialized_reader::ReadOptionsBuilder;
use parquet::record::reader::RowIter;
use parquet::record::{Field, Row};
use std::fs::File;
use std::path::{Path, PathBuf};

/// A Parquet file being read.
pub(crate) struct ParquetSource {
    path: PathBuf,
    rows: RowIter<'static>,
    schema: Schema,
    /// Rows of the file, for progress in bytes.
    total_rows: u64,
    file_bytes: u64,
    /// Data rows consumed.
    done: u64,
    /// The first row, read ahead to detect the time format.
    peeked: Option<Row>,
}

impl ParquetSource {
    pub(crate) fn open(
        path: &Path,
        options: &ColumnOptions,
        resume: Option<(Schema, Position)>,
    ) -> Result<Self, ImportError> {
        let pq = |source| ImportError::Parquet {
            path: path.to_path_buf(),
            source,
        };
        let open = || {
            File::open(path).map_err(|source| ImportError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let file_bytes = open()?.metadata().map(|m| m.len()).unwrap_or(0);
        let metadata_reader = SerializedFileReader::new(open()?).map_err(pq)?;
        let metadata = metadata_reader.metadata();
        let total_rows = metadata.file_metadata().num_rows().max(0) as u64;

        // Skip whole row groups before the resume point.
        let skip_rows = resume.as_ref().map_or(0, |(_, p)| p.record);
        let mut first_group = 0;
        let mut skipped = 0u64;
        for group in metadata.row_groups() {
            let n = group.num_rows().max(0) as u64;
            if skipped + n > skip_rows {
                break;
            }
            skipped += n;
            first_group += 1;
        }
        let reader = SerializedFileReader::new_with_options(
            open()?,
            ReadOptionsBuilder::new()
                .with_predicate(Box::new(move |_, index| index >= first_group))
                .build(),
        )
        .map_err(pq)?;
        let mut rows = RowIter::from_file_into(Box::new(reader));
        for _ in skipped..skip_rows {
            if rows.next().transpose().map_err(pq)?.is_none() {
                break;
            }
        }

        let (schema, peeked) = match resume {
            Some((schema, _)) => (schema, None),
            None => {
                let peeked = rows.next().transpose().map_err(pq)?;
                let schema = detect(path, metadata_reader.metadata(), options, peeked.as_ref())?;
                (schema, peeked)
            }
        };
        Ok(ParquetSource {
            path: path.to_path_buf(),
            rows,
            schema,
            total_rows,
            file_bytes,
            done: skip_rows,
            peeked,
        })
    }

    pub(crate) fn schema(&self) -> &Schema {
        &self.schema
    }

    pub(crate) fn position(&self) -> Position {
        let byte = if self.total_rows == 0 {
            self.file_bytes
        } else {
            (self.file_bytes as u128 * u128::from(self.done) / u128::from(self.total_rows)) as u64
        };
        Position {
            byte,
            // Row numbers are 1-based in messages, like lines.
            line: self.done + 1,
            record: self.done,
        }
    }

    pub(crate) fn next_chunk(
        &mut self,
        target_points: usize,
    ) -> Result<Option<Chunk>, ImportError> {
        let mut chunk = ChunkBuilder::new(&self.schema, self.done + 1, target_points);
        while chunk.points() < target_points {
            let row =
                match self.peeked.take() {
                    Some(row) => row,
                    None => match self.rows.next().transpose().map_err(|source| {
                        ImportError::Parquet {
                            path: self.path.clone(),
                            source,
                        }
                    })? {
                        Some(row) => row,
                        None => break,
                    },
                };
            self.done += 1;
            let line = self.done;
            let fields: Vec<&Field> = row.get_column_iter().map(|(_, f)| f).collect();
            let time_field = fields
                .get(self.schema.time_index)
                .copied()
                .unwrap_or(&Field::Null);
            let t = time_nanos(time_field, self.schema.time_format).ok_or_else(|| {
                ImportError::BadTime {
                    path: self.path.clone(),
                    line,
                    column: self.schema.time_column.clone(),
                    cell: time_field.to_string(),
                    expected: self.schema.time_format.describe(),
                }
            })?;
            chunk.row(t);
            for (i, spec) in self.schema.channels.iter().enumerate() {
                let field = fields.get(spec.index).copied().unwrap_or(&Field::Null);
                if matches!(field, Field::Null) {
                    continue;
                }
                let Some(values) = chunk.values(i) else {
                    continue;
                };
                match values {
                    Values::Doubles(values) => {
                        let v = number(field).ok_or_else(|| ImportError::BadNumber {
                            path: self.path.clone(),
                            line,
                            column: spec.name.clone(),
                            cell: field.to_string(),
                        })?;
                        values.push(v);
                    }
                    Values::Strings(values) => values.push(match field {
                        Field::Str(s) => s.clone(),
                        other => other.to_string(),
                    }),
                }
                chunk.pushed(i, t);
            }
        }
        Ok(chunk.finish(self.position()))
    }
}

fn number(field: &Field) -> Option<f64> {
    Some(match *field {
        Field::Bool(b) => f64::from(u8::from(b)),
        Field::Byte(v) => f64::from(v),
        Field::Short(v) => f64::from(v),
        Field::Int(v) => f64::from(v),
        Field::Long(v) => v as f64,
        Field::UByte(v) => f64::from(v),
        Field::UShort(v) => f64::from(v),
        Field::UInt(v) => f64::from(v),
        Field::ULong(v) => v as f64,
        Field::Float16(v) => f64::from(v),
        Field::Float(v) => f64::from(v),
        Field::Double(v) => v,
        Field::Date(v) => f64::from(v),
        Field::TimeMillis(v) => f64::from(v),
        Field::TimeMicros(v) => v as f64,
        Field::TimestampMillis(v) | Field::TimestampMicros(v) => v as f64,
        _ => return None,
    })
}

fn time_nanos(field: &Field, format: TimeFormat) -> Option<i64> {
    match field {
        Field::TimestampMillis(v) => v.checked_mul(1_000_000),
        Field::TimestampMicros(v) => v.checked_mul(1_000),
        Field::Date(d) => i64::from(*d).checked_mul(86_400 * 1_000_000_000),
        Field::Str(s) => format.parse(s),
        Field::Null => None,
        other => format.parse(&other.to_string()),
    }
}

/// The schema of a flat Parquet file; `first` is its first row (for the time format).
fn detect(
    path: &Path,
    metadata: &parquet::file::metadata::ParquetMetaData,
    options: &ColumnOptions,
    first: Option<&Row>,
) -> Result<Schema, ImportError> {
    let root = metadata.file_metadata().schema_descr().root_schema();
    let fields = root.get_fields();
    let headers: Vec<String> = fields.iter().map(|f| f.name().to_string()).collect();
    let time_index = schema::time_column_index(&headers, options.time_column.as_deref())
        .ok_or_else(|| ImportError::NoTimeColumn {
            path: path.to_path_buf(),
            name: options.time_column.clone().unwrap_or_default(),
            columns: schema::column_list(&headers),
        })?;
    let time_column = headers[time_index].clone();
    for name in &options.string_columns {
        if !headers.contains(name) {
            return Err(ImportError::UnknownColumn {
                path: path.to_path_buf(),
                flag: "--string-columns",
                name: name.clone(),
                columns: schema::column_list(&headers),
            });
        }
    }
    let time_info = fields[time_index].get_basic_info();
    let time_format = match (options.time_format, time_info.logical_type()) {
        (Some(f), _) if f != TimeFormat::Auto => f,
        (_, Some(LogicalType::Timestamp { unit, .. })) => match unit {
            TimeUnit::MILLIS(_) => TimeFormat::Ms,
            TimeUnit::MICROS(_) => TimeFormat::Us,
            TimeUnit::NANOS(_) => TimeFormat::Ns,
        },
        _ => {
            let cell = first
                .and_then(|row| {
                    row.get_column_iter()
                        .nth(time_index)
                        .map(|(_, f)| f.clone())
                })
                .ok_or_else(|| ImportError::NoTime {
                    path: path.to_path_buf(),
                    column: time_column.clone(),
                })?;
            match &cell {
                // Native timestamps need no format; any concrete one will do.
                Field::TimestampMillis(_) | Field::TimestampMicros(_) | Field::Date(_) => {
                    Some(TimeFormat::Ns)
                }
                Field::Str(s) => TimeFormat::detect(s),
                other => TimeFormat::detect(&other.to_string()),
            }
            .ok_or_else(|| ImportError::BadTime {
                path: path.to_path_buf(),
                line: 1,
                column: time_column.clone(),
                cell: cell.to_string(),
                expected: "RFC 3339 or an epoch number",
            })?
        }
    };
    let mut channels = Vec::new();
    for (index, field) in fields.iter().enumerate() {
        if index == time_index {
            continue;
        }
        let name = field.name().to_string();
        let info = field.get_basic_info();
        let text = matches!(
            info.logical_type(),
            Some(LogicalType::String | LogicalType::Enum | LogicalType::Json)
        ) || matches!(
            info.converted_type(),
            ConvertedType::UTF8 | ConvertedType::ENUM | ConvertedType::JSON
        );
        let kind = if !field.is_primitive()
            || info.has_repetition() && info.repetition() == parquet::basic::Repetition::REPEATED
        {
            None
        } else {
            match field.get_physical_type() {
                Physical::BYTE_ARRAY if text => Some(Kind::Text),
                Physical::BOOLEAN
                | Physical::INT32
                | Physical::INT64
                | Physical::FLOAT
                | Physical::DOUBLE => Some(Kind::Numeric),
                Physical::BYTE_ARRAY | Physical::FIXED_LEN_BYTE_ARRAY | Physical::INT96 => None,
            }
        };
        let kind = match kind {
            Some(_) if options.string_columns.contains(&name) => Kind::Text,
            Some(kind) => kind,
            None => {
                return Err(ImportError::UnsupportedParquetColumn {
                    path: path.to_path_buf(),
                    column: name,
                    kind: format!("{:?}", field.get_physical_type()),
                })
            }
        };
        channels.push(ChannelSpec { name, index, kind });
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
