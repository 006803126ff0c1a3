//! The conformance suite on PostgreSQL (a fresh schema per test).

use palermo_store::PgStore;

async fn open() -> (PgStore, ()) {
    let url = crate::util::pg_url();
    let store = PgStore::connect(&url).await.unwrap_or_else(|err| {
        panic!("PostgreSQL must be running for the store tests ({url}): {err}")
    });
    (store, ())
}

crate::conformance_tests!(open());

#[tokio::test]
async fn entities_must_name_a_stored_batch_and_keep_it() {
    let store = open().await.0;
    let pool = store.pool();
    sqlx::query(
        "INSERT INTO import_batches (id, source_file, input_format, imported_by, started_at) \
         VALUES ('b1', 'f.csv', 'csv', 'tester', now())",
    )
    .execute(pool)
    .await
    .unwrap();
    let insert = |batch: &'static str, id: &'static str| {
        sqlx::query(
            "INSERT INTO entities (id, schema, caption, properties, markings, tlp, batch_id, \
             record, content_hash) VALUES ($1, 'Person', 'c', '{}', '{}', 'amber', $2, 1, 'h')",
        )
        .bind(id)
        .bind(batch)
        .execute(pool)
    };
    insert("b1", "e1").await.unwrap();
    let err = insert("nope", "e2").await.unwrap_err().to_string();
    assert!(err.contains("names no import batch"), "{err}");
    let err = sqlx::query("UPDATE entities SET batch_id = 'nope'")
        .execute(pool)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("names no import batch"), "{err}");
    for change in [
        "DELETE FROM import_batches WHERE id = 'b1'",
        "UPDATE import_batches SET id = 'b2'",
    ] {
        let err = sqlx::query(change)
            .execute(pool)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("still has entities"), "{change}: {err}");
    }
    // Other updates of a batch are fine.
    sqlx::query("UPDATE import_batches SET finished_at = now()")
        .execute(pool)
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM entities")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
}
