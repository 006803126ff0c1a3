//! Structured ledger entries: versioned JSON, one kind per recorded act.
//!
//! Callers describe *what happened* with a [`NewEntry`]; the appender seals it
//! into an [`Entry`] by adding the position (`seq`), the previous entry's leaf
//! hash (`prev`) and the time. The stored bytes are exactly
//! `serde_json::to_vec(&entry)`, and the leaf hash covers those bytes.
//! Carrying `seq` and `prev` inside the hashed bytes lets verification name
//! the exact entry that was altered, reordered, inserted or deleted.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::evidence::CustodyEvent;
use crate::hash::Hash;

/// The schema version written into every new entry.
pub const ENTRY_SCHEMA_VERSION: u32 = 1;

/// What a caller appends: who did what, for which case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEntry {
    /// The user, officer or node that acted.
    pub actor: String,
    /// The case the act belongs to, if any.
    pub case: Option<String>,
    /// When it happened; the appender uses the current time when `None`.
    pub time: Option<OffsetDateTime>,
    /// What happened.
    pub body: EntryBody,
}

/// A sealed entry, as hashed into the log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Schema version ([`ENTRY_SCHEMA_VERSION`] for entries written by this code).
    pub v: u32,
    /// 0-based position in the log.
    pub seq: u64,
    /// Leaf hash of the previous entry (all zeros for the first).
    pub prev: Hash,
    /// When it happened (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    /// The user, officer or node that acted.
    pub actor: String,
    /// The case, if any.
    pub case: Option<String>,
    /// What happened.
    pub body: EntryBody,
}

/// The kinds of acts the ledger records.
///
/// New kinds are added as later issues need them; old entries keep parsing
/// because verification works on the stored bytes, not on this type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum EntryBody {
    /// A batch of records was imported.
    ImportBatch {
        /// File name or feed the records came from.
        source: String,
        /// How many records were stored.
        n_records: u64,
        /// SHA-256 of the imported bytes, hex, when known.
        sha256: Option<String>,
    },
    /// Records were merged into (or kept apart from) one entity.
    MergeDecision {
        /// The records the decision is about.
        records: Vec<String>,
        /// The resulting entity id.
        into: String,
        /// `merge`, `split` or `reject`.
        decision: String,
        /// Match probability, when scored.
        score: Option<f64>,
    },
    /// A user looked up persons.
    Query {
        /// The person ids returned.
        persons: Vec<String>,
        /// The purpose given.
        purpose: Option<String>,
        /// The legal basis invoked.
        legal_basis: Option<String>,
        /// The id of the policy decision that allowed it.
        policy_decision: Option<String>,
    },
    /// Records left the node.
    Disclosure {
        /// The recipient (node, authority or person).
        to: String,
        /// The record ids disclosed.
        records: Vec<String>,
        /// The legal basis.
        legal_basis: String,
        /// The id of the policy decision that allowed it.
        policy_decision: Option<String>,
    },
    /// A sharing-policy decision.
    PolicyDecision {
        /// The request decided on.
        request: String,
        /// `allow` or `deny`.
        decision: String,
        /// The policies that determined it.
        policies: Vec<String>,
    },
    /// A user was assigned to a case (used by the insider-abuse report).
    CaseAssignment {
        /// The user.
        user: String,
    },
    /// A chain-of-custody event of an evidence item.
    EvidenceCustody {
        /// The evidence item id.
        item: String,
        /// What happened to it.
        event: CustodyEvent,
    },
    /// The node's signing key was created or replaced.
    KeyChange {
        /// The new public key (base64).
        public_key: String,
        /// Its fingerprint.
        fingerprint: String,
        /// The previous key's fingerprint, if any.
        previous: Option<String>,
        /// Why the key changed.
        reason: String,
    },
    /// This node countersigned another node's tree head.
    Witness {
        /// The other node's key fingerprint.
        node: String,
        /// The size of its head.
        size: u64,
        /// The root hash of its head.
        root: Hash,
        /// `consistent`, `split-view` or `inconsistent`.
        outcome: String,
    },
    /// Entity resolution ran over the node's persons (one entry per run).
    ResolutionRun {
        /// The run id.
        run: String,
        /// `full` or `incremental`.
        mode: String,
        /// The version of the stored match model the run used.
        model_version: u64,
        /// Records resolved by this run.
        records: u64,
        /// Candidate pairs compared.
        candidate_pairs: u64,
        /// Pairs merged.
        merges: u64,
        /// Clusters in the store after the run.
        clusters: u64,
    },
    /// A federation message this node sent reached an outcome.
    MessageSent {
        /// The envelope's message id.
        id: String,
        /// The recipient node id.
        to: String,
        /// The envelope's kind (`ping`, `tree-head-exchange`...).
        message_kind: String,
        /// `delivered`, or `failed: <reason>`.
        outcome: String,
    },
    /// This node accepted a federation message (once per message id).
    MessageReceived {
        /// The envelope's message id.
        id: String,
        /// The sender node id.
        from: String,
        /// The envelope's kind.
        message_kind: String,
        /// The sender's Ed25519 signature of the envelope (base64): binds what was received.
        signature: String,
    },
}

