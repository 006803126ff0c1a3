//! [`AnyStore`]: the backend chosen by the URL at run time.

use palermo_model::Entity;

use crate::{
    Backend, BatchMeta, BatchRecord, Error, ImportTx, InsertCounts, PgImport, PgStore, Result,
    SqliteImport, SqliteStore, Stats, Store,
};

/// A store whose backend was chosen by [`open`].
#[derive(Debug, Clone)]
pub enum AnyStore {
    /// Embedded SQLite.
    Sqlite(SqliteStore),
    /// PostgreSQL.
    Postgres(PgStore),
}

impl AnyStore {
    /// The stored entities among `ids`, in store order, in a few batched
    /// queries instead of one per id (missing ids are left out).
    pub async fn get_many(&self, ids: &[&str]) -> Result<Vec<Entity>> {
        match self {
            AnyStore::Sqlite(s) => s.get_many(ids).await,
            AnyStore::Postgres(s) => s.get_many(ids).await,
        }
    }
}

impl AnyStore {
    /// Closes the store's connections, waiting for each to close (a SQLite
    /// file is left with its write-ahead log checkpointed).
    pub async fn close(&self) {
        match self {
            AnyStore::Sqlite(s) => s.close().await,
            AnyStore::Postgres(s) => s.close().await,
        }
    }
}

/// Opens the store at `url`: `sqlite://FILE` (created if missing),
/// `sqlite::memory:`, or `postgres://...` / `postgresql://...`; runs migrations.
pub async fn open(url: &str) -> Result<AnyStore> {
    if url.starts_with("sqlite:") {
        Ok(AnyStore::Sqlite(SqliteStore::connect(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(AnyStore::Postgres(PgStore::connect(url).await?))
    } else {
        Err(Error::InvalidUrl {
            url: url.split('@').next_back().unwrap_or(url).to_owned(),
            reason: "expected sqlite://FILE or postgres://...".to_owned(),
        })
    }
}

/// An import on either backend.
pub enum AnyImport<'a> {
    /// SQLite.
    Sqlite(SqliteImport<'a>),
    /// PostgreSQL.
    Postgres(PgImport<'a>),
}

impl Store for AnyStore {
    type Import<'a> = AnyImport<'a>;

    fn backend(&self) -> Backend {
        match self {
            AnyStore::Sqlite(s) => s.backend(),
            AnyStore::Postgres(s) => s.backend(),
        }
    }

    async fn begin_import(&self, batch: &BatchMeta) -> Result<AnyImport<'_>> {
        Ok(match self {
            AnyStore::Sqlite(s) => AnyImport::Sqlite(s.begin_import(batch).await?),
            AnyStore::Postgres(s) => AnyImport::Postgres(s.begin_import(batch).await?),
        })
    }

    async fn get(&self, id: &str) -> Result<Option<Entity>> {
        match self {
            AnyStore::Sqlite(s) => s.get(id).await,
            AnyStore::Postgres(s) => s.get(id).await,
        }
    }

    async fn find_by_key(&self, key: &str) -> Result<Vec<String>> {
        match self {
            AnyStore::Sqlite(s) => s.find_by_key(key).await,
            AnyStore::Postgres(s) => s.find_by_key(key).await,
        }
    }

    async fn stats(&self) -> Result<Stats> {
        match self {
            AnyStore::Sqlite(s) => s.stats().await,
            AnyStore::Postgres(s) => s.stats().await,
        }
    }

    async fn batches(&self) -> Result<Vec<BatchRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.batches().await,
            AnyStore::Postgres(s) => s.batches().await,
        }
    }

    async fn export<F>(&self, sink: F) -> Result<u64>
    where
        F: FnMut(Entity) -> Result<()> + Send,
    {
        match self {
            AnyStore::Sqlite(s) => s.export(sink).await,
            AnyStore::Postgres(s) => s.export(sink).await,
        }
    }
}

impl ImportTx for AnyImport<'_> {
    async fn insert(&mut self, entities: &[Entity]) -> Result<InsertCounts> {
        match self {
            AnyImport::Sqlite(tx) => tx.insert(entities).await,
            AnyImport::Postgres(tx) => tx.insert(entities).await,
        }
    }

    async fn commit(self, n_records: u64, counts: InsertCounts) -> Result<()> {
        match self {
            AnyImport::Sqlite(tx) => tx.commit(n_records, counts).await,
            AnyImport::Postgres(tx) => tx.commit(n_records, counts).await,
        }
    }
}
