//! Persistence of the hit/no-hit exchange (`palermo-federation`'s `hits`) on both backends.
//!
//! Five tables (migration 0700):
//! - `hit_peers`: the peers this node answers queries from (none by default) and their quotas;
//! - `hit_encodings`: this node's own persons encoded with a sharing group's
//!   secret, one set per group key id (what queries are matched against),
//!   described in `hit_encoding_sets` with a generation that changes on every replace;
//! - `hit_queries`: queries sent and received, keyed by direction and query message id;
//! - `hits`: hits in both directions with their opaque references.
//!
//! Every write is idempotent by key (`ON CONFLICT DO NOTHING`), so a message
//! applied twice after a crash stores nothing twice; callers read back what
//! is stored ([`AnyStore::hits_for_query`]) instead of trusting what they
//! computed. The SQL is the same on both backends: it is written with `?`
//! placeholders and numbered for PostgreSQL.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use palermo_ledger::NodeKey;
use palermo_ledger::entry::NewEntry;

use crate::federation::{InboxEffect, IncomingMessage, from_ms, parse_id, to_ms};
use crate::{AnyStore, Error, OutgoingMessage, PgStore, Result, SqliteStore};

/// Which way a query (and its hits) went, seen from this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HitDirection {
    /// This node asked a peer.
    Sent,
    /// A peer asked this node.
    Received,
}

impl HitDirection {
    /// `sent` or `received`.
    pub fn as_str(self) -> &'static str {
        match self {
            HitDirection::Sent => "sent",
            HitDirection::Received => "received",
        }
    }

    fn parse(text: &str) -> Result<HitDirection> {
        match text {
            "sent" => Ok(HitDirection::Sent),
            "received" => Ok(HitDirection::Received),
            other => Err(corrupt("hit direction", other)),
        }
    }
}

/// A peer this node answers (or no longer answers) hit/no-hit queries from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HitPeer {
    /// The peer node id.
    pub peer: String,
    /// Whether queries from it are answered.
    pub enabled: bool,
    /// Most queries per window (`None`: the node's default).
    pub max_queries: Option<u64>,
    /// Most encodings per window (`None`: the node's default).
    pub max_encodings: Option<u64>,
    /// The window in seconds (`None`: the node's default).
    pub window_secs: Option<u64>,
    /// When this setting was made.
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    /// Who made it (user or operator name).
    pub updated_by: String,
}

/// One stored set of encodings (one group key id).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HitEncodingSet {
    /// The group key id.
    pub key_id: String,
    /// Length of each encoding in bits.
    pub n_bits: u64,
    /// Hardening name.
    pub hardening: String,
    /// Encodings stored.
    pub records: u64,
}

/// The encodings of one set, in record id order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitEncodings {
    /// What the set is.
    pub set: HitEncodingSet,
    /// `(record id, encoding bytes)`.
    pub rows: Vec<(String, Vec<u8>)>,
}

/// A query sent or received.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HitQueryRecord {
    /// The query message id.
    pub id: Uuid,
    /// Which way it went.
    pub direction: HitDirection,
    /// The other node.
    pub peer: String,
    /// The requesting case id.
    pub case_id: String,
    /// The stated purpose.
    pub purpose: String,
    /// The legal basis claimed (`INSTRUMENT` or `INSTRUMENT:ARTICLE`).
    pub basis: String,
    /// The group key id of the encodings.
    pub key_id: String,
    /// Encodings in the batch.
    pub n_encodings: u64,
    /// When it was sent or received.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `pending` (sent, no answer yet), `answered` or `refused`.
    pub status: String,
    /// The refusal code, when refused.
    pub code: Option<String>,
    /// Encodings of the batch that got at least one hit.
    pub n_hits: u64,
    /// Sent queries: the local record behind each encoding (never sent). Empty for received ones.
    #[serde(skip)]
    pub record_ids: Vec<String>,
}

/// A hit, in either direction.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct HitRecord {
    /// Which way the query went.
    pub direction: HitDirection,
    /// The other node (the answering node for sent queries, the asking node for received ones).
    pub peer: String,
    /// The opaque hit reference (issued by the answering node).
    pub hit_ref: String,
    /// The query message id.
    pub query_id: Uuid,
    /// Position of the encoding in the query batch.
    pub query_index: u64,
    /// The requesting case id.
    pub case_id: String,
    /// The score band (`low`, `medium`, `high`).
    pub band: String,
    /// The Dice score (kept on the answering node only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Received: the matched records. Sent: the local record whose encoding hit.
    pub record_ids: Vec<String>,
    /// When it was stored.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// `open` until a follow-up request cites it (a later issue).
    pub status: String,
}

/// What a peer asked in a window, for quotas and probing detection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HitWindow {
    /// Queries answered.
    pub queries: u64,
    /// Encodings in them.
    pub encodings: u64,
    /// Encodings that got a hit.
    pub hits: u64,
}

