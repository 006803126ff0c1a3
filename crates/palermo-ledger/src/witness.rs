//! Cross-witnessing: checking and countersigning other nodes' tree heads.
//!
//! A witness keeps every head it has seen from each node ([`WitnessBook`]).
//! A new head is accepted only if it is consistent with the closest heads seen
//! before (the caller supplies the consistency proofs, however it fetched
//! them), and two different heads for the same size are a **split view**: the
//! node showed different logs to different parties. Both signed heads are kept
//! as proof. The API carries no transport; the federation layer moves the
//! heads, proofs and cosignatures.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::head::{NodeKey, PublicKey, SignedTreeHead, head_bytes};
use crate::merkle::{ConsistencyProof, verify_consistency};

/// Domain separator of cosignatures.
const COSIG_DOMAIN: &[u8] = b"palermo-cosig-v1\0";

/// A witness's signature over another node's signed tree head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cosignature {
    /// The head that was countersigned.
    pub head: SignedTreeHead,
    /// The witness's key fingerprint.
    pub witness: String,
    /// When the witness signed, in milliseconds since the Unix epoch.
    pub timestamp_ms: u64,
    /// The witness's Ed25519 signature, base64.
    pub signature: String,
}

/// What observing a head found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Observation {
    /// The head is consistent with every head seen before (or the same as one).
    Consistent,
    /// Another head with the same size and a different root was seen before.
    SplitView {
        /// The head seen before.
        earlier: SignedTreeHead,
        /// The head just presented.
        later: SignedTreeHead,
    },
    /// A consistency proof against an earlier head failed.
    Inconsistent {
        /// The head the proof was checked against.
        earlier: SignedTreeHead,
        /// Why it failed.
        reason: String,
    },
}

/// Heads seen from other nodes, by node key fingerprint and size.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WitnessBook {
    nodes: BTreeMap<String, BTreeMap<u64, SignedTreeHead>>,
}

impl WitnessBook {
    /// An empty book.
    pub fn new() -> WitnessBook {
        WitnessBook::default()
    }

    /// The heads seen from the node with this key fingerprint, by size.
    pub fn heads(&self, fingerprint: &str) -> Option<&BTreeMap<u64, SignedTreeHead>> {
        self.nodes.get(fingerprint)
    }

    /// Checks `head` (signed by `node`) against the heads seen before and records it when consistent.
    ///
    /// `proofs` must hold consistency proofs from the closest smaller seen head
    /// to `head`, and from `head` to the closest larger one (when they exist).
    /// Fails with [`Error::BadSignature`] on a bad signature, and with
    /// [`Error::BadProof`] when a needed proof is missing; a split view or a
    /// failed proof is an [`Observation`], not an error.
    pub fn observe(
        &mut self,
        node: &PublicKey,
        head: &SignedTreeHead,
        proofs: &[ConsistencyProof],
    ) -> Result<Observation> {
        node.verify_head(head)?;
        let seen = self.nodes.entry(node.fingerprint()).or_default();
        let size = head.head.size;
        if let Some(earlier) = seen.get(&size) {
            if earlier.head.root != head.head.root {
                return Ok(Observation::SplitView {
                    earlier: earlier.clone(),
                    later: head.clone(),
                });
            }
            return Ok(Observation::Consistent);
        }
        let below = seen.range(..size).next_back().map(|(_, h)| h.clone());
        let above = seen.range(size + 1..).next().map(|(_, h)| h.clone());
        for (old, new, earlier) in [
            below.as_ref().map(|b| (b, head, b)),
            above.as_ref().map(|a| (head, a, a)),
        ]
        .into_iter()
        .flatten()
        {
            let proof = proofs
                .iter()
                .find(|p| p.old_size == old.head.size && p.new_size == new.head.size)
                .ok_or_else(|| Error::BadProof {
                    what: "witnessing".to_owned(),
                    reason: format!(
                        "need a consistency proof from size {} to {}",
                        old.head.size, new.head.size
                    ),
                })?;
            if let Err(err) = verify_consistency(proof, &old.head.root, &new.head.root) {
                return Ok(Observation::Inconsistent {
                    earlier: earlier.clone(),
                    reason: err.to_string(),
                });
            }
        }
        seen.insert(size, head.clone());
        Ok(Observation::Consistent)
    }
}

