//! The federation tables on SQLite.

use crate::SqliteStore;

crate::federation::federation_impl!(SqliteStore, sqlx::Sqlite);

impl SqliteStore {
    /// A write transaction that holds SQLite's write lock from the start, so
    /// that what it reads and what it writes are decided under one lock.
    async fn federation_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.write_pool().begin_with("BEGIN IMMEDIATE").await?)
    }
}
