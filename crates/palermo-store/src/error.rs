//! The store's error type.

/// What can go wrong when reading or writing the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The store URL is not one Palermo understands.
    #[error("invalid store url {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as given (without password).
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// An id is already stored with different content.
    #[error("duplicate id `{id}` with conflicting content (already stored from {existing})")]
    Conflict {
        /// The entity id.
        id: String,
        /// Where the stored version came from (file and line).
        existing: String,
    },
    /// Stored data cannot be read back (edited by hand or damaged).
    #[error("corrupt store data for {what}: {reason}")]
    Corrupt {
        /// Which record or table.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A schema migration failed.
    #[error("schema migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A temporary file of an import (its staged lookup keys) failed.
    #[error("temporary import file: {0}")]
    Spill(#[from] std::io::Error),
    /// A caller-supplied sink (e.g. an export writer) failed.
    #[error("{0}")]
    Sink(String),
}

/// `Result` with the store's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
