//! The hit/no-hit tables on both backends: peer settings, encoding sets,
//! queries with their outbox message in one transaction, quota windows, and
//! idempotent hit inserts.

use palermo_store::{
    AnyStore, FederationStore, HitDirection, HitEncodingSet, HitPeer, HitQueryRecord, HitRecord,
    HitSettlement, HitWindow, OutgoingMessage, PgStore, SqliteStore,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn at(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap()
}

fn query(
    direction: HitDirection,
    peer: &str,
    seconds: i64,
    status: &str,
    n: u64,
) -> HitQueryRecord {
    HitQueryRecord {
        id: Uuid::now_v7(),
        direction,
        peer: peer.to_owned(),
        case_id: "C-1".to_owned(),
        purpose: "case:C-1".to_owned(),
        basis: "UNTOC:Art. 27".to_owned(),
        key_id: "00112233aabbccdd".to_owned(),
        n_encodings: n,
        at: at(seconds),
        status: status.to_owned(),
        code: None,
        n_hits: 0,
        record_ids: (0..n).map(|i| format!("r{i}")).collect(),
    }
}

fn hit(query: &HitQueryRecord, hit_ref: &str, index: u64) -> HitRecord {
    HitRecord {
        direction: query.direction,
        peer: query.peer.clone(),
        hit_ref: hit_ref.to_owned(),
        query_id: query.id,
        query_index: index,
        case_id: query.case_id.clone(),
        band: "medium".to_owned(),
        score: Some(0.93),
        record_ids: vec![format!("p{index}")],
        at: query.at,
        status: "open".to_owned(),
    }
}

async fn hit_tables(store: AnyStore) {
    // Peers: none by default; a setting replaces the previous one.
    assert!(store.hit_peer("de-bka").await.unwrap().is_none());
    let mut setting = HitPeer {
        peer: "de-bka".to_owned(),
        enabled: true,
        max_queries: Some(5),
        max_encodings: None,
        window_secs: Some(60),
        updated_at: at(0),
        updated_by: "op".to_owned(),
    };
    store.hit_peer_set(&setting).await.unwrap();
    assert_eq!(
        store.hit_peer("de-bka").await.unwrap(),
        Some(setting.clone())
    );
    setting.enabled = false;
    store.hit_peer_set(&setting).await.unwrap();
    assert_eq!(store.hit_peers().await.unwrap(), vec![setting]);

    // Encodings: one set per key id, replaced as a whole.
    assert!(store.hit_encodings("k1").await.unwrap().is_none());
    assert!(store.hit_encoding_generation("k1").await.unwrap().is_none());
    let set = |key: &str| HitEncodingSet {
        key_id: key.to_owned(),
        n_bits: 16,
        hardening: "balance".to_owned(),
        records: 0,
    };
    let rows = vec![("b".to_owned(), vec![1, 2]), ("a".to_owned(), vec![3, 4])];
    assert_eq!(
        store
            .hit_encodings_replace(&set("k1"), &rows)
            .await
            .unwrap(),
        2
    );
    store
        .hit_encodings_replace(&set("k2"), &rows[..1])
        .await
        .unwrap();
    assert_eq!(
        store
            .hit_encodings_replace(&set("k1"), &rows[1..])
            .await
            .unwrap(),
        1
    );
    // Every replace makes a new generation (answering nodes cache by it).
    let first = store.hit_encoding_generation("k1").await.unwrap().unwrap();
    store
        .hit_encodings_replace(&set("k1"), &rows[1..])
        .await
        .unwrap();
    let second = store.hit_encoding_generation("k1").await.unwrap().unwrap();
    assert_ne!(first, second);
    store.hit_encodings_replace(&set("k3"), &[]).await.unwrap();
    assert!(store.hit_encoding_generation("k3").await.unwrap().is_none());
    // The peer setting and a set's generation in one read, each as read alone.
    for (peer, key) in [
        ("de-bka", "k1"),
        ("de-bka", "k3"),
        ("fr-pn", "k1"),
        ("fr-pn", "k9"),
    ] {
        assert_eq!(
            store.hit_peer_and_generation(peer, key).await.unwrap(),
            (
                store.hit_peer(peer).await.unwrap(),
                store.hit_encoding_generation(key).await.unwrap()
            ),
            "{peer} {key}"
        );
    }
    assert_eq!(
        store
            .hit_peer_and_generation("de-bka", "k1")
            .await
            .unwrap()
            .1,
        Some(second)
    );
    let k1 = store.hit_encodings("k1").await.unwrap().unwrap();
    assert_eq!(k1.rows, vec![("a".to_owned(), vec![3, 4])]);
    assert_eq!((k1.set.n_bits, k1.set.records), (16, 1));
    let sets = store.hit_encoding_sets().await.unwrap();
    assert_eq!(
        sets.iter()
            .map(|s| (s.key_id.as_str(), s.records))
            .collect::<Vec<_>>(),
        vec![("k1", 1), ("k2", 1)]
    );

    // A sent query and its message commit together.
    let sent = query(HitDirection::Sent, "de-bka", 0, "pending", 3);
    let message = OutgoingMessage {
        id: sent.id,
        recipient: "de-bka".to_owned(),
        kind: "hit-query".to_owned(),
        envelope: b"{}".to_vec(),
        created_at: sent.at,
    };
    store.hit_query_send(&sent, &message).await.unwrap();
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 1);
    let stored = store
        .hit_query(HitDirection::Sent, sent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, sent);
    assert_eq!(stored.record_ids, vec!["r0", "r1", "r2"]);
    store
        .hit_query_settle(
            HitDirection::Sent,
            sent.id,
            "refused",
            Some("over-quota"),
            0,
        )
        .await
        .unwrap();
    let settled = store
        .hit_query(HitDirection::Sent, sent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (settled.status.as_str(), settled.code.as_deref()),
        ("refused", Some("over-quota"))
    );

    // Received queries: recorded once; the window counts answered ones only.
    let mut answered = query(HitDirection::Received, "fr-ocrteh", 10, "answered", 4);
    answered.n_hits = 1;
    assert!(store.hit_query_record(&answered).await.unwrap());
    assert!(!store.hit_query_record(&answered).await.unwrap());
    let old = query(HitDirection::Received, "fr-ocrteh", -1_000, "answered", 7);
    store.hit_query_record(&old).await.unwrap();
    let refused = query(HitDirection::Received, "fr-ocrteh", 20, "refused", 9);
    store.hit_query_record(&refused).await.unwrap();
    let window = store
        .hit_window("fr-ocrteh", at(10) - Duration::seconds(60))
        .await
        .unwrap();
    assert_eq!((window.queries, window.encodings, window.hits), (1, 4, 1));
    assert_eq!(
        store
            .hit_window("de-bka", at(-5_000))
            .await
            .unwrap()
            .queries,
        0
    );
    assert_eq!(store.hit_queries(10).await.unwrap().len(), 4);

    // Hits: inserted once per reference, listed by query and by direction.
    let hits = vec![hit(&answered, "hit-2", 2), hit(&answered, "hit-1", 0)];
    store.hits_insert(&hits).await.unwrap();
    let mut again = hits[0].clone();
    again.band = "high".to_owned();
    store.hits_insert(&[again]).await.unwrap();
    let by_query = store
        .hits_for_query(HitDirection::Received, answered.id)
        .await
        .unwrap();
    assert_eq!(
        by_query
            .iter()
            .map(|h| (h.query_index, h.band.as_str()))
            .collect::<Vec<_>>(),
        vec![(0, "medium"), (2, "medium")]
    );
    assert_eq!(by_query[0], hits[1]);
    store.hits_insert(&[hit(&sent, "hit-9", 1)]).await.unwrap();
    assert_eq!(store.hits_list(None, 10).await.unwrap().len(), 3);
    let sent_hits = store.hits_list(Some(HitDirection::Sent), 10).await.unwrap();
    assert_eq!(sent_hits.len(), 1);
    assert_eq!(sent_hits[0].hit_ref, "hit-9");
}

