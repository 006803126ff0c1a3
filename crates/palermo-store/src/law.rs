//! The update log of the legal knowledge base (`palermo law import/history/revert`).
//!
//! The store keeps each update as an opaque JSON body with its version,
//! author and timestamp; `palermo-law` gives the body its meaning. The log
//! is append-only: a version is written once, in order, and never changed
//! (a revert is a new version).

use sqlx::Row;

use crate::{AnyStore, Error, PgStore, Result, SqliteStore};

/// One stored update of the legal knowledge base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LawUpdateRecord {
    /// Version the update creates (1, 2, ...).
    pub version: u32,
    /// Who made it.
    pub author: String,
    /// When (RFC 3339).
    pub created: String,
    /// The update as JSON.
    pub body: String,
}

const SELECT: &str = "SELECT version, author, created, body FROM law_updates ORDER BY version";

fn conflict(version: u32, latest: i64) -> Error {
    Error::Conflict {
        id: format!("law update {version}"),
        existing: format!("the log already holds {latest} updates; reload and retry"),
    }
}

fn record(version: i64, author: String, created: String, body: String) -> Result<LawUpdateRecord> {
    let version = u32::try_from(version).map_err(|_| Error::Corrupt {
        what: "law_updates".to_owned(),
        reason: format!("version {version}"),
    })?;
    Ok(LawUpdateRecord {
        version,
        author,
        created,
        body,
    })
}

/// The log's reads and appends, written once for both backends: only how a
/// transaction takes its lock (`law_begin`) differs.
macro_rules! law_impl {
    ($store:ty, $db:ty) => {
        impl $store {
            /// The legal knowledge base's update log, oldest first.
            pub async fn law_updates(&self) -> Result<Vec<LawUpdateRecord>> {
                let rows = sqlx::query(SELECT).fetch_all(self.pool()).await?;
                rows.into_iter()
                    .map(|r| {
                        record(
                            r.try_get("version")?,
                            r.try_get("author")?,
                            r.try_get("created")?,
                            r.try_get("body")?,
                        )
                    })
                    .collect()
            }

            /// Appends an update; its version must be the next one.
            pub async fn append_law_update(&self, update: &LawUpdateRecord) -> Result<()> {
                let mut tx = self.law_begin().await?;
                let count: i64 = sqlx::query_scalar("SELECT count(*) FROM law_updates")
                    .fetch_one(&mut *tx)
                    .await?;
                if i64::from(update.version) != count + 1 {
                    return Err(conflict(update.version, count));
                }
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO law_updates (version, author, created, body) ",
                );
                insert.push_values([update], |mut row, update| {
                    row.push_bind(i64::from(update.version))
                        .push_bind(&update.author)
                        .push_bind(&update.created)
                        .push_bind(&update.body);
                });
                insert.build().execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

law_impl!(SqliteStore, sqlx::Sqlite);
law_impl!(PgStore, sqlx::Postgres);

impl SqliteStore {
    /// A write transaction that holds SQLite's write lock from the start, so
    /// the count it reads is still true when it appends.
    async fn law_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl PgStore {
    /// A transaction that serialises writers of the log until it ends.
    async fn law_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("LOCK TABLE law_updates IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

impl AnyStore {
    /// The legal knowledge base's update log, oldest first.
    pub async fn law_updates(&self) -> Result<Vec<LawUpdateRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.law_updates().await,
            AnyStore::Postgres(s) => s.law_updates().await,
        }
    }

    /// Appends an update; its version must be the next one.
    pub async fn append_law_update(&self, update: &LawUpdateRecord) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.append_law_update(update).await,
            AnyStore::Postgres(s) => s.append_law_update(update).await,
        }
    }
}
