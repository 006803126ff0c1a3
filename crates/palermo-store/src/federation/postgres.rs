//! The federation tables on PostgreSQL.

use crate::PgStore;

crate::federation::federation_impl!(PgStore, sqlx::Postgres);

impl PgStore {
    /// A write transaction (row locks order concurrent writers of one id).
    async fn federation_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        Ok(self.pool().begin().await?)
    }
}