#[tokio::test]
async fn hit_tables_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    hit_tables(AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap())).await;
}

#[tokio::test]
async fn hit_tables_postgres() {
    let store = AnyStore::Postgres(PgStore::connect(&crate::util::pg_url()).await.unwrap());
    hit_tables(store).await;
}

/// The batch writes a node answering many queries at once uses: query rows
/// with the new queries' hits in one transaction, answers' hits with the
/// settlement of their queries, lookups by id, and the window per second.
async fn hit_batches(store: AnyStore) {
    let answered = query(HitDirection::Received, "de-bka", 0, "answered", 3);
    let mut refused = query(HitDirection::Received, "de-bka", 0, "refused", 2);
    refused.code = Some("over-quota".to_owned());
    let later = query(HitDirection::Received, "de-bka", 1, "answered", 4);
    let hits = vec![hit(&answered, "hit-a", 0), hit(&later, "hit-b", 3)];
    let new = store
        .hit_queries_record(&[answered.clone(), refused.clone(), later.clone()], &hits)
        .await
        .unwrap();
    assert_eq!(new, vec![true, true, true]);
    // Recorded again (a redelivery): not new, and its fresh hits are not stored.
    let new = store
        .hit_queries_record(
            std::slice::from_ref(&answered),
            &[hit(&answered, "hit-z", 1)],
        )
        .await
        .unwrap();
    assert_eq!(new, vec![false]);
    let stored = store
        .hits_for_query(HitDirection::Received, answered.id)
        .await
        .unwrap();
    assert_eq!(stored, vec![hits[0].clone()]);
    let mut found = store
        .hit_queries_by_id(
            HitDirection::Received,
            &[answered.id, refused.id, Uuid::now_v7()],
        )
        .await
        .unwrap();
    found.sort_by_key(|q| q.status.clone());
    assert_eq!(found, vec![answered.clone(), refused.clone()]);
    // Answered queries per second (the refused one does not count).
    let seconds = store.hit_window_seconds("de-bka", at(-10)).await.unwrap();
    let second = at(0).unix_timestamp();
    let used = |queries, encodings| HitWindow {
        queries,
        encodings,
        hits: 0,
    };
    assert_eq!(
        seconds,
        vec![(second, used(1, 3)), (second + 1, used(1, 4))]
    );
    assert_eq!(
        store.hit_window_seconds("de-bka", at(1)).await.unwrap(),
        vec![(second + 1, used(1, 4))]
    );
    // A sent query settles with its answer's hits in one transaction.
    let sent = query(HitDirection::Sent, "nl-knp", 0, "pending", 2);
    store.hit_query_record(&sent).await.unwrap();
    let settled = HitSettlement {
        id: sent.id,
        status: "answered".to_owned(),
        code: None,
        n_hits: 1,
    };
    store
        .hit_answers_store(&[settled], &[hit(&sent, "hit-s", 1)])
        .await
        .unwrap();
    let now = store
        .hit_query(HitDirection::Sent, sent.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((now.status.as_str(), now.n_hits), ("answered", 1));
    let sent_hits = store
        .hits_for_query(HitDirection::Sent, sent.id)
        .await
        .unwrap();
    assert_eq!(sent_hits.len(), 1);
}

#[tokio::test]
async fn hit_batches_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    hit_batches(AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap())).await;
}

