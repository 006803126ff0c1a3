//! Nodes exchanging pings and tree heads, a peer down for a while, and one
//! node on PostgreSQL.

use palermo_federation::Kind;
use palermo_store::{FederationStore, OutboxStatus};

use crate::util::{Net, eventually, pg_url};

/// Three nodes ping each other; every ping is answered by one pong, every
/// node countersigns the others' ledger heads, and every message is on both
/// ledgers exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_exchange_pings_and_tree_heads() {
    let mut net = Net::new(3, |_| None).await;
    for idx in 0..3 {
        net.node(idx).start().await;
    }
    let ids: Vec<String> = net.nodes.iter().map(|n| n.id.clone()).collect();
    for from in &net.nodes {
        for to in &ids {
            if *to != from.id {
                from.send(to, Kind::Ping).await;
            }
        }
    }
    for node in &net.nodes {
        eventually(
            &format!("{} gets 2 pings and 2 pongs", node.id),
            20,
            || async { node.inbox_kinds("ping").await == 2 && node.inbox_kinds("pong").await == 2 },
        )
        .await;
    }
    // Every node countersigns both other nodes' heads.
    for node in &net.nodes {
        for peer in &ids {
            if *peer == node.id {
                continue;
            }
            eventually(&format!("{} witnesses {peer}", node.id), 20, || async {
                !node.store.peer_heads(peer).await.unwrap().is_empty()
            })
            .await;
        }
    }
    for idx in 0..3 {
        net.node(idx).stop().await;
    }
    for node in &net.nodes {
        // Each pong names the ping it answers.
        let inbox = node.store.inbox_list(1000).await.unwrap();
        for row in inbox.iter().filter(|r| r.kind == "ping") {
            assert!(row.result.get("pong").is_some(), "{:?}", row.result);
        }
        let counts = node.store.fed_counts().await.unwrap();
        assert_eq!(counts.outbox_failed, 0);
        // After a clean stop everything received is on the ledger, once.
        let received = node.ledger_count("message-received").await;
        assert_eq!(
            received as u64,
            counts.inbox,
            "{} {:?}",
            node.id,
            inbox
                .iter()
                .map(|r| (&r.kind, &r.sender, r.ledgered, r.received_at))
                .collect::<Vec<_>>()
        );
        let sent = node.ledger_count("message-sent").await;
        assert_eq!(sent as u64, counts.outbox_delivered, "{}", node.id);
        assert!(node.ledger_count("witness").await >= 2);
        // The ledger still audits clean with the node's key.
        use palermo_store::LedgerStore;
        let audit = node
            .store
            .ledger_audit(Some(node.ledger_key.public()))
            .await
            .unwrap();
        assert!(audit.is_ok(), "{audit:?}");
        // Heads are countersigned with this node's ledger key.
        for peer in ids.iter().filter(|p| **p != node.id) {
            for head in node.store.peer_heads(peer).await.unwrap() {
                let cosig: palermo_ledger::witness::Cosignature =
                    serde_json::from_str(&head.cosignature).unwrap();
                palermo_ledger::witness::verify_cosignature(&node.ledger_key.public(), &cosig)
                    .unwrap();
            }
        }
    }
}

/// Messages to a stopped peer are retried with backoff and delivered once it is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_to_a_peer_that_is_down_are_delivered_when_it_returns() {
    let mut net = Net::new(2, |_| None).await;
    net.node(0).start().await;
    let to = net.nodes[1].id.clone();
    for _ in 0..5 {
        net.nodes[0].send(&to, Kind::Ping).await;
    }
    let sender = &net.nodes[0];
    eventually("the sender retries", 10, || async {
        let rows = sender.store.outbox_list(100).await.unwrap();
        rows.iter()
            .filter(|r| r.kind == "ping")
            .all(|r| r.status == OutboxStatus::Pending && r.attempts >= 2 && r.last_error.is_some())
    })
    .await;
    net.node(1).start().await;
    let receiver = &net.nodes[1];
    eventually("the pings arrive", 20, || async {
        receiver.inbox_kinds("ping").await == 5
    })
    .await;
    let sender = &net.nodes[0];
    eventually("the pongs come back", 20, || async {
        sender.inbox_kinds("pong").await == 5
    })
    .await;
    let rows = net.nodes[0].store.outbox_list(100).await.unwrap();
    assert!(
        rows.iter()
            .filter(|r| r.kind == "ping")
            .all(|r| r.status == OutboxStatus::Delivered)
    );
    for idx in 0..2 {
        net.node(idx).stop().await;
    }
}

/// One node on PostgreSQL (its own schema) and one on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_node_and_a_sqlite_node_exchange_pings() {
    let mut net = Net::new(2, |idx| (idx == 0).then(pg_url)).await;
    for idx in 0..2 {
        net.node(idx).start().await;
    }
    let (a, b) = (net.nodes[0].id.clone(), net.nodes[1].id.clone());
    for _ in 0..3 {
        net.nodes[0].send(&b, Kind::Ping).await;
        net.nodes[1].send(&a, Kind::Ping).await;
    }
    for node in &net.nodes {
        eventually(
            &format!("{} gets its pings and pongs", node.id),
            20,
            || async { node.inbox_kinds("ping").await == 3 && node.inbox_kinds("pong").await == 3 },
        )
        .await;
    }
    for idx in 0..2 {
        net.node(idx).stop().await;
    }
    let pg = &net.nodes[0];
    assert!(matches!(pg.store, palermo_store::AnyStore::Postgres(_)));
    let counts = pg.store.fed_counts().await.unwrap();
    assert!(counts.inbox >= 6);
    assert_eq!(
        pg.ledger_count("message-received").await as u64,
        counts.inbox
    );
}
