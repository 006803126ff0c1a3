//! The conformance suite on SQLite (a fresh temporary file per test).

use palermo_store::SqliteStore;

async fn open() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    (SqliteStore::connect(&url).await.unwrap(), dir)
}

crate::conformance_tests!(open());

#[tokio::test]
async fn migrations_are_versioned_and_rerun_safely() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    drop(SqliteStore::connect(&url).await.unwrap());
    // Opening again must find every migration applied and do nothing.
    let store = SqliteStore::connect(&url).await.unwrap();
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(versions.first(), Some(&1));
}
