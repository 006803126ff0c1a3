//! Store resolution through the library: a full run, a no-op run that
//! writes nothing, an incremental run, the cluster view and explanations,
//! and bad input.

use palermo_node::Error;
use palermo_node::resolution::{RunConfig, cluster, explain, run, run_entry};
use palermo_store::AnyStore;

use crate::util::{import, person};

fn config(full: bool) -> RunConfig {
    RunConfig {
        threshold: 0.5,
        max_block: 400,
        full,
        actor: "reviewer".to_owned(),
    }
}

#[tokio::test]
async fn runs_views_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let store: AnyStore = crate::util::sqlite(&dir).await;
    let err = run(&store, &config(false)).await.unwrap_err();
    assert!(matches!(err, Error::BadInput(_)), "{err}");
    import(
        &store,
        vec![
            person("r1", "Ahmed Al-Rashid", "1984-03-02", "P1234567", "iq"),
            person("r2", "Achmed Alrasheed", "1984-03-02", "", "iq"),
            person("r3", "Maria Kowalski", "1975-11-30", "K5550001", "pl"),
            person("r4", "Мария Ковальски", "1975-11-30", "K5550001", "pl"),
            person("r5", "Juri Juschtschenko", "1961-07-11", "U7777777", "ua"),
            person("r6", "Tomas Novak", "1955-05-05", "N1111111", "cz"),
            person("r7", "Ann Lee", "1990-01-01", "L0000001", "gb"),
            person("r8", "Bo Kim", "1999-09-09", "Z9999999", "kr"),
        ],
    )
    .await;
    let mut bad = config(false);
    bad.threshold = 1.5;
    assert!(run(&store, &bad).await.unwrap_err().is_bad_input());
    assert!(
        explain(&store, "r1", "r2")
            .await
            .unwrap_err()
            .to_string()
            .contains("no resolution model")
    );

    let first = run(&store, &config(false)).await.unwrap();
    assert_eq!(
        (first.mode, first.records, first.model_version),
        ("full", 8, 1)
    );
    assert!(first.clusters < 8 && first.merges >= 2, "{first:?}");
    let entry = run_entry(&first, "reviewer").unwrap();
    assert_eq!(entry.actor, "reviewer");
    let view = cluster(&store, "r3").await.unwrap();
    let mut ids: Vec<&str> = view.members.iter().map(|p| p.id.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["r3", "r4"]);
    assert!(view.cluster_id.is_some());
    assert!(explain(&store, "r3", "r4").await.unwrap().probability > 0.9);

    // Nothing new: no run, no ledger entry.
    let again = run(&store, &config(false)).await.unwrap();
    assert!(again.run_id.is_empty());
    assert!(run_entry(&again, "reviewer").is_none());

    import(
        &store,
        vec![person(
            "s1",
            "AL RASHID Ahmed",
            "1984-03-02",
            "P 123 4567",
            "iq",
        )],
    )
    .await;
    let inc = run(&store, &config(false)).await.unwrap();
    assert_eq!((inc.mode, inc.records), ("incremental", 1));
    assert!(
        cluster(&store, "s1")
            .await
            .unwrap()
            .members
            .iter()
            .any(|p| p.id == "r1")
    );
    let err = cluster(&store, "nobody").await.unwrap_err();
    assert!(err.is_bad_input() && err.to_string().contains("unknown record id"));
}
