//! Stores and configs for the tests.

use std::path::{Path, PathBuf};

use palermo_ingest::{ImportConfig, ImportSummary, MarkingConfig, import_file};
use palermo_model::Schema;
use palermo_store::{AnyStore, Store};

/// A fresh SQLite store in `dir`.
pub(crate) async fn sqlite(dir: &Path) -> AnyStore {
    palermo_store::open(&format!("sqlite://{}", dir.join("node.db").display()))
        .await
        .unwrap()
}

/// A fresh PostgreSQL store in its own schema.
pub(crate) async fn postgres() -> AnyStore {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let url = format!("{base}?schema=i_{}", uuid::Uuid::now_v7().simple());
    palermo_store::open(&url)
        .await
        .unwrap_or_else(|err| panic!("PostgreSQL must be running: {err}"))
}

/// Both backends, each with a label.
pub(crate) async fn backends(dir: &Path) -> Vec<(&'static str, AnyStore)> {
    vec![
        ("sqlite", sqlite(dir).await),
        ("postgres", postgres().await),
    ]
}

/// The default import configuration for `schema`.
pub(crate) fn config(schema: Schema) -> ImportConfig {
    ImportConfig {
        format: None,
        schema,
        id_column: None,
        maps: Vec::new(),
        markings: MarkingConfig {
            tlp: None,
            victim_tlp: None,
            purpose: None,
            retain_until: None,
            originator: None,
            onward_sharing: false,
            handling: None,
        },
        imported_by: "tester".to_owned(),
    }
}

/// Imports a file without progress reporting.
pub(crate) async fn import<S: Store>(
    store: &S,
    path: &Path,
    config: &ImportConfig,
) -> palermo_ingest::Result<ImportSummary> {
    import_file(store, path, config, &mut |_| {}).await
}

/// Writes `bytes` to `dir/name`.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

/// Entity count in the store.
pub(crate) async fn count<S: Store>(store: &S) -> u64 {
    store.stats().await.unwrap().total
}
