//! Sealing new entries onto a log, and recomputing a stored log from scratch.
//!
//! [`seal_batch`] is the one place entries get their position, link and
//! hashes; the store writes its output in one transaction. [`Auditor`] is fed
//! the stored rows in order and names the first entry that is not what was
//! sealed: altered, deleted, reordered, inserted, or not covered by a valid
//! signed tree head.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::entry::{ENTRY_SCHEMA_VERSION, Entry, NewEntry};
use crate::error::{Error, Result};
use crate::hash::{Hash, leaf_hash};
use crate::head::{NodeKey, PublicKey, SignedTreeHead, TreeHead};
use crate::merkle::{Frontier, NodeId};

/// What an appender must know about the end of the log.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogTip {
    /// The right edge of the tree.
    pub frontier: Frontier,
    /// Leaf hash of the last entry (all zeros when the log is empty).
    pub last_leaf: Hash,
}

/// An entry ready to be stored.
#[derive(Clone, Debug, PartialEq)]
pub struct SealedEntry {
    /// Position in the log.
    pub seq: u64,
    /// The exact bytes to store.
    pub bytes: Vec<u8>,
    /// `leaf_hash(bytes)`.
    pub leaf: Hash,
    /// The kind name (for filtering).
    pub kind: &'static str,
    /// The actor (for filtering).
    pub actor: String,
    /// The case (for filtering).
    pub case: Option<String>,
    /// The subject (for filtering).
    pub subject: Option<String>,
    /// The entry time.
    pub time: OffsetDateTime,
}

/// Everything one append writes: entries, completed subtree nodes and the new head.
#[derive(Clone, Debug)]
pub struct SealedBatch {
    /// The new entries, in order.
    pub entries: Vec<SealedEntry>,
    /// Subtree hashes (level ≥ 1) completed by the new entries.
    pub nodes: Vec<(NodeId, Hash)>,
    /// The signed head over the whole log after the batch.
    pub head: SignedTreeHead,
}

/// The first problem [`Auditor`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The first bad entry, when one entry can be named.
    pub entry: Option<u64>,
    /// A short machine-readable kind (`missing`, `altered`, `reordered`...).
    pub kind: &'static str,
    /// What is wrong, in words.
    pub message: String,
}

/// What a successful audit checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditSummary {
    /// Entries recomputed.
    pub n_entries: u64,
    /// Subtree nodes compared.
    pub n_nodes: u64,
    /// Signed heads checked.
    pub n_heads: u64,
    /// The latest signed head.
    pub head: Option<SignedTreeHead>,
}

/// Recomputes a stored log entry by entry.
#[derive(Debug)]
pub struct Auditor {
    keys: Vec<PublicKey>,
    trusted: Option<PublicKey>,
    heads: Vec<SignedTreeHead>,
    head_idx: usize,
    frontier: Frontier,
    prev_leaf: Hash,
    /// Recomputed subtree hashes, `levels[l - 1][index]` for level `l ≥ 1`.
    levels: Vec<Vec<Hash>>,
    n_nodes: u64,
}

impl LogTip {
    /// The nodes to fetch to rebuild the tip of a log of `size` entries: the
    /// frontier nodes, then the last leaf.
    pub fn nodes(size: u64) -> Vec<NodeId> {
        let mut ids = Frontier::nodes(size);
        if size > 0 {
            ids.push(NodeId {
                level: 0,
                index: size - 1,
            });
        }
        ids
    }

    /// Rebuilds the tip from the hashes of [`LogTip::nodes`].
    pub fn from_hashes(size: u64, hashes: &[Hash]) -> Result<LogTip> {
        if size == 0 {
            return Ok(LogTip::default());
        }
        let Some((last, frontier)) = hashes.split_last() else {
            return Err(Error::Source {
                reason: "no hashes for a non-empty log".to_owned(),
            });
        };
        Ok(LogTip {
            frontier: Frontier::from_hashes(size, frontier)?,
            last_leaf: *last,
        })
    }
}

