//! The user and token tables on SQLite.

use crate::SqliteStore;

crate::users::users_impl!(SqliteStore, sqlx::Sqlite);

/// A write transaction holding SQLite's write lock from the start.
async fn users_begin(store: &SqliteStore) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
    Ok(store.pool().begin_with("BEGIN IMMEDIATE").await?)
}
