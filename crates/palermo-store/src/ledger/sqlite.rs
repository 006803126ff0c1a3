//! The ledger tables on SQLite.

use std::collections::HashMap;

use palermo_ledger::audit::{AuditSummary, Auditor, Finding, LogTip, SealedBatch, seal_batch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::{Hash, NodeId, NodeKey, PublicKey, SignedTreeHead};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;

use super::{
    EntryFilter, LEDGER_ROWS_PER_STATEMENT, LedgerStore, StoredEntry, all_found, corrupt,
    head_from_row, time_text, to_i64, to_u64,
};
use crate::{Error, Result, SqliteStore};

/// Entries per aggregated audit query.
const AUDIT_CHUNK: i64 = 4096;

/// `(seq, leaf, body)` as stored.
type RawEntry = (i64, Vec<u8>, Vec<u8>);
/// One aggregated chunk: count, positions, hex leaves, bodies.
type ChunkRow = (i64, Option<String>, Option<String>, Option<String>);

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

impl LedgerStore for SqliteStore {
    async fn ledger_append(
        &self,
        entries: Vec<NewEntry>,
        key: &NodeKey,
    ) -> Result<Option<SignedTreeHead>> {
        if entries.is_empty() {
            return self.ledger_head().await;
        }
        // IMMEDIATE takes the write lock before reading the tip, so two
        // appenders cannot both extend the same tip.
        let mut tx = self.write_pool().begin_with("BEGIN IMMEDIATE").await?;
        let head = append_in(self, &mut tx, entries, key).await?;
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
        let mut query = QueryBuilder::<Sqlite>::new(
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
        // Entries are read in chunks, the next chunk being fetched while
        // the current one is hashed; nodes are read aggregated, one result
        // row per tree level, because sqlx hands SQLite rows over one at a
        // time through a channel.
        let heads = self.ledger_heads().await?;
        let mut auditor = Auditor::new(heads, trusted);
        let (min, max): (Option<i64>, Option<i64>) =
            sqlx::query_as("SELECT MIN(seq), MAX(seq) FROM ledger_entries")
                .fetch_one(self.pool())
                .await?;
        if let Some(min) = min.filter(|min| *min < 0) {
            return Ok(Err(Finding {
                entry: Some(0),
                kind: "inserted",
                message: format!("an entry with the impossible position {min} was inserted"),
            }));
        }
        let end = max.map_or(0, |max| max + 1);
        let mut next = (end > 0).then(|| tokio::spawn(entry_chunk(self.pool().clone(), 0)));
        let mut start = 0i64;
        while let Some(pending) = next.take() {
            let rows = pending.await.map_err(|err| Error::Corrupt {
                what: "ledger".to_owned(),
                reason: format!("reading entries: {err}"),
            })??;
            start += AUDIT_CHUNK;
            if start < end {
                next = Some(tokio::spawn(entry_chunk(self.pool().clone(), start)));
            }
            for (seq, leaf, body) in rows {
                let seq = to_u64(seq, "ledger entry seq")?;
                let Ok(leaf) = Hash::from_slice(&leaf, "leaf") else {
                    return Ok(Err(bad_leaf(seq)));
                };
                if let Err(finding) = auditor.entry(seq, &body, &leaf) {
                    return Ok(Err(finding));
                }
            }
        }
        let levels: Vec<(i64, String, String)> = sqlx::query_as(
            // The auditor looks every node up by id, so order does not matter.
            "SELECT level, group_concat(idx, ','), group_concat(hex(hash), ',') \
             FROM ledger_nodes GROUP BY level",
        )
        .fetch_all(self.pool())
        .await?;
        let mut n_nodes = 0u64;
        for (level, idxs, hashes) in levels {
            let level = u8::try_from(level).unwrap_or(u8::MAX);
            for (idx, hash) in idxs.split(',').zip(hashes.split(',')) {
                n_nodes += 1;
                let index = idx.parse().unwrap_or(u64::MAX);
                let hash = Hash::from_hex(hash, "node").unwrap_or_default();
                if let Err(finding) = auditor.node(NodeId { level, index }, &hash) {
                    return Ok(Err(finding));
                }
            }
        }
        Ok(auditor.finish(n_nodes))
    }
}

impl SqliteStore {
    /// Keeps the right edge of the log after an append, for the next
    /// append (which uses it only while the log's size and latest signed
    /// head still match it).
    fn keep_ledger_tip(&self, tip: LogTip) {
        if let Ok(mut cached) = self.ledger_tip.lock() {
            *cached = Some(tip);
        }
    }
}

/// Seals `entries` after the end of the log and writes them, their nodes and
/// the new signed head on `conn`, inside the caller's write transaction
/// (begun with `BEGIN IMMEDIATE`, so that the end of the log stays where it
/// was found); returns the new head.
///
/// The right edge this store kept at its last append is used first, the
/// first insert guarded by the log's end: it inserts nothing unless the log
/// still has that size and its latest signed head that root (another
/// process appending, an entry deleted at the end or an append rolled back
/// after it was kept changes one of them). Only then is the end read back:
/// the size and head, and the frontier's hashes (one to three statements
/// per append before).
pub(crate) async fn append_in(
    store: &SqliteStore,
    conn: &mut SqliteConnection,
    entries: Vec<NewEntry>,
    key: &NodeKey,
) -> Result<SignedTreeHead> {
    let cached = store
        .ledger_tip
        .lock()
        .ok()
        .and_then(|cached| cached.clone())
        .filter(|tip| tip.frontier.size() > 0);
    if let Some(mut tip) = cached {
        let end = (tip.frontier.size(), tip.frontier.root());
        let batch = seal_batch(&mut tip, entries.clone(), key, OffsetDateTime::now_utc())
            .map_err(corrupt)?;
        if write_batch(&mut *conn, &batch, Some(end)).await? {
            store.keep_ledger_tip(tip);
            return Ok(batch.head);
        }
    }
    let (size, head) = size_and_head(&mut *conn).await?;
    let hashes = nodes(&mut *conn, &LogTip::nodes(size)).await?;
    let mut tip = LogTip::from_hashes(size, &hashes).map_err(corrupt)?;
    check_tip(head, &tip)?;
    let batch = seal_batch(&mut tip, entries, key, OffsetDateTime::now_utc()).map_err(corrupt)?;
    write_batch(&mut *conn, &batch, None).await?;
    store.keep_ledger_tip(tip);
    Ok(batch.head)
}

/// Writes a sealed batch (entries, nodes, head); returns false, having
/// written nothing, when `end` (size, root) is given and the log does not
/// end there.
async fn write_batch(
    conn: &mut SqliteConnection,
    batch: &SealedBatch,
    end: Option<(u64, Hash)>,
) -> Result<bool> {
    for (chunk_idx, chunk) in batch.entries.chunks(LEDGER_ROWS_PER_STATEMENT).enumerate() {
        let guard = end.filter(|_| chunk_idx == 0);
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO ledger_entries (seq, leaf, body, kind, actor, case_id, subject, time) ",
        );
        if guard.is_some() {
            insert.push("SELECT * FROM (");
        }
        insert.push_values(chunk.iter().enumerate(), |mut b, (idx, e)| {
            b.push_bind(to_i64(e.seq))
                .push_bind(e.leaf.0.to_vec())
                .push_bind(e.bytes.clone())
                .push_bind(e.kind)
                .push_bind(e.actor.clone())
                .push_bind(e.case.clone())
                .push_bind(e.subject.clone())
                .push_bind(time_text(
                    batch,
                    chunk_idx * LEDGER_ROWS_PER_STATEMENT + idx,
                ));
        });
        if let Some((size, root)) = guard {
            insert
                .push(") WHERE (SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries) = ")
                .push_bind(to_i64(size))
                .push(" AND (SELECT root FROM ledger_heads ORDER BY size DESC LIMIT 1) = ")
                .push_bind(root.0.to_vec());
        }
        let n = insert.build().execute(&mut *conn).await?.rows_affected();
        if guard.is_some() && n == 0 {
            return Ok(false);
        }
    }
    for chunk in batch.nodes.chunks(LEDGER_ROWS_PER_STATEMENT) {
        let mut insert =
            QueryBuilder::<Sqlite>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
        insert.push_values(chunk, |mut b, (id, hash)| {
            b.push_bind(i64::from(id.level))
                .push_bind(to_i64(id.index))
                .push_bind(hash.0.to_vec());
        });
        insert.build().execute(&mut *conn).await?;
    }
    let head = &batch.head;
    sqlx::query("INSERT INTO ledger_heads (size, root, timestamp_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)")
        .bind(to_i64(head.head.size))
        .bind(head.head.root.0.to_vec())
        .bind(to_i64(head.head.timestamp_ms))
        .bind(&head.key_id)
        .bind(&head.signature)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

async fn size(conn: &mut SqliteConnection) -> Result<u64> {
    let next: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries")
        .fetch_one(conn)
        .await?;
    to_u64(next, "ledger size")
}

/// The log's size and its latest signed head, in one statement.
async fn size_and_head(conn: &mut SqliteConnection) -> Result<(u64, Option<SignedTreeHead>)> {
    type Row = (
        i64,
        Option<i64>,
        Option<Vec<u8>>,
        Option<i64>,
        Option<String>,
        Option<String>,
    );
    let (next, size, root, timestamp_ms, key_id, signature): Row = sqlx::query_as(
        "SELECT (SELECT COALESCE(MAX(seq) + 1, 0) FROM ledger_entries), \
         h.size, h.root, h.timestamp_ms, h.key_id, h.signature FROM (SELECT 1) \
         LEFT JOIN (SELECT * FROM ledger_heads ORDER BY size DESC LIMIT 1) h",
    )
    .fetch_one(conn)
    .await?;
    let head = match (size, root, timestamp_ms, key_id, signature) {
        (Some(s), Some(r), Some(t), Some(k), Some(sig)) => Some(head_from_row(s, &r, t, k, sig)?),
        _ => None,
    };
    Ok((to_u64(next, "ledger size")?, head))
}

async fn latest_head(conn: &mut SqliteConnection) -> Result<Option<SignedTreeHead>> {
    let row: Option<HeadRow> = sqlx::query_as(
        "SELECT size, root, timestamp_ms, key_id, signature FROM ledger_heads ORDER BY size DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.map(|(s, r, t, k, sig)| head_from_row(s, &r, t, k, sig))
        .transpose()
}

async fn nodes(conn: &mut SqliteConnection, ids: &[NodeId]) -> Result<Vec<Hash>> {
    let mut found: HashMap<NodeId, Hash> = HashMap::with_capacity(ids.len());
    let leaves: Vec<&NodeId> = ids.iter().filter(|id| id.level == 0).collect();
    let inner: Vec<&NodeId> = ids.iter().filter(|id| id.level > 0).collect();
    for chunk in leaves.chunks(500) {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT seq, leaf FROM ledger_entries WHERE seq IN (");
        let mut list = query.separated(", ");
        for id in chunk {
            list.push_bind(to_i64(id.index));
        }
        query.push(")");
        let rows: Vec<(i64, Vec<u8>)> = query.build_query_as().fetch_all(&mut *conn).await?;
        for (seq, leaf) in rows {
            let id = NodeId {
                level: 0,
                index: to_u64(seq, "ledger entry seq")?,
            };
            found.insert(id, Hash::from_slice(&leaf, "leaf").map_err(corrupt)?);
        }
    }
    for chunk in inner.chunks(400) {
        let mut query =
            QueryBuilder::<Sqlite>::new("SELECT level, idx, hash FROM ledger_nodes WHERE ");
        for (pos, id) in chunk.iter().enumerate() {
            if pos > 0 {
                query.push(" OR ");
            }
            query
                .push("(level = ")
                .push_bind(i64::from(id.level))
                .push(" AND idx = ")
                .push_bind(to_i64(id.index))
                .push(")");
        }
        let rows: Vec<(i64, i64, Vec<u8>)> = query.build_query_as().fetch_all(&mut *conn).await?;
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

/// One chunk of entries for the audit: positions `[start, start + AUDIT_CHUNK)`.
///
/// The fast path asks SQLite for the whole chunk as one row (positions, hex
/// leaves and bodies joined by the ASCII record separator, which serde_json
/// never writes unescaped). When the pieces do not line up (a body was edited
/// to contain that byte, or is not UTF-8), the chunk is read row by row, so
/// the auditor still names the exact entry.
async fn entry_chunk(pool: sqlx::SqlitePool, start: i64) -> Result<Vec<RawEntry>> {
    let end = start + AUDIT_CHUNK;
    let fast: std::result::Result<ChunkRow, sqlx::Error> = sqlx::query_as(
        "SELECT count(*), group_concat(seq, ','), group_concat(hex(leaf), ','), \
         group_concat(CAST(body AS TEXT), char(30)) \
         FROM (SELECT seq, leaf, body FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq)",
    )
    .bind(start)
    .bind(end)
    .fetch_one(&pool)
    .await;
    if let Ok((count, seqs, leaves, bodies)) = fast {
        let (seqs, leaves, bodies) = (
            seqs.unwrap_or_default(),
            leaves.unwrap_or_default(),
            bodies.unwrap_or_default(),
        );
        let rows: Option<Vec<RawEntry>> = if count == 0 {
            Some(Vec::new())
        } else {
            seqs.split(',')
                .zip(leaves.split(','))
                .zip(bodies.split('\u{1e}'))
                .map(|((seq, leaf), body)| {
                    Some((
                        seq.parse().ok()?,
                        Hash::from_hex(leaf, "leaf").ok()?.0.to_vec(),
                        body.as_bytes().to_vec(),
                    ))
                })
                .collect()
        };
        if let Some(rows) = rows.filter(|rows| {
            i64::try_from(rows.len()).ok() == Some(count)
                && rows.windows(2).all(|w| w[0].0 < w[1].0)
        }) && bodies.split('\u{1e}').count() == rows.len().max(1)
        {
            return Ok(rows);
        }
    }
    Ok(sqlx::query_as(
        "SELECT seq, leaf, body FROM ledger_entries WHERE seq >= ? AND seq < ? ORDER BY seq",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&pool)
    .await?)
}

/// Refuses to extend a log whose end does not match its latest signed head.
pub(super) fn check_tip(head: Option<SignedTreeHead>, tip: &LogTip) -> Result<()> {
    let size = tip.frontier.size();
    let ok = match &head {
        None => size == 0,
        Some(head) => head.head.size == size && head.head.root == tip.frontier.root(),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::Corrupt {
            what: "ledger".to_owned(),
            reason: format!(
                "the log has {size} entries but its latest signed head says {}; refusing to append (run `palermo ledger verify`)",
                head.map_or_else(
                    || "there are none".to_owned(),
                    |h| format!("{} with root {}", h.head.size, h.head.root)
                )
            ),
        })
    }
}

pub(super) fn bad_leaf(seq: u64) -> Finding {
    Finding {
        entry: Some(seq),
        kind: "altered",
        message: format!("entry {seq} was altered: its stored leaf hash is not 32 bytes"),
    }
}

pub(super) fn stored_entry(row: EntryRow) -> Result<StoredEntry> {
    let (seq, leaf, body, kind, actor, case, subject, time) = row;
    Ok(StoredEntry {
        seq: to_u64(seq, "ledger entry seq")?,
        leaf: Hash::from_slice(&leaf, "leaf").map_err(corrupt)?,
        bytes: body,
        kind,
        actor,
        case,
        subject,
        time,
    })
}
