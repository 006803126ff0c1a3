//! The hit/no-hit exchange between three in-process nodes: hits flow, no
//! plaintext crosses (every envelope is inspected), and bad queries are
//! refused with their code on both sides, revealing nothing.

use palermo_federation::hits::{AnswerPayload, BasisClaim, QueryPayload, QueryRequest};
use palermo_federation::{Envelope, Kind};
use palermo_model::{Entity, EntityId, Role, Schema};
use palermo_pprl::{EncodeConfig, Encoder, Encodings, Person, codec};
use palermo_resolve::Property;
use palermo_store::{
    AnyStore, BatchMeta, EntryFilter, FederationStore, HitDirection, HitEncodingSet, ImportTx,
    InboxEffect, IncomingMessage, InsertCounts, LedgerStore, OutgoingMessage, Store,
};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::util::{Net, TestNode, eventually};

const SECRET: &[u8] = b"the sharing group's secret, 32 bytes";

/// One hand-made person: id, first name, last name, birth date, passport.
type Plain = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

/// Held by DE: two persons NL asks about, one whose retention expired, background.
const DE_PERSONS: [Plain; 5] = [
    ("de-p1", "Olena", "Kovalenko", "1991-04-12", "FA123456"),
    ("de-p2", "Dmytro", "Shevchenko", "1985-09-30", "EK998877"),
    ("de-p3", "Svitlana", "Bondarenko", "1979-01-05", "FB555111"),
    ("de-p4", "Jonas", "Weber", "1990-06-17", "C01X00T47"),
    ("de-p5", "Anna", "Schmidt", "1975-11-02", "C02Y11Q58"),
];

/// Held by FR: Dmytro again (another spelling), and background.
const FR_PERSONS: [Plain; 3] = [
    ("fr-p1", "Dmitro", "Shevchenko", "1985-09-30", "EK998877"),
    ("fr-p2", "Camille", "Durand", "1988-02-14", "18AB12345"),
    ("fr-p3", "Luc", "Moreau", "1969-12-24", "19CD67890"),
];

/// NL's query batch: Olena (a hit at DE), Dmytro (hits at DE and FR),
/// Svitlana (held by DE but past retention: no hit), Maria (nowhere).
const NL_QUERY: [Plain; 4] = [
    ("nl-q1", "Olena", "Kovalenko", "1991-04-12", "FA123456"),
    ("nl-q2", "Dmytro", "Shevchenko", "1985-09-30", "EK998877"),
    ("nl-q3", "Svitlana", "Bondarenko", "1979-01-05", "FB555111"),
    ("nl-q4", "Maria", "Garcia", "1993-07-21", "X7788990"),
];

fn person(p: &Plain) -> Person {
    Person::from_values(&[
        (Property::FirstName, p.1),
        (Property::LastName, p.2),
        (Property::BirthDate, p.3),
        (Property::PassportNumber, p.4),
    ])
}

fn encoder() -> Encoder {
    Encoder::new(SECRET, EncodeConfig::standard()).unwrap()
}

fn encodings(persons: &[Plain]) -> Encodings {
    let enc = encoder();
    let people: Vec<Person> = persons.iter().map(person).collect();
    Encodings {
        clks: enc.encode_all(&people),
        ids: Some(persons.iter().map(|p| p.0.to_owned()).collect()),
        key_id: Some(enc.key_id().to_owned()),
        hardening: Some(EncodeConfig::standard().hardening.name().to_owned()),
    }
}

