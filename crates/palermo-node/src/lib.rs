//! palermo-node: node-level operations that combine the store with the pure
//! engines, shared by the CLI and the node's HTTP API.
//!
//! - [`gate`]: the policy gate. Every view, search and export of stored
//!   records outside the engines asks [`palermo_policy`] through a
//!   [`Gate`] for a principal (a stored user, or the documented
//!   [`local_operator`]); every decision becomes a `policy-decision` ledger
//!   entry in the one [`LedgerSink`], written by the caller in one append.
//! - [`policies`]: the node's active policy set and its version history in
//!   the store ([`install_policies`] validates, then activates atomically).
//! - [`law`]: the legal knowledge base with the store's law updates applied,
//!   and the [`palermo_policy::LawBasis`] built on it.
//! - [`resolution`]: entity resolution in the store (runs, human decisions,
//!   cluster views, explanations), the glue between `palermo-store`'s
//!   resolution tables and `palermo_resolve::incremental`.
//!
//! Layering: this crate may use the store and every pure crate; it knows no
//! command line and no HTTP, and it prints nothing.

pub mod gate;
pub mod law;
pub mod policies;
pub mod resolution;
pub mod sink;

pub use crate::gate::{Gate, LOCAL_OPERATOR, local_operator, principal, record_info, today};
pub use crate::law::{knowledge_base, law_basis};
pub use crate::policies::{active_policies, install_policies};
pub use crate::sink::LedgerSink;

/// What went wrong in a node-level operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller's input is wrong (an unknown user or record, a bad
    /// threshold, a policy set that does not validate...).
    #[error("{0}")]
    BadInput(String),
    /// The policy crate refused (a policy set that does not parse or
    /// validate, or a malformed query).
    #[error(transparent)]
    Policy(#[from] palermo_policy::Error),
    /// The store failed, or refused a conflicting write.
    #[error(transparent)]
    Store(#[from] palermo_store::Error),
    /// Stored data cannot be used (a corrupt law update or model).
    #[error("{what}: {reason}")]
    Corrupt {
        /// What was read.
        what: String,
        /// What is wrong.
        reason: String,
    },
}

impl Error {
    /// Whether the error is the caller's input (the CLI's exit 2; a 4xx).
    pub fn is_bad_input(&self) -> bool {
        match self {
            Error::BadInput(_) => true,
            Error::Policy(err) => !matches!(err, palermo_policy::Error::Internal(_)),
            Error::Store(_) | Error::Corrupt { .. } => false,
        }
    }
}

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
