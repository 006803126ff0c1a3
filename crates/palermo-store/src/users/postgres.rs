//! The user and token tables on PostgreSQL.

use crate::PgStore;

crate::users::users_impl!(PgStore, sqlx::Postgres);

/// A write transaction that serialises user creation, so that two adds of one
/// name cannot both pass the "is it taken?" check.
async fn users_begin(store: &PgStore) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
    let mut tx = store.pool().begin().await?;
    sqlx::query("LOCK TABLE users IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}