/// Countersigns another node's head (call after [`WitnessBook::observe`] said it is consistent).
pub fn cosign(witness: &NodeKey, head: &SignedTreeHead, timestamp_ms: u64) -> Cosignature {
    let signature = witness.sign_bytes(&cosig_bytes(head, timestamp_ms));
    Cosignature {
        head: head.clone(),
        witness: witness.public().fingerprint(),
        timestamp_ms,
        signature,
    }
}

/// Checks a cosignature against the witness's key.
pub fn verify_cosignature(witness: &PublicKey, cosig: &Cosignature) -> Result<()> {
    let bad = || Error::BadSignature {
        what: format!(
            "cosignature of the tree head of size {}",
            cosig.head.head.size
        ),
    };
    if cosig.witness != witness.fingerprint() {
        return Err(bad());
    }
    witness
        .verify_bytes(
            &cosig_bytes(&cosig.head, cosig.timestamp_ms),
            &cosig.signature,
        )
        .map_err(|_| bad())
}

fn cosig_bytes(head: &SignedTreeHead, timestamp_ms: u64) -> Vec<u8> {
    let mut out = COSIG_DOMAIN.to_vec();
    out.extend_from_slice(&head_bytes(&head.head));
    out.extend_from_slice(head.key_id.as_bytes());
    out.extend_from_slice(head.signature.as_bytes());
    out.extend_from_slice(&timestamp_ms.to_be_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::head::TreeHead;
    use crate::merkle::{MemoryTree, consistency_proof};

    fn tree(n: u64, salt: &str) -> MemoryTree {
        let mut tree = MemoryTree::new();
        for i in 0..n {
            let data = if i >= 3 {
                format!("{i}{salt}")
            } else {
                i.to_string()
            };
            tree.push(leaf_hash(data.as_bytes()));
        }
        tree
    }

    fn head(key: &NodeKey, tree: &MemoryTree) -> SignedTreeHead {
        key.sign_head(TreeHead {
            size: tree.len(),
            root: tree.root(),
            timestamp_ms: tree.len(),
        })
    }

    #[test]
    fn consistent_heads_are_accepted_and_cosigned() {
        let node = NodeKey::from_seed([2; 32]);
        let witness = NodeKey::from_seed([3; 32]);
        let full = tree(10, "");
        let mut book = WitnessBook::new();
        let h4 = head(&node, &tree(4, ""));
        assert_eq!(
            book.observe(&node.public(), &h4, &[]).unwrap(),
            Observation::Consistent
        );
        let h10 = head(&node, &full);
        // Without a proof the witness refuses.
        assert!(book.observe(&node.public(), &h10, &[]).is_err());
        let proof = consistency_proof(&full, 4, 10).unwrap();
        assert_eq!(
            book.observe(&node.public(), &h10, &[proof]).unwrap(),
            Observation::Consistent
        );
        // A head between two seen ones needs both proofs.
        let h7 = head(&node, &tree(7, ""));
        let proofs = [
            consistency_proof(&full, 4, 7).unwrap(),
            consistency_proof(&full, 7, 10).unwrap(),
        ];
        assert_eq!(
            book.observe(&node.public(), &h7, &proofs).unwrap(),
            Observation::Consistent
        );

        let cosig = cosign(&witness, &h10, 99);
        verify_cosignature(&witness.public(), &cosig).unwrap();
        let mut bad = cosig.clone();
        bad.head.head.size = 11;
        assert!(verify_cosignature(&witness.public(), &bad).is_err());
        assert!(verify_cosignature(&node.public(), &cosig).is_err());
    }

    #[test]
    fn split_views_and_forks_are_reported() {
        let node = NodeKey::from_seed([2; 32]);
        let mut book = WitnessBook::new();
        let h5 = head(&node, &tree(5, ""));
        let fork = tree(5, "forked");
        book.observe(&node.public(), &h5, &[]).unwrap();
        let split = book
            .observe(&node.public(), &head(&node, &fork), &[])
            .unwrap();
        assert!(matches!(split, Observation::SplitView { .. }));

        // A longer head that does not extend the one seen before.
        let forked_long = tree(8, "forked");
        let proof = consistency_proof(&forked_long, 5, 8).unwrap();
        let got = book
            .observe(&node.public(), &head(&node, &forked_long), &[proof])
            .unwrap();
        assert!(matches!(got, Observation::Inconsistent { .. }));
    }
}
