//! RFC 9162 Merkle tree heads, inclusion and consistency proofs.
//!
//! Proofs are built in two steps so that they work over any storage: a
//! [`ProofPlan`] lists the complete, aligned subtrees ([`NodeId`]) whose hashes
//! are needed, the caller fetches them in one batch (from memory, SQLite,
//! PostgreSQL...), and [`ProofPlan::assemble`] folds them into the proof. The
//! [`HashSource`] trait wraps both steps for synchronous sources.
//!
//! The recursion follows RFC 9162 section 2.1 (`MTH`, `PATH`, `SUBPROOF`)
//! literally; verification follows sections 2.1.3.2 and 2.1.4.2.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::{Hash, empty_root, node_hash};

/// A complete, aligned subtree: the leaves `[index << level, (index + 1) << level)`.
///
/// Level 0 is a leaf hash; level `l` is the root of `2^l` leaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodeId {
    /// Height above the leaves (0 = leaf).
    pub level: u8,
    /// Position among the nodes of this level, from the left.
    pub index: u64,
}

/// Something that can hand out the hashes of complete subtrees in one batch.
pub trait HashSource {
    /// Returns the hashes of `ids`, in the same order.
    ///
    /// Fails with [`Error::Source`] when a node is missing.
    fn hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>>;
}

/// A proof that a leaf is in the tree of a given size (RFC 9162 section 2.1.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InclusionProof {
    /// The 0-based position of the leaf.
    pub index: u64,
    /// The size of the tree the proof is for.
    pub size: u64,
    /// The audit path, from the leaf's sibling up to the root.
    pub path: Vec<Hash>,
}

/// A proof that the tree of `old_size` is a prefix of the tree of `new_size`
/// (RFC 9162 section 2.1.4).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyProof {
    /// The size of the earlier tree.
    pub old_size: u64,
    /// The size of the later tree.
    pub new_size: u64,
    /// The consistency path.
    pub path: Vec<Hash>,
}

/// The subtree hashes a proof or root needs, and how to fold them.
///
/// Each proof element is the Merkle hash of a range of leaves, written as the
/// complete subtrees that range decomposes into (largest first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofPlan {
    elements: Vec<Vec<NodeId>>,
}

/// An in-memory tree that keeps every complete subtree hash (about `2n` hashes).
#[derive(Clone, Debug, Default)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

/// The right edge of a tree: enough to append leaves and compute the root
/// without the rest of the tree (a "compact range" from leaf 0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// Hashes of the complete subtrees the tree decomposes into, largest first.
    stack: Vec<Hash>,
}

impl ProofPlan {
    /// The nodes to fetch, in the order [`ProofPlan::assemble`] expects their hashes.
    pub fn nodes(&self) -> Vec<NodeId> {
        self.elements.iter().flatten().copied().collect()
    }

    /// Folds the fetched hashes (aligned with [`ProofPlan::nodes`]) into proof elements.
    ///
    /// Fails with [`Error::Source`] when the number of hashes is wrong.
    pub fn assemble(&self, hashes: &[Hash]) -> Result<Vec<Hash>> {
        let n_needed: usize = self.elements.iter().map(Vec::len).sum();
        if hashes.len() != n_needed {
            return Err(Error::Source {
                reason: format!("expected {n_needed} node hashes, got {}", hashes.len()),
            });
        }
        let mut out = Vec::with_capacity(self.elements.len());
        let mut pos = 0;
        for element in &self.elements {
            let part = &hashes[pos..pos + element.len()];
            pos += element.len();
            out.push(fold_right(part));
        }
        Ok(out)
    }
}

/// The plan for the root hash of the tree of `size` leaves (one element; none when empty).
pub fn root_plan(size: u64) -> ProofPlan {
    let mut elements = Vec::new();
    if size > 0 {
        elements.push(range_nodes(0, size));
    }
    ProofPlan { elements }
}

/// The plan for the inclusion proof of leaf `index` in the tree of `size` leaves.
///
/// Fails with [`Error::OutOfRange`] unless `index < size`.
pub fn inclusion_plan(index: u64, size: u64) -> Result<ProofPlan> {
    if index >= size {
        return Err(Error::OutOfRange {
            what: "leaf index".to_owned(),
            value: index,
            size,
        });
    }
    let mut elements = Vec::new();
    path(index, 0, size, &mut elements);
    Ok(ProofPlan { elements })
}