/// Imports the persons as entities (`expired` ids past retention) and stores their encodings.
async fn hold(store: &AnyStore, persons: &[Plain], expired: &[&str]) {
    let entities: Vec<Entity> = persons
        .iter()
        .map(|p| {
            let mut e = Entity::new(EntityId::new(p.0).unwrap(), Schema::Person);
            e.add("firstName", p.1).unwrap();
            e.add("lastName", p.2).unwrap();
            e.add("birthDate", p.3).unwrap();
            e.add("passportNumber", p.4).unwrap();
            e.set_role(Role::Suspect).unwrap();
            if expired.contains(&p.0) {
                e.markings.retain_until =
                    Some(time::Date::from_calendar_date(2020, time::Month::January, 1).unwrap());
            }
            e
        })
        .collect();
    let meta = BatchMeta {
        id: Uuid::now_v7(),
        source_file: "persons.csv".to_owned(),
        input_format: "csv".to_owned(),
        imported_by: "test".to_owned(),
        started_at: OffsetDateTime::now_utc(),
    };
    let mut tx = store.begin_import(&meta).await.unwrap();
    let counts: InsertCounts = tx.insert(&entities).await.unwrap();
    tx.commit(entities.len() as u64, counts).await.unwrap();
    let enc = encodings(persons);
    let rows: Vec<(String, Vec<u8>)> = (0..enc.clks.len())
        .map(|i| (enc.id(i), enc.clks.bytes(i)))
        .collect();
    let set = HitEncodingSet {
        key_id: enc.key_id.clone().unwrap(),
        n_bits: enc.clks.n_bits() as u64,
        hardening: enc.hardening.clone().unwrap(),
        records: rows.len() as u64,
    };
    store.hit_encodings_replace(&set, &rows).await.unwrap();
}

async fn allow(node: &TestNode, peer: &str, max_queries: Option<u64>) {
    palermo_federation::hits::set_peer(&node.store, peer, true, [max_queries, None, None], "op")
        .await
        .unwrap();
}

fn today() -> palermo_law::Date {
    palermo_law::Date::from_unix_days(
        OffsetDateTime::now_utc()
            .unix_timestamp()
            .div_euclid(86_400),
    )
}

fn request(peer: &str, persons: &[Plain]) -> QueryRequest {
    QueryRequest {
        peer: peer.to_owned(),
        case: "NL-2026-017".to_owned(),
        purpose: "case:NL-2026-017".to_owned(),
        basis: BasisClaim::parse("PALERMO_TIP:Art. 10").unwrap(),
        date: today(),
        encodings: encodings(persons),
    }
}

/// Every envelope a node stored, sent or received (JSON bytes).
async fn envelopes(store: &AnyStore) -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = store
        .outbox_list(1_000_000)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.envelope)
        .collect();
    all.extend(
        store
            .inbox_list(1_000_000)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.envelope),
    );
    all
}

async fn query_status(store: &AnyStore, direction: HitDirection, id: Uuid) -> Option<String> {
    store
        .hit_query(direction, id)
        .await
        .unwrap()
        .map(|q| q.status)
}

async fn ledger_outcomes(store: &AnyStore) -> Vec<String> {
    let filter = EntryFilter {
        kind: Some("query".to_owned()),
        actor: None,
        case: None,
        subject: None,
        from_seq: 0,
        limit: 10_000,
    };
    store
        .ledger_entries(&filter)
        .await
        .unwrap()
        .into_iter()
        .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
        .collect()
}

