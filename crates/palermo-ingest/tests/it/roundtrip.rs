//! `import(export(x)) == x` for every schema, every property and every
//! marking, on both backends (provenance is re-stamped by the import).

use palermo_ingest::{CHUNK, ExportError, ExportFilter, export_ftm, export_ftm_filtered};
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
        let (out, n) = export_ftm(&store, Vec::new(), &exported_path)
            .await
            .unwrap();
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

/// Keeps every other entity of each chunk, or fails on the chunk that holds
/// more than `fail_after` entities seen so far.
struct EveryOther {
    seen: usize,
    fail_after: usize,
}

impl ExportFilter for EveryOther {
    type Error = String;

    fn keep<'a>(&mut self, chunk: &'a [Entity]) -> Result<Vec<&'a Entity>, String> {
        self.seen += chunk.len();
        if self.seen > self.fail_after {
            return Err(format!("refused after {}", self.seen));
        }
        Ok(chunk.iter().step_by(2).collect())
    }
}

#[tokio::test]
async fn a_filtered_export_writes_what_the_filter_keeps_across_chunks() {
    let dir = tempfile::tempdir().unwrap();
    // More than two chunks, so the reader runs ahead of the writer and the
    // last chunk is partial.
    let rows = CHUNK * 2 + 100;
    let mut csv = String::from("id,name,birth_date\n");
    for i in 0..rows {
        csv.push_str(&format!("p{i},Person {i},1990-01-01\n"));
    }
    let file = crate::util::write(dir.path(), "persons.csv", csv.as_bytes());
    let store = crate::util::sqlite(dir.path()).await;
    import(&store, &file, &config(Schema::Person))
        .await
        .unwrap();
    let path = dir.path().join("out.jsonl");

    let filter = EveryOther {
        seen: 0,
        fail_after: usize::MAX,
    };
    let (filter, out, n) = export_ftm_filtered(&store, filter, Vec::new(), &path)
        .await
        .unwrap();
    assert_eq!(filter.seen, rows, "the filter saw every stored entity once");
    // Every other entity of each full chunk, and of the partial last one.
    let expected = 2 * CHUNK.div_ceil(2) + 100usize.div_ceil(2);
    assert_eq!(n, expected as u64);
    assert_eq!(String::from_utf8(out).unwrap().lines().count(), expected);

    let failing = EveryOther {
        seen: 0,
        fail_after: CHUNK,
    };
    match export_ftm_filtered(&store, failing, Vec::new(), &path).await {
        Err(ExportError::Filter(reason)) => {
            assert_eq!(reason, format!("refused after {}", 2 * CHUNK))
        }
        Err(ExportError::Export(err)) => panic!("expected the filter's error, got {err}"),
        Ok((_, _, n)) => panic!("expected the filter's error, wrote {n}"),
    }
}
