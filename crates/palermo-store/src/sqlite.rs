//! The embedded SQLite backend (the default store).

use std::collections::HashMap;
use std::str::FromStr;

use futures_util::TryStreamExt;
use palermo_model::Entity;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::group_by;
use crate::row::{EntityRow, MarkingsCache, RowEncoder, StoredRow, dedupe_chunk, origin};
use crate::spill::KeySpill;
use crate::{
    Backend, BatchMeta, BatchRecord, Error, ImportTx, InsertCounts, Result, Stats, Store,
    stats_from,
};

/// Rows per multi-row INSERT: 11 bound columns each stays below SQLite's
/// limit of 32,766 bound parameters. An import's chunk of 5,000 records is
/// four statements, so that encoding the next overlaps three of them.
const ROWS_PER_STATEMENT: usize = 1_250;
/// Keys per multi-row INSERT (2 columns each).
const KEYS_PER_STATEMENT: usize = 16_000;

/// The columns of [`StoredRow`], joined with the entity's batch (read back
/// by position in `stored_row`: keep the order).
macro_rules! select_stored {
    () => {
        "SELECT e.id, e.schema, e.properties, e.markings, e.role, e.batch_id, \
            e.record, b.source_file, b.imported_by, b.started_at \
            FROM entities e JOIN import_batches b ON b.id = e.batch_id"
    };
}

/// A store in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) the database at `url` (`sqlite://FILE`,
    /// `sqlite::memory:`) and runs pending migrations.
    pub async fn connect(url: &str) -> Result<SqliteStore> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|err| Error::InvalidUrl {
                url: url.to_owned(),
                reason: err.to_string(),
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(std::time::Duration::from_secs(30))
            // A 64 MB page cache keeps bulk imports mostly off the disk
            // without growing with the file (the RSS budget of an import is
            // 200 MB); temporary tables and sorts spill to temporary files.
            .pragma("cache_size", "-65536")
            .page_size(8192)
            // Exports stream rows from the worker thread; a deeper channel
            // lets it run ahead instead of waking the reader for every row.
            .row_buffer_size(1024);
        // An in-memory database lives in one connection only.
        let max = if url.contains(":memory:") { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        Ok(SqliteStore { pool })
    }

    /// The connection pool, for modules of this crate that add their own tables.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The stored entities among `ids`, in store order, in one query (the
    /// ids travel as one JSON array; missing ids are left out).
    pub async fn get_many(&self, ids: &[&str]) -> Result<Vec<Entity>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids = serde_json::to_string(ids).map_err(|err| Error::Corrupt {
            what: "get_many ids".to_owned(),
            reason: err.to_string(),
        })?;
        let rows = sqlx::query(concat!(
            select_stored!(),
            " WHERE e.id IN (SELECT value FROM json_each(?)) ORDER BY e.seq"
        ))
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| stored_row(row)?.into_entity())
            .collect()
    }
}

/// An open SQLite import transaction.
pub struct SqliteImport<'a> {
    tx: Transaction<'static, Sqlite>,
    batch_id: Uuid,
    /// The batch id as stored in every row.
    batch: String,
    encoder: RowEncoder,
    /// Lookup keys of the new rows, added to `entity_keys` in key order at
    /// commit: appending sorted keys is far cheaper than millions of
    /// inserts at random places in the index.
    keys: KeySpill,
    _store: &'a SqliteStore,
}