/// NL asks DE and FR about four persons; DE enables NL, FR enables NL.
/// Hits come back for what each holds (not for DE's expired record), both
/// sides store and ledger them, and no envelope carries a name, date,
/// passport number or the answering node's record ids.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hits_flow_between_three_nodes_without_plaintext() {
    let mut net = Net::new(3, |_| None).await;
    let (nl, de, fr) = (
        net.nodes[0].id.clone(),
        net.nodes[1].id.clone(),
        net.nodes[2].id.clone(),
    );
    hold(&net.nodes[1].store, &DE_PERSONS, &["de-p3"]).await;
    hold(&net.nodes[2].store, &FR_PERSONS, &[]).await;
    allow(&net.nodes[1], &nl, None).await;
    allow(&net.nodes[2], &nl, None).await;
    allow(&net.nodes[2], &de, None).await;
    for idx in 0..3 {
        net.node(idx).start().await;
    }
    let now = OffsetDateTime::now_utc();
    let asker = &net.nodes[0];
    let to_de = palermo_federation::send_query(
        &asker.store,
        &asker.identity,
        &request(&de, &NL_QUERY),
        now,
    )
    .await
    .unwrap();
    let to_fr = palermo_federation::send_query(
        &asker.store,
        &asker.identity,
        &request(&fr, &NL_QUERY),
        now,
    )
    .await
    .unwrap();
    // DE asks FR about its own persons.
    let de_node = &net.nodes[1];
    let de_to_fr = palermo_federation::send_query(
        &de_node.store,
        &de_node.identity,
        &request(&fr, &DE_PERSONS),
        now,
    )
    .await
    .unwrap();
    for (store, id) in [
        (&net.nodes[0].store, to_de),
        (&net.nodes[0].store, to_fr),
        (&net.nodes[1].store, de_to_fr),
    ] {
        eventually("the query is answered", 30, || async {
            query_status(store, HitDirection::Sent, id).await.as_deref() == Some("answered")
        })
        .await;
    }
    for idx in 0..3 {
        net.node(idx).stop().await;
    }

    // NL's view: hits for Olena and Dmytro at DE, Dmytro at FR; none for
    // Svitlana (expired at DE) or Maria.
    let nl_store = &net.nodes[0].store;
    let sent = nl_store
        .hits_list(Some(HitDirection::Sent), 100)
        .await
        .unwrap();
    let mut seen: Vec<(String, String)> = sent
        .iter()
        .map(|h| (h.peer.clone(), h.record_ids.join(",")))
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        vec![
            (de.clone(), "nl-q1".to_owned()),
            (de.clone(), "nl-q2".to_owned()),
            (fr.clone(), "nl-q2".to_owned()),
        ]
    );
    for hit in &sent {
        assert!(hit.hit_ref.starts_with("hit-") && hit.hit_ref.len() == 36);
        assert!(["low", "medium", "high"].contains(&hit.band.as_str()));
        assert_eq!(hit.case_id, "NL-2026-017");
        assert_eq!(hit.score, None, "the asking node never learns the score");
    }
    let q = nl_store
        .hit_query(HitDirection::Sent, to_de)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((q.n_encodings, q.n_hits), (4, 2));

    // DE's view: the references resolve to its own records, only there.
    let de_store = &net.nodes[1].store;
    let received = de_store
        .hits_for_query(HitDirection::Received, to_de)
        .await
        .unwrap();
    let mut resolved: Vec<String> = received.iter().flat_map(|h| h.record_ids.clone()).collect();
    resolved.sort();
    assert_eq!(resolved, vec!["de-p1", "de-p2"]);
    for hit in &received {
        assert!(
            sent.iter()
                .any(|s| s.hit_ref == hit.hit_ref && s.peer == de)
        );
        assert!(hit.score.is_some_and(|s| s >= 0.9));
    }
    // DE asked FR: Dmytro (other spelling) is the only hit.
    let de_sent = de_store
        .hits_list(Some(HitDirection::Sent), 100)
        .await
        .unwrap();
    let ids: Vec<String> = de_sent.iter().flat_map(|h| h.record_ids.clone()).collect();
    assert_eq!(ids, vec!["de-p2"]);

    // Both ledgers record query and answer; the policy decided on every candidate.
    let nl_ledger = ledger_outcomes(nl_store).await;
    assert_eq!(
        nl_ledger
            .iter()
            .filter(|e| e.contains("answered by"))
            .count(),
        2
    );
    let de_ledger = ledger_outcomes(de_store).await;
    assert!(de_ledger.iter().any(|e| e.contains("answered: 2 of 4")));
    let decisions = LedgerStore::ledger_entries(
        de_store,
        &EntryFilter {
            kind: Some("policy-decision".to_owned()),
            actor: Some(format!("node:{nl}")),
            case: None,
            subject: None,
            from_seq: 0,
            limit: 1000,
        },
    )
    .await
    .unwrap();
    let decisions: Vec<String> = decisions
        .iter()
        .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
        .collect();
    assert!(
        decisions
            .iter()
            .any(|d| d.contains("de-p3") && d.contains("deny") && d.contains("retention-expired")),
        "{decisions:?}"
    );

    // No envelope on any node carries a plaintext value or a record id:
    // the whole envelope is searched for every long value as written, in
    // lower and upper case (base64 text cannot spell 6+ such characters by
    // chance, and record ids hold '-', which base64 never does), and every
    // field but the encodings, ids and signature for every value, however short.
    let mut secrets: Vec<String> = Vec::new();
    let mut long: Vec<String> = Vec::new();
    for p in DE_PERSONS.iter().chain(&FR_PERSONS).chain(&NL_QUERY) {
        secrets.extend([p.0, p.1, p.2, p.3, p.4].map(|s| s.to_ascii_lowercase()));
        secrets.push(p.3[..4].to_owned());
        secrets.push(p.3.replace('-', ""));
        for value in [p.0, p.1, p.2, p.3, p.4] {
            if value.len() >= 6 || value.contains('-') {
                long.extend([
                    value.to_owned(),
                    value.to_ascii_lowercase(),
                    value.to_ascii_uppercase(),
                ]);
            }
        }
        long.push(p.3.replace('-', ""));
    }
    let mut n_envelopes = 0;
    let mut kinds = std::collections::BTreeSet::new();
    for node in &net.nodes {
        for bytes in envelopes(&node.store).await {
            n_envelopes += 1;
            let raw = String::from_utf8_lossy(&bytes);
            for value in &long {
                assert!(
                    !raw.contains(value.as_str()),
                    "an envelope carries {value:?}"
                );
            }
            let envelope = Envelope::from_json(&bytes).unwrap();
            kinds.insert(envelope.kind.clone());
            let text = serde_json::to_string(&envelope.payload)
                .unwrap()
                .to_ascii_lowercase();
            let text = strip_random(&text, &envelope);
            for secret in &secrets {
                assert!(
                    !text.contains(secret.as_str()),
                    "{} envelope {} carries {secret:?}",
                    envelope.kind.as_str(),
                    envelope.id
                );
            }
        }
    }
    assert!(
        kinds.contains("hit-query") && kinds.contains("hit-answer"),
        "{kinds:?}"
    );
    assert!(n_envelopes >= 12, "{n_envelopes}");
    // Received messages go on the ledger in the transaction that stores
    // them: every inbox row is flagged and recorded exactly once, with no
    // recorder pass, and each ledger still audits clean.
    for node in &net.nodes {
        let inbox = node.store.inbox_list(10_000).await.unwrap();
        assert!(inbox.iter().all(|row| row.ledgered), "{}", node.id);
        for row in &inbox {
            let subject = row.id.to_string();
            assert_eq!(
                node.ledger_count_of("message-received", Some(&subject))
                    .await,
                1,
                "{} {}",
                node.id,
                row.kind
            );
        }
        // Delivered messages likewise, with their acknowledgement.
        let outbox = node.store.outbox_list(10_000).await.unwrap();
        for row in outbox.iter().filter(|row| row.delivered_at.is_some()) {
            let subject = row.id.to_string();
            assert_eq!(
                node.ledger_count_of("message-sent", Some(&subject)).await,
                1,
                "{} {}",
                node.id,
                row.kind
            );
        }
        let audit = node
            .store
            .ledger_audit(Some(node.ledger_key.public()))
            .await
            .unwrap();
        assert!(audit.is_ok(), "{}: {audit:?}", node.id);
    }
}

