//! `from_ftm(to_ftm(x)) == x` for random entities of every schema.

use palermo_model::{
    Entity, EntityId, HandlingCode, Markings, Originator, PropertyType, Provenance, Purpose, Role,
    Schema, Tlp, from_ftm_json, to_ftm_json, to_ftm_value,
};
use proptest::prelude::*;

fn value_for(kind: PropertyType) -> BoxedStrategy<String> {
    match kind {
        PropertyType::Date => (1900u16..2030, proptest::option::of((1u8..=12, 1u8..=28)))
            .prop_map(|(y, md)| match md {
                Some((m, d)) => format!("{y:04}-{m:02}-{d:02}"),
                None => format!("{y:04}"),
            })
            .boxed(),
        PropertyType::Country => prop::sample::select(vec!["TH", "MY", "NL", "DE", "UA"])
            .prop_map(str::to_owned)
            .boxed(),
        PropertyType::Email => "[a-z]{1,8}@[a-z]{1,8}\\.org".boxed(),
        PropertyType::Gender => prop::sample::select(vec!["male", "female", "other"])
            .prop_map(str::to_owned)
            .boxed(),
        PropertyType::Number => (0u32..1_000_000).prop_map(|n| n.to_string()).boxed(),
        PropertyType::Entity => "[a-z0-9-]{1,12}".boxed(),
        _ => "[A-Za-z\u{0400}-\u{044F}\u{0E01}-\u{0E2E}][A-Za-z \u{0400}-\u{044F}'-]{0,20}[a-z]"
            .boxed(),
    }
}

fn markings() -> impl Strategy<Value = Markings> {
    (
        prop::sample::select(Tlp::ALL.to_vec()),
        proptest::option::of(prop_oneof![
            "[A-Z]{2}-[0-9]{1,4}".prop_map(Purpose::Case),
            "[a-z ]{1,10}[a-z]".prop_map(Purpose::Text),
        ]),
        proptest::option::of((2026i32..2040, 1u8..=12, 1u8..=28)),
        proptest::option::of(("[a-z]{2}-node", "[A-Za-z ]{1,10}[a-z]")),
        any::<bool>(),
        proptest::option::of(prop::sample::select(vec![
            HandlingCode::H0,
            HandlingCode::H1,
            HandlingCode::H2,
            HandlingCode::H3,
        ])),
    )
        .prop_map(
            |(tlp, purpose, retain, originator, onward_sharing, handling)| Markings {
                tlp,
                purpose,
                retain_until: retain.map(|(y, m, d)| {
                    time::Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap()
                }),
                originator: originator.map(|(node, agency)| Originator { node, agency }),
                onward_sharing,
                handling,
            },
        )
}

fn entity() -> impl Strategy<Value = Entity> {
    prop::sample::select(Schema::ALL.to_vec()).prop_flat_map(|schema| {
        let defs: Vec<_> = schema.properties().copied().collect();
        let props = prop::collection::vec(
            prop::sample::select(defs).prop_flat_map(|def| {
                prop::collection::vec(value_for(def.kind), 1..3).prop_map(move |v| (def.name, v))
            }),
            0..6,
        );
        (
            "[A-Za-z0-9-]{1,16}",
            props,
            markings(),
            proptest::option::of(prop::sample::select(Role::ALL.to_vec())),
            any::<bool>(),
            (1u64..100_000, 0i64..2_000_000_000),
        )
            .prop_map(
                move |(id, props, markings, role, with_prov, (line, secs))| {
                    let mut entity = Entity::new(EntityId::new(&id).unwrap(), schema);
                    for (name, values) in props {
                        for value in values {
                            entity.add(name, &value).unwrap();
                        }
                    }
                    entity.markings = markings;
                    if schema.has_role() {
                        entity.role = role;
                    }
                    if with_prov {
                        entity.provenance = Some(Provenance {
                            source_file: "cases/nl.csv".to_owned(),
                            record: line,
                            batch_id: uuid::Uuid::from_u128(u128::from(line)),
                            imported_at: time::OffsetDateTime::from_unix_timestamp(secs).unwrap(),
                            imported_by: "analyst".to_owned(),
                        });
                    }
                    entity
                },
            )
    })
}

proptest! {
    #[test]
    fn ftm_round_trip(entity in entity()) {
        let line = to_ftm_json(&entity);
        // The line is written straight from the entity; it must be the
        // FtM value's own serialisation, byte for byte.
        prop_assert_eq!(&line, &to_ftm_value(&entity).to_string());
        let (back, warnings) = from_ftm_json(&line).unwrap();
        prop_assert!(warnings.is_empty());
        prop_assert_eq!(back, entity);
    }

    #[test]
    fn parser_never_panics(line in "\\PC{0,200}") {
        let _ = from_ftm_json(&line);
    }
}
