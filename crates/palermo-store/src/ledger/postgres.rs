//! The ledger tables on PostgreSQL.

use std::collections::HashMap;

use futures_util::TryStreamExt;
use palermo_ledger::audit::{AuditSummary, Auditor, Finding, LogTip, seal_batch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::{Hash, NodeId, NodeKey, PublicKey, SignedTreeHead};
use sqlx::{PgConnection, Postgres, QueryBuilder};
use time::OffsetDateTime;

use super::sqlite::{bad_leaf, check_tip, stored_entry};
use super::{
    EntryFilter, LEDGER_ROWS_PER_STATEMENT, LedgerStore, StoredEntry, all_found, corrupt,
    head_from_row, time_text, to_i64, to_u64,
};
use crate::{PgStore, Result};

type HeadRow = (i64, Vec<u8>, i64, String, String);
type EntryRow = (
    i64,
    Vec<u8>,
    Vec<u8>,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
);

/// The advisory lock key that serialises appends ("palermo ledger" in ASCII, truncated).
const APPEND_LOCK: i64 = 0x7061_6c65_726d_6f4c;

impl LedgerStore for PgStore {
    async fn ledger_append(
        &self,
        entries: Vec<NewEntry>,
        key: &NodeKey,
    ) -> Result<Option<SignedTreeHead>> {
        if entries.is_empty() {
            return self.ledger_head().await;
        }
        let mut tx = self.pool().begin().await?;
        lock_appends(&mut tx).await?;
        let head = append_in(&mut tx, entries, key).await?;
        tx.commit().await?;
        Ok(Some(head))
    }

    async fn ledger_size(&self) -> Result<u64> {
        let mut conn = self.pool().acquire().await?;
        size(&mut conn).await
    }

    async fn ledger_heads(&self) -> Result<Vec<SignedTreeHead>> {
        let rows: Vec<HeadRow> = sqlx::query_as(
            "SELECT size, root, timestamp_ms, key_id, signature FROM ledger_heads ORDER BY size",
        )
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|(s, r, t, k, sig)| head_from_row(s, &r, t, k, sig))
            .collect()
    }

    async fn ledger_head(&self) -> Result<Option<SignedTreeHead>> {
        let mut conn = self.pool().acquire().await?;
        latest_head(&mut conn).await
    }

    async fn ledger_nodes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        let mut conn = self.pool().acquire().await?;
        nodes(&mut conn, ids).await
    }

    async fn ledger_entries(&self, filter: &EntryFilter) -> Result<Vec<StoredEntry>> {
        let mut query = QueryBuilder::<Postgres>::new(
            "SELECT seq, leaf, body, kind, actor, case_id, subject, time FROM ledger_entries WHERE seq >= ",
        );
        query.push_bind(to_i64(filter.from_seq));
        for (column, value) in [
            ("kind", &filter.kind),
            ("actor", &filter.actor),
            ("case_id", &filter.case),
            ("subject", &filter.subject),
        ] {
            if let Some(value) = value {
                query
                    .push(format_args!(" AND {column} = "))
                    .push_bind(value.clone());
            }
        }
        query
            .push(" ORDER BY seq LIMIT ")
            .push_bind(to_i64(filter.limit));
        let rows: Vec<EntryRow> = query.build_query_as().fetch_all(self.pool()).await?;
        rows.into_iter().map(stored_entry).collect()
    }

    async fn ledger_audit(
        &self,
        trusted: Option<PublicKey>,
    ) -> Result<std::result::Result<AuditSummary, Finding>> {
        let heads = self.ledger_heads().await?;
        let mut auditor = Auditor::new(heads, trusted);
        let mut rows = sqlx::query_as::<_, (i64, Vec<u8>, Vec<u8>)>(
            "SELECT seq, body, leaf FROM ledger_entries ORDER BY seq",
        )
        .fetch(self.pool());
        while let Some((seq, body, leaf)) = rows.try_next().await? {
            let seq = to_u64(seq, "ledger entry seq")?;
            let Ok(leaf) = Hash::from_slice(&leaf, "leaf") else {
                return Ok(Err(bad_leaf(seq)));
            };
            if let Err(finding) = auditor.entry(seq, &body, &leaf) {
                return Ok(Err(finding));
            }
        }
        drop(rows);
        let mut rows = sqlx::query_as::<_, (i16, i64, Vec<u8>)>(
            "SELECT level, idx, hash FROM ledger_nodes ORDER BY level, idx",
        )
        .fetch(self.pool());
        let mut n_nodes = 0u64;
        while let Some((level, idx, hash)) = rows.try_next().await? {
            n_nodes += 1;
            let id = NodeId {
                level: u8::try_from(level).unwrap_or(u8::MAX),
                index: to_u64(idx, "ledger node index")?,
            };
            let hash = Hash::from_slice(&hash, "node").unwrap_or_default();
            if let Err(finding) = auditor.node(id, &hash) {
                return Ok(Err(finding));
            }
        }
        Ok(auditor.finish(n_nodes))
    }
}