/// The outcome of a sent query, as its answer settles it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HitSettlement {
    /// The sent query's id.
    pub id: Uuid,
    /// `answered` or `refused`.
    pub status: String,
    /// The refusal code, when refused.
    pub code: Option<String>,
    /// Encodings of the batch that got at least one hit.
    pub n_hits: u64,
}

/// What received hit messages write besides their inbox rows, each item
/// under the id of the message it comes from: committed with the inbox rows
/// by [`AnyStore::inbox_accept_recorded`], and only for messages that were
/// new (a redelivered message writes nothing twice).
#[derive(Clone, Debug, Default)]
pub struct InboxWrites {
    /// Queries received (answered or refused).
    pub queries: Vec<(Uuid, HitQueryRecord)>,
    /// Hits, received or sent.
    pub hits: Vec<(Uuid, HitRecord)>,
    /// Sent queries settled by received answers.
    pub settlements: Vec<(Uuid, HitSettlement)>,
    /// Ledger entries (the messages' `message-received` entries among them),
    /// appended in this order.
    pub entries: Vec<(Uuid, NewEntry)>,
}

/// The rows of `rows` that belong to a message in `new` (accepted as new by
/// the inbox), without their message ids, in their order.
fn of_new<T>(rows: Vec<(Uuid, T)>, new: &std::collections::HashSet<Uuid>) -> Vec<T> {
    rows.into_iter()
        .filter(|(id, _)| new.contains(id))
        .map(|(_, row)| row)
        .collect()
}

fn corrupt(what: &str, value: &str) -> Error {
    Error::Corrupt {
        what: what.to_owned(),
        reason: format!("unexpected value {value:?}"),
    }
}

/// `?` placeholders numbered `$1, $2…` for PostgreSQL.
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push('$');
            out.push_str(&n.to_string());
        } else {
            out.push(c);
        }
    }
    out
}

fn ids_text(ids: &[String]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".to_owned())
}

fn ids_parse(text: &str, what: &str) -> Result<Vec<String>> {
    serde_json::from_str(text).map_err(|err| Error::Corrupt {
        what: what.to_owned(),
        reason: err.to_string(),
    })
}

fn count(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(|v| i64::try_from(v).unwrap_or(i64::MAX))
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Rows per multi-row statement: 13 columns × 500 stays far below both
/// backends' limits on bound parameters (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 500;

/// `head VALUES (?, …), (?, …) tail` with `n_rows` tuples of `n_cols` placeholders.
fn values_sql(head: &str, n_cols: usize, n_rows: usize, tail: &str) -> String {
    let tuple = format!("({})", vec!["?"; n_cols].join(", "));
    let mut text = String::with_capacity(head.len() + tail.len() + n_rows * (tuple.len() + 2) + 8);
    text.push_str(head);
    text.push_str(" VALUES ");
    for row in 0..n_rows {
        if row > 0 {
            text.push_str(", ");
        }
        text.push_str(&tuple);
    }
    text.push(' ');
    text.push_str(tail);
    text
}

/// `?, ?, …` with `n` placeholders.
fn placeholders(n: usize) -> String {
    vec!["?"; n].join(", ")
}

/// Runs `$body` with `$pool` bound to the pool that the store's `$which`
/// method returns and `$sql` turning `?`-placeholder SQL into the backend's
/// form. The body is expanded once per backend, so it is type-checked
/// against both.
macro_rules! on_backend {
    ($store:expr, $which:ident, $pool:ident, $sql:ident => $body:expr) => {
        match $store {
            AnyStore::Sqlite(s) => {
                let $pool = s.$which();
                let $sql = |text: &str| sqlx::AssertSqlSafe(text.to_owned());
                $body
            }
            AnyStore::Postgres(s) => {
                let $pool = s.$which();
                let $sql = |text: &str| sqlx::AssertSqlSafe(numbered(text));
                $body
            }
        }
    };
}

/// [`on_backend!`] on the backend's (read) pool.
macro_rules! on_pool {
    ($store:expr, $pool:ident, $sql:ident => $body:expr) => {
        on_backend!($store, pool, $pool, $sql => $body)
    };
}

/// [`on_backend!`] for statements that write: SQLite's one write connection
/// (`SqliteStore::write_pool`), PostgreSQL's pool.
macro_rules! on_write_pool {
    ($store:expr, $pool:ident, $sql:ident => $body:expr) => {
        on_backend!($store, write_pool, $pool, $sql => $body)
    };
}

type PeerColumns = (
    String,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    i64,
    String,
);
const PEER_COLUMNS: &str =
    "peer, enabled, max_queries, max_encodings, window_secs, updated_at, updated_by";

fn peer_row(row: PeerColumns) -> Result<HitPeer> {
    let (peer, enabled, max_queries, max_encodings, window_secs, updated_at, updated_by) = row;
    Ok(HitPeer {
        peer,
        enabled: enabled != 0,
        max_queries: max_queries.map(count),
        max_encodings: max_encodings.map(count),
        window_secs: window_secs.map(count),
        updated_at: from_ms(updated_at, "hit_peers")?,
        updated_by,
    })
}

type QueryColumns = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    String,
    Option<String>,
    i64,
    String,
);
const QUERY_COLUMNS: &str = "id, direction, peer, case_id, purpose, basis, key_id, n_encodings, \
     at, status, code, n_hits, record_ids";

