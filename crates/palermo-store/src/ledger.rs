//! Persistence of the tamper-evident ledger (`palermo-ledger`) on both backends.
//!
//! Three tables (migration 0200): `ledger_entries` (the exact entry bytes,
//! their leaf hash and filter columns), `ledger_nodes` (complete subtree
//! hashes of level ≥ 1, for fast proofs) and `ledger_heads` (one signed tree
//! head per append). An append is one transaction that takes the write lock
//! first, so a crash or `kill -9` leaves either the whole batch with its
//! hashes and head, or nothing.
//!
//! The hashing, sealing and verification logic is all in `palermo-ledger`;
//! this module only moves rows.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use std::future::Future;

use palermo_ledger::audit::{AuditSummary, Finding, SealedBatch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::merkle::{self, ConsistencyProof, InclusionProof, NodeId};
use palermo_ledger::{Hash, NodeKey, PublicKey, SignedTreeHead, TreeHead};
use serde::Serialize;

use crate::{AnyStore, Error, PgStore, Result, SqliteStore};

/// Rows per multi-row INSERT (8 bound columns each, far below both backends' limits).
pub(crate) const LEDGER_ROWS_PER_STATEMENT: usize = 1_000;

/// One stored entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct StoredEntry {
    /// Position in the log.
    pub seq: u64,
    /// The stored leaf hash.
    pub leaf: Hash,
    /// The exact stored bytes (JSON).
    #[serde(skip)]
    pub bytes: Vec<u8>,
    /// The kind column.
    pub kind: String,
    /// The actor column.
    pub actor: String,
    /// The case column.
    pub case: Option<String>,
    /// The subject column.
    pub subject: Option<String>,
    /// The time column (RFC 3339).
    pub time: String,
}

/// Which entries [`LedgerStore::ledger_entries`] returns: all conditions must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryFilter {
    /// Only this kind (`query`, `evidence-custody`...).
    pub kind: Option<String>,
    /// Only this actor.
    pub actor: Option<String>,
    /// Only this case.
    pub case: Option<String>,
    /// Only this subject (evidence item id...).
    pub subject: Option<String>,
    /// Only entries at or after this position.
    pub from_seq: u64,
    /// At most this many entries.
    pub limit: u64,
}

/// The ledger operations of a store.
pub trait LedgerStore: Send + Sync {
    /// Seals `entries` after the current end of the log, signs the new head
    /// with `key`, and writes entries, nodes and head in one transaction.
    ///
    /// Returns the new signed head. An empty batch writes nothing and
    /// returns [`Error::Corrupt`] only if the log is damaged; otherwise the
    /// current head (or `None` for an empty log).
    fn ledger_append(
        &self,
        entries: Vec<NewEntry>,
        key: &NodeKey,
    ) -> impl Future<Output = Result<Option<SignedTreeHead>>> + Send;

    /// The number of entries.
    fn ledger_size(&self) -> impl Future<Output = Result<u64>> + Send;

    /// Every signed head, smallest first.
    fn ledger_heads(&self) -> impl Future<Output = Result<Vec<SignedTreeHead>>> + Send;

    /// The latest signed head, if any.
    fn ledger_head(&self) -> impl Future<Output = Result<Option<SignedTreeHead>>> + Send;

    /// The hashes of complete subtrees (level 0 = stored leaf hashes), in order.
    ///
    /// Fails with [`Error::Corrupt`] when one is missing.
    fn ledger_nodes(&self, ids: &[NodeId]) -> impl Future<Output = Result<Vec<Hash>>> + Send;

    /// Entries matching `filter`, by position.
    fn ledger_entries(
        &self,
        filter: &EntryFilter,
    ) -> impl Future<Output = Result<Vec<StoredEntry>>> + Send;

    /// Recomputes the whole log from the stored bytes (see
    /// [`palermo_ledger::audit::Auditor`]). The outer error is a database
    /// failure; the inner one names the first bad entry.
    fn ledger_audit(
        &self,
        trusted: Option<PublicKey>,
    ) -> impl Future<Output = Result<std::result::Result<AuditSummary, Finding>>> + Send;
}

/// The inclusion proof of entry `index` in the log's tree of `size` entries.
pub async fn ledger_inclusion_proof(
    store: &impl LedgerStore,
    index: u64,
    size: u64,
) -> Result<InclusionProof> {
    let plan = merkle::inclusion_plan(index, size).map_err(corrupt)?;
    let hashes = store.ledger_nodes(&plan.nodes()).await?;
    Ok(InclusionProof {
        index,
        size,
        path: plan.assemble(&hashes).map_err(corrupt)?,
    })
}

