//! Persistence for a Palermo node: one [`Store`] trait, two backends.
//!
//! - [`SqliteStore`]: embedded SQLite, the default (`sqlite://palermo.db`).
//! - [`PgStore`]: PostgreSQL for production (`postgres://...`).
//!
//! [`open`] picks the backend from the URL and runs the versioned schema
//! migrations (`migrations/<backend>/NNNN_*.sql`, embedded in the binary).
//! Both backends pass the same conformance suite (`tests/it/conformance.rs`).
//!
//! Imports are all-or-nothing: [`Store::begin_import`] opens one transaction;
//! nothing is visible until [`ImportTx::commit`], and dropping the
//! transaction (or the process dying) leaves the store as it was.

mod any;
mod error;
mod federation;
mod hits;
mod keys;
mod law;
mod ledger;
mod policy_versions;
mod postgres;
mod resolution;
mod row;
mod spill;
mod sqlite;
mod users;

use std::future::Future;

use palermo_model::{Entity, Role, Tlp};
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

pub use crate::any::{AnyImport, AnyStore, open};
pub use crate::error::{Error, Result};
pub use crate::federation::{
    FederationCounts, FederationStore, InboxEffect, InboxRow, IncomingMessage, OutboxRow,
    OutboxStatus, OutgoingMessage, PeerHead, PendingCount, Unledgered,
};
pub use crate::hits::{
    HitDirection, HitEncodingSet, HitEncodings, HitPeer, HitQueryRecord, HitRecord, HitSettlement,
    HitWindow, InboxWrites,
};
pub use crate::keys::{entity_key_hashes_of, entity_keys, key_hash, name_key};
pub use crate::law::LawUpdateRecord;
pub use crate::ledger::{
    EntryFilter, LedgerStore, StoredEntry, ledger_consistency_proof, ledger_inclusion_proof,
    ledger_root,
};
pub use crate::policy_versions::{NewPolicyVersion, PolicyVersionRecord};
pub use crate::postgres::{PgImport, PgStore};
pub use crate::resolution::{
    DecisionRecord, ModelRecord, PersonRow, ResolutionState, ResolutionWrite, RunRecord,
};
pub use crate::sqlite::{SqliteImport, SqliteStore};
pub use crate::users::{NewUser, UserRecord};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL.
    Postgres,
}

/// What the importer says about a batch before it starts.
#[derive(Debug, Clone)]
pub struct BatchMeta {
    /// The batch id (UUIDv7), also written into every record's provenance.
    pub id: Uuid,
    /// The file the records come from, as the user named it.
    pub source_file: String,
    /// `csv` or `ftm`.
    pub input_format: String,
    /// The user running the import.
    pub imported_by: String,
    /// When the import started.
    pub started_at: OffsetDateTime,
}

/// What one [`ImportTx::insert`] call did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct InsertCounts {
    /// Entities that were new to the store.
    pub new: u64,
    /// Entities whose id was already stored with identical content.
    pub unchanged: u64,
}

/// A recorded import batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchRecord {
    /// The batch id.
    pub id: Uuid,
    /// The source file.
    pub source_file: String,
    /// `csv` or `ftm`.
    pub input_format: String,
    /// Who imported it.
    pub imported_by: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Records read.
    pub n_records: u64,
    /// Records that were new.
    pub n_new: u64,
    /// Records already present with identical content.
    pub n_unchanged: u64,
}

/// Entity counts by schema, TLP level and role.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    /// All entities.
    pub total: u64,
    /// `(schema, count)`, sorted by schema name.
    pub by_schema: Vec<(String, u64)>,
    /// `(TLP label, count)`, least restrictive first.
    pub by_tlp: Vec<(String, u64)>,
    /// `(role, count)` for entities with a role, sorted by role.
    pub by_role: Vec<(String, u64)>,
    /// Import batches recorded.
    pub batches: u64,
}

/// A node's persistent state. Implemented by [`SqliteStore`], [`PgStore`]
/// and the URL-selected [`AnyStore`].
pub trait Store: Send + Sync {
    /// An open, uncommitted import.
    type Import<'a>: ImportTx + 'a
    where
        Self: 'a;

    /// The backend this store runs on.
    fn backend(&self) -> Backend;

    /// Starts an all-or-nothing import batch.
    fn begin_import(
        &self,
        batch: &BatchMeta,
    ) -> impl Future<Output = Result<Self::Import<'_>>> + Send;

    /// Fetches one entity by id, with provenance.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Entity>>> + Send;

    /// Ids of entities with a lookup key (see [`entity_keys`]), in import order.
    fn find_by_key(&self, key: &str) -> impl Future<Output = Result<Vec<String>>> + Send;

    /// Entity counts by schema, TLP and role.
    fn stats(&self) -> impl Future<Output = Result<Stats>> + Send;

    /// All import batches, oldest first.
    fn batches(&self) -> impl Future<Output = Result<Vec<BatchRecord>>> + Send;

    /// Streams every entity, in import order, into `sink`; returns how many.
    /// An error from `sink` stops the export and is returned.
    fn export<F>(&self, sink: F) -> impl Future<Output = Result<u64>> + Send
    where
        F: FnMut(Entity) -> Result<()> + Send;
}

/// An open import transaction.
pub trait ImportTx: Send {
    /// Inserts entities. An id already stored with the same content is
    /// counted as unchanged; with different content it is an
    /// [`Error::Conflict`] and the whole import must be abandoned.
    fn insert(&mut self, entities: &[Entity]) -> impl Future<Output = Result<InsertCounts>> + Send;

    /// Records the batch totals and makes the import visible.
    fn commit(
        self,
        n_records: u64,
        counts: InsertCounts,
    ) -> impl Future<Output = Result<()>> + Send;
}

/// Builds [`Stats`] from the counts both backends query: schemas sorted by
/// name, TLP levels least restrictive first, roles in [`Role::ALL`] order.
pub(crate) fn stats_from(
    total: i64,
    batches: i64,
    by_schema: Vec<(String, i64)>,
    by_tlp: Vec<(String, i64)>,
    by_role: Vec<(String, i64)>,
) -> Stats {
    let counts = |rows: Vec<(String, i64)>| -> Vec<(String, u64)> {
        rows.into_iter()
            .map(|(key, n)| (key, u64::try_from(n).unwrap_or(0)))
            .collect()
    };
    let mut by_tlp = counts(by_tlp);
    by_tlp.sort_by_key(|(label, _)| tlp_rank(label));
    let mut by_role = counts(by_role);
    by_role.sort_by_key(|(label, _)| role_rank(label));
    Stats {
        total: u64::try_from(total).unwrap_or(0),
        by_schema: counts(by_schema),
        by_tlp,
        by_role,
        batches: u64::try_from(batches).unwrap_or(0),
    }
}

/// The TLP levels with their labels, for stats ordering.
fn tlp_rank(label: &str) -> usize {
    Tlp::ALL
        .iter()
        .position(|tlp| tlp.as_str() == label)
        .unwrap_or(Tlp::ALL.len())
}

/// The role labels, for stats ordering.
fn role_rank(label: &str) -> usize {
    Role::ALL
        .iter()
        .position(|role| role.as_str() == label)
        .unwrap_or(Role::ALL.len())
}

/// `SELECT column, count(*) ... GROUP BY column` as a literal query string.
macro_rules! group_by {
    ($column:literal) => {
        concat!(
            "SELECT ",
            $column,
            ", count(*) FROM entities WHERE ",
            $column,
            " IS NOT NULL GROUP BY ",
            $column,
            " ORDER BY ",
            $column
        )
    };
}
pub(crate) use group_by;
