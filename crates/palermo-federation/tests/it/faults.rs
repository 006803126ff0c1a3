//! Faults at the peer endpoint: forged signatures, replays, clock skew,
//! unknown kinds, a sender that is not the TLS client, an unknown node, an
//! expired certificate, an oversized body, a permanently rejected message,
//! and a directory refresh that revokes a node.

use std::time::Duration;

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use palermo_federation::peer::{AckStatus, BatchReply};
use palermo_federation::{Envelope, Kind, NodeIdentity, TrustAnchor};
use palermo_store::{FederationStore, OutboxStatus, OutgoingMessage};
use serde_json::json;
use time::OffsetDateTime;

use crate::util::{Net, enroll, eventually, free_port};

fn seal(from: &NodeIdentity, to: &str, kind: Kind, at: OffsetDateTime) -> Envelope {
    Envelope::seal(
        from.signing_key(),
        &from.node_id,
        to,
        kind,
        json!({"n": 1}),
        at,
    )
}

fn batch(envelopes: &[&Envelope]) -> Vec<u8> {
    let items: Vec<serde_json::Value> = envelopes
        .iter()
        .map(|e| serde_json::from_slice(&e.to_json()).unwrap())
        .collect();
    serde_json::to_vec(&items).unwrap()
}

async fn post(client: &reqwest::Client, url: &str, body: Vec<u8>) -> BatchReply {
    let response = client
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn client(identity: &NodeIdentity) -> reqwest::Client {
    palermo_federation::delivery::client(identity, Duration::from_secs(5)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_replayed_skewed_and_misaddressed_messages_are_refused() {
    let mut net = Net::new(3, |_| None).await;
    net.node(1).start().await;
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let http = client(&a.identity);
    let now = OffsetDateTime::now_utc();

    let good = seal(&a.identity, &b.id, Kind::Ping, now);
    let mut forged = seal(&a.identity, &b.id, Kind::Ping, now);
    forged.payload = json!({"n": 2});
    let skewed = seal(
        &a.identity,
        &b.id,
        Kind::Ping,
        now - time::Duration::hours(1),
    );
    let misaddressed = seal(&a.identity, &c.id, Kind::Ping, now);
    let impostor = seal(&c.identity, &b.id, Kind::Ping, now);
    // A correctly signed envelope of a kind nobody knows.
    let mut unknown = seal(&a.identity, &b.id, Kind::Ping, now);
    unknown.kind = "gossip".to_owned();
    let signature = a.identity.signing_key().sign(&unknown.canonical_bytes());
    unknown.signature = base64::engine::general_purpose::STANDARD.encode(signature.to_bytes());

    let reply = post(
        &http,
        &b.endpoint(),
        batch(&[&good, &forged, &skewed, &misaddressed, &impostor, &unknown]),
    )
    .await;
    let got: Vec<(AckStatus, Option<&str>)> = reply
        .results
        .iter()
        .map(|a| (a.status, a.code.as_deref()))
        .collect();
    assert_eq!(
        got,
        vec![
            (AckStatus::Accepted, None),
            (AckStatus::Rejected, Some("bad-signature")),
            (AckStatus::Rejected, Some("clock-skew")),
            (AckStatus::Rejected, Some("wrong-recipient")),
            (AckStatus::Rejected, Some("sender-mismatch")),
            (AckStatus::Rejected, Some("unknown-kind")),
        ]
    );
    assert!(
        reply.results[5]
            .error
            .as_deref()
            .unwrap()
            .contains("gossip"),
        "the error names the kind: {:?}",
        reply.results[5].error
    );

    // A replay is acknowledged as a duplicate and has no second effect.
    let again = post(&http, &b.endpoint(), batch(&[&good, &good])).await;
    assert!(
        again
            .results
            .iter()
            .all(|a| a.status == AckStatus::Duplicate)
    );
    assert_eq!(b.inbox_kinds("ping").await, 1);
    let pongs = b
        .store
        .outbox_list(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.kind == "pong")
        .count();
    assert_eq!(pongs, 1);
    // And is ledgered once.
    eventually("the ping is on the ledger", 10, || async {
        b.ledger_count("message-received").await == 1
    })
    .await;
    post(&http, &b.endpoint(), batch(&[&good])).await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(b.ledger_count("message-received").await, 1);

    // A malformed body is a problem, not a crash.
    let response = http
        .post(b.endpoint())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    net.node(1).stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_megabyte_body_is_refused_with_413() {
    let mut net = Net::new(2, |_| None).await;
    net.node(1).start().await;
    let http = client(&net.nodes[0].identity);
    let body = vec![b' '; 10 * 1024 * 1024];
    let response = http
        .post(net.nodes[1].endpoint())
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let problem: serde_json::Value = response.json().await.unwrap();
    assert_eq!(problem["status"], 413);
    assert_eq!(net.nodes[1].store.fed_counts().await.unwrap().inbox, 0);
    net.node(1).stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_nodes_and_expired_certificates_cannot_connect() {
    let mut net = Net::new(2, |_| None).await;
    // A node of another federation (its certificate is from another anchor).
    let now = OffsetDateTime::now_utc();
    let mut other = TrustAnchor::create("other", now - time::Duration::days(1), 365).unwrap();
    let (_, stranger) = enroll(
        &mut other,
        "IT",
        "DIA",
        free_port().await,
        now - time::Duration::days(1),
        30,
        net.tmp.path(),
    )
    .await;
    // A member of this federation whose certificate expired yesterday.
    let (_, expired) = enroll(
        &mut net.anchor,
        "ES",
        "UCRIF",
        free_port().await,
        now - time::Duration::days(31),
        30,
        net.tmp.path(),
    )
    .await;
    net.publish_to_all();
    net.node(1).start().await;
    let b = &net.nodes[1];
    for who in [&stranger, &expired] {
        let envelope = seal(who, &b.id, Kind::Ping, now);
        let result = client(who)
            .post(b.endpoint())
            .body(batch(&[&envelope]))
            .send()
            .await;
        assert!(result.is_err(), "{} connected: {result:?}", who.node_id);
    }
    assert_eq!(b.store.fed_counts().await.unwrap().inbox, 0);
    net.node(1).stop().await;
}

/// A message the recipient rejects is marked failed with the reason and not retried.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_message_fails_for_good() {
    let mut net = Net::new(2, |_| None).await;
    net.node(0).start().await;
    net.node(1).start().await;
    let (a, b) = (&net.nodes[0], &net.nodes[1]);
    let mut forged = seal(&a.identity, &b.id, Kind::Ping, OffsetDateTime::now_utc());
    forged.payload = json!({"tampered": true});
    a.store
        .outbox_enqueue(&[OutgoingMessage {
            id: forged.id,
            recipient: b.id.clone(),
            kind: forged.kind.clone(),
            envelope: forged.to_json(),
            created_at: forged.created_at,
        }])
        .await
        .unwrap();
    // Found by id: tree-head exchanges enqueued meanwhile may be newer.
    let forged_row = || async {
        a.store
            .outbox_list(100)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.id == forged.id)
            .unwrap()
    };
    eventually("the forged message fails", 10, || async {
        forged_row().await.status == OutboxStatus::Failed
    })
    .await;
    let row = &forged_row().await;
    assert_eq!(row.attempts, 1);
    assert!(
        row.last_error
            .as_deref()
            .unwrap()
            .starts_with("bad-signature"),
        "{:?}",
        row.last_error
    );
    // The running nodes exchange tree heads meanwhile, so count only what
    // concerns the forged message.
    let subject = forged.id.to_string();
    eventually("the failure is on the sender's ledger", 10, || async {
        a.ledger_count_of("message-sent", Some(&subject)).await == 1
    })
    .await;
    let inbox = b.store.inbox_list(1_000).await.unwrap();
    assert!(
        inbox.iter().all(|m| m.id != forged.id),
        "the forged message reached the inbox"
    );
    net.node(0).stop().await;
    net.node(1).stop().await;
}

/// A directory refresh installs a newer directory; a revoked node is then refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_directory_refresh_revokes_a_node() {
    let mut net = Net::new(3, |_| None).await;
    net.node(1).start().await;
    let revoked = net.nodes[2].id.clone();
    net.anchor
        .revoke(
            &revoked,
            OffsetDateTime::now_utc() - time::Duration::seconds(1),
        )
        .unwrap();
    let newer = net.anchor.publish(OffsetDateTime::now_utc(), 7).unwrap();
    let (a, b, c) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let payload = json!({ "directory": serde_json::from_slice::<serde_json::Value>(&newer.to_json().unwrap()).unwrap() });
    let refresh = Envelope::seal(
        a.identity.signing_key(),
        &a.id,
        &b.id,
        Kind::DirectoryRefresh,
        payload,
        OffsetDateTime::now_utc(),
    );
    let reply = post(&client(&a.identity), &b.endpoint(), batch(&[&refresh])).await;
    assert_eq!(reply.results[0].status, AckStatus::Accepted);
    assert_eq!(
        reply.results[0].result.as_ref().unwrap()["installed"],
        true,
        "{reply:?}"
    );
    let installed = palermo_federation::SignedDirectory::load(
        &b.dir.join(palermo_federation::pki::DIRECTORY_FILE),
    )
    .unwrap();
    assert_eq!(installed.directory.serial, newer.directory.serial);
    let ping = seal(&c.identity, &b.id, Kind::Ping, OffsetDateTime::now_utc());
    let response = client(&c.identity)
        .post(b.endpoint())
        .body(batch(&[&ping]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    net.node(1).stop().await;
}
