//! The store conformance suite: generic over [`Store`], run by every backend.

use palermo_model::{Entity, EntityId, Schema};
use palermo_store::{Error, ImportTx, InsertCounts, Store};

use crate::util::{at_line, batch, person, victim};

async fn import<S: Store>(
    store: &S,
    file: &str,
    entities: Vec<Entity>,
) -> palermo_store::Result<InsertCounts> {
    let meta = batch(file);
    let entities: Vec<Entity> = entities
        .into_iter()
        .enumerate()
        .map(|(i, e)| at_line(e, &meta, i as u64 + 2))
        .collect();
    let mut tx = store.begin_import(&meta).await?;
    let counts = tx.insert(&entities).await?;
    tx.commit(entities.len() as u64, counts).await?;
    Ok(counts)
}

async fn count<S: Store>(store: &S) -> u64 {
    store.stats().await.unwrap().total
}

pub(crate) async fn round_trips_entities<S: Store>(store: &S) {
    let meta = batch("cases/nl.jsonl");
    let original = at_line(person("nl-1", "Ahmed", "Al-Rashid", "P1234567"), &meta, 7);
    let mut tx = store.begin_import(&meta).await.unwrap();
    tx.insert(std::slice::from_ref(&original)).await.unwrap();
    tx.commit(
        1,
        InsertCounts {
            new: 1,
            unchanged: 0,
        },
    )
    .await
    .unwrap();
    let stored = store.get("nl-1").await.unwrap().unwrap();
    assert_eq!(stored, original);
    assert!(store.get("missing").await.unwrap().is_none());
}

pub(crate) async fn reimport_is_idempotent<S: Store>(store: &S) {
    let records = vec![person("a", "Ahmed", "Al-Rashid", "P1"), victim("v")];
    assert_eq!(
        import(store, "one.csv", records.clone()).await.unwrap(),
        InsertCounts {
            new: 2,
            unchanged: 0
        }
    );
    assert_eq!(
        import(store, "again.csv", records).await.unwrap(),
        InsertCounts {
            new: 0,
            unchanged: 2
        }
    );
    assert_eq!(count(store).await, 2);
    // Provenance stays with the first import.
    let stored = store.get("a").await.unwrap().unwrap();
    assert_eq!(stored.provenance.unwrap().source_file, "one.csv");
}

pub(crate) async fn conflicting_duplicate_rolls_back<S: Store>(store: &S) {
    import(
        store,
        "first.csv",
        vec![person("a", "Ahmed", "Al-Rashid", "P1")],
    )
    .await
    .unwrap();
    let before = count(store).await;
    let err = import(
        store,
        "second.csv",
        vec![
            person("b", "Somchai", "Srisuk", "P2"),
            person("a", "Achmed", "Alrasheed", "P1"),
        ],
    )
    .await
    .unwrap_err();
    match err {
        Error::Conflict { id, existing } => {
            assert_eq!(id, "a");
            assert_eq!(existing, "first.csv line 2");
        }
        other => panic!("expected a conflict, got {other}"),
    }
    assert_eq!(
        count(store).await,
        before,
        "a failed import leaves the store unchanged"
    );
    assert!(store.get("b").await.unwrap().is_none());
    assert_eq!(store.batches().await.unwrap().len(), 1);
}

pub(crate) async fn conflicting_duplicate_within_one_file<S: Store>(store: &S) {
    let err = import(
        store,
        "dup.csv",
        vec![
            person("a", "Ahmed", "Al-Rashid", "P1"),
            person("a", "Other", "Person", "P9"),
        ],
    )
    .await
    .unwrap_err();
    assert!(
        matches!(err, Error::Conflict { ref id, .. } if id == "a"),
        "{err}"
    );
    assert_eq!(count(store).await, 0);
}

pub(crate) async fn dropped_import_leaves_nothing<S: Store>(store: &S) {
    let meta = batch("killed.csv");
    {
        let mut tx = store.begin_import(&meta).await.unwrap();
        tx.insert(&[person("x", "A", "B", "P3")]).await.unwrap();
        // Dropped without commit, as when the importer fails or is killed.
    }
    assert_eq!(count(store).await, 0);
    assert!(store.batches().await.unwrap().is_empty());
}