/// The consistency proof between the log's trees of `old_size` and `new_size` entries.
pub async fn ledger_consistency_proof(
    store: &impl LedgerStore,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof> {
    let plan = merkle::consistency_plan(old_size, new_size).map_err(corrupt)?;
    let hashes = store.ledger_nodes(&plan.nodes()).await?;
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path: plan.assemble(&hashes).map_err(corrupt)?,
    })
}

/// The root hash of the log's tree of `size` entries, from stored nodes.
pub async fn ledger_root(store: &impl LedgerStore, size: u64) -> Result<Hash> {
    let plan = merkle::root_plan(size);
    let hashes = store.ledger_nodes(&plan.nodes()).await?;
    Ok(plan
        .assemble(&hashes)
        .map_err(corrupt)?
        .pop()
        .unwrap_or_else(palermo_ledger::hash::empty_root))
}

/// Maps a ledger error onto the store's meaning: stored data that does not add up.
pub(crate) fn corrupt(err: palermo_ledger::Error) -> Error {
    Error::Corrupt {
        what: "ledger".to_owned(),
        reason: err.to_string(),
    }
}

/// Converts a stored integer to `u64`.
pub(crate) fn to_u64(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| Error::Corrupt {
        what: what.to_owned(),
        reason: format!("negative value {value}"),
    })
}

/// Converts a `u64` to a stored integer.
pub(crate) fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Builds a signed head from stored columns.
pub(crate) fn head_from_row(
    size: i64,
    root: &[u8],
    timestamp_ms: i64,
    key_id: String,
    signature: String,
) -> Result<SignedTreeHead> {
    Ok(SignedTreeHead {
        head: TreeHead {
            size: to_u64(size, "ledger head size")?,
            root: Hash::from_slice(root, "ledger head root").map_err(corrupt)?,
            timestamp_ms: to_u64(timestamp_ms, "ledger head timestamp")?,
        },
        key_id,
        signature,
    })
}

/// Checks that `hashes` holds one hash per id (the query found them all).
pub(crate) fn all_found(ids: &[NodeId], found: Vec<Option<Hash>>) -> Result<Vec<Hash>> {
    ids.iter()
        .zip(found)
        .map(|(id, hash)| {
            hash.ok_or_else(|| Error::Corrupt {
                what: "ledger".to_owned(),
                reason: format!(
                    "subtree node level {} index {} is missing",
                    id.level, id.index
                ),
            })
        })
        .collect()
}

/// The RFC 3339 text of an entry time.
pub(crate) fn time_text(batch: &SealedBatch, idx: usize) -> String {
    batch.entries[idx]
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl LedgerStore for AnyStore {
    async fn ledger_append(
        &self,
        entries: Vec<NewEntry>,
        key: &NodeKey,
    ) -> Result<Option<SignedTreeHead>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_append(entries, key).await,
            AnyStore::Postgres(s) => s.ledger_append(entries, key).await,
        }
    }

    async fn ledger_size(&self) -> Result<u64> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_size().await,
            AnyStore::Postgres(s) => s.ledger_size().await,
        }
    }

    async fn ledger_heads(&self) -> Result<Vec<SignedTreeHead>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_heads().await,
            AnyStore::Postgres(s) => s.ledger_heads().await,
        }
    }

    async fn ledger_head(&self) -> Result<Option<SignedTreeHead>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_head().await,
            AnyStore::Postgres(s) => s.ledger_head().await,
        }
    }

    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_nodes(ids).await,
            AnyStore::Postgres(s) => s.ledger_nodes(ids).await,
        }
    }

    async fn ledger_entries(&self, filter: &EntryFilter) -> Result<Vec<StoredEntry>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_entries(filter).await,
            AnyStore::Postgres(s) => s.ledger_entries(filter).await,
        }
    }

    async fn ledger_audit(
        &self,
        trusted: Option<PublicKey>,
    ) -> Result<std::result::Result<AuditSummary, Finding>> {
        match self {
            AnyStore::Sqlite(s) => s.ledger_audit(trusted).await,
            AnyStore::Postgres(s) => s.ledger_audit(trusted).await,
        }
    }
}

// Both backends implement the trait in their own submodule.
const _: fn() = || {
    fn assert_impl<T: LedgerStore>() {}
    assert_impl::<SqliteStore>();
    assert_impl::<PgStore>();
};
