//! Fuzz the ledger's parsers: custody report files (`check-report` input),
//! stored entry bytes, and proof verification with arbitrary paths.
//! None of them may panic on any input.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use palermo_ledger::merkle::{
    ConsistencyProof, InclusionProof, verify_consistency, verify_inclusion,
};
use palermo_ledger::{Entry, Hash, leaf_hash};

fuzz_target!(|data: &[u8]| {
    let mut files = BTreeMap::new();
    files.insert("report.json".to_owned(), data.to_vec());
    let _ = palermo_ledger::report::check(&files, None);
    let _ = Entry::from_bytes(data);
    if data.len() >= 16 {
        let a = u64::from_le_bytes(data[..8].try_into().unwrap_or_default());
        let b = u64::from_le_bytes(data[8..16].try_into().unwrap_or_default());
        let path: Vec<Hash> = data[16..].chunks(32).map(|c| leaf_hash(c)).collect();
        let root = leaf_hash(data);
        let _ = verify_inclusion(
            &root,
            &InclusionProof {
                index: a,
                size: b,
                path: path.clone(),
            },
            &root,
        );
        let _ = verify_consistency(
            &ConsistencyProof {
                old_size: a,
                new_size: b,
                path,
            },
            &root,
            &root,
        );
    }
});