pub(crate) async fn counts_by_schema_tlp_and_role<S: Store>(store: &S) {
    let mut passport = Entity::new(EntityId::new("doc-1").unwrap(), Schema::Passport);
    passport.add("number", "P1234567").unwrap();
    passport.add("holder", "a").unwrap();
    import(
        store,
        "mixed.jsonl",
        vec![
            person("a", "Ahmed", "Al-Rashid", "P1"),
            victim("v"),
            passport,
        ],
    )
    .await
    .unwrap();
    let stats = store.stats().await.unwrap();
    assert_eq!(stats.total, 3);
    assert_eq!(
        stats.by_schema,
        [("Passport".to_owned(), 1), ("Person".to_owned(), 2)]
    );
    assert_eq!(
        stats.by_tlp,
        [("TLP:AMBER".to_owned(), 2), ("TLP:RED".to_owned(), 1)]
    );
    assert_eq!(
        stats.by_role,
        [("suspect".to_owned(), 1), ("victim".to_owned(), 1)]
    );
    assert_eq!(stats.batches, 1);
}

pub(crate) async fn exports_in_import_order<S: Store>(store: &S) {
    let ids = ["z", "a", "m", "b"];
    let records = ids
        .iter()
        .map(|id| person(id, "N", "M", &format!("P-{id}00")))
        .collect();
    import(store, "order.csv", records).await.unwrap();
    let mut seen = Vec::new();
    let n = store
        .export(|entity| {
            seen.push(entity.id.to_string());
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(n, 4);
    assert_eq!(seen, ids);
    // A failing sink stops the export with its error.
    let err = store
        .export(|_| Err(Error::Sink("disk full".to_owned())))
        .await
        .unwrap_err();
    assert_eq!(err.to_string(), "disk full");
}

pub(crate) async fn finds_by_lookup_keys<S: Store>(store: &S) {
    import(
        store,
        "keys.csv",
        vec![
            person("a", "Ahmed", "Al-Rashid", "P 123-4567"),
            person("b", "Ahmed", "Khan", "X9"),
        ],
    )
    .await
    .unwrap();
    assert_eq!(store.find_by_key("n:ahmed").await.unwrap(), ["a", "b"]);
    assert_eq!(store.find_by_key("id:P1234567").await.unwrap(), ["a"]);
    assert!(store.find_by_key("n:nobody").await.unwrap().is_empty());
}

pub(crate) async fn large_batches_span_statements<S: Store>(store: &S) {
    let records: Vec<Entity> = (0..2_500)
        .map(|i| {
            person(
                &format!("p{i}"),
                "First",
                &format!("Last{i}"),
                &format!("ID{i:06}"),
            )
        })
        .collect();
    let counts = import(store, "big.csv", records).await.unwrap();
    assert_eq!(counts.new, 2_500);
    assert_eq!(count(store).await, 2_500);
    assert_eq!(store.find_by_key("id:ID002499").await.unwrap(), ["p2499"]);
}

pub(crate) async fn large_reimport_with_stored_ids_late_in_the_chunk<S: Store>(store: &S) {
    let record = |i: usize| {
        person(
            &format!("p{i}"),
            "First",
            &format!("Last{i}"),
            &format!("ID{i:06}"),
        )
    };
    let first: Vec<Entity> = (0..2_500).map(record).collect();
    import(store, "first.csv", first).await.unwrap();
    // New records first, stored ones after: on PostgreSQL the first stored
    // id is met in the third part of the chunk's COPY, after two were sent.
    let second: Vec<Entity> = (2_500..4_600).chain(0..2_500).map(record).collect();
    let counts = import(store, "second.csv", second).await.unwrap();
    assert_eq!(
        counts,
        InsertCounts {
            new: 2_100,
            unchanged: 2_500
        }
    );
    assert_eq!(count(store).await, 4_600);
    assert_eq!(store.find_by_key("id:ID004599").await.unwrap(), ["p4599"]);
    assert_eq!(store.find_by_key("id:ID000000").await.unwrap(), ["p0"]);
    let stored = store.get("p0").await.unwrap().unwrap();
    assert_eq!(stored.provenance.unwrap().source_file, "first.csv");
}

/// Declares one `#[tokio::test]` per conformance case for a backend.
#[macro_export]
macro_rules! conformance_tests {
    ($open:expr) => {
        $crate::conformance_tests!(@each $open;
            round_trips_entities,
            reimport_is_idempotent,
            conflicting_duplicate_rolls_back,
            conflicting_duplicate_within_one_file,
            dropped_import_leaves_nothing,
            counts_by_schema_tlp_and_role,
            exports_in_import_order,
            finds_by_lookup_keys,
            large_batches_span_statements,
            large_reimport_with_stored_ids_late_in_the_chunk,
        );
    };
    (@each $open:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $case() {
                let (store, _guard) = $open.await;
                $crate::conformance::$case(&store).await;
            }
        )*
    };
}
