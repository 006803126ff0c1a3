//! Flipping any bit of any sealed entry, stored leaf hash, node hash or head
//! signature is detected by the auditor.

use palermo_ledger::audit::{Auditor, LogTip, seal_batch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::{EntryBody, NodeKey, SignedTreeHead};
use proptest::prelude::*;
use time::OffsetDateTime;

struct Log {
    key: NodeKey,
    rows: Vec<(u64, Vec<u8>, palermo_ledger::Hash)>,
    nodes: Vec<(palermo_ledger::NodeId, palermo_ledger::Hash)>,
    heads: Vec<SignedTreeHead>,
}

fn build(n: u64) -> Log {
    let key = NodeKey::from_seed([9; 32]);
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    let mut tip = LogTip::default();
    let mut log = Log {
        key: key.clone(),
        rows: vec![],
        nodes: vec![],
        heads: vec![],
    };
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
    for i in 0..n {
        batch.push(NewEntry {
            actor: format!("u{}", i % 4),
            case: Some("C".into()),
            time: None,
            body: EntryBody::Query {
                persons: vec![format!("p{i}")],
                purpose: None,
                legal_basis: None,
                policy_decision: None,
            },
        });
        if i % 5 == 4 {
            let sealed = seal_batch(&mut tip, std::mem::take(&mut batch), &key, now).unwrap();
            log.rows
                .extend(sealed.entries.into_iter().map(|e| (e.seq, e.bytes, e.leaf)));
            log.nodes.extend(sealed.nodes);
            log.heads.push(sealed.head);
        }
    }
    if !batch.is_empty() {
        let sealed = seal_batch(&mut tip, batch, &key, now).unwrap();
        log.rows
            .extend(sealed.entries.into_iter().map(|e| (e.seq, e.bytes, e.leaf)));
        log.nodes.extend(sealed.nodes);
        log.heads.push(sealed.head);
    }
    log
}

fn audit(log: &Log) -> bool {
    let mut auditor = Auditor::new(log.heads.clone(), Some(log.key.public()));
    for (seq, bytes, leaf) in &log.rows {
        if auditor.entry(*seq, bytes, leaf).is_err() {
            return false;
        }
    }
    for (id, hash) in &log.nodes {
        if auditor.node(*id, hash).is_err() {
            return false;
        }
    }
    auditor.finish(log.nodes.len() as u64).is_ok()
}

#[test]
fn intact_log_passes() {
    assert!(audit(&build(23)));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_flipped_bit_is_detected(n in 1u64..30, what in 0usize..5, pick in any::<prop::sample::Index>(), bit in any::<prop::sample::Index>()) {
        let mut log = build(n);
        match what {
            0 => {
                let row = pick.index(log.rows.len());
                let bytes = &mut log.rows[row].1;
                let k = bit.index(bytes.len() * 8);
                bytes[k / 8] ^= 1 << (k % 8);
            }
            1 => {
                let row = pick.index(log.rows.len());
                let k = bit.index(256);
                log.rows[row].2.0[k / 8] ^= 1 << (k % 8);
            }
            2 if !log.nodes.is_empty() => {
                let row = pick.index(log.nodes.len());
                let k = bit.index(256);
                log.nodes[row].1.0[k / 8] ^= 1 << (k % 8);
            }
            3 => {
                let row = pick.index(log.heads.len());
                let head = &mut log.heads[row];
                let mut sig = head.signature.clone().into_bytes();
                let k = bit.index(sig.len() * 8);
                sig[k / 8] ^= 1 << (k % 8);
                head.signature = String::from_utf8_lossy(&sig).into_owned();
            }
            _ => {
                let row = pick.index(log.heads.len());
                let k = bit.index(256);
                log.heads[row].head.root.0[k / 8] ^= 1 << (k % 8);
            }
        }
        if what == 2 && log.nodes.is_empty() {
            return Ok(());
        }
        prop_assert!(!audit(&log));
    }
}
