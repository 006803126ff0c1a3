//! The resolution tables on SQLite.

use crate::SqliteStore;

crate::resolution::resolution_impl!(SqliteStore, sqlx::Sqlite, "e.properties");

impl SqliteStore {
    /// A write transaction that holds SQLite's write lock from the start.
    async fn resolution_begin(&self) -> Result<Tx> {
        Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Appends `(SELECT value FROM json_each(?))`, the set of `values` bound as one JSON
/// array: one bound value however many there are (SQLite's limit is 32,766).
fn push_int_set(q: &mut QueryBuilder<sqlx::Sqlite>, values: &[i64]) {
    use std::fmt::Write as _;
    let mut json = String::with_capacity(values.len() * 21 + 2);
    json.push('[');
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        // Writing to a String cannot fail.
        let _ = write!(json, "{v}");
    }
    json.push(']');
    q.push("(SELECT value FROM json_each(")
        .push_bind(json)
        .push("))");
}
