//! Palermo's tamper-evident ledger and digital-evidence chain of custody.
//!
//! - [`merkle`]: an append-only Merkle log hashed as in RFC 9162 (Certificate
//!   Transparency v2): leaf hash `SHA-256(0x00 || entry)`, node hash
//!   `SHA-256(0x01 || left || right)`, tree heads for any size, inclusion and
//!   consistency proofs built over any storage and verified without it.
//! - [`head`]: the node's Ed25519 key and signed tree heads.
//! - [`entry`]: the structured, versioned JSON entries every issue appends.
//! - [`audit`]: full recomputation of a stored log, naming the first bad entry.
//! - [`witness`]: countersigning other nodes' heads and detecting split views.
//! - [`insider`]: unusual-access signals computed from query entries.
//! - [`evidence`] and [`report`]: content-addressed evidence, custody events
//!   and a self-contained custody report that verifies offline.
//!
//! This crate is pure: it reads from `impl Read` and returns bytes, and never
//! touches files, sockets or databases. Persistence lives in `palermo-store`.

pub mod audit;
pub mod entry;
mod error;
pub mod evidence;
pub mod hash;
pub mod head;
pub mod insider;
pub mod merkle;
pub mod report;
pub mod witness;

pub use crate::entry::{Entry, EntryBody};
pub use crate::error::{Error, Result};
pub use crate::hash::{Hash, leaf_hash, node_hash};
pub use crate::head::{NodeKey, PublicKey, SignedTreeHead, TreeHead};
pub use crate::merkle::{
    ConsistencyProof, Frontier, HashSource, InclusionProof, MemoryTree, NodeId,
};