/// The payload text with base64 encodings, hit references, message ids and
/// tree-head material blanked: those are keyed hashes or random values, not
/// attribute values, and could spell a short string by chance.
fn strip_random(text: &str, envelope: &Envelope) -> String {
    if envelope.kind == Kind::HitQuery.as_str() {
        let payload: QueryPayload = serde_json::from_value(envelope.payload.clone()).unwrap();
        return format!(
            "{:?} {:?} {:?} {} {}",
            payload.case, payload.purpose, payload.basis, payload.date, payload.n_bits
        )
        .to_ascii_lowercase()
        // The query's own date is the claimed basis date (today), not a birth date.
        .replace(&payload.date, "");
    }
    if envelope.kind == Kind::HitAnswer.as_str() {
        let payload: AnswerPayload = serde_json::from_value(envelope.payload.clone()).unwrap();
        let bands: Vec<String> = payload
            .results
            .iter()
            .map(|r| {
                format!(
                    "{} {:?}",
                    r.index,
                    r.hits.iter().map(|h| &h.band).collect::<Vec<_>>()
                )
            })
            .collect();
        return format!(
            "{} {} {:?} {:?} {bands:?}",
            payload.node, payload.outcome, payload.code, payload.message
        )
        .to_ascii_lowercase();
    }
    // Pings, pongs and tree heads carry no person data at all.
    let _ = text;
    String::new()
}

