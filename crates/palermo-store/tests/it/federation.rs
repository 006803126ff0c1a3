//! The federation tables on both backends: enqueue and due, per-recipient
//! limits, ack / retry / fail, inbox dedupe with its effect applied once, and
//! the ledger bookkeeping flags.

use palermo_store::{
    FederationStore, InboxEffect, IncomingMessage, OutboxStatus, OutgoingMessage, PeerHead,
    PgStore, SqliteStore,
};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn outgoing(recipient: &str, n: i64) -> OutgoingMessage {
    OutgoingMessage {
        id: Uuid::now_v7(),
        recipient: recipient.to_owned(),
        kind: "ping".to_owned(),
        envelope: format!(r#"{{"n":{n}}}"#).into_bytes(),
        created_at: t0() + Duration::milliseconds(n),
    }
}

fn incoming(sender: &str) -> IncomingMessage {
    IncomingMessage {
        id: Uuid::now_v7(),
        sender: sender.to_owned(),
        kind: "ping".to_owned(),
        envelope: b"{}".to_vec(),
        received_at: t0(),
    }
}

fn pong_effect(to: &str) -> InboxEffect {
    InboxEffect {
        result: serde_json::json!({"replied": "pong"}),
        replies: vec![outgoing(to, 100)],
        peer_head: None,
        pending: false,
    }
}

async fn outbox_lifecycle(store: &impl FederationStore) {
    let a: Vec<_> = (0..5).map(|n| outgoing("nl-knp", n)).collect();
    let b: Vec<_> = (0..2).map(|n| outgoing("th-rtp", n)).collect();
    store.outbox_enqueue(&a).await.unwrap();
    store.outbox_enqueue(&b).await.unwrap();
    // Enqueueing the same id again changes nothing.
    store.outbox_enqueue(&a[..1]).await.unwrap();
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 7);

    // Nothing is due before it was created.
    assert!(
        store
            .outbox_due(t0() - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let due = store
        .outbox_due(t0() + Duration::seconds(1), 3)
        .await
        .unwrap();
    let ids: Vec<Uuid> = due.iter().map(|r| r.id).collect();
    let expect: Vec<Uuid> = a[..3].iter().chain(&b).map(|m| m.id).collect();
    assert_eq!(
        ids, expect,
        "three per recipient, oldest first, by recipient"
    );
    assert_eq!(due[0].envelope, a[0].envelope);
    assert_eq!(due[0].status, OutboxStatus::Pending);

    // Ack two; a second ack of the same ids counts nothing.
    let now = t0() + Duration::seconds(2);
    assert_eq!(store.outbox_ack(&ids[..2], now).await.unwrap(), 2);
    assert_eq!(store.outbox_ack(&ids[..2], now).await.unwrap(), 0);

    // A retry moves the message out of the due set until its time.
    let later = t0() + Duration::seconds(60);
    store
        .outbox_retry(a[2].id, later, "connection refused")
        .await
        .unwrap();
    let due = store.outbox_due(now, 10).await.unwrap();
    assert!(!due.iter().any(|r| r.id == a[2].id));
    assert_eq!(
        store.outbox_next_due().await.unwrap(),
        Some(b[0].created_at)
    );
    let due = store.outbox_due(later, 10).await.unwrap();
    let retried = due.iter().find(|r| r.id == a[2].id).unwrap();
    assert_eq!(retried.attempts, 1);
    assert_eq!(retried.last_error.as_deref(), Some("connection refused"));

    // A permanent rejection is never due again.
    store
        .outbox_fail(a[3].id, "bad-signature: forged", later)
        .await
        .unwrap();
    let due = store
        .outbox_due(later + Duration::days(1), 10)
        .await
        .unwrap();
    assert!(!due.iter().any(|r| r.id == a[3].id));
    // Acking a failed message does not resurrect it.
    assert_eq!(store.outbox_ack(&[a[3].id], later).await.unwrap(), 0);

    let counts = store.fed_counts().await.unwrap();
    assert_eq!(
        (
            counts.outbox_pending,
            counts.outbox_delivered,
            counts.outbox_failed
        ),
        (4, 2, 1)
    );
    let listed = store.outbox_list(100).await.unwrap();
    assert_eq!(listed.len(), 7);
    let failed = listed.iter().find(|r| r.id == a[3].id).unwrap();
    assert_eq!(failed.status, OutboxStatus::Failed);
    assert_eq!(failed.last_error.as_deref(), Some("bad-signature: forged"));

    // Only rows with an outcome wait for the ledger; marking clears them.
    let unledgered = store.fed_unledgered(100).await.unwrap();
    let mut sent: Vec<Uuid> = unledgered.sent.iter().map(|r| r.id).collect();
    sent.sort();
    let mut expect = vec![ids[0], ids[1], a[3].id];
    expect.sort();
    assert_eq!(sent, expect);
    store.fed_mark_ledgered(&sent, &[]).await.unwrap();
    assert!(store.fed_unledgered(100).await.unwrap().sent.is_empty());
}

async fn inbox_applies_each_message_once(store: &impl FederationStore) {
    let first = incoming("nl-knp");
    let second = incoming("nl-knp");
    let head = PeerHead {
        peer: "nl-knp".to_owned(),
        size: 12,
        root: "ab".repeat(32),
        head: "{}".to_owned(),
        cosignature: "{}".to_owned(),
        received_at: t0(),
    };
    let with_head = InboxEffect {
        result: serde_json::json!({"cosigned": 12}),
        replies: Vec::new(),
        peer_head: Some(head.clone()),
        pending: false,
    };
    let batch = vec![
        (first.clone(), pong_effect("nl-knp")),
        // The same id twice in one batch counts once.
        (first.clone(), pong_effect("nl-knp")),
        (second.clone(), with_head.clone()),
    ];
    let new = store.inbox_accept(batch).await.unwrap();
    assert_eq!(new, vec![first.id, second.id]);
    let counts = store.fed_counts().await.unwrap();
    assert_eq!(
        (counts.inbox, counts.outbox_pending, counts.peer_heads),
        (2, 1, 1)
    );

    // Redelivery: known ids are not new and have no second effect.
    let third = incoming("th-rtp");
    let new = store
        .inbox_accept(vec![
            (first.clone(), pong_effect("nl-knp")),
            (second.clone(), with_head),
            (third.clone(), pong_effect("th-rtp")),
        ])
        .await
        .unwrap();
    assert_eq!(new, vec![third.id]);
    let counts = store.fed_counts().await.unwrap();
    assert_eq!(
        (counts.inbox, counts.outbox_pending, counts.peer_heads),
        (3, 2, 1)
    );

    let heads = store.peer_heads("nl-knp").await.unwrap();
    assert_eq!(heads, vec![head]);
    assert!(store.peer_heads("th-rtp").await.unwrap().is_empty());

    let listed = store.inbox_list(10).await.unwrap();
    assert_eq!(listed.len(), 3);
    let row = listed.iter().find(|r| r.id == first.id).unwrap();
    assert_eq!(row.result, serde_json::json!({"replied": "pong"}));
    assert_eq!(row.sender, "nl-knp");
    assert!(!row.ledgered);

    let unledgered = store.fed_unledgered(2).await.unwrap();
    assert_eq!(unledgered.received.len(), 2, "the limit applies");
    store
        .fed_mark_ledgered(&[], &[first.id, second.id, third.id])
        .await
        .unwrap();
    assert!(store.fed_unledgered(10).await.unwrap().received.is_empty());
    assert!(
        store
            .inbox_list(10)
            .await
            .unwrap()
            .iter()
            .all(|r| r.ledgered)
    );
}

/// A message stored with its effect pending is listed until completed, and
/// completed once: the replies of a second completion are not enqueued.
async fn pending_effect_completes_once(store: &impl FederationStore) {
    let queued = serde_json::json!({"outcome": "queued"});
    let pending = incoming("nl-knp");
    let done = incoming("nl-knp");
    let effect = InboxEffect {
        result: queued.clone(),
        replies: Vec::new(),
        peer_head: None,
        pending: true,
    };
    let new = store
        .inbox_accept(vec![
            (pending.clone(), effect.clone()),
            (done.clone(), pong_effect("nl-knp")),
        ])
        .await
        .unwrap();
    assert_eq!(new, vec![pending.id, done.id]);
    // A redelivery of the pending message is no new message and no second task.
    let new = store
        .inbox_accept(vec![(pending.clone(), effect)])
        .await
        .unwrap();
    assert!(new.is_empty());
    let listed = store.inbox_pending(10).await.unwrap();
    assert_eq!(
        listed.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![pending.id]
    );
    assert_eq!(listed[0].result, queued);
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 1);

    let answered = serde_json::json!({"outcome": "answered"});
    let reply = outgoing("nl-knp", 7);
    assert!(
        store
            .inbox_complete(pending.id, &answered, std::slice::from_ref(&reply))
            .await
            .unwrap()
    );
    assert!(store.inbox_pending(10).await.unwrap().is_empty());
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 2);
    let row = store.inbox_list(10).await.unwrap();
    let row = row.iter().find(|r| r.id == pending.id).unwrap();
    assert_eq!(row.result, answered);
    // Completed again (a second task, a restart): nothing more is enqueued.
    let again = outgoing("nl-knp", 8);
    assert!(
        !store
            .inbox_complete(pending.id, &answered, &[again])
            .await
            .unwrap()
    );
    assert!(!store.inbox_complete(done.id, &answered, &[]).await.unwrap());
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 2);
}

