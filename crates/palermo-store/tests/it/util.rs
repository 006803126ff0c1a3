//! Fixtures shared by the backend test modules.

use palermo_model::{Entity, EntityId, Markings, Provenance, Role, Schema, Tlp};
use palermo_store::BatchMeta;
use time::OffsetDateTime;
use uuid::Uuid;

/// The PostgreSQL URL for tests, with a fresh schema name.
pub(crate) fn pg_url() -> String {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_{}", Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

/// Batch metadata for a file name.
pub(crate) fn batch(file: &str) -> BatchMeta {
    BatchMeta {
        id: Uuid::now_v7(),
        source_file: file.to_owned(),
        input_format: "ftm".to_owned(),
        imported_by: "tester".to_owned(),
        started_at: OffsetDateTime::from_unix_timestamp(OffsetDateTime::now_utc().unix_timestamp())
            .unwrap(),
    }
}

/// A person with a name, a birth date and a passport number.
pub(crate) fn person(id: &str, first: &str, last: &str, passport: &str) -> Entity {
    let mut entity = Entity::new(EntityId::new(id).unwrap(), Schema::Person);
    entity.add("firstName", first).unwrap();
    entity.add("lastName", last).unwrap();
    entity.add("birthDate", "1984-03").unwrap();
    entity.add("passportNumber", passport).unwrap();
    entity.set_role(Role::Suspect).unwrap();
    entity
}

/// A victim with default (strictest) markings.
pub(crate) fn victim(id: &str) -> Entity {
    let mut entity = Entity::new(EntityId::new(id).unwrap(), Schema::Person);
    entity.add("name", "Dao Sukjai").unwrap();
    entity.set_role(Role::Victim).unwrap();
    entity.markings = Markings::default_for(Some(Role::Victim));
    assert_eq!(entity.markings.tlp, Tlp::Red);
    entity
}

/// Sets the provenance line the importer would set.
pub(crate) fn at_line(mut entity: Entity, meta: &BatchMeta, line: u64) -> Entity {
    entity.provenance = Some(Provenance {
        source_file: meta.source_file.clone(),
        record: line,
        batch_id: meta.id,
        imported_at: meta.started_at,
        imported_by: meta.imported_by.clone(),
    });
    entity
}
