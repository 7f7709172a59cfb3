//! The file readers behind one interface: CSV always, Parquet with the `parquet` feature.
//! The file's extension picks the reader.

use super::chunk::{Chunk, Position};
use super::csv_source::{ColumnOptions, CsvSource};
use super::error::ImportError;
use super::schema::Schema;
use std::path::Path;

/// An open input file.
pub(crate) enum Source {
    Csv(CsvSource),
    #[cfg(feature = "parquet")]
    Parquet(super::parquet_source::ParquetSource),
}

/// Whether `path` is read as Parquet.
pub(crate) fn is_parquet(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("parq"))
}

impl Source {
    pub(crate) fn open(
        path: &Path,
        options: &ColumnOptions,
        resume: Option<(Schema, Position)>,
    ) -> Result<Self, ImportError> {
        if is_parquet(path) {
            #[cfg(feature = "parquet")]
            return Ok(Source::Parquet(super::parquet_source::ParquetSource::open(
                path, options, resume,
            )?));
            #[cfg(not(feature = "parquet"))]
            return Err(ImportError::ParquetNotBuilt {
                path: path.to_path_buf(),
            });
        }
        Ok(Source::Csv(CsvSource::open(path, options, resume)?))
    }

    pub(crate) fn schema(&self) -> &Schema {
        match self {
            Source::Csv(s) => s.schema(),
            #[cfg(feature = "parquet")]
            Source::Parquet(s) => s.schema(),
        }
    }

    pub(crate) fn position(&self) -> Position {
        match self {
            Source::Csv(s) => s.position(),
            #[cfg(feature = "parquet")]
            Source::Parquet(s) => s.position(),
        }
    }

    pub(crate) fn next_chunk(
        &mut self,
        target_points: usize,
    ) -> Result<Option<Chunk>, ImportError> {
        match self {
            Source::Csv(s) => s.next_chunk(target_points),
            #[cfg(feature = "parquet")]
            Source::Parquet(s) => s.next_chunk(target_points),
        }
    }
}
