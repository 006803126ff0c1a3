//! The resolution tables on PostgreSQL.

use crate::PgStore;

/// The advisory lock key that serialises resolution writes ("palermo resolve" in ASCII).
const LOCK: i64 = 0x7061_6c72_6573_6f6c;

crate::resolution::resolution_impl!(PgStore, sqlx::Postgres, "e.properties::text");

impl PgStore {
    /// A transaction holding the resolution advisory lock.
    async fn resolution_begin(&self) -> Result<Tx> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(LOCK)
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}