impl Store for SqliteStore {
    type Import<'a> = SqliteImport<'a>;

    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn begin_import(&self, batch: &BatchMeta) -> Result<SqliteImport<'_>> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO import_batches (id, source_file, input_format, imported_by, started_at) \
             VALUES (?, ?, ?, ?, ?)",
        )
        .bind(batch.id.to_string())
        .bind(&batch.source_file)
        .bind(&batch.input_format)
        .bind(&batch.imported_by)
        .bind(rfc3339(batch.started_at))
        .execute(&mut *tx)
        .await?;
        Ok(SqliteImport {
            tx,
            batch_id: batch.id,
            batch: batch.id.to_string(),
            encoder: RowEncoder::default(),
            keys: KeySpill::new(),
            _store: self,
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Entity>> {
        let row = sqlx::query(concat!(select_stored!(), " WHERE e.id = ?"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| stored_row(&row)?.into_entity()).transpose()
    }

    async fn find_by_key(&self, key: &str) -> Result<Vec<String>> {
        let ids = sqlx::query_scalar(
            "SELECT e.id FROM entity_keys k JOIN entities e ON e.seq = k.seq \
             WHERE k.key_hash = ? ORDER BY e.seq",
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
                let started_at: String = row.try_get("started_at")?;
                Ok(BatchRecord {
                    id: parse_uuid(&id)?,
                    source_file: row.try_get("source_file")?,
                    input_format: row.try_get("input_format")?,
                    imported_by: row.try_get("imported_by")?,
                    started_at: parse_time(&started_at)?,
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
        let mut times = TimeCache::default();
        let mut markings = MarkingsCache::default();
        while let Some(row) = rows.try_next().await? {
            sink(stored_row_cached(&row, &mut times)?.into_entity_cached(&mut markings)?)?;
            n += 1;
        }
        Ok(n)
    }
}

impl ImportTx for SqliteImport<'_> {
    async fn insert(&mut self, entities: &[Entity]) -> Result<InsertCounts> {
        let mut counts = InsertCounts::default();
        // Rows are encoded (JSON, content hash, key hashes) one statement
        // ahead: while SQLite's worker thread executes one statement, this
        // task encodes the next, so the CPU work of encoding overlaps the
        // database's instead of adding to it.
        let mut chunks = entities.chunks(ROWS_PER_STATEMENT);
        let mut next = chunks.next().map(|chunk| encode(&mut self.encoder, chunk));
        while let Some(all_rows) = next.take() {
            let rows = dedupe_chunk(all_rows, &mut counts)?;
            // The transaction holds SQLite's write lock (the batch row was
            // written first), so nobody else can take these sequence numbers.
            let first_seq: i64 =
                sqlx::query_scalar("SELECT coalesce(max(seq), 0) + 1 FROM entities")
                    .fetch_one(&mut *self.tx)
                    .await?;
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO entities (seq, id, schema, caption, properties, markings, tlp, role, \
                 batch_id, record, content_hash) ",
            );
            insert.push_values(rows.iter().zip(first_seq..), |mut b, (row, seq)| {
                b.push_bind(seq)
                    .push_bind(row.id.as_str())
                    .push_bind(row.schema)
                    .push_bind(row.caption.as_str())
                    .push_bind(row.properties.as_str())
                    .push_bind(row.markings.as_str())
                    .push_bind(row.tlp)
                    .push_bind(row.role)
                    .push_bind(self.batch.as_str())
                    .push_bind(row.record)
                    .push_bind(row.content_hash.as_str());
            });
            insert.push(" ON CONFLICT (id) DO NOTHING");
            // Only full-size statements are worth caching: every other length
            // would add another large prepared statement to the cache.
            let persistent = rows.len() == ROWS_PER_STATEMENT;
            let following = chunks.next();
            let encoder = &mut self.encoder;
            // `biased`: the statement is polled first, so it is on its way to
            // the worker thread before the encoding takes this thread.
            let (executed, encoded) = tokio::join!(
                biased;
                insert.build().persistent(persistent).execute(&mut *self.tx),
                async { following.map(|chunk| encode(encoder, chunk)) },
            );
            next = encoded;
            let affected = executed?.rows_affected();
            // Usually every row is new: the keys go with the sequence numbers
            // given; otherwise ask which sequence numbers stuck.
            if affected == rows.len() as u64 {
                counts.new += affected;
                for (row, seq) in rows.iter().zip(first_seq..) {
                    for key in &row.keys {
                        self.keys.push(*key, seq)?;
                    }
                }
                continue;
            }
            let inserted: HashMap<String, i64> = {
                sqlx::query_as::<_, (String, i64)>(
                    "SELECT id, seq FROM entities WHERE seq >= ? AND seq < ?",
                )
                .bind(first_seq)
                .bind(first_seq + rows.len() as i64)
                .fetch_all(&mut *self.tx)
                .await?
                .into_iter()
                .collect()
            };
            counts.new += inserted.len() as u64;
            if inserted.len() < rows.len() {
                counts.unchanged += self.check_duplicates(&rows, &inserted).await?;
            }
            for (row, seq) in rows
                .iter()
                .filter_map(|row| inserted.get(&row.id).map(|seq| (row, *seq)))
            {
                for key in &row.keys {
                    self.keys.push(*key, seq)?;
                }
            }
        }
        Ok(counts)
    }

    async fn commit(mut self, n_records: u64, counts: InsertCounts) -> Result<()> {
        sqlx::query(
            "UPDATE import_batches SET finished_at = ?, n_records = ?, n_new = ?, n_unchanged = ? \
             WHERE id = ?",
        )
        .bind(rfc3339(OffsetDateTime::now_utc()))
        .bind(n_records as i64)
        .bind(counts.new as i64)
        .bind(counts.unchanged as i64)
        .bind(self.batch_id.to_string())
        .execute(&mut *self.tx)
        .await?;
        let mut sorted = std::mem::replace(&mut self.keys, KeySpill::new()).finish()?;
        while let Some(run) = sorted.next_run()? {
            for key_chunk in run.chunks(KEYS_PER_STATEMENT) {
                let mut insert =
                    QueryBuilder::<Sqlite>::new("INSERT INTO entity_keys (key_hash, seq) ");
                insert.push_values(key_chunk, |mut b, (key, seq)| {
                    b.push_bind(*key).push_bind(*seq);
                });
                insert.push(" ON CONFLICT DO NOTHING");
                // Only full-size statements are worth caching (see `insert`).
                let persistent = key_chunk.len() == KEYS_PER_STATEMENT;
                insert
                    .build()
                    .persistent(persistent)
                    .execute(&mut *self.tx)
                    .await?;
            }
        }
        self.tx.commit().await?;
        Ok(())
    }
}

impl SqliteImport<'_> {
    /// Checks rows that were not inserted: identical content is fine
    /// (returns how many), different content is a conflict.
    async fn check_duplicates(
        &mut self,
        rows: &[EntityRow],
        inserted: &HashMap<String, i64>,
    ) -> Result<u64> {
        let skipped: Vec<&EntityRow> = rows
            .iter()
            .filter(|r| !inserted.contains_key(&r.id))
            .collect();
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT e.id, e.content_hash, e.record, b.source_file FROM entities e \
             JOIN import_batches b ON b.id = e.batch_id WHERE e.id IN ",
        );
        query.push_tuples(&skipped, |mut b, row| {
            b.push_bind(row.id.as_str());
        });
        let stored: HashMap<String, (String, i64, String)> = query
            .build_query_as::<(String, String, i64, String)>()
            .fetch_all(&mut *self.tx)
            .await?
            .into_iter()
            .map(|(id, hash, record, file)| (id, (hash, record, file)))
            .collect();
        for row in &skipped {
            match stored.get(&row.id) {
                Some((hash, _, _)) if *hash == row.content_hash => {}
                Some((_, record, file)) => {
                    return Err(Error::Conflict {
                        id: row.id.clone(),
                        existing: origin(file, *record),
                    });
                }
                None => {
                    return Err(Error::Corrupt {
                        what: format!("entity `{}`", row.id),
                        reason: "neither inserted nor found".to_owned(),
                    });
                }
            }
        }
        Ok(skipped.len() as u64)
    }
}

/// Flattens `chunk` into rows.
fn encode(encoder: &mut RowEncoder, chunk: &[Entity]) -> Vec<EntityRow> {
    chunk.iter().map(|entity| encoder.row(entity)).collect()
}

fn stored_row(row: &SqliteRow) -> Result<StoredRow> {
    stored_row_cached(row, &mut TimeCache::default())
}

/// The last batch time parsed: an export reads the same few batch times
/// for millions of rows.
#[derive(Default)]
struct TimeCache {
    last: Option<(String, OffsetDateTime)>,
}

impl TimeCache {
    fn parse(&mut self, text: String) -> Result<OffsetDateTime> {
        match &self.last {
            Some((last, at)) if *last == text => Ok(*at),
            _ => {
                let at = parse_time(&text)?;
                self.last = Some((text, at));
                Ok(at)
            }
        }
    }
}

fn stored_row_cached(row: &SqliteRow, times: &mut TimeCache) -> Result<StoredRow> {
    let imported_at = times.parse(row.try_get(9)?)?;
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
        imported_at,
    })
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&Rfc3339)
        .expect("invariant: any UTC time formats as RFC 3339")
}

fn parse_time(text: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(text, &Rfc3339).map_err(|err| Error::Corrupt {
        what: "import batch time".to_owned(),
        reason: format!("{text:?}: {err}"),
    })
}

fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|err| Error::Corrupt {
        what: "import batch id".to_owned(),
        reason: format!("{text:?}: {err}"),
    })
}
