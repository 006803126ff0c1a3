//! The PostgreSQL backend (the production store).
//!
//! Imports reserve sequence numbers and stream each chunk's rows with
//! `COPY` behind a savepoint; a chunk with an id stored before rolls back
//! to it and is checked id by id (identical content is unchanged, anything
//! else a conflict). Lookup keys are collected and copied in key order at
//! commit. The whole file stays in one transaction.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use futures_util::TryStreamExt;
use palermo_model::Entity;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{Postgres, Row, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::group_by;
use crate::row::{EntityRow, MarkingsCache, RowEncoder, StoredRow, dedupe_chunk, origin};
use crate::spill::KeySpill;
use crate::{
    Backend, BatchMeta, BatchRecord, Error, ImportTx, InsertCounts, Result, Stats, Store,
    stats_from,
};

/// The columns of [`StoredRow`], joined with the entity's batch (read back
/// by position in `stored_row`: keep the order).
macro_rules! select_stored {
    () => {
        "SELECT e.id, e.schema, e.properties::text AS properties, \
            e.markings::text AS markings, e.role, e.batch_id, e.record, b.source_file, b.imported_by, \
            b.started_at FROM entities e JOIN import_batches b ON b.id = e.batch_id"
    };
}

/// A store in a PostgreSQL database (optionally in its own schema).
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` and runs pending migrations.
    ///
    /// A `schema=NAME` query parameter (letters, digits, `_`) keeps this
    /// node's tables in their own PostgreSQL schema, created if missing, so
    /// several nodes or test runs can share one database.
    pub async fn connect(url: &str) -> Result<PgStore> {
        let (base_url, schema) = split_schema(url)?;
        let options = PgConnectOptions::from_str(&base_url).map_err(|err| Error::InvalidUrl {
            url: redact(url),
            reason: err.to_string(),
        })?;
        let options = match &schema {
            Some(schema) => {
                let setup = PgPoolOptions::new()
                    .max_connections(1)
                    .connect_with(options.clone())
                    .await?;
                // `split_schema` allows only [a-z0-9_] in the name, so quoting is safe.
                let create = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
                sqlx::query(sqlx::AssertSqlSafe(create))
                    .execute(&setup)
                    .await?;
                setup.close().await;
                options.options([("search_path", schema.as_str())])
            }
            None => options,
        };
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        Ok(PgStore { pool })
    }

    /// The connection pool, for modules of this crate that add their own tables.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool writes go through: the same pool (PostgreSQL's writers do
    /// not exclude each other; SQLite's one write connection is
    /// `SqliteStore::write_pool`), so that SQL written once for both
    /// backends can say which of its statements write.
    pub fn write_pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes the store's connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The stored entities among `ids`, in store order, in one query per
    /// 10,000 ids (missing ids are left out).
    pub async fn get_many(&self, ids: &[&str]) -> Result<Vec<Entity>> {
        let mut entities = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(10_000) {
            let rows = sqlx::query(concat!(
                select_stored!(),
                " WHERE e.id = ANY($1) ORDER BY e.seq"
            ))
            .bind(chunk)
            .fetch_all(&self.pool)
            .await?;
            for row in rows {
                entities.push(stored_row(&row)?.into_entity()?);
            }
        }
        Ok(entities)
    }
}

/// The `COPY` of entity rows.
const COPY_ENTITIES: &str = "COPY entities (seq, id, schema, caption, properties, markings, tlp, \
    role, batch_id, record, content_hash) FROM STDIN";

/// Rows encoded and sent per part of a chunk's `COPY` (about 400 KB).
const COPY_PART: usize = 1_000;

/// An open PostgreSQL import transaction.
pub struct PgImport<'a> {
    tx: Transaction<'static, Postgres>,
    batch_id: Uuid,
    /// The batch id as stored in every row.
    batch: String,
    /// The sequence behind `entities.seq`, looked up once: naming it in the
    /// reserving query cost a catalog lookup per number, about a seventh of
    /// the server's time in an import.
    seq_sequence: Oid,
    encoder: RowEncoder,
    /// Lookup keys of the new rows, copied into `entity_keys` in key order
    /// at commit: millions of inserts at random places in an index larger
    /// than the buffer cache are what made imports slow; sorted ones fill
    /// one page after another.
    keys: KeySpill,
    _store: &'a PgStore,
}

impl Store for PgStore {
    type Import<'a> = PgImport<'a>;

    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn begin_import(&self, batch: &BatchMeta) -> Result<PgImport<'_>> {
        let mut tx = self.pool.begin().await?;
        // The import still commits atomically; its commit just does not wait
        // for the WAL flush. A crash right after it can lose the whole batch,
        // never part of it, and not behind the ledger's back: the ledger's
        // `import-batch` entry commits later, and flushing its commit record
        // flushes the WAL up to it, including this commit.
        sqlx::query("SET LOCAL synchronous_commit = off")
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO import_batches (id, source_file, input_format, imported_by, started_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(batch.id.to_string())
        .bind(&batch.source_file)
        .bind(&batch.input_format)
        .bind(&batch.imported_by)
        .bind(batch.started_at)
        .execute(&mut *tx)
        .await?;
        let seq_sequence: Oid =
            sqlx::query_scalar("SELECT pg_get_serial_sequence('entities', 'seq')::regclass::oid")
                .fetch_one(&mut *tx)
                .await?;
        Ok(PgImport {
            tx,
            batch_id: batch.id,
            batch: batch.id.to_string(),
            seq_sequence,
            encoder: RowEncoder::default(),
            keys: KeySpill::new(),
            _store: self,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Entity>> {
        let row = sqlx::query(concat!(select_stored!(), " WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| stored_row(&row)?.into_entity()).transpose()
    }

    async fn find_by_key(&self, key: &str) -> Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT e.id FROM entity_keys k CROSS JOIN LATERAL unnest(k.seqs) AS s (seq) \
             JOIN entities e ON e.seq = s.seq WHERE k.key_hash = $1 ORDER BY e.seq",
        )
        .bind(crate::key_hash(key))
        .fetch_all(&self.pool)
        .await?;
        Ok(ids)
    }

    async fn stats(&self) -> Result<Stats> {
        let total: i64 = sqlx::query_scalar("SELECT count(*) FROM entities")
            .fetch_one(&self.pool)
            .await?;
        let batches: i64 =
            sqlx::query_scalar("SELECT count(*) FROM import_batches WHERE finished_at IS NOT NULL")
                .fetch_one(&self.pool)
                .await?;
        let by_schema = sqlx::query_as(group_by!("schema"))
            .fetch_all(&self.pool)
            .await?;
        let by_tlp = sqlx::query_as(group_by!("tlp"))
            .fetch_all(&self.pool)
            .await?;
        let by_role = sqlx::query_as(group_by!("role"))
            .fetch_all(&self.pool)
            .await?;
        Ok(stats_from(total, batches, by_schema, by_tlp, by_role))
    }

    async fn batches(&self) -> Result<Vec<BatchRecord>> {
        let rows = sqlx::query(
            "SELECT id, source_file, input_format, imported_by, started_at, n_records, n_new, \
             n_unchanged FROM import_batches WHERE finished_at IS NOT NULL ORDER BY started_at, id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("id")?;
                Ok(BatchRecord {
                    id: Uuid::parse_str(&id).map_err(|err| Error::Corrupt {
                        what: "import batch id".to_owned(),
                        reason: format!("{id:?}: {err}"),
                    })?,
                    source_file: row.try_get("source_file")?,
                    input_format: row.try_get("input_format")?,
                    imported_by: row.try_get("imported_by")?,
                    started_at: row.try_get("started_at")?,
                    n_records: row.try_get::<i64, _>("n_records")? as u64,
                    n_new: row.try_get::<i64, _>("n_new")? as u64,
                    n_unchanged: row.try_get::<i64, _>("n_unchanged")? as u64,
                })
            })
            .collect()
    }

    async fn export<F>(&self, mut sink: F) -> Result<u64>
    where
        F: FnMut(Entity) -> Result<()> + Send,
    {
        let mut rows = sqlx::query(concat!(select_stored!(), " ORDER BY e.seq")).fetch(&self.pool);
        let mut n = 0;
        let mut markings = MarkingsCache::default();
        while let Some(row) = rows.try_next().await? {
            sink(stored_row(&row)?.into_entity_cached(&mut markings)?)?;
            n += 1;
        }
        Ok(n)
    }
}

impl ImportTx for PgImport<'_> {
    async fn insert(&mut self, entities: &[Entity]) -> Result<InsertCounts> {
        if entities.is_empty() {
            return Ok(InsertCounts::default());
        }
        if has_repeated_ids(entities) {
            return self.insert_checked(entities).await;
        }
        // Usually no id of a chunk is stored yet, and asking for every id
        // first cost a tenth of the import. So the chunk is copied straight
        // in behind a savepoint; only a unique violation (an id stored
        // before) rolls back to it and takes the checking path.
        let seqs = self.reserve_seqs(entities.len()).await?;
        sqlx::query("SAVEPOINT import_chunk")
            .execute(&mut *self.tx)
            .await?;
        match self.copy_streamed(entities, &seqs).await {
            Ok(rows) => {
                sqlx::query("RELEASE SAVEPOINT import_chunk")
                    .execute(&mut *self.tx)
                    .await?;
                self.stage_keys(&rows, &seqs)?;
                Ok(InsertCounts {
                    new: rows.len() as u64,
                    unchanged: 0,
                })
            }
            Err(Error::Database(sqlx::Error::Database(err)))
                if err.kind() == sqlx::error::ErrorKind::UniqueViolation =>
            {
                sqlx::query("ROLLBACK TO SAVEPOINT import_chunk")
                    .execute(&mut *self.tx)
                    .await?;
                self.insert_checked(entities).await
            }
            Err(err) => Err(err),
        }
    }

    async fn commit(mut self, n_records: u64, counts: InsertCounts) -> Result<()> {
        sqlx::query(
            "UPDATE import_batches SET finished_at = now(), n_records = $1, n_new = $2, \
             n_unchanged = $3 WHERE id = $4",
        )
        .bind(n_records as i64)
        .bind(counts.new as i64)
        .bind(counts.unchanged as i64)
        .bind(self.batch_id.to_string())
        .execute(&mut *self.tx)
        .await?;
        let mut sorted = std::mem::replace(&mut self.keys, KeySpill::new()).finish()?;
        while let Some(run) = sorted.next_run()? {
            if run.is_empty() {
                continue;
            }
            let mut copy = self
                .tx
                .copy_in_raw("COPY entity_keys (key_hash, seqs) FROM STDIN")
                .await?;
            copy.send(grouped_keys_text(&run).into_bytes()).await?;
            copy.finish().await?;
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl PgImport<'_> {
    /// Copies `entities` (no id repeated) with sequence numbers `seqs` in one
    /// `COPY`, encoding and sending [`COPY_PART`] rows at a time so that the
    /// server works on one part while the next is encoded; returns the rows.
    async fn copy_streamed(&mut self, entities: &[Entity], seqs: &[i64]) -> Result<Vec<EntityRow>> {
        let mut rows = Vec::with_capacity(entities.len());
        let mut copy = self.tx.copy_in_raw(COPY_ENTITIES).await?;
        for (part, part_seqs) in entities.chunks(COPY_PART).zip(seqs.chunks(COPY_PART)) {
            let part_rows: Vec<EntityRow> = part.iter().map(|e| self.encoder.row(e)).collect();
            let data = copy_text(&self.batch, &part_rows, part_seqs);
            copy.send(data.into_bytes()).await?;
            rows.extend(part_rows);
        }
        copy.finish().await?;
        Ok(rows)
    }

    /// Inserts a chunk that repeats an id or holds ids stored before: rows
    /// are deduplicated within the chunk and against the store (identical
    /// content is unchanged, anything else a conflict), then copied.
    async fn insert_checked(&mut self, entities: &[Entity]) -> Result<InsertCounts> {
        let mut counts = InsertCounts::default();
        let rows: Vec<EntityRow> = entities.iter().map(|e| self.encoder.row(e)).collect();
        let rows = dedupe_chunk(rows, &mut counts)?;
        let rows = self.drop_stored(rows, &mut counts).await?;
        if rows.is_empty() {
            return Ok(counts);
        }
        let seqs = self.reserve_seqs(rows.len()).await?;
        let data = copy_text(&self.batch, &rows, &seqs);
        let mut copy = self.tx.copy_in_raw(COPY_ENTITIES).await?;
        copy.send(data.into_bytes()).await?;
        copy.finish().await?;
        self.stage_keys(&rows, &seqs)?;
        counts.new += rows.len() as u64;
        Ok(counts)
    }

    /// Sequence numbers for `n` new rows, so keys can be written without
    /// reading the rows back; fetched as one array rather than `n` rows.
    async fn reserve_seqs(&mut self, n: usize) -> Result<Vec<i64>> {
        let seqs: Vec<i64> = sqlx::query_scalar(
            "SELECT array_agg(nextval($1::regclass)) FROM generate_series(1, $2)",
        )
        .bind(self.seq_sequence)
        .bind(n as i64)
        .fetch_one(&mut *self.tx)
        .await?;
        if seqs.len() != n {
            return Err(Error::Corrupt {
                what: "entities sequence".to_owned(),
                reason: format!("asked for {n} numbers, got {}", seqs.len()),
            });
        }
        Ok(seqs)
    }

    /// Keeps the keys of rows just written for the commit.
    fn stage_keys(&mut self, rows: &[EntityRow], seqs: &[i64]) -> Result<()> {
        for (row, seq) in rows.iter().zip(seqs) {
            for key in &row.keys {
                self.keys.push(*key, *seq)?;
            }
        }
        Ok(())
    }

    /// Drops rows whose id is already stored: identical content counts as
    /// unchanged, anything else is a conflict.
    async fn drop_stored(
        &mut self,
        mut rows: Vec<EntityRow>,
        counts: &mut InsertCounts,
    ) -> Result<Vec<EntityRow>> {
        let ids: Vec<&str> = rows.iter().map(|row| &*row.id).collect();
        let stored: Vec<(String, String, i64, String)> = sqlx::query_as(
            "SELECT e.id, encode(e.content_hash, 'hex'), e.record, b.source_file FROM entities e \
             JOIN import_batches b ON b.id = e.batch_id WHERE e.id = ANY($1)",
        )
        .bind(&ids)
        .fetch_all(&mut *self.tx)
        .await?;
        let stored: HashMap<String, (String, i64, String)> = stored
            .into_iter()
            .map(|(id, hash, record, file)| (id, (hash, record, file)))
            .collect();
        for row in &rows {
            if let Some((hash, record, file)) = stored.get(&*row.id)
                && **hash != *row.content_hash
            {
                return Err(Error::Conflict {
                    id: row.id.to_string(),
                    existing: origin(file, *record),
                });
            }
        }
        let before = rows.len();
        rows.retain(|row| !stored.contains_key(&*row.id));
        counts.unchanged += (before - rows.len()) as u64;
        Ok(rows)
    }
}

/// The rows in COPY text format, every one in import batch `batch`.
fn copy_text(batch: &str, rows: &[EntityRow], seqs: &[i64]) -> String {
    let mut data = String::with_capacity(rows.len() * 512);
    for (row, seq) in rows.iter().zip(seqs) {
        let _ = write!(data, "{seq}\t");
        let fields = [
            Some(&*row.id),
            Some(row.schema),
            Some(row.caption.as_str()),
            Some(row.properties.as_str()),
            Some(&*row.markings),
            Some(row.tlp),
            row.role,
            Some(batch),
        ];
        for field in fields {
            push_copy_field(&mut data, field);
            data.push('\t');
        }
        // `content_hash` is BYTEA: COPY's text form of it is `\x` and the
        // hex digits, with the backslash escaped.
        let _ = writeln!(data, "{}\t\\\\x{}", row.record, row.content_hash);
    }
    data
}

/// Sequence numbers per `entity_keys` row (migration 0004): 1.6 KB, below
/// the size at which PostgreSQL moves a row out of line.
const SEQS_PER_KEY_ROW: usize = 200;

/// `(key_hash, seq)` pairs sorted by key, then sequence number, in COPY text
/// format for `entity_keys (key_hash, seqs)`: one row per key and run of up
/// to [`SEQS_PER_KEY_ROW`] numbers, so a key shared by many records costs
/// the server a few rows and index entries, not one per record.
fn grouped_keys_text(pairs: &[(i64, i64)]) -> String {
    let mut data = String::with_capacity(pairs.len() * 12);
    for same_key in pairs.chunk_by(|a, b| a.0 == b.0) {
        for group in same_key.chunks(SEQS_PER_KEY_ROW) {
            let Some(&(key, _)) = group.first() else {
                continue;
            };
            let _ = write!(data, "{key}\t{{");
            for (i, (_, seq)) in group.iter().enumerate() {
                if i > 0 {
                    data.push(',');
                }
                let _ = write!(data, "{seq}");
            }
            data.push_str("}\n");
        }
    }
    data
}

/// Whether an id occurs twice among `entities`.
fn has_repeated_ids(entities: &[Entity]) -> bool {
    let mut seen = HashSet::with_capacity(entities.len());
    entities.iter().any(|e| !seen.insert(e.id.as_str()))
}

/// Appends a field in COPY text format: `\N` for NULL, and backslash,
/// tab, newline and carriage return escaped.
fn push_copy_field(out: &mut String, field: Option<&str>) {
    let Some(field) = field else {
        out.push_str("\\N");
        return;
    };
    for c in field.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn stored_row(row: &PgRow) -> Result<StoredRow> {
    Ok(StoredRow {
        id: row.try_get(0)?,
        schema: row.try_get(1)?,
        properties: row.try_get(2)?,
        markings: row.try_get(3)?,
        role: row.try_get(4)?,
        batch_id: row.try_get(5)?,
        record: row.try_get(6)?,
        source_file: row.try_get(7)?,
        imported_by: row.try_get(8)?,
        imported_at: row.try_get::<OffsetDateTime, _>(9)?,
    })
}

/// Splits a `schema=NAME` query parameter off a PostgreSQL URL.
fn split_schema(url: &str) -> Result<(String, Option<String>)> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut schema = None;
    let mut rest = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("schema", name)) => {
                let valid = !name.is_empty()
                    && name.len() <= 63
                    && name
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !valid {
                    return Err(Error::InvalidUrl {
                        url: redact(url),
                        reason: "schema must be 1-63 lower-case letters, digits or _".to_owned(),
                    });
                }
                schema = Some(name.to_owned());
            }
            _ => rest.push(pair),
        }
    }
    let base = if rest.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", rest.join("&"))
    };
    Ok((base, schema))
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_copy_fields() {
        let mut out = String::new();
        push_copy_field(&mut out, Some("a\tb\\c\nd\re"));
        push_copy_field(&mut out, None);
        assert_eq!(out, "a\\tb\\\\c\\nd\\re\\N");
    }

    #[test]
    fn copies_rows_with_the_content_hash_as_bytea() {
        let mut person = Entity::new(
            palermo_model::EntityId::new("p1").unwrap(),
            palermo_model::Schema::Person,
        );
        person
            .properties
            .insert("firstName".to_owned(), vec!["An\ta".to_owned()]);
        let row = RowEncoder::default().row(&person);
        let text = copy_text("b1", std::slice::from_ref(&row), &[7]);
        let fields: Vec<&str> = text.trim_end_matches('\n').split('\t').collect();
        // 11 columns: the tab in the value (JSON `\t`) is not a separator.
        assert_eq!(fields.len(), 11, "{text}");
        assert_eq!(fields[0], "7");
        assert_eq!(fields[1], "p1");
        assert!(fields[4].contains("An\\\\ta"), "{text}");
        assert_eq!(fields[7], "\\N", "no role");
        assert_eq!(fields[8], "b1");
        // `\\x` is COPY's escaped `\x`, then the 32 hash bytes in hex.
        let hash = fields[10].strip_prefix("\\\\x").unwrap();
        assert_eq!(hash, &*row.content_hash);
        assert_eq!(hash.len(), 64);
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn groups_keys_by_hash_in_bounded_rows() {
        assert_eq!(grouped_keys_text(&[]), "");
        assert_eq!(
            grouped_keys_text(&[(-5, 1), (-5, 9), (3, 2), (7, 4), (7, 8)]),
            "-5\t{1,9}\n3\t{2}\n7\t{4,8}\n"
        );
        let many: Vec<(i64, i64)> = (0..450).map(|seq| (42, seq)).collect();
        let text = grouped_keys_text(&many);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows.len(), 3, "200 + 200 + 50");
        let mut seqs = Vec::new();
        for row in &rows {
            let (key, list) = row.split_once('\t').unwrap();
            assert_eq!(key, "42");
            let list = list.strip_prefix('{').unwrap().strip_suffix('}').unwrap();
            let part: Vec<i64> = list.split(',').map(|n| n.parse().unwrap()).collect();
            assert!(part.len() <= SEQS_PER_KEY_ROW);
            seqs.extend(part);
        }
        assert_eq!(seqs, (0..450).collect::<Vec<i64>>());
    }

    #[test]
    fn finds_repeated_ids() {
        let person = |id: &str| {
            Entity::new(
                palermo_model::EntityId::new(id).unwrap(),
                palermo_model::Schema::Person,
            )
        };
        assert!(!has_repeated_ids(&[]));
        assert!(!has_repeated_ids(&[person("a"), person("b")]));
        assert!(has_repeated_ids(&[person("a"), person("b"), person("a")]));
    }

    #[test]
    fn splits_schema_parameter() {
        let check = |url: &str, base: &str, schema: Option<&str>| {
            let (b, s) = split_schema(url).unwrap();
            assert_eq!((b.as_str(), s.as_deref()), (base, schema));
        };
        check("postgres://h/db", "postgres://h/db", None);
        check(
            "postgres://h/db?schema=node_nl",
            "postgres://h/db",
            Some("node_nl"),
        );
        check(
            "postgres://h/db?sslmode=disable&schema=a1",
            "postgres://h/db?sslmode=disable",
            Some("a1"),
        );
        assert!(split_schema("postgres://h/db?schema=Bad-Name").is_err());
    }

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }
}
