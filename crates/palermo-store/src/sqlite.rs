//! The embedded SQLite backend (the default store).

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

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
use crate::row::{
    BatchInfo, EntityColumns, EntityRow, MarkingsCache, RowEncoder, StoredRow, dedupe_chunk, origin,
};
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
/// How long a write waits for the write connection: as long as SQLite's
/// busy handler waits for the lock (`busy_timeout`), since a write of
/// another connection (an import) can hold the lock that long too.
const WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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
    /// The store's one write connection (`write_pool`): the federation's,
    /// the hit exchange's and the ledger's writes queue here for it.
    writer: SqlitePool,
    /// The ledger's right edge after this store's last append (shared by
    /// its clones), reused by the next append while the log still has that
    /// size (`ledger/sqlite.rs`).
    pub(crate) ledger_tip: Arc<std::sync::Mutex<Option<palermo_ledger::audit::LogTip>>>,
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
            .busy_timeout(WRITE_WAIT)
            // A 64 MB page cache keeps bulk imports mostly off the disk
            // without growing with the file (the RSS budget of an import is
            // 200 MB); temporary tables and sorts spill to temporary files.
            .pragma("cache_size", "-65536")
            // Reads map the file's first GiB instead of copying each page
            // from the kernel's page cache into SQLite's (the copies were a
            // fifth of an incremental resolution's samples at 1M records).
            .pragma("mmap_size", "1073741824")
            .page_size(8192)
            // Exports stream rows from the worker thread; a deeper channel
            // lets it run ahead instead of waking the reader for every row.
            .row_buffer_size(1024);
        // An in-memory database lives in one connection only.
        let in_memory = url.contains(":memory:");
        let max = if in_memory { 1 } else { 4 };
        let pool = SqlitePoolOptions::new()
            .max_connections(max)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let writer = if in_memory {
            pool.clone()
        } else {
            // Opened at the first write; writers wait for it in the pool's
            // queue, as long as they waited for SQLite's lock before.
            SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(WRITE_WAIT)
                .connect_lazy_with(options)
        };
        Ok(SqliteStore {
            pool,
            writer,
            ledger_tip: Arc::default(),
        })
    }

    /// The connection pool, for modules of this crate that add their own tables.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// The pool of the store's one write connection, for the write
    /// transactions that run often under load (federation, hit exchange,
    /// ledger). SQLite lets one connection write at a time; when several
    /// connections of one process asked, the losers slept in SQLite's busy
    /// handler (1, 2, 5, 10 ms … polls) and woke up to a millisecond or more
    /// after the lock was free, while every message of the batch waited.
    /// Queued for the one connection, the next writer starts as soon as the
    /// previous commit returns, and the writer's page cache stays valid
    /// (no other connection of this process changes the file under it).
    /// An in-memory store has one connection for everything.
    pub fn write_pool(&self) -> &SqlitePool {
        &self.writer
    }

    /// Closes the store's connections, the write connection first: the
    /// connection that closes last checkpoints the write-ahead log into the
    /// database file, which it cannot do while another one is still open
    /// (two closing at once can each leave it to the other).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
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
    /// The batch id as stored in every row (shared by every bound copy).
    batch: Arc<str>,
    /// The sequence number of the next row, once known: the transaction
    /// holds the write lock, so only this import adds rows.
    next_seq: Option<i64>,
    /// The few distinct short texts bound in every row (schema, TLP, role).
    shared: SharedTexts,
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
            batch: Arc::from(batch.id.to_string()),
            next_seq: None,
            shared: SharedTexts::default(),
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
        // One read transaction, so the batches and the entities come from
        // the same snapshot. The few batches are read first and each row
        // names its batch by id: joining every row to its batch cost a
        // lookup and three copied texts per row on SQLite's worker thread.
        let mut tx = self.pool.begin().await?;
        // A scan in `seq` order reads each page once: a small page cache
        // serves it as well as the 64 MB one, which the export would
        // otherwise fill (and keep) beside the memory of its own pipeline.
        sqlx::query(EXPORT_CACHE).execute(&mut *tx).await?;
        let result = export_rows(&mut tx, &mut sink).await;
        // The cache is set back and the read ended whatever happened; an
        // error of the export itself is the one reported.
        let restored = sqlx::query(DEFAULT_CACHE).execute(&mut *tx).await;
        let ended = tx.rollback().await;
        let n = result?;
        restored?;
        ended?;
        Ok(n)
    }
}

