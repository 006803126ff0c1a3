//! Federation between sovereign Palermo nodes: node PKI, the signed federation
//! directory, signed envelopes, and their at-least-once delivery over mutual TLS.
//!
//! - [`pki`]: the trust anchor ([`TrustAnchor`]) and node identities ([`NodeIdentity`]),
//!   enrolment ([`EnrollmentRequest`] → [`Enrollment`]).
//! - [`directory`]: the signed member list ([`SignedDirectory`], [`Directory::admit`]).
//! - [`envelope`]: signed messages ([`Envelope`]) and why they are refused ([`Rejection`]).
//! - [`replay`]: the in-memory replay window ([`ReplayGuard`]).
//! - [`tls`]: rustls configurations for mutual TLS with the anchor's CA as the only root.
//! - [`hits`]: the hit/no-hit exchange (queries of keyed encodings, answers with opaque
//!   hit references, quotas and probing detection).
//!
//! Contract notes: `Enrollment` also carries the federation's name; the CSR field of
//! `EnrollmentRequest` is `tls_csr_pem`, and the request carries an Ed25519 proof of
//! possession (`proof`). `TrustAnchor::enroll` only issues; `TrustAnchor::record`
//! adds the member and `TrustAnchor::publish` signs the next directory (serial + 1).
//! Helpers beyond the contract: `NodeIdentity::{cert_pem, ca_cert_pem, tls_key_der,
//! server_name, load_directory}`, `tls::{provider, server_name, anchor_roots}`,
//! `Envelope::accept` (verify + replay guard), `Error::is_bad_input`.

pub mod delivery;
pub mod directory;
pub mod envelope;
pub mod error;
mod group;
pub mod hits;
pub mod node;
pub mod peer;
pub mod pki;
pub mod replay;
pub mod tls;

#[cfg(test)]
mod testutil;

pub use crate::directory::{Directory, Member, SignedDirectory};
pub use crate::envelope::{Envelope, Kind, Rejection, SCHEMA_VERSION};
pub use crate::error::{Error, Result};
pub use crate::hits::{BasisClaim, HitConfig, QueryRequest, send_query};
pub use crate::node::{Node, NodeConfig, NodeError, run_node, send};
pub use crate::pki::{Enrollment, EnrollmentRequest, NodeIdentity, TrustAnchor};
pub use crate::replay::ReplayGuard;
