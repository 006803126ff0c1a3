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

/// Appends `(SELECT unnest(?))`, the set of `values` bound as one array.
fn push_int_set(q: &mut QueryBuilder<sqlx::Postgres>, values: &[i64]) {
    q.push("(SELECT unnest(")
        .push_bind(values.to_vec())
        .push("::int8[]))");
}