fn query_row(row: QueryColumns) -> Result<HitQueryRecord> {
    let (id, direction, peer, case_id, purpose, basis, key_id, n, at, status, code, n_hits, ids) =
        row;
    Ok(HitQueryRecord {
        id: parse_id(&id, "hit_queries")?,
        direction: HitDirection::parse(&direction)?,
        peer,
        case_id,
        purpose,
        basis,
        key_id,
        n_encodings: count(n),
        at: from_ms(at, "hit_queries")?,
        status,
        code,
        n_hits: count(n_hits),
        record_ids: ids_parse(&ids, "hit_queries record_ids")?,
    })
}

type HitColumns = (
    String,
    String,
    String,
    String,
    i64,
    String,
    String,
    Option<f64>,
    String,
    i64,
    String,
);
const HIT_COLUMNS: &str = "direction, peer, hit_ref, query_id, query_index, case_id, band, \
     score, record_ids, at, status";

fn hit_row(row: HitColumns) -> Result<HitRecord> {
    let (direction, peer, hit_ref, query_id, index, case_id, band, score, ids, at, status) = row;
    Ok(HitRecord {
        direction: HitDirection::parse(&direction)?,
        peer,
        hit_ref,
        query_id: parse_id(&query_id, "hits")?,
        query_index: count(index),
        case_id,
        band,
        score,
        record_ids: ids_parse(&ids, "hits record_ids")?,
        at: from_ms(at, "hits")?,
        status,
    })
}

/// Binds the columns of `$query` (a [`HitQueryRecord`]) to `$q`, in [`QUERY_COLUMNS`] order.
macro_rules! bind_query {
    ($q:expr, $query:expr) => {{
        let q: &HitQueryRecord = $query;
        $q.bind(q.id.to_string())
            .bind(q.direction.as_str())
            .bind(q.peer.clone())
            .bind(q.case_id.clone())
            .bind(q.purpose.clone())
            .bind(q.basis.clone())
            .bind(q.key_id.clone())
            .bind(to_i64(q.n_encodings))
            .bind(to_ms(q.at))
            .bind(q.status.clone())
            .bind(q.code.clone())
            .bind(to_i64(q.n_hits))
            .bind(ids_text(&q.record_ids))
    }};
}

/// Binds the columns of `$hit` (a [`HitRecord`]) to `$q`, in [`HIT_COLUMNS`] order.
macro_rules! bind_hit {
    ($q:expr, $hit:expr) => {{
        let hit: &HitRecord = $hit;
        $q.bind(hit.direction.as_str())
            .bind(hit.peer.clone())
            .bind(hit.hit_ref.clone())
            .bind(hit.query_id.to_string())
            .bind(to_i64(hit.query_index))
            .bind(hit.case_id.clone())
            .bind(hit.band.clone())
            .bind(hit.score)
            .bind(ids_text(&hit.record_ids))
            .bind(to_ms(hit.at))
            .bind(hit.status.clone())
    }};
}

/// Inserts `$query` (a [`HitQueryRecord`]) with `$sql` on `$exec`; evaluates to the rows inserted.
macro_rules! insert_query {
    ($exec:expr, $sql:expr, $query:expr) => {{
        bind_query!(sqlx::query($sql), $query)
            .execute($exec)
            .await?
            .rows_affected()
    }};
}

/// Inserts `$queries` (received or sent [`HitQueryRecord`]s) with `$sql`
/// turning `?`-SQL into the backend's, on `$exec`, several rows per
/// statement; evaluates to the `(direction, id)` of those that were new.
macro_rules! insert_queries {
    ($exec:expr, $sql:ident, $queries:expr) => {{
        let queries: &[HitQueryRecord] = $queries;
        let mut new = std::collections::HashSet::new();
        for chunk in queries.chunks(ROWS_PER_STATEMENT) {
            let text = values_sql(
                &format!("INSERT INTO hit_queries ({QUERY_COLUMNS})"),
                13,
                chunk.len(),
                "ON CONFLICT DO NOTHING RETURNING direction, id",
            );
            let mut q = sqlx::query_as::<_, (String, String)>($sql(&text));
            for query in chunk {
                q = bind_query!(q, query);
            }
            for (direction, id) in q.fetch_all(&mut *$exec).await? {
                new.insert((
                    HitDirection::parse(&direction)?,
                    parse_id(&id, "hit_queries")?,
                ));
            }
        }
        new
    }};
}

