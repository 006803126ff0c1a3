//! The ledger's error type.

/// Everything that can go wrong building, checking or reading ledger data.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value (hash, key, entry, report field) is malformed.
    #[error("invalid {what}: {reason}")]
    Invalid {
        /// What was being read.
        what: String,
        /// What is wrong with it.
        reason: String,
    },
    /// An index or size lies outside the tree.
    #[error("{what} {value} is out of range for a tree of size {size}")]
    OutOfRange {
        /// Which number.
        what: String,
        /// The value given.
        value: u64,
        /// The tree size it was checked against.
        size: u64,
    },
    /// A proof does not verify.
    #[error("{what} does not verify: {reason}")]
    BadProof {
        /// Which proof.
        what: String,
        /// Which check failed.
        reason: String,
    },
    /// A signature does not verify under the given key.
    #[error("bad signature on {what}")]
    BadSignature {
        /// What was signed.
        what: String,
    },
    /// A hash source could not supply the nodes a proof needs.
    #[error("hash source: {reason}")]
    Source {
        /// What was missing.
        reason: String,
    },
    /// Reading a stream failed.
    #[error("reading {what}: {source}")]
    Read {
        /// What was being read.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A custody report does not verify.
    #[error("custody report: {file} {reason}")]
    Report {
        /// The report file at fault.
        file: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// `Result` with the ledger's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub(crate) fn invalid(what: impl Into<String>, reason: impl std::fmt::Display) -> Error {
        Error::Invalid {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}
