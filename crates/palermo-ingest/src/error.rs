//! The importer's error type: every variant names the file, and where it
//! applies the line and the column or field.

use std::path::PathBuf;

/// What can go wrong when importing or exporting.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input file does not exist.
    #[error("{path}: no such file", path = .path.display())]
    NotFound {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read or written.
    #[error("{path}: {source}", path = .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file has no records.
    #[error("{path}: {reason}", path = .path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// `the file is empty` or `no records after the header`.
        reason: String,
    },
    /// A record (or the header) is malformed.
    #[error("{path}:{line}{column}: {reason}", path = .path.display(), column = .column.as_ref().map(|c| format!(": column `{c}`")).unwrap_or_default())]
    Record {
        /// The file.
        path: PathBuf,
        /// The 1-based line.
        line: u64,
        /// The column (CSV) or field (JSON), when one is to blame.
        column: Option<String>,
        /// What is wrong.
        reason: String,
    },
    /// The column mapping or options do not fit the file or the schema.
    #[error("{path}: {reason}", path = .path.display())]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An id was imported before with different content.
    #[error("{path}:{line}: duplicate id `{id}` with conflicting content (already stored from {existing})", path = .path.display())]
    Conflict {
        /// The file.
        path: PathBuf,
        /// The line of the conflicting record, when known.
        line: u64,
        /// The id.
        id: String,
        /// Where the stored version came from.
        existing: String,
    },
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] palermo_store::Error),
}

impl Error {
    /// Whether the error is the input's fault (bad file, mapping or data)
    /// rather than a failure of the machine or database.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::NotFound { .. }
            | Error::Empty { .. }
            | Error::Record { .. }
            | Error::Config { .. }
            | Error::Conflict { .. } => true,
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::InvalidData,
            Error::Store(palermo_store::Error::InvalidUrl { .. }) => true,
            Error::Store(_) => false,
        }
    }
}

/// `Result` with the importer's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