/// Inserts `$hits` with `$sql` on `$exec`, several rows per statement,
/// leaving any already stored as they are.
macro_rules! insert_hits {
    ($exec:expr, $sql:ident, $hits:expr) => {{
        let hits: &[&HitRecord] = $hits;
        for chunk in hits.chunks(ROWS_PER_STATEMENT) {
            let text = values_sql(
                &format!("INSERT INTO hits ({HIT_COLUMNS})"),
                11,
                chunk.len(),
                "ON CONFLICT DO NOTHING",
            );
            let mut q = sqlx::query($sql(&text));
            for hit in chunk {
                q = bind_hit!(q, hit);
            }
            q.execute(&mut *$exec).await?;
        }
    }};
}

/// Settles sent queries (`$settled`, [`HitSettlement`]s) with `$sql` on
/// `$exec`: one statement per chunk (both backends take `UPDATE … FROM` a
/// `VALUES` list named by a CTE).
macro_rules! settle {
    ($exec:expr, $sql:ident, $settled:expr) => {{
        let settled: &[HitSettlement] = $settled;
        for chunk in settled.chunks(ROWS_PER_STATEMENT) {
            let text = format!(
                "WITH v (id, status, code, n_hits) AS (VALUES {}) UPDATE hit_queries \
                 SET status = v.status, code = v.code, n_hits = v.n_hits FROM v \
                 WHERE hit_queries.direction = 'sent' AND hit_queries.id = v.id",
                vec!["(?, ?, ?, ?)"; chunk.len()].join(", ")
            );
            let mut q = sqlx::query($sql(&text));
            for s in chunk {
                q = q
                    .bind(s.id.to_string())
                    .bind(s.status.clone())
                    .bind(s.code.clone())
                    .bind(to_i64(s.n_hits));
            }
            q.execute(&mut *$exec).await?;
        }
    }};
}

const INSERT_QUERY: &str = "INSERT INTO hit_queries (id, direction, peer, case_id, purpose, \
     basis, key_id, n_encodings, at, status, code, n_hits, record_ids) \
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING";