#[tokio::test]
async fn hit_batches_postgres() {
    let store = AnyStore::Postgres(PgStore::connect(&crate::util::pg_url()).await.unwrap());
    hit_batches(store).await;
}

/// `get_many` answers the stored entities among the ids (across query
/// chunks), leaving missing ids out, as `get` would one at a time.
async fn get_many(store: AnyStore) {
    use palermo_model::{Entity, EntityId, Schema};
    use palermo_store::{ImportTx, Store};
    let entities: Vec<Entity> = (0..1_200)
        .map(|i| Entity::new(EntityId::new(&format!("p-{i}")).unwrap(), Schema::Person))
        .collect();
    let meta = crate::util::batch("people.jsonl");
    let mut tx = store.begin_import(&meta).await.unwrap();
    let counts = tx.insert(&entities).await.unwrap();
    tx.commit(entities.len() as u64, counts).await.unwrap();
    let wanted: Vec<String> = (0..1_300)
        .step_by(2)
        .map(|i| format!("p-{i}"))
        .chain(["missing".to_owned()])
        .collect();
    let refs: Vec<&str> = wanted.iter().map(String::as_str).collect();
    let got = store.get_many(&refs).await.unwrap();
    assert_eq!(got.len(), 600);
    for entity in &got {
        let one = store.get(entity.id.as_str()).await.unwrap().unwrap();
        assert_eq!(&one, entity);
    }
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}

#[tokio::test]
async fn get_many_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    get_many(AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap())).await;
}

#[tokio::test]
async fn get_many_postgres() {
    get_many(AnyStore::Postgres(
        PgStore::connect(&crate::util::pg_url()).await.unwrap(),
    ))
    .await;
}