/// Sends a raw `hit-query` payload from `from` to `to`, recorded as a sent
/// query on `from` (as `send_query` would); returns its id.
async fn send_raw(from: &TestNode, to: &str, payload: serde_json::Value, n: u64) -> Uuid {
    let envelope = Envelope::seal(
        from.identity.signing_key(),
        &from.id,
        to,
        Kind::HitQuery,
        payload,
        OffsetDateTime::now_utc(),
    );
    let record = palermo_store::HitQueryRecord {
        id: envelope.id,
        direction: HitDirection::Sent,
        peer: to.to_owned(),
        case_id: "NL-2026-017".to_owned(),
        purpose: "case:NL-2026-017".to_owned(),
        basis: "PALERMO_TIP".to_owned(),
        key_id: String::new(),
        n_encodings: n,
        at: envelope.created_at,
        status: "pending".to_owned(),
        code: None,
        n_hits: 0,
        record_ids: (0..n).map(|i| format!("nl-q{i}")).collect(),
    };
    let message = OutgoingMessage {
        id: envelope.id,
        recipient: to.to_owned(),
        kind: envelope.kind.as_str().to_owned(),
        envelope: envelope.to_json(),
        created_at: envelope.created_at,
    };
    from.store.hit_query_send(&record, &message).await.unwrap();
    envelope.id
}

fn good_payload(persons: &[Plain]) -> serde_json::Value {
    let enc = encodings(persons);
    serde_json::to_value(QueryPayload {
        case: Some("NL-2026-017".to_owned()),
        purpose: Some("case:NL-2026-017".to_owned()),
        basis: BasisClaim::parse("UNTOC"),
        date: today().to_string(),
        key_id: enc.key_id.clone().unwrap(),
        n_bits: enc.clks.n_bits(),
        encodings: (0..enc.clks.len())
            .map(|i| codec::to_base64(&enc.clks.bytes(i)))
            .collect(),
    })
    .unwrap()
}

