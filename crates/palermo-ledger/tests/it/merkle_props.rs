//! Property tests: proofs verify, any prefix is consistent with any longer
//! log, and our roots and proofs are byte-identical to `ct-merkle`'s.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use palermo_ledger::merkle::{
    consistency_proof, inclusion_proof, root, verify_consistency, verify_inclusion,
};
use palermo_ledger::{Hash, MemoryTree, leaf_hash};
use proptest::prelude::*;
use sha2::Sha256;

fn build(leaves: &[Vec<u8>]) -> (MemoryTree, MemoryBackedTree<Sha256, Vec<u8>>) {
    let mut ours = MemoryTree::new();
    let mut theirs = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    for leaf in leaves {
        ours.push(leaf_hash(leaf));
        theirs.push(leaf.clone());
    }
    (ours, theirs)
}

fn flat(path: &[Hash]) -> Vec<u8> {
    path.iter().flat_map(|h| h.0).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn roots_and_proofs_match_ct_merkle(leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..70), pick in any::<prop::sample::Index>()) {
        let (ours, theirs) = build(&leaves);
        let n = leaves.len() as u64;
        let (our_root, their_root) = (ours.root(), theirs.root());
        prop_assert_eq!(our_root.0.to_vec(), their_root.as_bytes().to_vec());
        let index = pick.index(leaves.len());
        let proof = inclusion_proof(&ours, index as u64, n).unwrap();
        prop_assert_eq!(flat(&proof.path), theirs.prove_inclusion(index).as_bytes().to_vec());
        verify_inclusion(&leaf_hash(&leaves[index]), &proof, &ours.root()).unwrap();
        let old = index as u64 + 1;
        if old < n {
            let proof = consistency_proof(&ours, old, n).unwrap();
            let theirs_proof = theirs.prove_consistency((n - old) as usize);
            prop_assert_eq!(flat(&proof.path), theirs_proof.as_bytes().to_vec());
        }
    }

    #[test]
    fn any_prefix_is_consistent_with_any_longer_log(n in 1u64..300, a in any::<prop::sample::Index>(), b in any::<prop::sample::Index>()) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
        let (tree, _) = build(&leaves);
        let x = a.index(n as usize + 1) as u64;
        let y = b.index(n as usize + 1) as u64;
        let (old, new) = (x.min(y), x.max(y));
        let proof = consistency_proof(&tree, old, new).unwrap();
        verify_consistency(&proof, &root(&tree, old).unwrap(), &root(&tree, new).unwrap()).unwrap();
    }

    #[test]
    fn flipping_any_bit_of_a_proof_or_root_is_detected(n in 2u64..100, a in any::<prop::sample::Index>(), bit in any::<prop::sample::Index>()) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
        let (tree, _) = build(&leaves);
        let index = a.index(n as usize) as u64;
        let proof = inclusion_proof(&tree, index, n).unwrap();
        let root_hash = tree.root();
        let leaf = leaf_hash(&leaves[index as usize]);
        // Bits of the leaf, the root, and every path element.
        let n_bits = 256 * (2 + proof.path.len());
        let k = bit.index(n_bits);
        let (mut leaf2, mut root2, mut proof2) = (leaf, root_hash, proof.clone());
        let target = match k / 256 {
            0 => &mut leaf2,
            1 => &mut root2,
            p => &mut proof2.path[p - 2],
        };
        target.0[(k % 256) / 8] ^= 1 << (k % 8);
        prop_assert!(verify_inclusion(&leaf2, &proof2, &root2).is_err());

        // Consistency: flip a bit in the path or either root.
        let old = index.max(1);
        if old < n {
            let proof = consistency_proof(&tree, old, n).unwrap();
            let old_root = root(&tree, old).unwrap();
            let n_bits = 256 * (2 + proof.path.len());
            let k = bit.index(n_bits);
            let (mut r1, mut r2, mut p) = (old_root, root_hash, proof.clone());
            let target = match k / 256 {
                0 => &mut r1,
                1 => &mut r2,
                i => &mut p.path[i - 2],
            };
            target.0[(k % 256) / 8] ^= 1 << (k % 8);
            prop_assert!(verify_consistency(&p, &r1, &r2).is_err());
        }
    }

    #[test]
    fn wrong_sizes_and_indices_are_rejected(n in 2u64..100, a in any::<prop::sample::Index>()) {
        let leaves: Vec<Vec<u8>> = (0..n).map(|i| i.to_le_bytes().to_vec()).collect();
        let (tree, _) = build(&leaves);
        let index = a.index(n as usize) as u64;
        let mut proof = inclusion_proof(&tree, index, n).unwrap();
        let leaf = leaf_hash(&leaves[index as usize]);
        proof.index = (index + 1) % n;
        prop_assert!(verify_inclusion(&leaf, &proof, &tree.root()).is_err());
    }
}