impl AnyStore {
    /// Enables or disables answering `peer` (replacing its previous setting).
    pub async fn hit_peer_set(&self, setting: &HitPeer) -> Result<()> {
        on_write_pool!(self, pool, sql => {
            sqlx::query(sql(
                "INSERT INTO hit_peers (peer, enabled, max_queries, max_encodings, window_secs, \
                 updated_at, updated_by) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (peer) DO UPDATE \
                 SET enabled = excluded.enabled, max_queries = excluded.max_queries, \
                 max_encodings = excluded.max_encodings, window_secs = excluded.window_secs, \
                 updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            ))
            .bind(&setting.peer)
            .bind(i64::from(setting.enabled))
            .bind(opt_i64(setting.max_queries))
            .bind(opt_i64(setting.max_encodings))
            .bind(opt_i64(setting.window_secs))
            .bind(to_ms(setting.updated_at))
            .bind(&setting.updated_by)
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// The setting for `peer`, if any (no setting: not answered).
    pub async fn hit_peer(&self, peer: &str) -> Result<Option<HitPeer>> {
        let text = format!("SELECT {PEER_COLUMNS} FROM hit_peers WHERE peer = ?");
        on_pool!(self, pool, sql => {
            let row: Option<PeerColumns> = sqlx::query_as(sql(&text))
                .bind(peer)
                .fetch_optional(pool)
                .await?;
            row.map(peer_row).transpose()
        })
    }

    /// The setting for `peer` (as [`AnyStore::hit_peer`]) and the generation
    /// of the set stored under `key_id` (as [`AnyStore::hit_encoding_generation`]),
    /// read in one statement: a received POST of queries needs both, and
    /// each statement is a round trip to the store.
    pub async fn hit_peer_and_generation(
        &self,
        peer: &str,
        key_id: &str,
    ) -> Result<(Option<HitPeer>, Option<String>)> {
        let columns: Vec<String> = PEER_COLUMNS.split(", ").map(|c| format!("p.{c}")).collect();
        // The generation's placeholder comes first in the text, so it is bound first.
        let text = format!(
            "SELECT {}, (SELECT generation FROM hit_encoding_sets WHERE key_id = ? AND records > 0) \
             FROM (SELECT 1 AS one) o LEFT JOIN hit_peers p ON p.peer = ?",
            columns.join(", ")
        );
        type Row = (
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        on_pool!(self, pool, sql => {
            let row: Row = sqlx::query_as(sql(&text))
                .bind(key_id)
                .bind(peer)
                .fetch_one(pool)
                .await?;
            let (peer, enabled, max_queries, max_encodings, window_secs, updated_at, updated_by, generation) =
                row;
            let setting = match (peer, enabled, updated_at, updated_by) {
                (Some(peer), Some(enabled), Some(updated_at), Some(updated_by)) => Some(peer_row((
                    peer,
                    enabled,
                    max_queries,
                    max_encodings,
                    window_secs,
                    updated_at,
                    updated_by,
                ))?),
                _ => None,
            };
            Ok((setting, generation))
        })
    }

    /// Every peer setting, by peer id.
    pub async fn hit_peers(&self) -> Result<Vec<HitPeer>> {
        let text = format!("SELECT {PEER_COLUMNS} FROM hit_peers ORDER BY peer");
        on_pool!(self, pool, sql => {
            let rows: Vec<PeerColumns> = sqlx::query_as(sql(&text)).fetch_all(pool).await?;
            rows.into_iter().map(peer_row).collect()
        })
    }

    /// Replaces the encodings stored for `set.key_id` with `rows` in one
    /// transaction; returns how many are stored.
    pub async fn hit_encodings_replace(
        &self,
        set: &HitEncodingSet,
        rows: &[(String, Vec<u8>)],
    ) -> Result<u64> {
        on_write_pool!(self, pool, sql => {
            let mut tx = pool.begin().await?;
            sqlx::query(sql("DELETE FROM hit_encodings WHERE key_id = ?"))
                .bind(&set.key_id)
                .execute(&mut *tx)
                .await?;
            // Several rows per statement: a statement per encoding made a
            // set of millions a round trip to the store per person.
            let mut n = 0;
            for chunk in rows.chunks(ROWS_PER_STATEMENT) {
                let text = values_sql(
                    "INSERT INTO hit_encodings (key_id, record_id, n_bits, hardening, clk)",
                    5,
                    chunk.len(),
                    "ON CONFLICT DO NOTHING",
                );
                let mut q = sqlx::query(sql(&text));
                for (record_id, clk) in chunk {
                    q = q
                        .bind(set.key_id.clone())
                        .bind(record_id.clone())
                        .bind(to_i64(set.n_bits))
                        .bind(set.hardening.clone())
                        .bind(clk.clone());
                }
                n += q.execute(&mut *tx).await?.rows_affected();
            }
            sqlx::query(sql(
                "INSERT INTO hit_encoding_sets (key_id, n_bits, hardening, records, generation, \
                 replaced_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key_id) DO UPDATE SET \
                 n_bits = excluded.n_bits, hardening = excluded.hardening, \
                 records = excluded.records, generation = excluded.generation, \
                 replaced_at = excluded.replaced_at",
            ))
            .bind(&set.key_id)
            .bind(to_i64(set.n_bits))
            .bind(&set.hardening)
            .bind(to_i64(n))
            .bind(Uuid::now_v7().to_string())
            .bind(to_ms(OffsetDateTime::now_utc()))
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(n)
        })
    }

    /// The generation of the set stored under `key_id` (changes on every
    /// replace), or `None` when there is none.
    pub async fn hit_encoding_generation(&self, key_id: &str) -> Result<Option<String>> {
        on_pool!(self, pool, sql => {
            let row: Option<(String,)> = sqlx::query_as(sql(
                "SELECT generation FROM hit_encoding_sets WHERE key_id = ? AND records > 0",
            ))
            .bind(key_id)
            .fetch_optional(pool)
            .await?;
            Ok(row.map(|(g,)| g))
        })
    }

    /// The stored encoding sets.
    pub async fn hit_encoding_sets(&self) -> Result<Vec<HitEncodingSet>> {
        on_pool!(self, pool, sql => {
            let rows: Vec<(String, i64, String, i64)> = sqlx::query_as(sql(
                "SELECT key_id, n_bits, hardening, records FROM hit_encoding_sets \
                 WHERE records > 0 ORDER BY key_id",
            ))
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(key_id, n_bits, hardening, n)| HitEncodingSet {
                    key_id,
                    n_bits: count(n_bits),
                    hardening,
                    records: count(n),
                })
                .collect())
        })
    }

    /// The encodings stored under `key_id`, or `None` when there are none.
    pub async fn hit_encodings(&self, key_id: &str) -> Result<Option<HitEncodings>> {
        on_pool!(self, pool, sql => {
            let rows: Vec<(String, i64, String, Vec<u8>)> = sqlx::query_as(sql(
                "SELECT record_id, n_bits, hardening, clk FROM hit_encodings WHERE key_id = ? \
                 ORDER BY record_id",
            ))
            .bind(key_id)
            .fetch_all(pool)
            .await?;
            let Some((_, n_bits, hardening, _)) = rows.first() else {
                return Ok(None);
            };
            let set = HitEncodingSet {
                key_id: key_id.to_owned(),
                n_bits: count(*n_bits),
                hardening: hardening.clone(),
                records: rows.len() as u64,
            };
            Ok(Some(HitEncodings {
                set,
                rows: rows.into_iter().map(|(id, _, _, clk)| (id, clk)).collect(),
            }))
        })
    }

    /// Records a sent query and enqueues its message in one transaction.
    pub async fn hit_query_send(
        &self,
        query: &HitQueryRecord,
        message: &OutgoingMessage,
    ) -> Result<()> {
        self.hit_queries_send(std::slice::from_ref(query), std::slice::from_ref(message))
            .await
    }

    /// Records sent queries and enqueues their messages, all in one
    /// transaction (a node sending many queries at once commits them
    /// together). A query or message whose id is stored already is left as it is.
    pub async fn hit_queries_send(
        &self,
        queries: &[HitQueryRecord],
        messages: &[OutgoingMessage],
    ) -> Result<()> {
        if queries.is_empty() && messages.is_empty() {
            return Ok(());
        }
        match self {
            AnyStore::Sqlite(s) => {
                let sql = |text: &str| sqlx::AssertSqlSafe(text.to_owned());
                let mut tx = s.write_pool().begin_with("BEGIN IMMEDIATE").await?;
                insert_queries!(tx, sql, queries);
                SqliteStore::outbox_enqueue_in(&mut tx, messages).await?;
                tx.commit().await?;
            }
            AnyStore::Postgres(s) => {
                let sql = |text: &str| sqlx::AssertSqlSafe(numbered(text));
                let mut tx = s.pool().begin().await?;
                insert_queries!(tx, sql, queries);
                PgStore::outbox_enqueue_in(&mut tx, messages).await?;
                tx.commit().await?;
            }
        }
        Ok(())
    }

    /// Records a query (sent or received) unless one with its direction and id
    /// is stored; returns whether it was new.
    pub async fn hit_query_record(&self, query: &HitQueryRecord) -> Result<bool> {
        on_write_pool!(self, pool, sql => {
            let n = insert_query!(pool, sql(INSERT_QUERY), query);
            Ok(n > 0)
        })
    }

    /// Sets the outcome of a stored query.
    pub async fn hit_query_settle(
        &self,
        direction: HitDirection,
        id: Uuid,
        status: &str,
        code: Option<&str>,
        n_hits: u64,
    ) -> Result<()> {
        on_write_pool!(self, pool, sql => {
            sqlx::query(sql(
                "UPDATE hit_queries SET status = ?, code = ?, n_hits = ? \
                 WHERE direction = ? AND id = ?",
            ))
            .bind(status)
            .bind(code)
            .bind(to_i64(n_hits))
            .bind(direction.as_str())
            .bind(id.to_string())
            .execute(pool)
            .await?;
            Ok(())
        })
    }

    /// One stored query.
    pub async fn hit_query(
        &self,
        direction: HitDirection,
        id: Uuid,
    ) -> Result<Option<HitQueryRecord>> {
        let text =
            format!("SELECT {QUERY_COLUMNS} FROM hit_queries WHERE direction = ? AND id = ?");
        on_pool!(self, pool, sql => {
            let row: Option<QueryColumns> = sqlx::query_as(sql(&text))
                .bind(direction.as_str())
                .bind(id.to_string())
                .fetch_optional(pool)
                .await?;
            row.map(query_row).transpose()
        })
    }

    /// The latest `limit` queries, newest first.
    pub async fn hit_queries(&self, limit: u32) -> Result<Vec<HitQueryRecord>> {
        let text =
            format!("SELECT {QUERY_COLUMNS} FROM hit_queries ORDER BY at DESC, id DESC LIMIT ?");
        on_pool!(self, pool, sql => {
            let rows: Vec<QueryColumns> = sqlx::query_as(sql(&text))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.into_iter().map(query_row).collect()
        })
    }

    /// What `peer` asked this node since `since` (answered queries only).
    pub async fn hit_window(&self, peer: &str, since: OffsetDateTime) -> Result<HitWindow> {
        on_pool!(self, pool, sql => {
            let row: (i64, Option<i64>, Option<i64>) = sqlx::query_as(sql(
                "SELECT count(*), CAST(sum(n_encodings) AS BIGINT), CAST(sum(n_hits) AS BIGINT) \
                 FROM hit_queries WHERE direction = 'received' AND peer = ? AND at >= ? \
                 AND status = 'answered'",
            ))
            .bind(peer)
            .bind(to_ms(since))
            .fetch_one(pool)
            .await?;
            Ok(HitWindow {
                queries: count(row.0),
                encodings: count(row.1.unwrap_or(0)),
                hits: count(row.2.unwrap_or(0)),
            })
        })
    }

    /// Stored queries of one direction with the given ids (those that exist, in no particular order).
    pub async fn hit_queries_by_id(
        &self,
        direction: HitDirection,
        ids: &[Uuid],
    ) -> Result<Vec<HitQueryRecord>> {
        let mut found = Vec::with_capacity(ids.len());
        // One statement per chunk rather than one per id: each is a round
        // trip to the store, and a batch holds hundreds of queries under load.
        for chunk in ids.chunks(ROWS_PER_STATEMENT) {
            let text = format!(
                "SELECT {QUERY_COLUMNS} FROM hit_queries WHERE direction = ? AND id IN ({})",
                placeholders(chunk.len())
            );
            on_pool!(self, pool, sql => {
                let mut q = sqlx::query_as::<_, QueryColumns>(sql(&text)).bind(direction.as_str());
                for id in chunk {
                    q = q.bind(id.to_string());
                }
                for row in q.fetch_all(pool).await? {
                    found.push(query_row(row)?);
                }
            });
        }
        Ok(found)
    }

    /// Records queries (received ones as answered or refused) and the hits
    /// of those that are new, in one transaction; returns, per query, whether
    /// it was new. A node answering many queries at once commits them
    /// together instead of paying a transaction per query and per table.
    /// Hits of a query that was stored before are not inserted: a redelivered
    /// query keeps the references it was first answered with.
    pub async fn hit_queries_record(
        &self,
        queries: &[HitQueryRecord],
        hits: &[HitRecord],
    ) -> Result<Vec<bool>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        on_write_pool!(self, pool, sql => {
            let mut tx = pool.begin().await?;
            let new_ids = insert_queries!(tx, sql, queries);
            let new_hits: Vec<&HitRecord> = hits
                .iter()
                .filter(|h| new_ids.contains(&(h.direction, h.query_id)))
                .collect();
            insert_hits!(tx, sql, &new_hits);
            tx.commit().await?;
            // A query twice in `queries` was new only the first time.
            let mut seen = std::collections::HashSet::new();
            Ok(queries
                .iter()
                .map(|q| new_ids.contains(&(q.direction, q.id)) && seen.insert((q.direction, q.id)))
                .collect())
        })
    }

    /// Stores the hits answered to sent queries and settles those queries,
    /// in one transaction (so a settled query always has its hits stored).
    pub async fn hit_answers_store(
        &self,
        settled: &[HitSettlement],
        hits: &[HitRecord],
    ) -> Result<()> {
        let hits: Vec<&HitRecord> = hits.iter().collect();
        on_write_pool!(self, pool, sql => {
            let mut tx = pool.begin().await?;
            insert_hits!(tx, sql, &hits);
            settle!(tx, sql, settled);
            tx.commit().await?;
            Ok(())
        })
    }

    /// Stores each message of `batch` whose id is new with its effect (as
    /// [`crate::FederationStore::inbox_accept`]) and, for those messages only,
    /// their `writes`: query rows, hits, settlements, and the ledger entries
    /// appended (signed with `key`) — all in one transaction, so that a
    /// received message, what it changed and its ledger record commit
    /// together or not at all. The inbox rows are stored as recorded on the
    /// ledger: `writes.entries` must hold each message's `message-received`
    /// entry. Returns the ids that were new, in batch order.
    pub async fn inbox_accept_recorded(
        &self,
        batch: Vec<(IncomingMessage, InboxEffect)>,
        writes: InboxWrites,
        key: &NodeKey,
    ) -> Result<Vec<Uuid>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let InboxWrites {
            queries,
            hits,
            settlements,
            entries,
        } = writes;
        match self {
            AnyStore::Sqlite(s) => {
                let sql = |text: &str| sqlx::AssertSqlSafe(text.to_owned());
                // IMMEDIATE: the write lock decides "is it new?" and keeps the ledger's tip.
                let mut tx = s.write_pool().begin_with("BEGIN IMMEDIATE").await?;
                let accepted = SqliteStore::inbox_accept_in(&mut tx, batch, true).await?;
                let new: std::collections::HashSet<Uuid> = accepted.iter().copied().collect();
                let queries = of_new(queries, &new);
                let hits = of_new(hits, &new);
                let settlements = of_new(settlements, &new);
                let entries = of_new(entries, &new);
                insert_queries!(tx, sql, &queries);
                let hits: Vec<&HitRecord> = hits.iter().collect();
                insert_hits!(tx, sql, &hits);
                settle!(tx, sql, &settlements);
                if !entries.is_empty() {
                    crate::ledger::sqlite::append_in(s, &mut tx, entries, key).await?;
                }
                tx.commit().await?;
                Ok(accepted)
            }
            AnyStore::Postgres(s) => {
                let sql = |text: &str| sqlx::AssertSqlSafe(numbered(text));
                let mut tx = s.pool().begin().await?;
                // The append lock first: taken after the inbox rows' locks, two
                // POSTs of the same message could wait on each other.
                crate::ledger::postgres::lock_appends(&mut tx).await?;
                let accepted = PgStore::inbox_accept_in(&mut tx, batch, true).await?;
                let new: std::collections::HashSet<Uuid> = accepted.iter().copied().collect();
                let queries = of_new(queries, &new);
                let hits = of_new(hits, &new);
                let settlements = of_new(settlements, &new);
                let entries = of_new(entries, &new);
                insert_queries!(tx, sql, &queries);
                let hits: Vec<&HitRecord> = hits.iter().collect();
                insert_hits!(tx, sql, &hits);
                settle!(tx, sql, &settlements);
                if !entries.is_empty() {
                    crate::ledger::postgres::append_in(&mut tx, entries, key).await?;
                }
                tx.commit().await?;
                Ok(accepted)
            }
        }
    }

    /// What `peer` asked this node since `since` (answered queries only), per
    /// second: `(unix second, window)`, oldest first. A node loads this once
    /// and then keeps the window in memory as it answers.
    pub async fn hit_window_seconds(
        &self,
        peer: &str,
        since: OffsetDateTime,
    ) -> Result<Vec<(i64, HitWindow)>> {
        on_pool!(self, pool, sql => {
            let rows: Vec<(i64, i64, Option<i64>, Option<i64>)> = sqlx::query_as(sql(
                "SELECT at / 1000, count(*), CAST(sum(n_encodings) AS BIGINT), \
                 CAST(sum(n_hits) AS BIGINT) FROM hit_queries WHERE direction = 'received' \
                 AND peer = ? AND at >= ? AND status = 'answered' GROUP BY at / 1000 \
                 ORDER BY at / 1000",
            ))
            .bind(peer)
            .bind(to_ms(since))
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(second, n, encodings, hits)| {
                    (
                        second,
                        HitWindow {
                            queries: count(n),
                            encodings: count(encodings.unwrap_or(0)),
                            hits: count(hits.unwrap_or(0)),
                        },
                    )
                })
                .collect())
        })
    }

