//! Merkle log benchmarks: proofs over a 10M-entry tree (target ≤ 1 ms each),
//! sealing entries, and full verification of 1M entries (target ≤ 10 s).
//!
//! Run: `cargo bench -p palermo-ledger --bench merkle`. Every benchmark
//! asserts its answer. `PALERMO_BENCH_PROOF_SIZE` overrides the 10M tree size.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_ledger::audit::{Auditor, LogTip, SealedBatch, seal_batch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::merkle::{
    consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};
use palermo_ledger::{EntryBody, Hash, MemoryTree, NodeId, NodeKey, leaf_hash};
use time::OffsetDateTime;

fn env_size(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proofs(c: &mut Criterion) {
    let size = env_size("PALERMO_BENCH_PROOF_SIZE", 10_000_000);
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.push(leaf_hash(&i.to_le_bytes()));
    }
    let root_hash = tree.root();
    let mut group = c.benchmark_group("proof");
    group.sample_size(50);
    let mut i = 0u64;
    group.bench_function(format!("inclusion_{size}"), |b| {
        b.iter(|| {
            i = (i
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407))
                % size;
            let proof = inclusion_proof(&tree, i, size).expect("invariant: index in range");
            let leaf = leaf_hash(&i.to_le_bytes());
            assert!(verify_inclusion(&leaf, &proof, &root_hash).is_ok());
            black_box(proof)
        })
    });
    let mut j = 1u64;
    group.bench_function(format!("consistency_{size}"), |b| {
        b.iter(|| {
            j = (j
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407))
                % size
                + 1;
            let proof = consistency_proof(&tree, j, size).expect("invariant: sizes in range");
            let old = root(&tree, j).expect("invariant: nodes exist");
            assert!(verify_consistency(&proof, &old, &root_hash).is_ok());
            black_box(proof)
        })
    });
    group.finish();
}

fn entries(n: u64) -> (NodeKey, Vec<SealedBatch>) {
    let key = NodeKey::from_seed([3; 32]);
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("invariant: valid time");
    let mut tip = LogTip::default();
    let mut batches = Vec::new();
    let mut batch = vec![NewEntry {
        actor: "node".into(),
        case: None,
        time: None,
        body: EntryBody::KeyChange {
            public_key: key.public().to_base64(),
            fingerprint: key.public().fingerprint(),
            previous: None,
            reason: "created".into(),
        },
    }];
    for i in 1..n {
        batch.push(query(i));
        if batch.len() == 1000 {
            batches.push(
                seal_batch(&mut tip, std::mem::take(&mut batch), &key, now)
                    .expect("invariant: sealable"),
            );
        }
    }
    if !batch.is_empty() {
        batches.push(seal_batch(&mut tip, batch, &key, now).expect("invariant: sealable"));
    }
    (key, batches)
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

fn seal(c: &mut Criterion) {
    let key = NodeKey::from_seed([3; 32]);
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).expect("invariant: valid time");
    let mut group = c.benchmark_group("seal");
    group.sample_size(20);
    group.bench_function("batch_of_1000", |b| {
        b.iter(|| {
            let mut tip = LogTip::default();
            let batch: Vec<NewEntry> = (0..1000).map(query).collect();
            let sealed = seal_batch(&mut tip, batch, &key, now).expect("invariant: sealable");
            assert_eq!(sealed.entries.len(), 1000);
            black_box(sealed)
        })
    });
    group.finish();
}

fn verify(c: &mut Criterion) {
    let n = env_size("PALERMO_BENCH_VERIFY_SIZE", 1_000_000);
    let (key, batches) = entries(n);
    let heads: Vec<_> = batches.iter().map(|b| b.head.clone()).collect();
    let nodes: Vec<(NodeId, Hash)> = batches
        .iter()
        .flat_map(|b| b.nodes.iter().copied())
        .collect();
    let mut group = c.benchmark_group("verify");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(30));
    group.bench_function(format!("audit_{n}"), |b| {
        b.iter(|| {
            let mut auditor = Auditor::new(heads.clone(), Some(key.public()));
            for batch in &batches {
                for e in &batch.entries {
                    assert!(auditor.entry(e.seq, &e.bytes, &e.leaf).is_ok());
                }
            }
            for (id, hash) in &nodes {
                assert!(auditor.node(*id, hash).is_ok());
            }
            let summary = auditor
                .finish(nodes.len() as u64)
                .expect("invariant: intact log");
            assert_eq!(summary.n_entries, n);
        })
    });
    group.finish();
}

criterion_group!(benches, proofs, seal, verify);
criterion_main!(benches);
