//! The resolution tables on both backends: state, person reads, key hits with the
//! block limit, term counts, run commits (incremental and replacing), the watermark
//! check, human decisions and their membership changes.

use palermo_model::{Entity, EntityId, Schema};
use palermo_store::{
    AnyStore, DecisionRecord, Error, ImportTx, InsertCounts, ResolutionWrite, RunRecord, Store,
};

use crate::util::{at_line, batch, person};

async fn import(store: &AnyStore, entities: Vec<Entity>) {
    let meta = batch("people.jsonl");
    let entities: Vec<Entity> = entities
        .into_iter()
        .enumerate()
        .map(|(i, e)| at_line(e, &meta, i as u64 + 1))
        .collect();
    let mut tx = store.begin_import(&meta).await.unwrap();
    let counts = tx.insert(&entities).await.unwrap();
    tx.commit(entities.len() as u64, counts).await.unwrap();
    assert_eq!(
        counts,
        InsertCounts {
            new: entities.len() as u64,
            unchanged: 0
        }
    );
}

fn run(id: &str, mode: &str, watermark: i64) -> RunRecord {
    RunRecord {
        id: id.to_owned(),
        time: format!("2026-01-01T00:00:0{}Z", id.len() % 10),
        actor: "tester".to_owned(),
        mode: mode.to_owned(),
        model_version: 0,
        watermark,
        summary: "{}".to_owned(),
    }
}

fn decision(left: &str, right: &str, kind: &str, run_id: Option<&str>) -> DecisionRecord {
    DecisionRecord {
        left_id: left.to_owned(),
        right_id: right.to_owned(),
        kind: kind.to_owned(),
        probability: run_id.map(|_| 0.99),
        weights: run_id.map(|_| "givenName=exact:+7.00".to_owned()),
        run_id: run_id.map(str::to_owned),
        actor: "tester".to_owned(),
        note: (kind != "merge").then(|| format!("{kind} note")),
        time: "2026-01-01T00:00:00Z".to_owned(),
    }
}

/// The kept counts agree with the members and the clusters they name.
async fn assert_cluster_count(store: &AnyStore) {
    let members = store.resolution_all_members().await.unwrap();
    let distinct: std::collections::HashSet<&String> = members.iter().map(|(_, c)| c).collect();
    let state = store.resolution_state().await.unwrap();
    assert_eq!(
        (state.resolved, state.clusters),
        (members.len() as u64, distinct.len() as u64),
        "kept counts against {members:?}"
    );
}

