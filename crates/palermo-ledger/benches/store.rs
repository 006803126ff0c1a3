//! Ledger persistence on SQLite: batched appends (target ≥ 20,000 entries/s),
//! full verification of a 1M-entry log (target ≤ 10 s), and inclusion proofs
//! read from a SQLite log of 10M entries (target ≤ 1 ms).
//!
//! Run: `cargo bench -p palermo-ledger --bench store`. Sizes can be lowered
//! with `PALERMO_BENCH_VERIFY_SIZE` and `PALERMO_BENCH_PROOF_SIZE`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::merkle::verify_inclusion;
use palermo_ledger::{EntryBody, MemoryTree, NodeId, NodeKey, leaf_hash};
use palermo_store::{LedgerStore, SqliteStore, ledger_inclusion_proof};
use sqlx::{QueryBuilder, Sqlite};

const BATCH: usize = 10_000;

fn env_size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("invariant: runtime starts")
}

fn key() -> NodeKey {
    NodeKey::from_seed([5; 32])
}

fn key_entry(key: &NodeKey) -> NewEntry {
    NewEntry {
        actor: "node".into(),
        case: None,
        time: None,
        body: EntryBody::KeyChange {
            public_key: key.public().to_base64(),
            fingerprint: key.public().fingerprint(),
            previous: None,
            reason: "created".into(),
        },
    }
}

fn query(i: u64) -> NewEntry {
    NewEntry {
        actor: format!("analyst-{}", i % 50),
        case: Some(format!("NL-2026-{:03}", i % 40)),
        time: None,
        body: EntryBody::Query {
            persons: vec![
                format!("person-{}", i % 100_000),
                format!("person-{}", (i * 7) % 100_000),
            ],
            purpose: Some("investigation".into()),
            legal_basis: Some("UNTOC art. 18".into()),
            policy_decision: Some(format!("pd-{i}")),
        },
    }
}

async fn open(dir: &tempfile::TempDir) -> SqliteStore {
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    SqliteStore::connect(&url)
        .await
        .expect("invariant: a temporary store opens")
}

fn append(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("invariant: temp dir");
    let store = rt.block_on(open(&dir));
    let key = key();
    rt.block_on(store.ledger_append(vec![key_entry(&key)], &key))
        .expect("invariant: append");
    let mut group = c.benchmark_group("sqlite");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let mut next = 0u64;
    group.bench_function(format!("append_batch_of_{BATCH}"), |b| {
        b.iter(|| {
            let batch: Vec<NewEntry> = (next..next + BATCH as u64).map(query).collect();
            next += BATCH as u64;
            let head = rt
                .block_on(store.ledger_append(batch, &key))
                .expect("invariant: append")
                .expect("a head");
            assert_eq!(head.head.size, next + 1);
            black_box(head)
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let n = env_size("PALERMO_BENCH_VERIFY_SIZE", 1_000_000);
    let rt = runtime();
    let dir = tempfile::tempdir().expect("invariant: temp dir");
    let store = rt.block_on(open(&dir));
    let key = key();
    let started = Instant::now();
    rt.block_on(async {
        store
            .ledger_append(vec![key_entry(&key)], &key)
            .await
            .expect("invariant: append");
        let mut i = 1;
        while i < n {
            let end = (i + BATCH as u64).min(n);
            store
                .ledger_append((i..end).map(query).collect(), &key)
                .await
                .expect("invariant: append");
            i = end;
        }
    });
    eprintln!(
        "filled {n} entries in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("sqlite");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(60));
    group.bench_function(format!("verify_{n}"), |b| {
        b.iter(|| {
            let summary = rt
                .block_on(store.ledger_audit(Some(key.public())))
                .expect("invariant: db ok")
                .expect("intact");
            assert_eq!(summary.n_entries, n);
            black_box(summary)
        })
    });
    group.finish();
}

/// Fills the ledger tables directly (synthetic leaves, every subtree node) so
/// that a 10M-entry log is built in minutes; the proof path is the real one.
fn proofs(c: &mut Criterion) {
    let n = env_size("PALERMO_BENCH_PROOF_SIZE", 10_000_000);
    let rt = runtime();
    let dir = tempfile::tempdir().expect("invariant: temp dir");
    let store = rt.block_on(open(&dir));
    let started = Instant::now();
    let mut tree = MemoryTree::new();
    for i in 0..n {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let root = tree.root();
    rt.block_on(async {
        let mut tx = store.pool().begin().await.expect("invariant: tx");
        let mut level = 0u8;
        loop {
            let n_level = n >> level;
            if n_level == 0 {
                break;
            }
            let mut idx = 0u64;
            while idx < n_level {
                let end = (idx + 4000).min(n_level);
                let ids: Vec<NodeId> = (idx..end).map(|index| NodeId { level, index }).collect();
                let hashes =
                    palermo_ledger::HashSource::hashes(&tree, &ids).expect("invariant: in tree");
                if level == 0 {
                    let mut q = QueryBuilder::<Sqlite>::new(
                        "INSERT INTO ledger_entries (seq, leaf, body, kind, actor, time) ",
                    );
                    q.push_values(ids.iter().zip(&hashes), |mut b, (id, h)| {
                        b.push_bind(id.index as i64)
                            .push_bind(h.0.to_vec())
                            .push_bind(Vec::<u8>::new())
                            .push_bind("bench")
                            .push_bind("bench")
                            .push_bind("");
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .expect("invariant: insert");
                } else {
                    let mut q =
                        QueryBuilder::<Sqlite>::new("INSERT INTO ledger_nodes (level, idx, hash) ");
                    q.push_values(ids.iter().zip(&hashes), |mut b, (id, h)| {
                        b.push_bind(i64::from(id.level))
                            .push_bind(id.index as i64)
                            .push_bind(h.0.to_vec());
                    });
                    q.build()
                        .execute(&mut *tx)
                        .await
                        .expect("invariant: insert");
                }
                idx = end;
            }
            level += 1;
        }
        tx.commit().await.expect("invariant: commit");
    });
    eprintln!(
        "filled a {n}-leaf tree in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("sqlite");
    group.sample_size(100);
    let mut i = 0u64;
    group.bench_function(format!("inclusion_proof_{n}"), |b| {
        b.iter(|| {
            i = (i
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407))
                % n;
            let proof = rt
                .block_on(ledger_inclusion_proof(&store, i, n))
                .expect("invariant: proof");
            assert!(verify_inclusion(&leaf_hash(&i.to_le_bytes()), &proof, &root).is_ok());
            black_box(proof)
        })
    });
    group.finish();
}

criterion_group!(benches, append, verify, proofs);
criterion_main!(benches);