impl EntryBody {
    /// The kind name as written in JSON (`query`, `evidence-custody`...).
    pub fn kind(&self) -> &'static str {
        match self {
            EntryBody::ImportBatch { .. } => "import-batch",
            EntryBody::MergeDecision { .. } => "merge-decision",
            EntryBody::Query { .. } => "query",
            EntryBody::Disclosure { .. } => "disclosure",
            EntryBody::PolicyDecision { .. } => "policy-decision",
            EntryBody::CaseAssignment { .. } => "case-assignment",
            EntryBody::EvidenceCustody { .. } => "evidence-custody",
            EntryBody::KeyChange { .. } => "key-change",
            EntryBody::Witness { .. } => "witness",
            EntryBody::ResolutionRun { .. } => "resolution-run",
            EntryBody::MessageSent { .. } => "message-sent",
            EntryBody::MessageReceived { .. } => "message-received",
        }
    }

    /// The main object the entry is about (evidence item, merged entity...), for filtering.
    pub fn subject(&self) -> Option<&str> {
        match self {
            EntryBody::EvidenceCustody { item, .. } => Some(item),
            EntryBody::MergeDecision { into, .. } => Some(into),
            EntryBody::Disclosure { to, .. } => Some(to),
            EntryBody::CaseAssignment { user } => Some(user),
            EntryBody::KeyChange { fingerprint, .. } => Some(fingerprint),
            EntryBody::Witness { node, .. } => Some(node),
            EntryBody::PolicyDecision { request, .. } => Some(request),
            EntryBody::ImportBatch { source, .. } => Some(source),
            EntryBody::Query { .. } => None,
            EntryBody::ResolutionRun { run, .. } => Some(run),
            EntryBody::MessageSent { id, .. } | EntryBody::MessageReceived { id, .. } => Some(id),
        }
    }
}

impl Entry {
    /// The exact bytes stored and hashed.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        serde_json::to_vec(self).map_err(|err| Error::invalid(format!("entry {}", self.seq), err))
    }

    /// Parses stored bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Entry> {
        serde_json::from_slice(bytes).map_err(|err| Error::invalid("entry", err))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: EntryBody, expect_json: &str) {
        let entry = Entry {
            v: ENTRY_SCHEMA_VERSION,
            seq: 4,
            prev: Hash([0; 32]),
            time: OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(),
            actor: "nl-analyst-1".to_owned(),
            case: Some("NL-2026-001".to_owned()),
            body,
        };
        let bytes = entry.to_bytes().unwrap();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.contains(expect_json), "{text}");
        assert_eq!(Entry::from_bytes(&bytes).unwrap(), entry);
    }

    #[test]
    fn entries_are_tagged_json_and_round_trip() {
        check(
            EntryBody::Query {
                persons: vec!["p1".into()],
                purpose: None,
                legal_basis: Some("UNTOC-18".into()),
                policy_decision: None,
            },
            r#""body":{"kind":"query","persons":["p1"]"#,
        );
        check(
            EntryBody::EvidenceCustody {
                item: "ev-1".into(),
                event: CustodyEvent::Transferred {
                    from: "nl".into(),
                    to: "th".into(),
                    note: None,
                },
            },
            r#"{"kind":"evidence-custody","item":"ev-1","event":{"type":"transferred","from":"nl","to":"th""#,
        );
        check(
            EntryBody::CaseAssignment { user: "u".into() },
            r#""kind":"case-assignment""#,
        );
    }

    #[test]
    fn kind_names_match_the_json_tag() {
        let body = EntryBody::ImportBatch {
            source: "a.csv".into(),
            n_records: 3,
            sha256: None,
        };
        let json = serde_json::to_value(&body).unwrap();
        assert_eq!(json["kind"], body.kind());
    }
}