async fn resolution_round_trip(store: AnyStore) {
    let state = store.resolution_state().await.unwrap();
    assert_eq!((state.persons, state.resolved, state.watermark), (0, 0, 0));
    assert!(state.model.is_none());
    let mut org = Entity::new(EntityId::new("org1").unwrap(), Schema::Organization);
    org.add("name", "Acme Travel").unwrap();
    import(
        &store,
        vec![
            person("p1", "Ahmed", "Al-Rashid", "P1234567"),
            org,
            person("p2", "Achmed", "Alrasheed", "P1234567"),
            person("p3", "Maria", "Kowalski", "K5550001"),
        ],
    )
    .await;
    let persons = store.resolution_persons_after(0).await.unwrap();
    let ids: Vec<&str> = persons.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3"], "only persons, in import order");
    assert!(
        persons[0]
            .properties
            .contains(&("firstName".to_owned(), "Ahmed".to_owned()))
    );
    let seqs: Vec<i64> = persons.iter().map(|p| p.seq).collect();
    assert_eq!(
        store.resolution_persons_after(seqs[1]).await.unwrap()[0].id,
        "p3"
    );
    let by_id = store
        .resolution_persons_by_id(&["p3".into(), "nobody".into(), "org1".into()])
        .await
        .unwrap();
    assert_eq!(by_id.len(), 1);
    assert_eq!(
        store
            .resolution_persons_by_seq(&[seqs[2], seqs[0]])
            .await
            .unwrap()[0]
            .id,
        "p1"
    );

    // First (full) run: p1 + p2 in cluster A, p3 in B; key 10 shared by p1 and p2.
    let first = ResolutionWrite {
        run: run("run-1", "full", seqs[2]),
        expected_watermark: 0,
        new_model: Some(r#"{"format":1}"#.to_owned()),
        replace: true,
        members: vec![
            (seqs[0], "A".into()),
            (seqs[1], "A".into()),
            (seqs[2], "B".into()),
        ],
        keys: vec![(10, seqs[0]), (10, seqs[1]), (20, seqs[2]), (10, seqs[0])],
        terms: vec![(7, 2), (8, 1)],
        merges: vec![decision("p1", "p2", "merge", Some("run-1"))],
    };
    assert_eq!(store.resolution_commit(first.clone()).await.unwrap(), 1);
    assert_cluster_count(&store).await;
    let state = store.resolution_state().await.unwrap();
    assert_eq!(
        (
            state.persons,
            state.resolved,
            state.clusters,
            state.watermark,
            state.runs
        ),
        (3, 3, 2, seqs[2], 1)
    );
    assert_eq!(state.model.as_ref().unwrap().version, 1);
    assert_eq!(state.model.as_ref().unwrap().params, r#"{"format":1}"#);

    // The same write again finds the watermark moved: a conflict, nothing written.
    let err = store.resolution_commit(first).await.unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(store.resolution_state().await.unwrap().runs, 1);

    // Key hits leave out blocks larger than the limit.
    let mut hits = store.resolution_key_hits(&[10, 20, 30], 5).await.unwrap();
    hits.sort_unstable();
    assert_eq!(hits, [(10, seqs[0]), (10, seqs[1]), (20, seqs[2])]);
    assert_eq!(
        store.resolution_key_hits(&[10, 20], 1).await.unwrap(),
        [(20, seqs[2])]
    );

    // An incremental run adds term counts and moves nothing it does not name.
    let second = ResolutionWrite {
        run: run("run-22", "incremental", seqs[2] + 5),
        expected_watermark: seqs[2],
        new_model: None,
        replace: false,
        members: vec![(seqs[2], "A".into())],
        keys: vec![(20, seqs[0])],
        terms: vec![(7, 3), (9, 1)],
        merges: Vec::new(),
    };
    let mut second_run = second.clone();
    second_run.run.model_version = 1;
    assert_eq!(store.resolution_commit(second_run).await.unwrap(), 1);
    let mut terms = store.resolution_terms(&[7, 8, 9, 11]).await.unwrap();
    terms.sort_unstable();
    assert_eq!(terms, [(7, 5), (8, 1), (9, 1)]);
    assert_eq!(
        store.resolution_all_members().await.unwrap(),
        [
            (seqs[0], "A".into()),
            (seqs[1], "A".into()),
            (seqs[2], "A".into())
        ]
    );
    assert_eq!(store.resolution_state().await.unwrap().clusters, 1);
    assert_cluster_count(&store).await;

    // A human decision and the membership change it causes.
    let reject = decision("p3", "p1", "reject", None);
    store
        .resolution_decide(&reject, &[(seqs[2], "C".into())])
        .await
        .unwrap();
    assert_eq!(store.resolution_state().await.unwrap().clusters, 2);
    assert_cluster_count(&store).await;
    // Moving a whole cluster into another one removes it from the count.
    let confirm = decision("p3", "p1", "confirm", None);
    store
        .resolution_decide(&confirm, &[(seqs[2], "A".into())])
        .await
        .unwrap();
    assert_eq!(store.resolution_state().await.unwrap().clusters, 1);
    assert_cluster_count(&store).await;
    store
        .resolution_decide(&reject, &[(seqs[2], "C".into())])
        .await
        .unwrap();
    assert_cluster_count(&store).await;
    assert_eq!(
        store.resolution_human_decisions().await.unwrap(),
        [reject.clone(), confirm.clone(), reject.clone()]
    );
    assert_eq!(
        store
            .resolution_members_of(&[seqs[2], 999_999])
            .await
            .unwrap(),
        [(seqs[2], "C".into())]
    );
    assert_eq!(
        store
            .resolution_cluster_members(&["A".into()])
            .await
            .unwrap(),
        [(seqs[0], "A".into()), (seqs[1], "A".into())]
    );
    let about = store
        .resolution_decisions_about(&["p1".into()])
        .await
        .unwrap();
    assert_eq!(about.len(), 4);
    assert_eq!(about[0].kind, "merge");
    assert_eq!(about[1], reject);
    assert_eq!(about[2], confirm);

    // An incremental run that resolves a new person into an existing cluster.
    import(
        &store,
        vec![person("p4", "Achmad", "Al Rashid", "P1234567")],
    )
    .await;
    let p4 = store
        .resolution_persons_by_id(&["p4".into()])
        .await
        .unwrap()[0]
        .seq;
    let mut fourth = ResolutionWrite {
        run: run("run-3", "incremental", seqs[2] + 5),
        expected_watermark: seqs[2] + 5,
        new_model: None,
        replace: false,
        members: vec![(p4, "A".into())],
        keys: Vec::new(),
        terms: Vec::new(),
        merges: Vec::new(),
    };
    fourth.run.model_version = 1;
    store.resolution_commit(fourth).await.unwrap();
    assert_eq!(
        (
            store.resolution_state().await.unwrap().resolved,
            store.resolution_state().await.unwrap().clusters
        ),
        (4, 2)
    );
    assert_cluster_count(&store).await;

    // A replacing run trains model 2 and drops membership, keys and terms first.
    let third = ResolutionWrite {
        run: run("run-333", "full", seqs[2] + 5),
        expected_watermark: seqs[2] + 5,
        new_model: Some(r#"{"format":1,"v":2}"#.to_owned()),
        replace: true,
        members: vec![(seqs[0], "A".into())],
        keys: vec![(40, seqs[0])],
        terms: vec![(7, 1)],
        merges: Vec::new(),
    };
    assert_eq!(store.resolution_commit(third).await.unwrap(), 2);
    assert_cluster_count(&store).await;
    assert_eq!(store.resolution_terms(&[7, 8]).await.unwrap(), [(7, 1)]);
    assert!(
        store
            .resolution_key_hits(&[10], 100)
            .await
            .unwrap()
            .is_empty()
    );
    let state = store.resolution_state().await.unwrap();
    assert_eq!((state.resolved, state.model.unwrap().version), (1, 2));
    let runs = store.resolution_runs().await.unwrap();
    let modes: Vec<(&str, i64)> = runs
        .iter()
        .map(|r| (r.mode.as_str(), r.model_version))
        .collect();
    assert_eq!(
        modes,
        [
            ("full", 1),
            ("incremental", 1),
            ("incremental", 1),
            ("full", 2)
        ]
    );
    // Decisions outlive replacing runs.
    assert_eq!(store.resolution_human_decisions().await.unwrap().len(), 3);
}

/// The neighbours of an incremental run, read in one statement, are exactly the
/// members of the clusters reached, with their rows as `resolution_persons_by_seq` reads
/// them (texts with commas, quotes, digits and multi-byte letters survive the packing).
async fn neighbours_round_trip(store: AnyStore) {
    let mut odd = person("p,1é", "Nguyễn, \"Ann\"", "12,3", "P1234567");
    odd.add("alias", "ม, ช").unwrap();
    import(
        &store,
        vec![
            odd,
            person("p2", "Ann", "Nguyen", "P1234567"),
            person("p3", "Maria", "Kowalski", "K5550001"),
            person("p4", "Mario", "Kowalsky", "K5550002"),
            person("p5", "Marion", "Kowal", "K5550003"),
            person("p6", "Dao", "Sukjai", "T0000001"),
            person("p7", "Dao", "Sukjai", "T0000002"),
        ],
    )
    .await;
    let persons = store.resolution_persons_after(0).await.unwrap();
    let s: Vec<i64> = persons.iter().map(|p| p.seq).collect();
    let write = ResolutionWrite {
        run: run("run-1", "full", s[5]),
        expected_watermark: 0,
        new_model: Some("{}".to_owned()),
        replace: true,
        // p7 (s[6]) is not resolved.
        members: vec![
            (s[0], "A".into()),
            (s[1], "A".into()),
            (s[2], "B".into()),
            (s[3], "C".into()),
            (s[4], "C".into()),
            (s[5], "D".into()),
        ],
        keys: vec![
            (10, s[0]),
            (30, s[0]),
            (30, s[2]),
            (30, s[3]),
            (30, s[4]),
            (i64::MIN, s[5]),
            (i64::MAX, s[2]),
        ],
        terms: Vec::new(),
        merges: Vec::new(),
    };
    store.resolution_commit(write).await.unwrap();
    let check = |keys: &'static [i64],
                 max_block: i64,
                 seqs: Vec<i64>,
                 expect: Vec<(usize, &'static str)>| {
        let store = &store;
        async move {
            let persons = store.resolution_persons_after(0).await.unwrap();
            let got = store
                .resolution_neighbours(keys, max_block, &seqs)
                .await
                .unwrap();
            let want: Vec<(palermo_store::PersonRow, String)> = expect
                .iter()
                .map(|(i, c)| (persons[*i].clone(), (*c).to_owned()))
                .collect();
            assert_eq!(
                got, want,
                "keys {keys:?}, max block {max_block}, seqs {seqs:?}"
            );
        }
    };
    check(&[10], 5, Vec::new(), vec![(0, "A"), (1, "A")]).await;
    check(&[10, 99], 1, Vec::new(), vec![(0, "A"), (1, "A")]).await;
    // Key 30 is held by four persons: a larger block than allowed is left out.
    check(&[30], 3, Vec::new(), Vec::new()).await;
    check(
        &[30],
        4,
        Vec::new(),
        vec![(0, "A"), (1, "A"), (2, "B"), (3, "C"), (4, "C")],
    )
    .await;
    check(&[i64::MIN], 1, Vec::new(), vec![(5, "D")]).await;
    check(
        &[i64::MAX, 10],
        1,
        Vec::new(),
        vec![(0, "A"), (1, "A"), (2, "B")],
    )
    .await;
    // Seqs reach their clusters; unknown and unresolved ones reach nothing.
    check(&[], 1, vec![s[4], 999_999, s[6]], vec![(3, "C"), (4, "C")]).await;
    check(&[], 1, Vec::new(), Vec::new()).await;

    // An incremental run's keys are found (and counted against the block limit) with
    // the full run's, until and after they are folded into them.
    let mut second = ResolutionWrite {
        run: run("run-22", "incremental", s[6]),
        expected_watermark: s[5],
        new_model: None,
        replace: false,
        members: vec![(s[6], "D".into())],
        keys: vec![(30, s[6]), (50, s[6])],
        terms: Vec::new(),
        merges: Vec::new(),
    };
    second.run.model_version = 1;
    store.resolution_commit(second).await.unwrap();
    assert_eq!(recent_keys(&store).await, 2);
    check(&[30], 4, Vec::new(), Vec::new()).await;
    let all = vec![
        (0, "A"),
        (1, "A"),
        (2, "B"),
        (3, "C"),
        (4, "C"),
        (5, "D"),
        (6, "D"),
    ];
    check(&[30], 5, Vec::new(), all.clone()).await;
    check(&[50], 1, Vec::new(), vec![(5, "D"), (6, "D")]).await;
    let mut hits = store.resolution_key_hits(&[30, 50], 5).await.unwrap();
    hits.sort_unstable();
    assert_eq!(
        hits,
        [
            (30, s[0]),
            (30, s[2]),
            (30, s[3]),
            (30, s[4]),
            (30, s[6]),
            (50, s[6])
        ]
    );
    // Every incremental run folds the slice of key hashes whose turn it is (the runs
    // recorded, in turn): keys 30 and 50 lie in the ninth slice, which comes at the
    // eighth run; they are found all along.
    for n in 3..=8 {
        let mut idle = ResolutionWrite {
            run: run(&format!("run-idle-{n}"), "incremental", s[6]),
            expected_watermark: s[6],
            new_model: None,
            replace: false,
            members: Vec::new(),
            keys: Vec::new(),
            terms: Vec::new(),
            merges: Vec::new(),
        };
        idle.run.model_version = 1;
        store.resolution_commit(idle).await.unwrap();
        assert_eq!(
            recent_keys(&store).await,
            if n < 8 { 2 } else { 0 },
            "run {n}"
        );
        check(&[50], 1, Vec::new(), vec![(5, "D"), (6, "D")]).await;
    }
    import(&store, vec![person("p8", "Dao", "Sukjai", "T0000003")]).await;
    let s8 = store.resolution_persons_after(s[6]).await.unwrap()[0].seq;
    let mut third = ResolutionWrite {
        run: run("run-333", "incremental", s8),
        expected_watermark: s[6],
        new_model: None,
        replace: false,
        members: vec![(s8, "D".into())],
        // Enough keys to reach the fold: all of them move to `resolution_keys`.
        keys: (0..262_144).map(|k| (1_000 + k, s8)).collect(),
        terms: Vec::new(),
        merges: Vec::new(),
    };
    third.run.model_version = 1;
    store.resolution_commit(third).await.unwrap();
    assert_eq!(recent_keys(&store).await, 0);
    check(&[30], 5, Vec::new(), [all, vec![(7, "D")]].concat()).await;
    check(
        &[50, 1_000],
        2,
        Vec::new(),
        vec![(5, "D"), (6, "D"), (7, "D")],
    )
    .await;
}

/// Keys in `resolution_keys_recent` (not folded yet).
async fn recent_keys(store: &AnyStore) -> i64 {
    let sql = "SELECT count(*) FROM resolution_keys_recent";
    match store {
        AnyStore::Sqlite(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
        AnyStore::Postgres(s) => sqlx::query_scalar(sql).fetch_one(s.pool()).await.unwrap(),
    }
}

#[tokio::test]
async fn neighbours_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    neighbours_round_trip(palermo_store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn neighbours_on_postgres() {
    let url = crate::util::pg_url();
    let store = palermo_store::open(&url).await.unwrap_or_else(|err| {
        panic!("PostgreSQL must be running for the store tests ({url}): {err}")
    });
    neighbours_round_trip(store).await;
}

#[tokio::test]
async fn resolution_tables_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    resolution_round_trip(palermo_store::open(&url).await.unwrap()).await;
}

#[tokio::test]
async fn resolution_tables_on_postgres() {
    let url = crate::util::pg_url();
    let store = palermo_store::open(&url).await.unwrap_or_else(|err| {
        panic!("PostgreSQL must be running for the store tests ({url}): {err}")
    });
    resolution_round_trip(store).await;
}
