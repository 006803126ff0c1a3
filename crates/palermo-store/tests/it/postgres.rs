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