/// The page cache of an export's connection (8 MB), and back to every
/// connection's (64 MB, as opened).
const EXPORT_CACHE: &str = "PRAGMA cache_size = -8192";
const DEFAULT_CACHE: &str = "PRAGMA cache_size = -65536";

/// The export's reading: the batches, then every entity in `seq` order.
async fn export_rows<F>(tx: &mut sqlx::Transaction<'_, Sqlite>, sink: &mut F) -> Result<u64>
where
    F: FnMut(Entity) -> Result<()> + Send,
{
    let batches = sqlx::query_as::<_, (String, String, String, String)>(
        "SELECT id, source_file, imported_by, started_at FROM import_batches",
    )
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(id, source_file, imported_by, started_at)| {
        let info = BatchInfo {
            id: parse_uuid(&id)?,
            source_file,
            imported_by,
            imported_at: parse_time(&started_at)?,
        };
        Ok((id, info))
    })
    .collect::<Result<HashMap<String, BatchInfo>>>()?;
    let mut n = 0;
    {
        let mut rows = sqlx::query(
            "SELECT id, schema, properties, markings, role, batch_id, record \
                 FROM entities ORDER BY seq",
        )
        .fetch(&mut **tx);
        let mut markings = MarkingsCache::default();
        while let Some(row) = rows.try_next().await? {
            // Texts are borrowed from the row, not copied.
            let columns = EntityColumns {
                id: row.try_get(0)?,
                schema: row.try_get(1)?,
                properties: row.try_get(2)?,
                markings: row.try_get(3)?,
                role: row.try_get(4)?,
                record: row.try_get(6)?,
            };
            let batch_id: &str = row.try_get(5)?;
            let batch = batches.get(batch_id).ok_or_else(|| Error::Corrupt {
                what: format!("entity `{}`", columns.id),
                reason: format!("import batch {batch_id} is not stored"),
            })?;
            sink(columns.into_entity(batch, &mut markings)?)?;
            n += 1;
        }
    }
    Ok(n)
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
            let mut rows = dedupe_chunk(all_rows, &mut counts)?;
            // The transaction holds SQLite's write lock (the batch row was
            // written first), so nobody else can take these sequence numbers:
            // the store is asked once per import, then they are counted here.
            let first_seq = match self.next_seq {
                Some(seq) => seq,
                None => {
                    sqlx::query_scalar("SELECT coalesce(max(seq), 0) + 1 FROM entities")
                        .fetch_one(&mut *self.tx)
                        .await?
                }
            };
            self.next_seq = Some(first_seq + rows.len() as i64);
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO entities (seq, id, schema, caption, properties, markings, tlp, role, \
                 batch_id, record, content_hash) ",
            );
            // Every text is bound as an `Arc<str>` or an owned `String`
            // (moved: the caption and properties are not needed again): the
            // driver copies a bound `&str` into two new allocations, which
            // SQLite's worker thread then frees, and that churn was a large
            // part of an import's CPU time.
            let shared = &mut self.shared;
            let batch = &self.batch;
            insert.push_values(rows.iter_mut().zip(first_seq..), |mut b, (row, seq)| {
                b.push_bind(seq)
                    .push_bind(Arc::clone(&row.id))
                    .push_bind(shared.get(row.schema))
                    .push_bind(std::mem::take(&mut row.caption))
                    .push_bind(std::mem::take(&mut row.properties))
                    .push_bind(Arc::clone(&row.markings))
                    .push_bind(shared.get(row.tlp))
                    .push_bind(row.role.map(|role| shared.get(role)))
                    .push_bind(Arc::clone(batch))
                    .push_bind(row.record)
                    .push_bind(Arc::clone(&row.content_hash));
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
                .filter_map(|row| inserted.get(&*row.id).map(|seq| (row, *seq)))
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
            .filter(|r| !inserted.contains_key(&*r.id))
            .collect();
        let mut query = QueryBuilder::<Sqlite>::new(
            "SELECT e.id, e.content_hash, e.record, b.source_file FROM entities e \
             JOIN import_batches b ON b.id = e.batch_id WHERE e.id IN ",
        );
        query.push_tuples(&skipped, |mut b, row| {
            b.push_bind(Arc::clone(&row.id));
        });
        let stored: HashMap<String, (String, i64, String)> = query
            .build_query_as::<(String, String, i64, String)>()
            .fetch_all(&mut *self.tx)
            .await?
            .into_iter()
            .map(|(id, hash, record, file)| (id, (hash, record, file)))
            .collect();
        for row in &skipped {
            match stored.get(&*row.id) {
                Some((hash, _, _)) if **hash == *row.content_hash => {}
                Some((_, record, file)) => {
                    return Err(Error::Conflict {
                        id: row.id.to_string(),
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

/// Shared copies of the short static texts bound in every row, so binding
/// one is a reference count rather than two allocations.
#[derive(Default)]
struct SharedTexts(Vec<(&'static str, Arc<str>)>);

impl SharedTexts {
    /// The shared copy of `text`.
    fn get(&mut self, text: &'static str) -> Arc<str> {
        if let Some((_, shared)) = self.0.iter().find(|(seen, _)| *seen == text) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(text);
        self.0.push((text, Arc::clone(&shared)));
        shared
    }
}

/// Flattens `chunk` into rows.
fn encode(encoder: &mut RowEncoder, chunk: &[Entity]) -> Vec<EntityRow> {
    chunk.iter().map(|entity| encoder.row(entity)).collect()
}

fn stored_row(row: &SqliteRow) -> Result<StoredRow> {
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
        imported_at: parse_time(row.try_get(9)?)?,
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

#[cfg(test)]
mod tests {
    use palermo_model::{EntityId, Provenance, Schema};

    use super::*;

    /// A person from `file` line `line` of `batch`, as an import makes it.
    fn person(id: &str, batch: &BatchMeta, line: u64) -> Entity {
        let mut entity = Entity::new(EntityId::new(id).unwrap(), Schema::Person);
        entity.add("name", "Ana Ruiz").unwrap();
        entity.provenance = Some(Provenance {
            source_file: batch.source_file.clone(),
            record: line,
            batch_id: batch.id,
            imported_at: batch.started_at,
            imported_by: batch.imported_by.clone(),
        });
        entity
    }

    fn batch(file: &str, by: &str) -> BatchMeta {
        BatchMeta {
            id: Uuid::now_v7(),
            source_file: file.to_owned(),
            input_format: "csv".to_owned(),
            imported_by: by.to_owned(),
            // Whole seconds: stored times are RFC 3339 text.
            started_at: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
        }
    }

    #[tokio::test]
    async fn export_gives_each_entity_its_own_batch() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let mut want = Vec::new();
        for (file, by, ids) in [
            ("a.csv", "ana", ["a1", "a2"]),
            ("b.csv", "ben", ["b1", "b2"]),
        ] {
            let meta = batch(file, by);
            let entities: Vec<Entity> = ids
                .iter()
                .zip(2..)
                .map(|(id, line)| person(id, &meta, line))
                .collect();
            let mut tx = store.begin_import(&meta).await.unwrap();
            let counts = tx.insert(&entities).await.unwrap();
            // Sequence numbers are counted on from the first statement.
            let again = tx.insert(&entities).await.unwrap();
            assert_eq!(again.unchanged, 2);
            tx.commit(2, counts).await.unwrap();
            want.extend(entities);
        }
        let mut got = Vec::new();
        let n = store
            .export(|entity| {
                got.push(entity);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(n, 4);
        assert_eq!(got, want);
    }

    #[tokio::test]
    async fn export_refuses_a_row_of_an_unknown_batch() {
        let store = SqliteStore::connect("sqlite::memory:").await.unwrap();
        let meta = batch("a.csv", "ana");
        let mut tx = store.begin_import(&meta).await.unwrap();
        let counts = tx.insert(&[person("a1", &meta, 2)]).await.unwrap();
        tx.commit(1, counts).await.unwrap();
        // Only a damaged store has such a row: bypass the foreign key.
        let mut conn = store.pool().acquire().await.unwrap();
        sqlx::query("PRAGMA foreign_keys = OFF")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("UPDATE entities SET batch_id = 'gone'")
            .execute(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        let err = store.export(|_| Ok(())).await.unwrap_err();
        assert!(
            matches!(&err, Error::Corrupt { reason, .. } if reason.contains("gone")),
            "{err}"
        );
    }
}
