//! Delivery benchmark between two nodes on loopback (mutual TLS, SQLite stores):
//!
//! - throughput: N signed one-way messages (`request`, stored without a
//!   reply) sealed and enqueued in chunks of 500, timed from the first seal
//!   until the receiver has stored all of them;
//! - latency: messages sent at a steady rate, each timed from its creation to
//!   its acknowledgement by the receiver (after the receiver's commit), p50 and p99.
//!
//! Run with `bench/federation/run.sh` (`cargo test --release -p palermo-federation
//! --bench delivery -- --bench`). `BENCH_MESSAGES` (default 20000),
//! `BENCH_RATE` (default 500 per second), `BENCH_SECONDS` (default 5) and
//! `BENCH_ROUNDS` (default 3) change the sizes. It prints the median of the
//! rounds and fails when a message is lost.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use palermo_federation::{Envelope, Kind, Node, NodeConfig, NodeIdentity, TrustAnchor};
use palermo_ledger::NodeKey;
use palermo_store::{FederationStore, OutboxStatus, OutgoingMessage};
use time::OffsetDateTime;
use tokio::net::TcpListener;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Pair {
    a: Node,
    a_identity: NodeIdentity,
    b_id: String,
    a_store: palermo_store::AnyStore,
    b_store: palermo_store::AnyStore,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _tmp: tempfile::TempDir,
}

async fn pair() -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let mut anchor = TrustAnchor::create("bench", now - time::Duration::days(1), 365).unwrap();
    let mut nodes = Vec::new();
    for (cc, agency) in [("NL", "KNP"), ("DE", "BKA")] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (dir, identity) = support::enroll(&mut anchor, tmp.path(), cc, agency, port);
        nodes.push((dir, identity.node_id.clone(), listener));
    }
    let signed = anchor.publish(now, 7).unwrap();
    let mut stop = Vec::new();
    let mut tasks = Vec::new();
    let mut handles = Vec::new();
    let mut stores = Vec::new();
    for (dir, _, listener) in nodes.iter_mut().map(|(d, i, l)| (d.clone(), i.clone(), l)) {
        signed
            .save(&dir.join(palermo_federation::pki::DIRECTORY_FILE))
            .unwrap();
        let store = palermo_store::open(&sqlite_url(&dir)).await.unwrap();
        let mut config = NodeConfig::new(&dir, NodeKey::generate());
        config.batch_size = 512;
        config.tree_head_interval = Duration::from_secs(3600);
        let node = Node::open(config, store.clone()).unwrap();
        let listener = std::mem::replace(listener, TcpListener::bind("127.0.0.1:0").await.unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let runner = node.clone();
        tasks.push(tokio::spawn(async move {
            runner
                .run(listener, async move {
                    let _ = rx.await;
                })
                .await
                .unwrap();
        }));
        stop.push(tx);
        handles.push(node);
        stores.push(store);
    }
    let b_store = stores.pop().unwrap();
    let a_store = stores.pop().unwrap();
    let b = handles.pop().unwrap();
    let a = handles.pop().unwrap();
    let a_identity = NodeIdentity::load(&nodes[0].0).unwrap();
    Pair {
        a,
        a_identity,
        b_id: b.node_id().to_owned(),
        a_store,
        b_store,
        stop,
        tasks,
        _tmp: tmp,
    }
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("node.db").display())
}

impl Pair {
    async fn shutdown(self) {
        for tx in self.stop {
            let _ = tx.send(());
        }
        for task in self.tasks {
            task.await.unwrap();
        }
    }
}

/// Messages per second for `n` one-way messages.
async fn throughput(n: u64) -> f64 {
    let pair = pair().await;
    let before = pair.b_store.fed_counts().await.unwrap().inbox;
    let start = Instant::now();
    // Sealed and enqueued in chunks of 500 per transaction (batching).
    let ids: Vec<u64> = (0..n).collect();
    for chunk in ids.chunks(500) {
        let messages: Vec<OutgoingMessage> = chunk
            .iter()
            .map(|i| {
                let envelope = Envelope::seal(
                    pair.a_identity.signing_key(),
                    &pair.a_identity.node_id,
                    &pair.b_id,
                    Kind::Request,
                    serde_json::json!({ "i": i }),
                    OffsetDateTime::now_utc(),
                );
                OutgoingMessage {
                    id: envelope.id,
                    recipient: envelope.recipient.clone(),
                    kind: envelope.kind.clone(),
                    envelope: envelope.to_json(),
                    created_at: envelope.created_at,
                }
            })
            .collect();
        pair.a_store.outbox_enqueue(&messages).await.unwrap();
    }
    loop {
        let got = pair.b_store.fed_counts().await.unwrap().inbox - before;
        if got >= n {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "only {got} of {n} arrived"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    pair.shutdown().await;
    n as f64 / secs
}

/// (p50, p99) milliseconds from creation to acknowledgement at `rate` per second.
async fn latency(rate: u64, seconds: u64) -> (f64, f64) {
    let pair = pair().await;
    let n = rate * seconds;
    let gap = Duration::from_secs_f64(1.0 / rate as f64);
    let start = tokio::time::Instant::now();
    for i in 0..n {
        tokio::time::sleep_until(start + gap * u32::try_from(i).unwrap()).await;
        pair.a
            .send(&pair.b_id, Kind::Request, serde_json::json!({ "i": i }))
            .await
            .unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    let rows = loop {
        let rows = pair
            .a_store
            .outbox_list(u32::try_from(n).unwrap())
            .await
            .unwrap();
        if rows.iter().all(|r| r.status == OutboxStatus::Delivered) {
            break rows;
        }
        assert!(Instant::now() < deadline, "messages were not all delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut ms: Vec<f64> = rows
        .iter()
        .map(|r| (r.delivered_at.unwrap() - r.created_at).as_seconds_f64() * 1000.0)
        .collect();
    ms.sort_by(f64::total_cmp);
    pair.shutdown().await;
    let pick = |q: f64| ms[((ms.len() as f64 - 1.0) * q).round() as usize];
    (pick(0.50), pick(0.99))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    // `cargo test --benches` runs this with `--bench` absent; keep that quick.
    let quick = !std::env::args().any(|a| a == "--bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let n = if quick {
        500
    } else {
        env("BENCH_MESSAGES", 20_000)
    };
    let rounds = if quick { 1 } else { env("BENCH_ROUNDS", 3) };
    let rate = env("BENCH_RATE", 500);
    let seconds = if quick { 1 } else { env("BENCH_SECONDS", 5) };
    runtime.block_on(async {
        let mut rates = Vec::new();
        let mut p50s = Vec::new();
        let mut p99s = Vec::new();
        for round in 0..rounds {
            let r = throughput(n).await;
            println!("round {round}: throughput {r:.0} messages/s ({n} messages)");
            rates.push(r);
            let (p50, p99) = latency(rate, seconds).await;
            println!("round {round}: latency at {rate}/s: p50 {p50:.1} ms, p99 {p99:.1} ms");
            p50s.push(p50);
            p99s.push(p99);
        }
        println!(
            "median of {rounds}: throughput {:.0} messages/s; latency at {rate}/s p50 {:.1} ms, p99 {:.1} ms",
            median(rates),
            median(p50s),
            median(p99s)
        );
    });
}