/// The batched writes a node under load makes: many sent queries with their
/// messages in one transaction (ids stored before left alone), received
/// queries recorded several per statement (a query twice in one batch new
/// once), settlements of many sent queries at once, and reads by id across
/// statement chunks.
async fn hit_group_writes(store: AnyStore) {
    let sent: Vec<HitQueryRecord> = (0..700)
        .map(|i| {
            query(
                HitDirection::Sent,
                "de-bka",
                i % 7,
                "pending",
                1 + (i as u64 % 3),
            )
        })
        .collect();
    let message = |q: &HitQueryRecord| OutgoingMessage {
        id: q.id,
        recipient: q.peer.clone(),
        kind: "hit-query".to_owned(),
        envelope: format!("{{\"id\":\"{}\"}}", q.id).into_bytes(),
        created_at: q.at,
    };
    let messages: Vec<OutgoingMessage> = sent.iter().map(message).collect();
    store
        .hit_queries_send(&sent[..2], &messages[..2])
        .await
        .unwrap();
    // The first two again, changed: stored before, so left as they were.
    let mut again = sent.clone();
    again[0].case_id = "C-other".to_owned();
    store.hit_queries_send(&again, &messages).await.unwrap();
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 700);
    let ids: Vec<Uuid> = sent.iter().map(|q| q.id).chain([Uuid::now_v7()]).collect();
    let mut found = store
        .hit_queries_by_id(HitDirection::Sent, &ids)
        .await
        .unwrap();
    found.sort_by_key(|q| q.id);
    let mut expected = sent.clone();
    expected.sort_by_key(|q| q.id);
    assert_eq!(found, expected);
    assert!(
        store
            .hit_queries_by_id(HitDirection::Received, &ids)
            .await
            .unwrap()
            .is_empty()
    );

    // Settlements of many queries at once, with their hits; the others stay pending.
    let settlements: Vec<HitSettlement> = sent[..600]
        .iter()
        .enumerate()
        .map(|(i, q)| HitSettlement {
            id: q.id,
            status: if i % 2 == 0 { "answered" } else { "refused" }.to_owned(),
            code: (i % 2 == 1).then(|| "over-quota".to_owned()),
            n_hits: u64::from(i % 2 == 0),
        })
        .collect();
    let hits: Vec<HitRecord> = sent[..600]
        .iter()
        .enumerate()
        .filter(|(i, _)| i % 2 == 0)
        .map(|(i, q)| hit(q, &format!("hit-{i}"), 0))
        .collect();
    store.hit_answers_store(&settlements, &hits).await.unwrap();
    for (i, q) in sent.iter().enumerate().step_by(97) {
        let now = store
            .hit_query(HitDirection::Sent, q.id)
            .await
            .unwrap()
            .unwrap();
        let expect = match i {
            i if i >= 600 => ("pending", None, 0),
            i if i % 2 == 0 => ("answered", None, 1),
            _ => ("refused", Some("over-quota"), 0),
        };
        assert_eq!(
            (now.status.as_str(), now.code.as_deref(), now.n_hits),
            expect,
            "query {i}"
        );
        let stored = store
            .hits_for_query(HitDirection::Sent, q.id)
            .await
            .unwrap();
        assert_eq!(
            stored.len(),
            usize::from(i < 600 && i % 2 == 0),
            "query {i}"
        );
    }

    // Received queries: a duplicate within the batch and one stored before are not new.
    let received: Vec<HitQueryRecord> = (0..3)
        .map(|i| query(HitDirection::Received, "nl-knp", i, "answered", 2))
        .collect();
    store
        .hit_queries_record(&received[..1], &[hit(&received[0], "hit-r0", 0)])
        .await
        .unwrap();
    let batch = vec![
        received[0].clone(),
        received[1].clone(),
        received[2].clone(),
        received[1].clone(),
    ];
    let batch_hits = vec![
        hit(&received[0], "hit-r0-again", 1),
        hit(&received[1], "hit-r1", 0),
        hit(&received[2], "hit-r2", 1),
    ];
    let new = store.hit_queries_record(&batch, &batch_hits).await.unwrap();
    assert_eq!(new, vec![false, true, true, false]);
    let refs = |id| {
        let store = store.clone();
        async move {
            store
                .hits_for_query(HitDirection::Received, id)
                .await
                .unwrap()
                .into_iter()
                .map(|h| h.hit_ref)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(refs(received[0].id).await, vec!["hit-r0"]);
    assert_eq!(refs(received[1].id).await, vec!["hit-r1"]);
    assert_eq!(refs(received[2].id).await, vec!["hit-r2"]);

    // A set larger than one statement: every encoding is stored, in record id order.
    let rows: Vec<(String, Vec<u8>)> = (0..1_201u32)
        .map(|i| (format!("p{i:05}"), i.to_le_bytes().repeat(2)))
        .collect();
    let set = HitEncodingSet {
        key_id: "big".to_owned(),
        n_bits: 64,
        hardening: "balanced".to_owned(),
        records: rows.len() as u64,
    };
    assert_eq!(
        store.hit_encodings_replace(&set, &rows).await.unwrap(),
        1_201
    );
    let stored = store.hit_encodings("big").await.unwrap().unwrap();
    assert_eq!(stored.set, set);
    assert_eq!(stored.rows, rows);
}

#[tokio::test]
async fn hit_group_writes_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    hit_group_writes(AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap())).await;
}

#[tokio::test]
async fn hit_group_writes_postgres() {
    let store = AnyStore::Postgres(PgStore::connect(&crate::util::pg_url()).await.unwrap());
    hit_group_writes(store).await;
}