/// A change and its outgoing message commit together, or neither does.
async fn sqlite_enqueue_in_callers_transaction(store: &SqliteStore) {
    let message = outgoing("nl-knp", 1);
    let mut tx = store.pool().begin().await.unwrap();
    SqliteStore::outbox_enqueue_in(&mut tx, std::slice::from_ref(&message))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 0);
    let mut tx = store.pool().begin().await.unwrap();
    SqliteStore::outbox_enqueue_in(&mut tx, &[message])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 1);
}

mod sqlite {
    use super::*;

    async fn open() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("node.db").display());
        (SqliteStore::connect(&url).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn federation_outbox_lifecycle() {
        let (store, _dir) = open().await;
        outbox_lifecycle(&store).await;
    }

    #[tokio::test]
    async fn federation_inbox_applies_each_message_once() {
        let (store, _dir) = open().await;
        inbox_applies_each_message_once(&store).await;
    }

    #[tokio::test]
    async fn federation_pending_effect_completes_once() {
        let (store, _dir) = open().await;
        pending_effect_completes_once(&store).await;
    }

    #[tokio::test]
    async fn federation_enqueue_commits_with_the_callers_transaction() {
        let (store, _dir) = open().await;
        sqlite_enqueue_in_callers_transaction(&store).await;
    }

    #[tokio::test]
    async fn federation_concurrent_redelivery_applies_once() {
        let (store, _dir) = open().await;
        concurrent_redelivery(store).await;
    }
}

