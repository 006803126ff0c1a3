//! The federation crate's error type: every variant names the file, field or
//! peer it is about, so an operator can act on the message alone.

use std::path::{Path, PathBuf};

use time::OffsetDateTime;

/// What can go wrong with identities, the directory, envelopes and TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file or value does not have the expected shape.
    #[error("{path_or_what}: {problem}")]
    Format {
        /// The file (path) or field the problem is in.
        path_or_what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A key, certificate or signature operation failed.
    #[error("cryptography: {0}")]
    Crypto(String),
    /// Building a TLS configuration failed.
    #[error("TLS: {0}")]
    Tls(String),
    /// A caller-supplied argument is invalid (jurisdiction, agency, endpoint, name…).
    #[error("{what}: {problem}")]
    Invalid {
        /// The argument.
        what: String,
        /// What is wrong with it.
        problem: String,
    },
    /// A key file already exists with different content; it is never overwritten.
    #[error("{}: already exists with a different key; refusing to overwrite it", path.display())]
    Exists {
        /// The existing file.
        path: PathBuf,
    },
    /// The node has no certificate from a trust anchor yet.
    #[error("node {node_id} is not enrolled (run `palermo node enroll`)")]
    NotEnrolled {
        /// The node.
        node_id: String,
    },
    /// No member with that node id (anchor operations).
    #[error("no member {0} in the federation")]
    UnknownMember(String),
    /// The directory's signature does not verify with the anchor's key.
    #[error("the federation directory's signature does not verify with the trust anchor's key")]
    BadDirectorySignature,
    /// The directory is outside its validity window.
    #[error(
        "the federation directory (serial {serial}) is valid from {issued_at} until {valid_until}, not at {now}"
    )]
    DirectoryExpired {
        /// The directory's serial number.
        serial: u64,
        /// When it was issued.
        issued_at: OffsetDateTime,
        /// Its end of validity.
        valid_until: OffsetDateTime,
        /// The time it was checked at.
        now: OffsetDateTime,
    },
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Is this the caller's fault (bad file, bad argument, missing enrolment)?
    /// The CLI maps these to exit code 2.
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            Error::Format { .. }
            | Error::Invalid { .. }
            | Error::Exists { .. }
            | Error::NotEnrolled { .. }
            | Error::UnknownMember(_)
            | Error::BadDirectorySignature
            | Error::DirectoryExpired { .. } => true,
            Error::Crypto(_) | Error::Tls(_) => false,
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn format(what: impl Into<String>, problem: impl ToString) -> Error {
        Error::Format {
            path_or_what: what.into(),
            problem: problem.to_string(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, problem: impl ToString) -> Error {
        Error::Invalid {
            what: what.into(),
            problem: problem.to_string(),
        }
    }

    pub(crate) fn crypto(problem: impl ToString) -> Error {
        Error::Crypto(problem.to_string())
    }
}