    /// Stores hits, leaving any already stored (same direction, peer and reference) as they are.
    pub async fn hits_insert(&self, hits: &[HitRecord]) -> Result<()> {
        let hits: Vec<&HitRecord> = hits.iter().collect();
        on_write_pool!(self, pool, sql => {
            let mut tx = pool.begin().await?;
            insert_hits!(tx, sql, &hits);
            tx.commit().await?;
            Ok(())
        })
    }

    /// The hits stored for one query, by position then reference.
    pub async fn hits_for_query(
        &self,
        direction: HitDirection,
        query_id: Uuid,
    ) -> Result<Vec<HitRecord>> {
        let text = format!(
            "SELECT {HIT_COLUMNS} FROM hits WHERE direction = ? AND query_id = ? \
             ORDER BY query_index, hit_ref"
        );
        on_pool!(self, pool, sql => {
            let rows: Vec<HitColumns> = sqlx::query_as(sql(&text))
                .bind(direction.as_str())
                .bind(query_id.to_string())
                .fetch_all(pool)
                .await?;
            rows.into_iter().map(hit_row).collect()
        })
    }

    /// The latest `limit` hits (of one direction, or both), newest first.
    pub async fn hits_list(
        &self,
        direction: Option<HitDirection>,
        limit: u32,
    ) -> Result<Vec<HitRecord>> {
        let text = format!(
            "SELECT {HIT_COLUMNS} FROM hits WHERE (? = '' OR direction = ?) \
             ORDER BY at DESC, hit_ref DESC LIMIT ?"
        );
        let direction = direction.map(HitDirection::as_str).unwrap_or("");
        on_pool!(self, pool, sql => {
            let rows: Vec<HitColumns> = sqlx::query_as(sql(&text))
                .bind(direction)
                .bind(direction)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await?;
            rows.into_iter().map(hit_row).collect()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{numbered, placeholders, values_sql};

    #[test]
    fn placeholders_are_numbered_for_postgres() {
        assert_eq!(numbered("a = ? AND b = ?"), "a = $1 AND b = $2");
        assert_eq!(numbered("no placeholders"), "no placeholders");
    }

    #[test]
    fn multi_row_statements_have_one_tuple_per_row() {
        assert_eq!(
            values_sql("INSERT INTO t (a, b)", 2, 3, "ON CONFLICT DO NOTHING"),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?), (?, ?) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            numbered(&values_sql("INSERT INTO t (a)", 1, 2, "")),
            "INSERT INTO t (a) VALUES ($1), ($2) "
        );
        assert_eq!(placeholders(3), "?, ?, ?");
    }
}
