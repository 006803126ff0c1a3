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

/// Imports `entities` in one batch named `file`; returns the counts.
async fn import_into(
    store: &PgStore,
    file: &str,
    entities: &[palermo_model::Entity],
) -> palermo_store::Result<palermo_store::InsertCounts> {
    use palermo_store::{ImportTx, Store};
    let meta = crate::util::batch(file);
    let entities: Vec<_> = entities
        .iter()
        .enumerate()
        .map(|(i, e)| crate::util::at_line(e.clone(), &meta, i as u64 + 2))
        .collect();
    let mut tx = store.begin_import(&meta).await?;
    let counts = tx.insert(&entities).await?;
    tx.commit(entities.len() as u64, counts).await?;
    Ok(counts)
}

#[tokio::test]
async fn a_store_written_before_migrations_0003_and_0004_migrates() {
    use palermo_store::{Error, Store};
    use sqlx::postgres::PgPoolOptions;
    use sqlx::{ConnectOptions, Executor};

    let anna = crate::util::person("nl-1", "Anna", "de Vries", "P1234567");
    let ahmed = crate::util::person("nl-2", "Ahmed", "de Jong", "X7654321");
    // The rows the old schema held are those the current code writes, with
    // the documents as JSONB, the content hash as hex text and one key row
    // per (key, entity): take them from a current store.
    let current = open().await.0;
    import_into(&current, "old.csv", &[anna.clone(), ahmed.clone()])
        .await
        .unwrap();
    type OldRow = (String, String, String, String, String, i64, String);
    let rows: Vec<OldRow> = sqlx::query_as(
        "SELECT e.id, e.caption, e.properties, e.markings, e.role, e.record, \
         encode(e.content_hash, 'hex') FROM entities e ORDER BY e.seq",
    )
    .fetch_all(current.pool())
    .await
    .unwrap();
    let keys: Vec<(i64, String)> = sqlx::query_as(
        "SELECT k.key_hash, e.id FROM entity_keys k, unnest(k.seqs) AS s (seq) \
         JOIN entities e ON e.seq = s.seq",
    )
    .fetch_all(current.pool())
    .await
    .unwrap();
    assert!(keys.len() >= 6, "{keys:?}");

    // A store at migration 0002, holding those rows.
    let url = crate::util::pg_url();
    let (base, schema) = url.split_once("?schema=").unwrap();
    let options: sqlx::postgres::PgConnectOptions = base.parse().unwrap();
    let mut setup = options.connect().await.unwrap();
    setup
        .execute(sqlx::AssertSqlSafe(format!("CREATE SCHEMA \"{schema}\"")))
        .await
        .unwrap();
    let old = PgPoolOptions::new()
        .max_connections(1)
        .connect_with(options.options([("search_path", schema)]))
        .await
        .unwrap();
    sqlx::migrate!("./migrations/postgres")
        .run_to(2, &old)
        .await
        .unwrap();
    sqlx::query(
        "INSERT INTO import_batches (id, source_file, input_format, imported_by, started_at, \
         finished_at, n_records, n_new) VALUES ('0190a7e2-0000-7000-8000-000000000001', \
         'old.csv', 'csv', 'tester', now(), now(), 2, 2)",
    )
    .execute(&old)
    .await
    .unwrap();
    for (id, caption, properties, markings, role, record, hash) in &rows {
        sqlx::query(
            "INSERT INTO entities (id, schema, caption, properties, markings, tlp, role, \
             batch_id, record, content_hash) VALUES ($1, 'Person', $2, $3::jsonb, $4::jsonb, \
             'TLP:AMBER', $5, '0190a7e2-0000-7000-8000-000000000001', $6, $7)",
        )
        .bind(id)
        .bind(caption)
        .bind(properties)
        .bind(markings)
        .bind(role)
        .bind(record)
        .bind(hash)
        .execute(&old)
        .await
        .unwrap();
    }
    for (key, id) in &keys {
        sqlx::query(
            "INSERT INTO entity_keys (key_hash, seq) SELECT $1, seq FROM entities WHERE id = $2",
        )
        .bind(key)
        .bind(id)
        .execute(&old)
        .await
        .unwrap();
    }
    old.close().await;

    // Opening it runs the new migrations; everything reads back the same.
    let store = PgStore::connect(&url).await.unwrap();
    for entity in [&anna, &ahmed] {
        let got = store.get(entity.id.as_str()).await.unwrap().unwrap();
        assert_eq!(got.properties, entity.properties);
        assert_eq!(got.markings, entity.markings);
        assert_eq!(got.role, entity.role);
    }
    assert_eq!(store.find_by_key("n:de").await.unwrap(), ["nl-1", "nl-2"]);
    assert_eq!(store.find_by_key("id:P1234567").await.unwrap(), ["nl-1"]);
    // The migrated hashes still recognise the same records, and new keys
    // join the migrated ones.
    let again = import_into(&store, "again.csv", std::slice::from_ref(&anna))
        .await
        .unwrap();
    assert_eq!((again.new, again.unchanged), (0, 1));
    let changed = crate::util::person("nl-1", "Anna", "de Vries", "P0000000");
    let err = import_into(&store, "changed.csv", &[changed])
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Conflict { ref id, .. } if id == "nl-1"),
        "{err}"
    );
    let new = crate::util::person("nl-3", "Dao", "de Wit", "Q1");
    import_into(&store, "new.csv", &[new]).await.unwrap();
    assert_eq!(
        store.find_by_key("n:de").await.unwrap(),
        ["nl-1", "nl-2", "nl-3"]
    );
}
