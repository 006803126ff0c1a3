//! Stores and records shared by the test modules.

use palermo_model::{Entity, EntityId, Markings, Provenance, Role, Schema, Tlp};
use palermo_store::{AnyStore, BatchMeta, ImportTx, PgStore, SqliteStore, Store};
use time::OffsetDateTime;
use uuid::Uuid;

/// A fresh SQLite store in `dir`.
pub(crate) async fn sqlite(dir: &tempfile::TempDir) -> AnyStore {
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap())
}

/// A fresh PostgreSQL store in its own schema.
pub(crate) async fn postgres() -> AnyStore {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_{}", Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    AnyStore::Postgres(
        PgStore::connect(&format!("{base}{sep}schema={schema}"))
            .await
            .unwrap(),
    )
}

/// A person with a name, birth date, passport number and nationality, TLP:AMBER.
pub(crate) fn person(id: &str, name: &str, birth: &str, passport: &str, country: &str) -> Entity {
    let mut entity = Entity::new(EntityId::new(id).unwrap(), Schema::Person);
    entity.add("name", name).unwrap();
    entity.add("birthDate", birth).unwrap();
    if !passport.is_empty() {
        entity.add("passportNumber", passport).unwrap();
    }
    entity.add("nationality", country).unwrap();
    entity.markings.tlp = Tlp::Amber;
    entity
}

/// A victim with the default (strictest) markings: TLP:RED.
pub(crate) fn victim(id: &str) -> Entity {
    let mut entity = Entity::new(EntityId::new(id).unwrap(), Schema::Person);
    entity.add("name", "Dao Sukjai").unwrap();
    entity.set_role(Role::Victim).unwrap();
    entity.markings = Markings::default_for(Some(Role::Victim));
    entity
}

/// Imports `entities` in one batch.
pub(crate) async fn import(store: &AnyStore, entities: Vec<Entity>) {
    let meta = BatchMeta {
        id: Uuid::now_v7(),
        source_file: "people.jsonl".to_owned(),
        input_format: "ftm".to_owned(),
        imported_by: "tester".to_owned(),
        started_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap(),
    };
    let entities: Vec<Entity> = entities
        .into_iter()
        .enumerate()
        .map(|(i, mut e)| {
            e.provenance = Some(Provenance {
                source_file: meta.source_file.clone(),
                record: i as u64 + 1,
                batch_id: meta.id,
                imported_at: meta.started_at,
                imported_by: meta.imported_by.clone(),
            });
            e
        })
        .collect();
    let mut tx = store.begin_import(&meta).await.unwrap();
    let counts = tx.insert(&entities).await.unwrap();
    tx.commit(entities.len() as u64, counts).await.unwrap();
}