/// Seals `new` entries after `tip`, advancing it, and signs the new head with `key`.
///
/// Entries without a time get `now`.
pub fn seal_batch(
    tip: &mut LogTip,
    new: Vec<NewEntry>,
    key: &NodeKey,
    now: OffsetDateTime,
) -> Result<SealedBatch> {
    let mut entries = Vec::with_capacity(new.len());
    let mut nodes = Vec::with_capacity(new.len());
    for item in new {
        let seq = tip.frontier.size();
        let entry = Entry {
            v: ENTRY_SCHEMA_VERSION,
            seq,
            prev: tip.last_leaf,
            time: item.time.unwrap_or(now),
            actor: item.actor,
            case: item.case,
            body: item.body,
        };
        let bytes = entry.to_bytes()?;
        let leaf = leaf_hash(&bytes);
        tip.frontier
            .push_with(leaf, |id, hash| nodes.push((id, hash)));
        tip.last_leaf = leaf;
        entries.push(SealedEntry {
            seq,
            leaf,
            kind: entry.body.kind(),
            subject: entry.body.subject().map(str::to_owned),
            actor: entry.actor,
            case: entry.case,
            time: entry.time,
            bytes,
        });
    }
    let head = key.sign_head(TreeHead {
        size: tip.frontier.size(),
        root: tip.frontier.root(),
        timestamp_ms: unix_ms(now),
    });
    Ok(SealedBatch {
        entries,
        nodes,
        head,
    })
}