/// Each bad query is refused with its code, logged on both sides (query rows
/// and ledger entries), and the refusal carries no result and no value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_are_refused_and_logged_on_both_sides() {
    let mut net = Net::new(3, |_| None).await;
    let (nl, de) = (net.nodes[0].id.clone(), net.nodes[1].id.clone());
    hold(&net.nodes[1].store, &DE_PERSONS, &[]).await;
    // NL may ask 8 queries per window; FR is known to DE but not enabled.
    allow(&net.nodes[1], &nl, Some(8)).await;
    for idx in 0..3 {
        net.node(idx).start().await;
    }
    let good = good_payload(&NL_QUERY[..2]);
    let with = |field: &str, value: serde_json::Value| {
        let mut p = good.clone();
        p[field] = value;
        p
    };
    let without = |field: &str| {
        let mut p = good.clone();
        p.as_object_mut().unwrap().remove(field);
        p
    };
    let short = codec::to_base64(&[0u8; 128]);
    let mut wrong_length = good.clone();
    wrong_length["encodings"][1] = serde_json::json!(short);
    let cases: Vec<(&str, serde_json::Value)> = vec![
        ("wrong-length", wrong_length),
        ("wrong-length", with("n_bits", serde_json::json!(1024))),
        (
            "wrong-key",
            with("key_id", serde_json::json!("00112233aabbccdd")),
        ),
        ("malformed", serde_json::json!({ "batch": "not a query" })),
        ("malformed", with("encodings", serde_json::json!(["***"]))),
        ("malformed", with("date", serde_json::json!("someday"))),
        ("no-case", without("case")),
        ("no-case", with("case", serde_json::json!("  "))),
        ("no-basis", without("basis")),
        (
            "basis-not-valid",
            with("basis", serde_json::json!({ "instrument": "ACTIP" })),
        ),
        (
            "basis-not-valid",
            with(
                "basis",
                serde_json::json!({ "instrument": "UNTOC", "article": "Art. 99" }),
            ),
        ),
    ];
    let nl_node = &net.nodes[0];
    let mut sent = Vec::new();
    for (code, payload) in &cases {
        sent.push((*code, send_raw(nl_node, &de, payload.clone(), 2).await));
    }
    // The quota: 8 answered queries per window; the 9th good one is refused.
    let mut good_ids = Vec::new();
    for _ in 0..9 {
        good_ids.push(send_raw(nl_node, &de, good.clone(), 2).await);
    }
    // FR is a directory member but not enabled at DE.
    let fr_node = &net.nodes[2];
    let from_fr = send_raw(fr_node, &de, good.clone(), 2).await;

    let nl_store = net.nodes[0].store.clone();
    for (_, id) in sent.iter().chain(
        good_ids
            .iter()
            .map(|id| ("", *id))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        eventually("an answer or refusal arrives", 30, || async {
            query_status(&nl_store, HitDirection::Sent, *id)
                .await
                .as_deref()
                != Some("pending")
        })
        .await;
    }
    let fr_store = net.nodes[2].store.clone();
    eventually("FR's refusal arrives", 30, || async {
        query_status(&fr_store, HitDirection::Sent, from_fr)
            .await
            .as_deref()
            != Some("pending")
    })
    .await;
    for idx in 0..3 {
        net.node(idx).stop().await;
    }
    let de_store = &net.nodes[1].store;
    let code_of = |store: &AnyStore, direction, id| {
        let store = store.clone();
        async move {
            let q = store.hit_query(direction, id).await.unwrap().unwrap();
            (q.status, q.code)
        }
    };
    for (code, id) in &sent {
        for (store, direction) in [
            (&nl_store, HitDirection::Sent),
            (de_store, HitDirection::Received),
        ] {
            assert_eq!(
                code_of(store, direction, *id).await,
                ("refused".to_owned(), Some((*code).to_owned())),
                "{code} on {direction:?}"
            );
        }
    }
    let mut outcomes = Vec::new();
    for id in &good_ids {
        outcomes.push(code_of(&nl_store, HitDirection::Sent, *id).await);
    }
    assert_eq!(
        outcomes.iter().filter(|o| o.0 == "answered").count(),
        8,
        "{outcomes:?}"
    );
    assert!(outcomes.contains(&("refused".to_owned(), Some("over-quota".to_owned()))));
    assert_eq!(
        code_of(&fr_store, HitDirection::Sent, from_fr).await,
        ("refused".to_owned(), Some("not-enabled".to_owned()))
    );
    // Every refusal is on both ledgers.
    let n_refused = cases.len() + 1;
    let nl_refusals = ledger_outcomes(&nl_store)
        .await
        .into_iter()
        .filter(|e| e.contains("refused: "))
        .count();
    assert_eq!(nl_refusals, n_refused);
    let de_refusals = ledger_outcomes(de_store)
        .await
        .into_iter()
        .filter(|e| e.contains("refused: "))
        .count();
    assert_eq!(de_refusals, n_refused + 1, "NL's refusals and FR's");
    // Refusals carry no results, and nothing names DE's records or values.
    for row in de_store.outbox_list(10_000).await.unwrap() {
        if row.kind != "hit-answer" {
            continue;
        }
        let envelope = Envelope::from_json(&row.envelope).unwrap();
        let answer: AnswerPayload = serde_json::from_value(envelope.payload.clone()).unwrap();
        let text = serde_json::to_string(&answer).unwrap().to_ascii_lowercase();
        for p in &DE_PERSONS {
            for value in [p.0, p.1, p.2, p.3, p.4] {
                assert!(!text.contains(&value.to_ascii_lowercase()), "{text}");
            }
        }
        if answer.outcome == "refused" {
            assert!(answer.results.is_empty());
        }
    }
}

/// A dictionary-style batch (one name, many birth dates) raises a probing
/// alert on the answering node's ledger.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dictionary_probing_is_detected() {
    let mut net = Net::new(2, |_| None).await;
    let (nl, de) = (net.nodes[0].id.clone(), net.nodes[1].id.clone());
    hold(&net.nodes[1].store, &DE_PERSONS, &[]).await;
    allow(&net.nodes[1], &nl, None).await;
    net.node(0).start().await;
    net.node(1).start().await;
    let days: Vec<String> = (1..=28).map(|d| format!("1991-04-{d:02}")).collect();
    let probes: Vec<Plain> = days
        .iter()
        .map(|d| {
            let d: &'static str = Box::leak(d.clone().into_boxed_str());
            ("nl-x", "Olena", "Kovalenko", d, "")
        })
        .collect();
    let asker = &net.nodes[0];
    let id = palermo_federation::send_query(
        &asker.store,
        &asker.identity,
        &request(&de, &probes),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let store = asker.store.clone();
    eventually("the probe is answered", 30, || async {
        query_status(&store, HitDirection::Sent, id)
            .await
            .as_deref()
            == Some("answered")
    })
    .await;
    net.node(0).stop().await;
    net.node(1).stop().await;
    let alerts = LedgerStore::ledger_entries(
        &net.nodes[1].store,
        &EntryFilter {
            kind: Some("policy-decision".to_owned()),
            actor: Some(format!("node:{nl}")),
            case: None,
            subject: None,
            from_seq: 0,
            limit: 1000,
        },
    )
    .await
    .unwrap()
    .into_iter()
    .map(|e| String::from_utf8_lossy(&e.bytes).into_owned())
    .filter(|e| e.contains("\"alert\""))
    .collect::<Vec<_>>();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0].contains("near-identical"), "{alerts:?}");
}

