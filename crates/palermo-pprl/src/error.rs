//! The one error type of `palermo-pprl`.
//!
//! Messages name the source, the line or record index and the problem, and never carry
//! an attribute value or a bit of an encoding: errors may be shown to a peer.

/// Everything that can go wrong while reading inputs, encoding or matching.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The secret is unusable (empty, or too short to key the hashes).
    #[error("invalid secret: {reason}")]
    InvalidSecret {
        /// What is wrong with it.
        reason: String,
    },
    /// The CSV text could not be read.
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
    /// A column the file must have is not in its header.
    #[error("{source_name}: no column {column:?} (columns: {available})")]
    MissingColumn {
        /// The file name given by the caller.
        source_name: String,
        /// The column that is missing.
        column: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// No column maps to a field that can be encoded.
    #[error("{source_name}: no column maps to a name field (columns: {available})")]
    NoNameField {
        /// The file name given by the caller.
        source_name: String,
        /// The columns that exist, comma-separated.
        available: String,
    },
    /// A column mapping is malformed or names a missing column.
    #[error("invalid mapping {mapping:?}: {reason}")]
    InvalidMapping {
        /// The mapping as given.
        mapping: String,
        /// What was wrong.
        reason: String,
    },
    /// A record has an empty or repeated id.
    #[error("{source_name}: line {line}: {reason}")]
    BadId {
        /// The file name given by the caller.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What was wrong.
        reason: String,
    },
    /// An encodings file is not valid JSON of a known shape.
    #[error("{source_name}: {reason}")]
    MalformedEncodings {
        /// The file name given by the caller.
        source_name: String,
        /// What was wrong (with JSON line and column, or the record index).
        reason: String,
    },
    /// An encoding has a different length from the others it is compared with.
    #[error(
        "{source_name}: encoding {index} has {found} bits, expected {expected} (all encodings must have the same length)"
    )]
    WrongLength {
        /// The file name given by the caller.
        source_name: String,
        /// 0-based position of the encoding.
        index: usize,
        /// The expected length in bits.
        expected: usize,
        /// The length found, in bits.
        found: usize,
    },
    /// Two sets of encodings were made with different group keys (or one has no key id).
    #[error(
        "encodings were made with different keys: {left} has key id {left_key}, {right} has key id {right_key}"
    )]
    KeyMismatch {
        /// Name of the left source.
        left: String,
        /// Key id of the left source (`none` for clkhash files).
        left_key: String,
        /// Name of the right source.
        right: String,
        /// Key id of the right source.
        right_key: String,
    },
    /// A configuration value is out of range.
    #[error("invalid configuration: {field}: {reason}")]
    InvalidConfig {
        /// The field of the configuration.
        field: &'static str,
        /// What was wrong.
        reason: String,
    },
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The error of `palermo_resolve::open_csv`, the header check this crate's CSV
    /// reader shares with `palermo-resolve`, as this crate's error.
    pub(crate) fn from_reader(e: palermo_resolve::Error, source: &str) -> Error {
        use palermo_resolve::Error as R;
        match e {
            R::Csv {
                source_name,
                line,
                reason,
            } => Error::Csv {
                source_name,
                line,
                reason,
            },
            R::Empty { source_name } => Error::Empty { source_name },
            R::MissingIdColumn {
                source_name,
                column,
                available,
            } => Error::MissingIdColumn {
                source_name,
                column,
                available,
            },
            R::NoNameField {
                source_name,
                available,
            } => Error::NoNameField {
                source_name,
                available,
            },
            R::InvalidMapping { mapping, reason } => Error::InvalidMapping { mapping, reason },
            // `open_csv` returns none of the others; kept whole rather than lost.
            other => Error::Csv {
                source_name: source.to_owned(),
                line: 1,
                reason: other.to_string(),
            },
        }
    }
}