/// Takes the lock that serialises appends, until the transaction on `conn` ends.
pub(crate) async fn lock_appends(conn: &mut PgConnection) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(APPEND_LOCK)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Seals `entries` after the end of the log and writes them, their nodes and
/// the new signed head on `conn`, inside the caller's transaction, which
/// must hold [`lock_appends`]; returns the new head.
pub(crate) async fn append_in(
    conn: &mut PgConnection,
    entries: Vec<NewEntry>,
    key: &NodeKey,
) -> Result<SignedTreeHead> {
    let size = size(&mut *conn).await?;
    let ids = LogTip::nodes(size);
    let hashes = nodes(&mut *conn, &ids).await?;
    let mut tip = LogTip::from_hashes(size, &hashes).map_err(corrupt)?;
    check_tip(latest_head(&mut *conn).await?, &tip)?;
    let batch = seal_batch(&mut tip, entries, key, OffsetDateTime::now_utc()).map_err(corrupt)?;
    for (chunk_idx, chunk) in batch.entries.chunks(LEDGER_ROWS_PER_STATEMENT).enumerate() {
        let mut insert = QueryBuilder::<Postgres>::new(
            "INSERT INTO ledger_entries (seq, leaf, body, kind, actor, case_id, subject, time) ",
        );
        insert.push_values(chunk.iter().enumerate(), |mut b, (idx, e)| {
            b.push_bind(to_i64(e.seq))
                .push_bind(e.leaf.0.to_vec())
                .push_bind(e.bytes.clone())
                .push_bind(e.kind)
                .push_bind(e.actor.clone())
                .push_bind(e.case.clone())
                .push_bind(e.subject.clone())
                .push_bind(time_text(
                    &batch,
                    chunk_idx * LEDGER_ROWS_PER_STATEMENT + idx,
                ));
        });
        insert.build().execute(&mut *conn).await?;
    }
    for chunk in batch.nodes.chunks(LEDGER_ROWS_PER_STATEMENT) {
        let mut insert =
            QueryBuilder::<Postgres>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
        insert.push_values(chunk, |mut b, (id, hash)| {
            b.push_bind(i16::from(id.level))
                .push_bind(to_i64(id.index))
                .push_bind(hash.0.to_vec());
        });
        insert.build().execute(&mut *conn).await?;
    }
    let head = &batch.head;
    sqlx::query("INSERT INTO ledger_heads (size, root, timestamp_ms, key_id, signature) VALUES ($1, $2, $3, $4, $5)")
        .bind(to_i64(head.head.size))
        .bind(head.head.root.0.to_vec())
        .bind(to_i64(head.head.timestamp_ms))
        .bind(&head.key_id)
        .bind(&head.signature)
        .execute(&mut *conn)
        .await?;
    Ok(batch.head)
}

async fn size(conn: &mut PgConnection) -> Result<u64> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries")
        .fetch_one(conn)
        .await?;
    to_u64(next, "ledger size")
}

async fn latest_head(conn: &mut PgConnection) -> Result<Option<SignedTreeHead>> {
    let row: Option<HeadRow> = sqlx::query_as(
        "SELECT size, root, timestamp_ms, key_id, signature FROM ledger_heads ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(s, r, t, k, sig)| head_from_row(s, &r, t, k, sig))
        .transpose()
}

async fn nodes(conn: &mut PgConnection, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let mut found: HashMap<NodeId, Hash> = HashMap::with_capacity(ids.len());
    let leaves: Vec<i64> = ids
        .iter()
        .filter(|id| id.level == 0)
        .map(|id| to_i64(id.index))
        .collect();
    let levels: Vec<i16> = ids
        .iter()
        .filter(|id| id.level > 0)
        .map(|id| i16::from(id.level))
        .collect();
    let idxs: Vec<i64> = ids
        .iter()
        .filter(|id| id.level > 0)
        .map(|id| to_i64(id.index))
        .collect();
    if !leaves.is_empty() {
        let rows: Vec<(i64, Vec<u8>)> =
            sqlx::query_as("SELECT seq, leaf FROM ledger_entries WHERE seq = ANY($1)")
                .bind(&leaves)
                .fetch_all(&mut *conn)
                .await?;
        for (seq, leaf) in rows {
            let id = NodeId {
                level: 0,
                index: to_u64(seq, "ledger entry seq")?,
            };
            found.insert(id, Hash::from_slice(&leaf, "leaf").map_err(corrupt)?);
        }
    }
    if !levels.is_empty() {
        let rows: Vec<(i16, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT n.level, n.idx, n.hash FROM ledger_nodes n \
             JOIN UNNEST($1::smallint[], $2::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx",
        )
        .bind(&levels)
        .bind(&idxs)
        .fetch_all(&mut *conn)
        .await?;
        for (level, idx, hash) in rows {
            let id = NodeId {
                level: u8::try_from(level).unwrap_or(u8::MAX),
                index: to_u64(idx, "ledger node index")?,
            };
            found.insert(id, Hash::from_slice(&hash, "node").map_err(corrupt)?);
        }
    }
    all_found(ids, ids.iter().map(|id| found.get(id).copied()).collect())
}
