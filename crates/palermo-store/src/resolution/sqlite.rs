//! The resolution tables on SQLite.

use crate::SqliteStore;

crate::resolution::resolution_impl!(SqliteStore, sqlx::Sqlite, "e.properties");

impl SqliteStore {
    /// A write transaction that holds SQLite's write lock from the start.
    async fn resolution_begin(&self) -> Result<Tx> {
        Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?)
    }
}