/// Milliseconds since the Unix epoch (0 before it).
pub fn unix_ms(time: OffsetDateTime) -> u64 {
    u64::try_from(time.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Auditor {
    /// An auditor for a log whose signed heads are `heads` (any order).
    ///
    /// Heads must be signed by a key announced in an earlier key-change entry;
    /// when `trusted` is given, that key must be among those announced.
    pub fn new(mut heads: Vec<SignedTreeHead>, trusted: Option<PublicKey>) -> Auditor {
        heads.sort_by_key(|h| (h.head.size, h.head.timestamp_ms));
        Auditor {
            keys: Vec::new(),
            trusted,
            heads,
            head_idx: 0,
            frontier: Frontier::new(),
            prev_leaf: Hash([0; 32]),
            levels: Vec::new(),
            n_nodes: 0,
        }
    }

    /// Checks the next stored entry (`seq`, its bytes and its stored leaf hash).
    pub fn entry(&mut self, seq: u64, bytes: &[u8], stored_leaf: &Hash) -> Result<(), Finding> {
        let expected = self.frontier.size();
        if seq != expected {
            return Err(finding(
                expected,
                "missing",
                format!("entry {expected} is missing (the next stored entry is {seq})"),
            ));
        }
        let leaf = leaf_hash(bytes);
        // Only the fields verification needs are parsed: any other change to
        // the bytes shows up in the leaf hash or the next entry's link.
        let entry: EntryLink = serde_json::from_slice(bytes).map_err(|err| {
            finding(
                seq,
                "altered",
                format!("entry {seq} is not a valid ledger entry: {err}"),
            )
        })?;
        if entry.seq != seq {
            let how = if entry.seq < seq {
                "an entry was inserted before it or entries were reordered"
            } else {
                "an entry before it was deleted or entries were reordered"
            };
            return Err(finding(
                seq,
                "reordered",
                format!("entry {seq} says it is entry {}: {how}", entry.seq),
            ));
        }
        if entry.prev != self.prev_leaf {
            let bad = seq.saturating_sub(1);
            return Err(finding(
                bad,
                "altered",
                format!("entry {bad} was altered: entry {seq} links to a different entry {bad}"),
            ));
        }
        if leaf != *stored_leaf {
            return Err(finding(
                seq,
                "altered",
                format!("entry {seq} was altered: its bytes do not match its stored leaf hash"),
            ));
        }
        if entry.body.kind == "key-change" {
            let key = entry.body.public_key.as_deref().map(PublicKey::from_base64);
            let Some(Ok(key)) = key else {
                return Err(finding(
                    seq,
                    "altered",
                    format!("entry {seq} announces an invalid key"),
                ));
            };
            self.keys.push(key);
        }
        let levels = &mut self.levels;
        let n_nodes = &mut self.n_nodes;
        self.frontier.push_with(leaf, |id, hash| {
            let level = usize::from(id.level) - 1;
            if levels.len() <= level {
                levels.push(Vec::new());
            }
            levels[level].push(hash);
            *n_nodes += 1;
        });
        self.prev_leaf = leaf;
        self.check_heads()
    }

    /// Checks one stored subtree node (call after all entries).
    pub fn node(&mut self, id: NodeId, stored: &Hash) -> Result<(), Finding> {
        let first = id
            .index
            .checked_shl(u32::from(id.level))
            .unwrap_or(u64::MAX);
        let computed = usize::from(id.level)
            .checked_sub(1)
            .and_then(|level| self.levels.get(level))
            .and_then(|level| level.get(usize::try_from(id.index).ok()?));
        match computed {
            None => Err(finding(
                first,
                "inserted",
                format!(
                    "subtree node level {} index {} covers entries that do not exist",
                    id.level, id.index
                ),
            )),
            Some(hash) if hash != stored => Err(finding(
                first,
                "altered",
                format!(
                    "subtree node level {} index {} (entries {first}..) does not match the entries",
                    id.level, id.index
                ),
            )),
            Some(_) => Ok(()),
        }
    }

    /// Finishes: every head must have been matched and the last entry covered.
    pub fn finish(self, n_stored_nodes: u64) -> Result<AuditSummary, Finding> {
        let size = self.frontier.size();
        if let Some(head) = self.heads.get(self.head_idx) {
            return Err(Finding {
                entry: Some(size),
                kind: "missing",
                message: format!(
                    "the log has {size} entries but a signed tree head covers {}: entries {size}.. were deleted",
                    head.head.size
                ),
            });
        }
        let last = self.heads.last().cloned();
        let covered = last.as_ref().map_or(0, |h| h.head.size);
        if covered < size {
            return Err(finding(
                covered,
                "inserted",
                format!("entries {covered}..{size} are not covered by any signed tree head"),
            ));
        }
        if n_stored_nodes != self.n_nodes {
            return Err(Finding {
                entry: None,
                kind: "missing",
                message: format!(
                    "{} subtree nodes are stored but the entries make {}",
                    n_stored_nodes, self.n_nodes
                ),
            });
        }
        if let Some(trusted) = &self.trusted
            && size == 0
        {
            return Err(Finding {
                entry: Some(0),
                kind: "missing",
                message: format!(
                    "the log is empty, but it should at least announce this node's key {}: its entries were deleted",
                    trusted.fingerprint()
                ),
            });
        }
        if let Some(trusted) = &self.trusted
            && !self.keys.contains(trusted)
        {
            return Err(Finding {
                entry: None,
                kind: "untrusted",
                message: format!(
                    "no key-change entry announces this node's key {}",
                    trusted.fingerprint()
                ),
            });
        }
        Ok(AuditSummary {
            n_entries: size,
            n_nodes: self.n_nodes,
            n_heads: self.heads.len() as u64,
            head: last,
        })
    }

    fn check_heads(&mut self) -> Result<(), Finding> {
        let size = self.frontier.size();
        while let Some(sth) = self.heads.get(self.head_idx) {
            if sth.head.size > size {
                break;
            }
            if sth.head.size < size {
                return Err(finding(
                    sth.head.size,
                    "missing",
                    format!("signed tree head of size {} was skipped", sth.head.size),
                ));
            }
            let key = self.keys.iter().find(|k| k.fingerprint() == sth.key_id).ok_or_else(|| {
                finding(size - 1, "untrusted", format!("tree head of size {size} is signed by key {} that no earlier key-change entry announces", sth.key_id))
            })?;
            key.verify_head(sth).map_err(|err| {
                finding(
                    size - 1,
                    "bad-signature",
                    format!("tree head of size {size}: {err}"),
                )
            })?;
            if sth.head.root != self.frontier.root() {
                return Err(finding(
                    size - 1,
                    "altered",
                    format!(
                        "the signed tree head of size {size} does not match the entries: entries before {size} were rewritten"
                    ),
                ));
            }
            self.head_idx += 1;
        }
        Ok(())
    }
}

/// The parts of an entry the auditor reads.
#[derive(Deserialize)]
struct EntryLink {
    seq: u64,
    prev: Hash,
    body: EntryLinkBody,
}

#[derive(Deserialize)]
struct EntryLinkBody {
    kind: String,
    public_key: Option<String>,
}

fn finding(entry: u64, kind: &'static str, message: String) -> Finding {
    Finding {
        entry: Some(entry),
        kind,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::EntryBody;

    fn new_entry(n: u64) -> NewEntry {
        NewEntry {
            actor: format!("user-{}", n % 3),
            case: None,
            time: None,
            body: EntryBody::ImportBatch {
                source: format!("f{n}.csv"),
                n_records: n,
                sha256: None,
            },
        }
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

    struct Log {
        rows: Vec<(u64, Vec<u8>, Hash)>,
        nodes: Vec<(NodeId, Hash)>,
        heads: Vec<SignedTreeHead>,
    }

    fn build(n_batches: u64) -> (NodeKey, Log) {
        let key = NodeKey::from_seed([1; 32]);
        let now = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap();
        let mut tip = LogTip::default();
        let mut log = Log {
            rows: vec![],
            nodes: vec![],
            heads: vec![],
        };
        for b in 0..n_batches {
            let mut batch: Vec<NewEntry> = (0..3).map(|i| new_entry(b * 3 + i)).collect();
            if b == 0 {
                batch.insert(0, key_entry(&key));
            }
            let sealed = seal_batch(&mut tip, batch, &key, now).unwrap();
            log.rows
                .extend(sealed.entries.into_iter().map(|e| (e.seq, e.bytes, e.leaf)));
            log.nodes.extend(sealed.nodes);
            log.heads.push(sealed.head);
        }
        (key, log)
    }

    fn audit(key: &NodeKey, log: &Log) -> Result<AuditSummary, Finding> {
        let mut auditor = Auditor::new(log.heads.clone(), Some(key.public()));
        for (seq, bytes, leaf) in &log.rows {
            auditor.entry(*seq, bytes, leaf)?;
        }
        for (id, hash) in &log.nodes {
            auditor.node(*id, hash)?;
        }
        auditor.finish(log.nodes.len() as u64)
    }

    fn check(edit: impl FnOnce(&mut Log), expect_entry: Option<u64>, expect_kind: &str) {
        let (key, mut log) = build(4);
        edit(&mut log);
        let finding = audit(&key, &log).unwrap_err();
        assert_eq!(
            (finding.entry, finding.kind),
            (expect_entry, expect_kind),
            "{}",
            finding.message
        );
    }

    #[test]
    fn intact_log_verifies() {
        let (key, log) = build(4);
        let summary = audit(&key, &log).unwrap();
        assert_eq!((summary.n_entries, summary.n_heads), (13, 4));
    }

    #[test]
    fn tampering_names_the_first_bad_entry() {
        // Altered bytes, stored leaf left alone.
        check(|log| log.rows[5].1[20] ^= 1, Some(5), "altered");
        // Altered bytes with a recomputed leaf: caught by the next entry's link.
        check(
            |log| {
                let text = String::from_utf8(log.rows[5].1.clone())
                    .unwrap()
                    .replace("f4.csv", "f9.csv");
                log.rows[5].1 = text.into_bytes();
                log.rows[5].2 = leaf_hash(&log.rows[5].1);
            },
            Some(5),
            "altered",
        );
        // Deleted in the middle, at the end, and reordered.
        check(
            |log| {
                log.rows.remove(7);
            },
            Some(7),
            "missing",
        );
        check(
            |log| {
                log.rows.pop();
            },
            Some(12),
            "missing",
        );
        check(
            |log| {
                let (a, b) = (log.rows[3].1.clone(), log.rows[4].1.clone());
                log.rows[3].1 = b;
                log.rows[4].1 = a;
            },
            Some(3),
            "reordered",
        );
        // An entry appended without a head.
        check(
            |log| {
                let (_, bytes, leaf) = log.rows[12].clone();
                log.rows.push((13, bytes, leaf));
            },
            Some(13),
            "reordered",
        );
        // A bad head signature and a bad node.
        check(
            |log| log.heads[1].signature = log.heads[0].signature.clone(),
            Some(6),
            "bad-signature",
        );
        check(|log| log.nodes[2].1.0[0] ^= 1, Some(0), "altered");
        check(
            |log| {
                log.nodes.pop();
            },
            None,
            "missing",
        );
    }
}