/// The plan for the consistency proof from `old_size` to `new_size`.
///
/// The proof is empty when `old_size` is 0 or equals `new_size`. Fails with
/// [`Error::OutOfRange`] when `old_size > new_size`.
pub fn consistency_plan(old_size: u64, new_size: u64) -> Result<ProofPlan> {
    if old_size > new_size {
        return Err(Error::OutOfRange {
            what: "old tree size".to_owned(),
            value: old_size,
            size: new_size,
        });
    }
    let mut elements = Vec::new();
    if old_size > 0 && old_size < new_size {
        subproof(old_size, 0, new_size, true, &mut elements);
    }
    Ok(ProofPlan { elements })
}

/// The Merkle tree head (root hash) of the first `size` leaves of `source`.
pub fn root(source: &impl HashSource, size: u64) -> Result<Hash> {
    let plan = root_plan(size);
    let hashes = source.hashes(&plan.nodes())?;
    Ok(plan.assemble(&hashes)?.pop().unwrap_or_else(empty_root))
}

/// The inclusion proof of leaf `index` in the first `size` leaves of `source`.
pub fn inclusion_proof(source: &impl HashSource, index: u64, size: u64) -> Result<InclusionProof> {
    let plan = inclusion_plan(index, size)?;
    let hashes = source.hashes(&plan.nodes())?;
    Ok(InclusionProof {
        index,
        size,
        path: plan.assemble(&hashes)?,
    })
}

/// The consistency proof between the trees of `old_size` and `new_size` leaves of `source`.
pub fn consistency_proof(
    source: &impl HashSource,
    old_size: u64,
    new_size: u64,
) -> Result<ConsistencyProof> {
    let plan = consistency_plan(old_size, new_size)?;
    let hashes = source.hashes(&plan.nodes())?;
    Ok(ConsistencyProof {
        old_size,
        new_size,
        path: plan.assemble(&hashes)?,
    })
}

