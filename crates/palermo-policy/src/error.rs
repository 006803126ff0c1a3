//! The crate's one error type.

/// What went wrong loading policies, reading a world or deciding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The policy text does not parse.
    #[error("{source_name}: policy syntax error: {message}")]
    Syntax {
        /// Where the text came from (a file path or `default`).
        source_name: String,
        /// Cedar's message, with line and column.
        message: String,
    },
    /// The policies parse but do not validate against the schema.
    #[error("{source_name}: policy does not validate against the schema: {message}")]
    Invalid {
        /// Where the text came from.
        source_name: String,
        /// Cedar's validator messages, with policy ids.
        message: String,
    },
    /// The policy set is empty; it would deny everything silently.
    #[error(
        "{source_name}: the policy set is empty and would deny everything; refused unless allow-empty (--allow-empty) is given"
    )]
    Empty {
        /// Where the text came from.
        source_name: String,
    },
    /// A policy lacks an `@id` annotation, or two policies share one.
    #[error("{source_name}: policy {index}: {reason}")]
    PolicyId {
        /// Where the text came from.
        source_name: String,
        /// 1-based position of the policy in the file.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An entity (node, user or record) is malformed.
    #[error("{kind} {id:?}: field {field}: {reason}")]
    Entity {
        /// `node`, `user`, `record` or `world`.
        kind: &'static str,
        /// The entity's id (empty for the world itself).
        id: String,
        /// The offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// A query names something the world does not have or is malformed.
    #[error("query: field {field}: {reason}")]
    Query {
        /// The offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// Cedar refused to build an entity, context or request (a bug in this crate or the schema).
    #[error("internal policy error: {0}")]
    Internal(String),
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