/// Queries beyond `inline_encodings` are acknowledged at once and answered
/// by a task of their own: DE answers every query apart here. A query DE
/// stored pending before it stopped is answered when it starts again, its
/// redelivery is a duplicate (no second match, one ledger entry), and a
/// query sent while it runs is answered apart too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_answered_apart_are_answered_once_and_after_a_restart() {
    let mut net = Net::new(2, |_| None).await;
    let (nl, de) = (net.nodes[0].id.clone(), net.nodes[1].id.clone());
    hold(&net.nodes[1].store, &DE_PERSONS, &["de-p3"]).await;
    allow(&net.nodes[1], &nl, None).await;
    net.nodes[1].inline_encodings = Some(0);

    // DE accepted NL's first query and stopped before answering it.
    let first = send_raw(&net.nodes[0], &de, good_payload(&NL_QUERY), 4).await;
    let row = net.nodes[0]
        .store
        .outbox_list(10)
        .await
        .unwrap()
        .into_iter()
        .find(|r| r.id == first)
        .unwrap();
    let stored = IncomingMessage {
        id: first,
        sender: nl.clone(),
        kind: row.kind.clone(),
        envelope: row.envelope.clone(),
        received_at: OffsetDateTime::now_utc(),
    };
    let queued = InboxEffect {
        result: serde_json::json!({ "outcome": "queued" }),
        replies: Vec::new(),
        peer_head: None,
        pending: true,
    };
    let new = net.nodes[1]
        .store
        .inbox_accept(vec![(stored, queued)])
        .await
        .unwrap();
    assert_eq!(new, vec![first]);

    net.node(1).start().await;
    net.node(0).start().await;
    let asker = &net.nodes[0];
    let second = palermo_federation::send_query(
        &asker.store,
        &asker.identity,
        &request(&de, &NL_QUERY),
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    for id in [first, second] {
        eventually("the query is answered", 30, || async {
            query_status(&net.nodes[0].store, HitDirection::Sent, id)
                .await
                .as_deref()
                == Some("answered")
        })
        .await;
    }
    net.node(0).stop().await;
    net.node(1).stop().await;

    let (nl_store, de_store) = (&net.nodes[0].store, &net.nodes[1].store);
    for id in [first, second] {
        // Olena and Dmytro hit; Svitlana's record expired, Maria is not held.
        let sent = nl_store
            .hit_query(HitDirection::Sent, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(sent.n_hits, 2, "query {id}");
        assert_eq!(
            query_status(de_store, HitDirection::Received, id)
                .await
                .as_deref(),
            Some("answered")
        );
        // One query entry on DE's ledger: the redelivery matched nothing again.
        let entries = ledger_outcomes(de_store).await;
        let id_text = id.to_string();
        assert_eq!(
            entries.iter().filter(|e| e.contains(&id_text)).count(),
            1,
            "query {id}"
        );
    }
    assert!(de_store.inbox_pending(10).await.unwrap().is_empty());
    let inbox = de_store.inbox_list(10).await.unwrap();
    assert_eq!(inbox.iter().filter(|r| r.kind == "hit-query").count(), 2);
    for row in inbox.iter().filter(|r| r.kind == "hit-query") {
        assert_eq!(row.result["outcome"], "answered", "{:?}", row.result);
    }
    // One answer per query left DE.
    let answers = de_store
        .outbox_list(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "hit-answer")
        .count();
    assert_eq!(answers, 2);
}