/// Checks that `leaf` (a leaf hash) is at `proof.index` in the tree with `root`.
///
/// Fails with [`Error::BadProof`] otherwise (RFC 9162 section 2.1.3.2).
pub fn verify_inclusion(leaf: &Hash, proof: &InclusionProof, root: &Hash) -> Result<()> {
    let bad = |reason: &str| Error::BadProof {
        what: "inclusion proof".to_owned(),
        reason: reason.to_owned(),
    };
    if proof.index >= proof.size {
        return Err(bad("leaf index is not below the tree size"));
    }
    let mut f_n = proof.index;
    let mut s_n = proof.size - 1;
    let mut r = *leaf;
    for p in &proof.path {
        if s_n == 0 {
            return Err(bad("the path is longer than the tree is high"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(bad("the path is shorter than the tree is high"));
    }
    if r != *root {
        return Err(bad("the path does not lead to the root hash"));
    }
    Ok(())
}

/// Checks that the tree with `old_root` is a prefix of the tree with `new_root`.
///
/// Fails with [`Error::BadProof`] otherwise (RFC 9162 section 2.1.4.2). A tree
/// of size 0 is a prefix of every tree; equal sizes need equal roots.
pub fn verify_consistency(
    proof: &ConsistencyProof,
    old_root: &Hash,
    new_root: &Hash,
) -> Result<()> {
    let bad = |reason: &str| Error::BadProof {
        what: "consistency proof".to_owned(),
        reason: reason.to_owned(),
    };
    let (first, second) = (proof.old_size, proof.new_size);
    if first > second {
        return Err(bad("the old tree is larger than the new tree"));
    }
    if first == 0 {
        return if proof.path.is_empty() {
            Ok(())
        } else {
            Err(bad("a proof from the empty tree must be empty"))
        };
    }
    if first == second {
        if !proof.path.is_empty() {
            return Err(bad("a proof between equal sizes must be empty"));
        }
        return if old_root == new_root {
            Ok(())
        } else {
            Err(bad("two different roots for the same size"))
        };
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.path.len() + 1);
    if first.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(&proof.path);
    let Some((head, rest)) = path.split_first() else {
        return Err(bad("the path is empty"));
    };
    let mut f_n = first - 1;
    let mut s_n = second - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = *head;
    let mut s_r = *head;
    for c in rest {
        if s_n == 0 {
            return Err(bad("the path is longer than the tree is high"));
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(bad("the path is shorter than the tree is high"));
    }
    if f_r != *old_root {
        return Err(bad("the path does not lead to the old root hash"));
    }
    if s_r != *new_root {
        return Err(bad("the path does not lead to the new root hash"));
    }
    Ok(())
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        if self.levels.is_empty() {
            self.levels.push(Vec::new());
        }
        self.levels[0].push(leaf);
        let mut level = 0;
        while self.levels[level].len().is_multiple_of(2) {
            let n = self.levels[level].len();
            let parent = node_hash(&self.levels[level][n - 2], &self.levels[level][n - 1]);
            if self.levels.len() == level + 1 {
                self.levels.push(Vec::new());
            }
            self.levels[level + 1].push(parent);
            level += 1;
        }
    }

    /// The number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |leaves| leaves.len() as u64)
    }

    /// True when there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The root hash of the whole tree.
    pub fn root(&self) -> Hash {
        // The plan only names nodes that exist, so this cannot fail.
        root(self, self.len()).unwrap_or_else(|_| empty_root())
    }
}

impl HashSource for MemoryTree {
    fn hashes(&self, ids: &[NodeId]) -> Result<Vec<Hash>> {
        ids.iter()
            .map(|id| {
                self.levels
                    .get(usize::from(id.level))
                    .and_then(|level| level.get(usize::try_from(id.index).ok()?))
                    .copied()
                    .ok_or_else(|| Error::Source {
                        reason: format!("no node at level {} index {}", id.level, id.index),
                    })
            })
            .collect()
    }
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// The nodes a frontier of `size` leaves is made of (fetch them, then [`Frontier::from_hashes`]).
    pub fn nodes(size: u64) -> Vec<NodeId> {
        if size == 0 {
            Vec::new()
        } else {
            range_nodes(0, size)
        }
    }

    /// Rebuilds the frontier of `size` leaves from the hashes of [`Frontier::nodes`].
    ///
    /// Fails with [`Error::Source`] when the number of hashes is wrong.
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Result<Frontier> {
        if hashes.len() != size.count_ones() as usize {
            return Err(Error::Source {
                reason: format!(
                    "a frontier of {size} leaves needs {} hashes, got {}",
                    size.count_ones(),
                    hashes.len()
                ),
            });
        }
        Ok(Frontier {
            size,
            stack: hashes.to_vec(),
        })
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash and calls `on_node` for every subtree it completes (level ≥ 1).
    pub fn push_with(&mut self, leaf: Hash, mut on_node: impl FnMut(NodeId, Hash)) {
        let mut hash = leaf;
        let mut level: u8 = 0;
        let mut index = self.size;
        while (self.size >> level) & 1 == 1 {
            // Invariant: a set bit in `size` means a complete subtree on the stack.
            let Some(left) = self.stack.pop() else { break };
            hash = node_hash(&left, &hash);
            level += 1;
            index >>= 1;
            on_node(NodeId { level, index }, hash);
        }
        self.stack.push(hash);
        self.size += 1;
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _| {});
    }

    /// The root hash of the tree so far (the empty-tree hash when empty).
    pub fn root(&self) -> Hash {
        if self.stack.is_empty() {
            empty_root()
        } else {
            fold_right(&self.stack)
        }
    }
}

/// `node(h0, node(h1, ... node(h_{n-2}, h_{n-1})))`: the hash of a range from its
/// complete subtrees, largest first.
fn fold_right(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The complete subtrees of the leaf range `[start, end)`, largest first.
///
/// In the RFC recursion every range starts at a multiple of the largest power
/// of two not above its length, so the pieces are aligned.
fn range_nodes(start: u64, end: u64) -> Vec<NodeId> {
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let level = 63 - (end - pos).leading_zeros();
        debug_assert_eq!(
            pos % (1u64 << level),
            0,
            "invariant: RFC ranges are aligned"
        );
        out.push(NodeId {
            level: level as u8,
            index: pos >> level,
        });
        pos += 1u64 << level;
    }
    out
}

/// The largest power of two strictly below `n` (`n >= 2`).
fn split_point(n: u64) -> u64 {
    1u64 << (63 - (n - 1).leading_zeros())
}

/// RFC 9162 `PATH(m, D[a:b])` with absolute leaf index `m`.
fn path(m: u64, a: u64, b: u64, out: &mut Vec<Vec<NodeId>>) {
    if b - a <= 1 {
        return;
    }
    let k = split_point(b - a);
    if m < a + k {
        path(m, a, a + k, out);
        out.push(range_nodes(a + k, b));
    } else {
        path(m, a + k, b, out);
        out.push(range_nodes(a, a + k));
    }
}

/// RFC 9162 `SUBPROOF(m, D[a:b], complete)` with absolute old size `m`.
fn subproof(m: u64, a: u64, b: u64, complete: bool, out: &mut Vec<Vec<NodeId>>) {
    if m == b {
        if !complete {
            out.push(range_nodes(a, b));
        }
        return;
    }
    let k = split_point(b - a);
    if m <= a + k {
        subproof(m, a, a + k, complete, out);
        out.push(range_nodes(a + k, b));
    } else {
        subproof(m, a + k, b, false, out);
        out.push(range_nodes(a, a + k));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;

    /// The leaves of the certificate-transparency `merkle_tree_test` vectors.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];

    fn tree(n: usize) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for leaf in &LEAVES[..n] {
            tree.push(leaf_hash(&hex::decode(leaf).unwrap()));
        }
        tree
    }

    fn check_root(n: usize, expect: &str) {
        let tree = tree(n);
        assert_eq!(tree.root().to_hex(), expect, "root of {n} leaves");
        let mut frontier = Frontier::new();
        for leaf in &LEAVES[..n] {
            frontier.push(leaf_hash(&hex::decode(leaf).unwrap()));
        }
        assert_eq!(
            frontier.root().to_hex(),
            expect,
            "frontier root of {n} leaves"
        );
    }

    #[test]
    fn roots_match_rfc6962_vectors() {
        check_root(
            0,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        );
        check_root(
            1,
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        );
        check_root(
            2,
            "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        );
        check_root(
            3,
            "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        );
        check_root(
            4,
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        );
        check_root(
            5,
            "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        );
        check_root(
            6,
            "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        );
        check_root(
            7,
            "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        );
        check_root(
            8,
            "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
        );
    }

    fn check_inclusion(index: u64, size: usize, expect: &[&str]) {
        let proof = inclusion_proof(&tree(size), index, size as u64).unwrap();
        let got: Vec<String> = proof.path.iter().map(Hash::to_hex).collect();
        assert_eq!(got, expect, "inclusion of {index} in {size}");
    }

    #[test]
    fn inclusion_proofs_match_rfc6962_vectors() {
        check_inclusion(0, 1, &[]);
        check_inclusion(
            0,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        );
        check_inclusion(
            5,
            8,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        );
        check_inclusion(
            2,
            3,
            &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
        );
        check_inclusion(
            1,
            5,
            &[
                "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        );
    }

    fn check_consistency(old: u64, new: usize, expect: &[&str]) {
        let proof = consistency_proof(&tree(new), old, new as u64).unwrap();
        let got: Vec<String> = proof.path.iter().map(Hash::to_hex).collect();
        assert_eq!(got, expect, "consistency {old} -> {new}");
    }

    #[test]
    fn consistency_proofs_match_rfc6962_vectors() {
        check_consistency(1, 1, &[]);
        check_consistency(
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        );
        check_consistency(
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        );
        check_consistency(
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        );
    }

    #[test]
    fn proofs_verify_and_out_of_range_is_an_error() {
        let t = tree(7);
        for size in 1..=7u64 {
            let sub = tree(size as usize);
            for index in 0..size {
                let proof = inclusion_proof(&t, index, size).unwrap();
                let leaf = t.hashes(&[NodeId { level: 0, index }]).unwrap()[0];
                verify_inclusion(&leaf, &proof, &sub.root()).unwrap();
            }
            for old in 0..=size {
                let proof = consistency_proof(&t, old, size).unwrap();
                let old_root = root(&t, old).unwrap();
                verify_consistency(&proof, &old_root, &sub.root()).unwrap();
            }
        }
        assert!(inclusion_plan(3, 3).is_err());
        assert!(consistency_plan(4, 3).is_err());
    }
}
