//! The one error type of `palermo-resolve`.

/// Everything that can go wrong while reading, configuring or running a resolution.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The CSV text could not be parsed.
    #[error("{source_name}: line {line}: {reason}")]
    Csv {
        /// The file (or other source) name given by the caller.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// The input has no header row at all.
    #[error("{source_name}: the file is empty (no header row)")]
    Empty {
        /// The file name given by the caller.
        source_name: String,
    },
    /// The id column named by the caller is not in the header.
    #[error("{source_name}: no id column {column:?} (columns: {available})")]
    MissingIdColumn {
        /// The file name given by the caller.
        source_name: String,
        /// The requested id column.
        column: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// A record has an empty id.
    #[error("{source_name}: line {line}: empty id in column {column:?}")]
    EmptyId {
        /// The file name given by the caller.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// The id column.
        column: String,
    },
    /// Two records share an id.
    #[error("{source_name}: line {line}: duplicate id {id:?} (first on line {first_line})")]
    DuplicateId {
        /// The file name given by the caller.
        source_name: String,
        /// 1-based line number of the second occurrence.
        line: u64,
        /// 1-based line number of the first occurrence.
        first_line: u64,
        /// The repeated id.
        id: String,
    },
    /// A `COLUMN=property` mapping is malformed or names an unknown property or column.
    #[error("mapping {mapping:?}: {reason}")]
    InvalidMapping {
        /// The mapping as written.
        mapping: String,
        /// What was wrong.
        reason: String,
    },
    /// After mapping, no column holds a name.
    #[error(
        "{source_name}: no column maps to a name field (firstName, lastName or name); columns: {available}; use --map COLUMN=firstName"
    )]
    NoNameField {
        /// The file name given by the caller.
        source_name: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// A probability threshold outside `[0, 1]`.
    #[error("threshold {0} is not a probability in [0, 1]")]
    InvalidThreshold(f64),
    /// A record id that is not in the data set.
    #[error("unknown record id {0:?}")]
    UnknownId(String),
    /// A stored model that this build cannot read.
    #[error("stored model: {0}")]
    InvalidModel(String),
    /// A record id that appears twice where ids must be distinct.
    #[error("record id {0:?} appears twice")]
    RepeatedId(String),
    /// The output could not be written.
    #[error("writing {target}: {reason}")]
    Write {
        /// What was being written.
        target: String,
        /// The underlying problem.
        reason: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
