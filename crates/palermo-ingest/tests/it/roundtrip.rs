//! `import(export(x)) == x` for every schema, every property and every
//! marking, on both backends (provenance is re-stamped by the import).

use palermo_ingest::export_ftm;
use palermo_model::{
    Entity, EntityId, HandlingCode, Markings, Originator, PropertyType, Purpose, Role, Schema, Tlp,
};
use palermo_store::Store;

use crate::util::{backends, config, import};

fn values(kind: PropertyType, idx: usize) -> [String; 2] {
    match kind {
        PropertyType::Date => ["1984".to_owned(), format!("1990-04-{:02}", idx % 28 + 1)],
        PropertyType::Country => ["TH".to_owned(), "NL".to_owned()],
        PropertyType::Email => [format!("a{idx}@example.org"), "b@example.org".to_owned()],
        PropertyType::Gender => ["female".to_owned(), "other".to_owned()],
        PropertyType::Number => [idx.to_string(), "12.5".to_owned()],
        PropertyType::Entity => [format!("ref-{idx}"), "ref-x".to_owned()],
        PropertyType::Name => [format!("Ахмед {idx}"), "สมชาย".to_owned()],
        PropertyType::Text => [
            format!("value {idx}\twith tab"),
            "line\nbreak \\ and \"quotes\"".to_owned(),
        ],
        _ => [
            format!("value {idx} \\ back"),
            "\"quoted\" 'text'".to_owned(),
        ],
    }
}

/// One entity per schema and marking combination, with every property set.
fn corpus() -> Vec<Entity> {
    let purposes = [
        None,
        Some(Purpose::Case("NL-2026-17".to_owned())),
        Some(Purpose::Text("border screening".to_owned())),
    ];
    let handling = [
        None,
        Some(HandlingCode::H0),
        Some(HandlingCode::H1),
        Some(HandlingCode::H2),
        Some(HandlingCode::H3),
    ];
    let mut out = Vec::new();
    for (schema_idx, schema) in Schema::ALL.into_iter().enumerate() {
        for (tlp_idx, tlp) in Tlp::ALL.into_iter().enumerate() {
            let n = out.len();
            let mut entity = Entity::new(
                EntityId::new(&format!("{schema}-{tlp_idx}")).unwrap(),
                schema,
            );
            for def in schema.properties() {
                for value in values(def.kind, n) {
                    entity.add(def.name, &value).unwrap();
                }
            }
            if schema.has_role() {
                entity.role = Some(Role::ALL[(schema_idx + tlp_idx) % Role::ALL.len()]);
            }
            entity.markings = Markings {
                tlp,
                purpose: purposes[n % purposes.len()].clone(),
                retain_until: (n % 2 == 0)
                    .then(|| Markings::parse_retain_until("2031-12-31").unwrap()),
                originator: (n % 3 == 0).then(|| Originator {
                    node: "nl-knpa".to_owned(),
                    agency: "Dutch National Police".to_owned(),
                }),
                onward_sharing: n % 2 == 1,
                handling: handling[n % handling.len()],
            };
            out.push(entity);
        }
    }
    out
}

fn without_provenance(mut entities: Vec<Entity>) -> Vec<Entity> {
    for entity in &mut entities {
        entity.provenance = None;
    }
    entities
}

#[tokio::test]
async fn export_then_import_round_trips_on_both_backends() {
    let dir = tempfile::tempdir().unwrap();
    let corpus = corpus();
    let file = dir.path().join("corpus.jsonl");
    let lines: Vec<String> = corpus.iter().map(palermo_model::to_ftm_json).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    for (backend, store) in backends(dir.path()).await {
        let summary = import(&store, &file, &config(Schema::Person))
            .await
            .unwrap();
        assert_eq!(summary.new, corpus.len() as u64, "{backend}");
        // Export, re-import the export into a second store, compare.
        let exported_path = dir.path().join(format!("export-{backend}.jsonl"));
        let mut out = Vec::new();
        let n = export_ftm(&store, &mut out, &exported_path).await.unwrap();
        assert_eq!(n, corpus.len() as u64);
        std::fs::write(&exported_path, &out).unwrap();
        let second_dir = tempfile::tempdir().unwrap();
        let second = crate::util::sqlite(second_dir.path()).await;
        import(&second, &exported_path, &config(Schema::Person))
            .await
            .unwrap();
        let mut back = Vec::new();
        second
            .export(|entity| {
                back.push(entity);
                Ok(())
            })
            .await
            .unwrap();
        assert_eq!(
            without_provenance(back),
            without_provenance(corpus.clone()),
            "{backend}"
        );
    }
}