mod postgres {
    use super::*;

    async fn open() -> PgStore {
        let url = crate::util::pg_url();
        PgStore::connect(&url).await.unwrap_or_else(|err| {
            panic!("PostgreSQL must be running for the store tests ({url}): {err}")
        })
    }

    #[tokio::test]
    async fn federation_outbox_lifecycle() {
        outbox_lifecycle(&open().await).await;
    }

    #[tokio::test]
    async fn federation_inbox_applies_each_message_once() {
        inbox_applies_each_message_once(&open().await).await;
    }

    #[tokio::test]
    async fn federation_pending_effect_completes_once() {
        pending_effect_completes_once(&open().await).await;
    }

    #[tokio::test]
    async fn federation_enqueue_commits_with_the_callers_transaction() {
        let store = open().await;
        let message = outgoing("nl-knp", 1);
        let mut tx = store.pool().begin().await.unwrap();
        PgStore::outbox_enqueue_in(&mut tx, std::slice::from_ref(&message))
            .await
            .unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 0);
        let mut tx = store.pool().begin().await.unwrap();
        PgStore::outbox_enqueue_in(&mut tx, &[message])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert_eq!(store.fed_counts().await.unwrap().outbox_pending, 1);
    }

    #[tokio::test]
    async fn federation_concurrent_redelivery_applies_once() {
        concurrent_redelivery(open().await).await;
    }
}

/// The same message delivered on several connections at once is applied once.
async fn concurrent_redelivery<S: FederationStore + Clone + 'static>(store: S) {
    let message = incoming("nl-knp");
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            let message = message.clone();
            tokio::spawn(async move {
                store
                    .inbox_accept(vec![(message, pong_effect("nl-knp"))])
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut n_new = 0;
    for task in tasks {
        n_new += task.await.unwrap().len();
    }
    assert_eq!(n_new, 1);
    let counts = store.fed_counts().await.unwrap();
    assert_eq!((counts.inbox, counts.outbox_pending), (1, 1));
}
