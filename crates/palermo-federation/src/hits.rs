//! The hit/no-hit exchange: a node asks a peer whether it holds the same
//! persons, sending keyed Bloom-filter encodings (never plaintext), and the
//! peer answers per encoding with no-hit or opaque hit references.
//!
//! **Asking** ([`send_query`]): a `hit-query` carries the requesting case id,
//! the purpose, the legal basis claimed (an instrument id as `palermo-law`
//! names it, optionally an article), the date the basis is claimed for, the
//! group key id, the encoding length and the batch of encodings (base64).
//! The query row and its outbox message commit in one transaction; the local
//! record behind each encoding stays on this node.
//!
//! **Answering** (`answer_all`, the effect of received `hit-query` messages): a node
//! answers nobody by default. It refuses, with a stable [`Refusal::code`],
//! unless in this order: the payload parses (`malformed`), the peer is enabled
//! (`not-enabled`, `AnyStore::hit_peer_set`), a case id is present (`no-case`),
//! a legal basis is claimed (`no-basis`) and holds between the two states on
//! the query's date for information exchange (`basis-not-valid`), the batch is
//! within the per-peer quotas (`over-quota`) and the encodings fit the node's
//! set for that group key (`wrong-key`, `wrong-length`). Then it matches
//! ([`find_candidates`], the one matching call), asks the policy crate
//! ([`palermo_policy::Filter`], action `query-hit`) about every candidate
//! record, in one policy world per peer and case for the batch (as each
//! query would in a world of its own candidates; `PolicyWorlds`), and
//! answers per encoding: no-hit, or hits with a random reference
//! (mapped to the matched records only in this node's store) and a score band.
//! A candidate the policy does not permit is answered as no-hit, so a refusal
//! never depends on what records the node holds.
//!
//! **Recording.** Both sides store the query (`hit_queries`) and the hits
//! (`hits`), and put a `query` ledger entry per query and answer (with the
//! case, the purpose, the legal basis claimed and the outcome) besides the
//! `message-*` entries the node records for every message; every policy
//! decision becomes a `policy-decision` entry. Refusals are logged at warn on
//! both sides.
//!
//! **Throughput.** The queries (and answers) that arrive in one POST are
//! applied together (`answer_all`, `receive_answers`) and committed with
//! the POST's inbox rows: one store transaction per POST records the
//! messages, their queries, hits and settlements, and appends their ledger
//! entries (`AnyStore::inbox_accept_recorded`); peer settings and the
//! encoding set are read once per batch; matching runs on the blocking
//! thread pool. A query answered apart (a large batch) records its rows and
//! entries itself, as before, before its inbox row completes. Quotas are checked
//! against windows held in memory (module `window`), loaded from the store once
//! per peer and kept up to date as queries are answered. Queries sent at the
//! same time through [`crate::Node::send_query`] are recorded in one
//! transaction, and ledger appends made at the same time are one append
//! (group commit, `crate::group`); a caller goes on only once its write committed.
//!
//! **Probing defences** ([`probe`]): quotas per peer and window, and alerts
//! (a log line and a `policy-decision` ledger entry with decision `alert`)
//! when a peer sends many near-identical encodings or many encodings per hit.

pub mod probe;
mod window;

use std::sync::Arc;

use palermo_law::{Cooperation, Date, KnowledgeBase};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_policy::{
    Action, Decider, Decision, LawBasis, NodeInfo, Policies, Query, RecordInfo, UserInfo, World,
    WorldInfo,
};
use palermo_pprl::{Calibration, Clks, Encodings, Index, IndexConfig, codec};
use palermo_store::{
    AnyStore, HitDirection, HitPeer, HitQueryRecord, HitRecord, HitSettlement, HitWindow,
    InboxWrites, OutgoingMessage,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::envelope::{Envelope, Kind};
use crate::node::{NodeError, Shared, outgoing};
use crate::pki::NodeIdentity;

pub use crate::hits::probe::ProbeConfig;
use crate::hits::window::PeerWindow;
pub(crate) use crate::hits::window::Windows;

/// The kind of cooperation whose legal basis a hit/no-hit query needs.
pub const COOPERATION: Cooperation = Cooperation::Information;

/// How a node answers hit/no-hit queries. [`HitConfig::standard`] gives the
/// defaults named on each field.
#[derive(Clone)]
pub struct HitConfig {
    /// Lowest Dice coefficient reported as a hit (0.9, for balanced encodings).
    pub threshold: f64,
    /// Most hits per encoding (3).
    pub top_k: usize,
    /// Dice → probability calibration for the score band (none: bands from the Dice score).
    pub calibration: Option<Calibration>,
    /// Most encodings in one query (10,000).
    pub max_batch: usize,
    /// Most encodings of one POST answered inside it (1,000). The queries
    /// beyond are stored and acknowledged at once and answered by a task of
    /// their own (`hit-answer` sent when ready): matching a 10,000-encoding
    /// batch against millions takes longer than a sender waits for its POST,
    /// and answering it inside the POST made every retry match it again.
    pub inline_encodings: usize,
    /// Queries a peer may have answered per window unless its setting says otherwise (100).
    pub max_queries: u64,
    /// Encodings a peer may have matched per window unless its setting says otherwise (50,000).
    pub max_encodings: u64,
    /// The quota window in seconds unless the peer's setting says otherwise (3,600).
    pub window_secs: u64,
    /// Dictionary-probing detection.
    pub probe: ProbeConfig,
    /// The sharing policy asked about every candidate record (the shipped set).
    pub policies: Arc<Policies>,
    /// The legal knowledge base the claimed basis is checked against (the embedded one).
    pub law: Arc<KnowledgeBase>,
    /// The legal-basis source of policy decisions (the embedded knowledge base).
    pub policy_basis: Arc<LawBasis>,
}

impl HitConfig {
    /// The defaults, with the shipped policies and the embedded legal knowledge base.
    pub fn standard() -> HitConfig {
        HitConfig {
            threshold: 0.9,
            top_k: 3,
            calibration: None,
            max_batch: 10_000,
            inline_encodings: 1_000,
            max_queries: 100,
            max_encodings: 50_000,
            window_secs: 3_600,
            probe: ProbeConfig::standard(),
            policies: Arc::new(Policies::embedded()),
            law: Arc::new(embedded_kb()),
            policy_basis: Arc::new(LawBasis::new(embedded_kb())),
        }
    }

    /// The band of a Dice score: calibrated when a calibration is set,
    /// otherwise thirds of the range from the threshold to 1.
    pub fn band(&self, score: f64) -> &'static str {
        if let Some(calibration) = &self.calibration {
            return calibration.band(calibration.probability(score)).name();
        }
        let step = (1.0 - self.threshold) / 3.0;
        if score >= self.threshold + 2.0 * step {
            "high"
        } else if score >= self.threshold + step {
            "medium"
        } else {
            "low"
        }
    }
}

fn embedded_kb() -> KnowledgeBase {
    KnowledgeBase::embedded()
        .expect("invariant: the embedded knowledge base parses (tested in palermo-law)")
}

impl std::fmt::Debug for HitConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HitConfig")
            .field("threshold", &self.threshold)
            .field("top_k", &self.top_k)
            .field("max_batch", &self.max_batch)
            .field("max_queries", &self.max_queries)
            .field("max_encodings", &self.max_encodings)
            .field("window_secs", &self.window_secs)
            .field("probe", &self.probe)
            .finish_non_exhaustive()
    }
}

/// The legal basis a query claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasisClaim {
    /// Instrument id as `palermo-law` names it (`UNTOC`, `PALERMO_TIP`, `CETS197`...).
    pub instrument: String,
    /// Article label as `palermo-law` names it (`Art. 27`), if claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub article: Option<String>,
}

impl BasisClaim {
    /// Parses `INSTRUMENT` or `INSTRUMENT:ARTICLE`.
    pub fn parse(text: &str) -> Option<BasisClaim> {
        let (instrument, article) = match text.split_once(':') {
            Some((i, a)) => (i.trim(), Some(a.trim().to_owned())),
            None => (text.trim(), None),
        };
        (!instrument.is_empty()).then(|| BasisClaim {
            instrument: instrument.to_owned(),
            article: article.filter(|a| !a.is_empty()),
        })
    }

    /// `INSTRUMENT` or `INSTRUMENT:ARTICLE`.
    pub fn text(&self) -> String {
        match &self.article {
            Some(article) => format!("{}:{article}", self.instrument),
            None => self.instrument.clone(),
        }
    }
}

/// The payload of a `hit-query` message. Fields a query must have are
/// optional here so that their absence is refused with its own code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryPayload {
    /// The requesting case id.
    #[serde(default)]
    pub case: Option<String>,
    /// The purpose of the query.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The legal basis claimed.
    #[serde(default)]
    pub basis: Option<BasisClaim>,
    /// The date the basis is claimed for (`YYYY-MM-DD`).
    pub date: String,
    /// The group key id of the encodings.
    pub key_id: String,
    /// Length of every encoding in bits.
    pub n_bits: usize,
    /// The encodings (standard base64).
    pub encodings: Vec<String>,
}

/// One hit in an answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HitRef {
    /// The opaque reference (random; resolves only on the answering node).
    pub reference: String,
    /// `low`, `medium` or `high`.
    pub band: String,
}

/// The answer for one encoding of the batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncodingAnswer {
    /// Position of the encoding in the batch.
    pub index: u64,
    /// The hits (empty: no hit).
    pub hits: Vec<HitRef>,
}

/// The payload of a `hit-answer` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerPayload {
    /// The query message id.
    pub query: Uuid,
    /// The answering node.
    pub node: String,
    /// `answered` or `refused`.
    pub outcome: String,
    /// The refusal code, when refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A refusal's explanation (never about records).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Per encoding, when answered (only those with hits; the others are no-hits).
    #[serde(default)]
    pub results: Vec<EncodingAnswer>,
}

/// Why a query was refused. Nothing here depends on the records the node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The payload is not a query (JSON shape, base64, date).
    Malformed(String),
    /// The peer is not enabled for hit/no-hit answers.
    NotEnabled,
    /// No case id.
    NoCase,
    /// No legal basis claimed.
    NoBasis,
    /// The claimed basis does not hold between the two states on the date.
    BasisNotValid(String),
    /// The peer's quota for the window is used up, or the batch is too large.
    OverQuota(String),
    /// This node holds no encodings under the query's group key id.
    WrongKey,
    /// An encoding's length differs from this node's set for the key.
    WrongLength(String),
    /// This node could not answer now (store failure); ask again later.
    Unavailable,
}

impl Refusal {
    /// The stable code sent back and stored.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Malformed(_) => "malformed",
            Refusal::NotEnabled => "not-enabled",
            Refusal::NoCase => "no-case",
            Refusal::NoBasis => "no-basis",
            Refusal::BasisNotValid(_) => "basis-not-valid",
            Refusal::OverQuota(_) => "over-quota",
            Refusal::WrongKey => "wrong-key",
            Refusal::WrongLength(_) => "wrong-length",
            Refusal::Unavailable => "unavailable",
        }
    }

    /// The message sent back.
    pub fn message(&self) -> String {
        match self {
            Refusal::Malformed(reason) => format!("malformed query: {reason}"),
            Refusal::NotEnabled => "this node does not answer hit/no-hit queries from you".into(),
            Refusal::NoCase => "a query must reference a case".into(),
            Refusal::NoBasis => "a query must claim a legal basis".into(),
            Refusal::BasisNotValid(reason) => format!("legal basis does not hold: {reason}"),
            Refusal::OverQuota(reason) => format!("over quota: {reason}"),
            Refusal::WrongKey => "no encodings under this group key id".into(),
            Refusal::WrongLength(reason) => format!("wrong encoding length: {reason}"),
            Refusal::Unavailable => "cannot answer now; ask again later".into(),
        }
    }
}

/// What to send: a batch of encodings with the case, purpose and basis.
#[derive(Debug, Clone)]
pub struct QueryRequest {
    /// The node to ask.
    pub peer: String,
    /// The requesting case id (required).
    pub case: String,
    /// The purpose (required).
    pub purpose: String,
    /// The legal basis claimed.
    pub basis: BasisClaim,
    /// The date the basis is claimed for.
    pub date: Date,
    /// The encodings (Palermo encodings with a key id and ids).
    pub encodings: Encodings,
}

/// Checks `request`, records it as a sent query and enqueues the `hit-query`
/// message in one transaction; returns the query (message) id.
///
/// Errors (bad input): an empty case, purpose or batch, a batch over 10,000
/// encodings, encodings without a group key id (clkhash files), or sending to this node.
pub async fn send_query(
    store: &AnyStore,
    identity: &NodeIdentity,
    request: &QueryRequest,
    now: OffsetDateTime,
) -> Result<Uuid, NodeError> {
    let (record, message) = prepare_query(identity, request, now)?;
    store.hit_query_send(&record, &message).await?;
    Ok(record.id)
}

/// Checks `request` ([`send_query`]'s errors) and returns the sent query's
/// record and its sealed `hit-query` message, to be committed together.
pub(crate) fn prepare_query(
    identity: &NodeIdentity,
    request: &QueryRequest,
    now: OffsetDateTime,
) -> Result<(HitQueryRecord, OutgoingMessage), NodeError> {
    let invalid = |reason: &str| Err(NodeError::Invalid(reason.to_owned()));
    if request.case.trim().is_empty() {
        return invalid("a hit query must reference a case (--case)");
    }
    if request.purpose.trim().is_empty() {
        return invalid("a hit query must state a purpose (--purpose)");
    }
    if request.basis.instrument.trim().is_empty() {
        return invalid("a hit query must claim a legal basis (--basis)");
    }
    let clks = &request.encodings.clks;
    if clks.is_empty() {
        return invalid("the encodings file holds no encodings");
    }
    if clks.len() > 10_000 {
        return invalid("a hit query holds at most 10000 encodings; split the file");
    }
    let Some(key_id) = request.encodings.key_id.clone() else {
        return invalid(
            "the encodings have no group key id (a clkhash file); encode with `palermo pprl encode`",
        );
    };
    if request.peer == identity.node_id {
        return invalid("the peer is this node");
    }
    crate::pki::validate_node_id(&request.peer)?;
    let payload = QueryPayload {
        case: Some(request.case.trim().to_owned()),
        purpose: Some(request.purpose.trim().to_owned()),
        basis: Some(request.basis.clone()),
        date: request.date.to_string(),
        key_id: key_id.clone(),
        n_bits: clks.n_bits(),
        encodings: (0..clks.len())
            .map(|i| codec::to_base64(&clks.bytes(i)))
            .collect(),
    };
    let (envelope, wire) = Envelope::seal_wire(
        identity.signing_key(),
        &identity.node_id,
        &request.peer,
        Kind::HitQuery,
        serde_json::to_value(&payload).unwrap_or_default(),
        now,
    );
    let record = HitQueryRecord {
        id: envelope.id,
        direction: HitDirection::Sent,
        peer: request.peer.clone(),
        case_id: request.case.trim().to_owned(),
        purpose: request.purpose.trim().to_owned(),
        basis: request.basis.text(),
        key_id,
        n_encodings: clks.len() as u64,
        at: now,
        status: "pending".to_owned(),
        code: None,
        n_hits: 0,
        record_ids: (0..clks.len()).map(|i| request.encodings.id(i)).collect(),
    };
    let message = outgoing(&envelope, wire);
    Ok((record, message))
}

/// Enables answering `peer` (with its quotas; `None`: the node's defaults) or disables it.
pub async fn set_peer(
    store: &AnyStore,
    peer: &str,
    enabled: bool,
    quotas: [Option<u64>; 3],
    by: &str,
) -> Result<HitPeer, NodeError> {
    crate::pki::validate_node_id(peer)?;
    let [max_queries, max_encodings, window_secs] = quotas;
    let setting = HitPeer {
        peer: peer.to_owned(),
        enabled,
        max_queries,
        max_encodings,
        window_secs,
        updated_at: OffsetDateTime::now_utc(),
        updated_by: by.to_owned(),
    };
    store.hit_peer_set(&setting).await?;
    Ok(setting)
}

/// How many encodings a `hit-query` envelope carries (0 when its payload has
/// no such list: it is refused as malformed, which costs nothing).
pub(crate) fn encodings_in(envelope: &Envelope) -> usize {
    envelope
        .payload
        .get("encodings")
        .and_then(Value::as_array)
        .map_or(0, Vec::len)
}

/// Whether a batch of `batch` encodings against `stored` ones is matched
/// exactly rather than through the LSH buckets.
fn matches_exactly(stored: usize, batch: usize) -> bool {
    stored <= EXACT_UP_TO && stored.saturating_mul(batch) <= EXACT_PAIRS
}

/// Up to this many stored encodings, every query is compared with every encoding in
/// its popcount range (exact); above it, the index's Hamming-LSH buckets pick the
/// candidates (the recall it trades is measured in `bench/pprl/index.sh`).
pub const EXACT_UP_TO: usize = 200_000;

/// Above this many query × stored-encoding pairs a batch goes through the
/// LSH buckets even below [`EXACT_UP_TO`]: exact matching of 10,000
/// encodings against 100,000 took 11 s, longer than a sender waits for the
/// answer (it retried, and every retry matched again); 10,000 against
/// 20,000 (this many pairs) took about 1 s.
pub const EXACT_PAIRS: usize = 200_000_000;

/// Candidate matches of one query batch: for each encoding of `queries`, the
/// positions in `index` and Dice scores of its best matches, best first.
///
/// This is the one matching call of the exchange. It asks the in-memory
/// [`palermo_pprl::Index`]: exactly ([`Index::query_exhaustive`]) for up to
/// [`EXACT_UP_TO`] stored encodings and [`EXACT_PAIRS`] query × stored pairs,
/// through its LSH buckets ([`Index::query_batch`]) above that.
pub fn find_candidates(
    index: &Index,
    queries: &Clks,
    threshold: f64,
    top_k: usize,
) -> palermo_pprl::Result<Vec<Vec<(u32, f64)>>> {
    let top_k = top_k.max(1);
    let hits = if matches_exactly(index.len(), queries.len()) {
        (0..queries.len())
            .map(|i| index.query_exhaustive(queries.row(i), threshold, top_k))
            .collect::<palermo_pprl::Result<Vec<_>>>()?
    } else {
        index.query_batch(queries, threshold, top_k)?
    };
    Ok(hits
        .into_iter()
        .map(|h| h.into_iter().map(|hit| (hit.position, hit.dice)).collect())
        .collect())
}

/// What the effects of received hit messages leave to the transaction that
/// stores the messages' inbox rows (`peer::receive`): their rows and ledger
/// entries, and what to give back in memory when a message turns out to be
/// a duplicate (a concurrent POST of it stored it first) or the transaction
/// fails.
#[derive(Default)]
pub(crate) struct Deferred {
    /// The rows and ledger entries, by message id.
    pub(crate) writes: InboxWrites,
    /// Quota taken in the windows, by message id: the peer, what was taken and when.
    windows: Vec<(Uuid, String, HitWindow, OffsetDateTime)>,
    /// Sent queries settled, by the id of the answer that settles them.
    settled: Vec<(Uuid, HitQueryRecord)>,
}

impl Deferred {
    /// After the transaction committed, `new` being the messages that were
    /// new: gives back the quota the others took, and lets the waiters of
    /// the queries settled see them.
    pub(crate) fn committed(self, shared: &Shared, new: &std::collections::HashSet<Uuid>) {
        if let Ok(mut windows) = shared.hit_windows.lock() {
            for (id, peer, taken, at) in &self.windows {
                if !new.contains(id) {
                    windows.remove(peer, *at, *taken);
                }
            }
        }
        if self.settled.is_empty() {
            return;
        }
        if let Ok(mut settled) = shared.settled.lock() {
            for (id, record) in self.settled {
                if new.contains(&id) {
                    settled.insert(record);
                }
            }
        }
        shared.hits_settled.notify_waiters();
    }

    /// After the transaction failed (nothing stored; the sender retries):
    /// gives back every quota taken.
    pub(crate) fn failed(self, shared: &Shared) {
        self.committed(shared, &std::collections::HashSet::new());
    }
}

/// A stored set of encodings held in memory, valid while its generation is current.
pub(crate) struct CachedIndex {
    key_id: String,
    generation: String,
    /// Record id of each encoding, in index position order.
    ids: Vec<String>,
    index: Index,
}

/// A query that passed the checks, ready to match.
struct Admitted {
    envelope_idx: usize,
    case: String,
    purpose: String,
    basis: BasisClaim,
    key_id: String,
    clks: Clks,
    index: Arc<CachedIndex>,
    holder: NodeInfo,
    asker: NodeInfo,
    /// Whether this query's quota was reserved (it was not answered before).
    reserved: bool,
    /// What was reserved.
    reservation: HitWindow,
}

/// What one batch of received queries reads from the store once, not per query.
#[derive(Default)]
struct BatchReads {
    /// Peer settings, by peer (`None`: none stored).
    peers: std::collections::HashMap<String, Option<HitPeer>>,
    /// Set generations read with a peer setting and not yet used to load
    /// the set, by key id (`None`: no set stored).
    generations: std::collections::HashMap<String, Option<String>>,
    /// Encoding sets, by key id (`None`: none stored).
    indexes: std::collections::HashMap<String, Option<Arc<CachedIndex>>>,
}

impl BatchReads {
    /// The setting for `peer`; when it is read, the generation of the set
    /// under `key_id` (which [`BatchReads::index`] needs next) is read with
    /// it in the same statement.
    async fn peer(
        &mut self,
        shared: &Shared,
        peer: &str,
        key_id: &str,
    ) -> palermo_store::Result<Option<HitPeer>> {
        if let Some(setting) = self.peers.get(peer) {
            return Ok(setting.clone());
        }
        let setting = if self.indexes.contains_key(key_id) || self.generations.contains_key(key_id)
        {
            shared.store.hit_peer(peer).await?
        } else {
            let (setting, generation) = shared.store.hit_peer_and_generation(peer, key_id).await?;
            self.generations.insert(key_id.to_owned(), generation);
            setting
        };
        self.peers.insert(peer.to_owned(), setting.clone());
        Ok(setting)
    }

    async fn index(
        &mut self,
        shared: &Shared,
        key_id: &str,
    ) -> palermo_store::Result<Option<Arc<CachedIndex>>> {
        if let Some(index) = self.indexes.get(key_id) {
            return Ok(index.clone());
        }
        let generation = self.generations.remove(key_id);
        let index = load_index(shared, key_id, generation).await?;
        self.indexes.insert(key_id.to_owned(), index.clone());
        Ok(index)
    }
}

/// The effects of received `hit-query` messages, answered together: checks,
/// matching, policy, storing and recording, with one store transaction and
/// one ledger append for the whole batch. Returns, per envelope in order,
/// the inbox result and the `hit-answer` reply.
///
/// Queries a peer sends while the previous POST is being answered arrive in
/// the next POST together; answering them one by one cost several store
/// transactions and a ledger append (with its signed tree head) each.
///
/// A query posted twice in one batch is answered once; both copies get that answer.
///
/// Also answers a query that was stored with its answer pending
/// ([`crate::node`]'s `answer_apart`), one envelope at a time.
///
/// With `deferred`, the queries' rows and ledger entries are not written
/// here but left in it, for the transaction that stores the messages'
/// inbox rows (one transaction per POST); a query is then new unless its
/// row was stored before. Without, they are written here.
pub(crate) async fn answer_all(
    shared: &Shared,
    envelopes: &[&Envelope],
    now: OffsetDateTime,
    deferred: Option<&mut Deferred>,
) -> Vec<(Value, Vec<OutgoingMessage>)> {
    let mut first: std::collections::HashMap<Uuid, usize> = Default::default();
    let mut unique: Vec<&Envelope> = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        first.entry(envelope.id).or_insert_with(|| {
            unique.push(envelope);
            unique.len() - 1
        });
    }
    let answers = answer_unique(shared, &unique, now, deferred).await;
    envelopes
        .iter()
        .map(|e| {
            first
                .get(&e.id)
                .and_then(|idx| answers.get(*idx))
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// [`answer_all`] for envelopes with distinct ids.
async fn answer_unique(
    shared: &Shared,
    envelopes: &[&Envelope],
    now: OffsetDateTime,
    deferred: Option<&mut Deferred>,
) -> Vec<(Value, Vec<OutgoingMessage>)> {
    let config = &shared.config.hits;
    // A query answered before (redelivered after a crash) is answered again
    // from what was stored, without counting it twice.
    let ids: Vec<Uuid> = envelopes.iter().map(|e| e.id).collect();
    let stored_before: std::collections::HashMap<Uuid, String> = match shared
        .store
        .hit_queries_by_id(HitDirection::Received, &ids)
        .await
    {
        Ok(rows) => rows.into_iter().map(|q| (q.id, q.status)).collect(),
        Err(err) => {
            tracing::warn!(error = %err, "reading received hit queries failed");
            Default::default()
        }
    };
    let answered_before: std::collections::HashSet<Uuid> = stored_before
        .iter()
        .filter(|(_, status)| *status == "answered")
        .map(|(id, _)| *id)
        .collect();
    let mut reads = BatchReads::default();
    let mut refused: Vec<(usize, Refusal, Partial)> = Vec::new();
    let mut admitted: Vec<Admitted> = Vec::new();
    for (idx, envelope) in envelopes.iter().enumerate() {
        let before = answered_before.contains(&envelope.id);
        match admit(shared, &mut reads, envelope, idx, before, now).await {
            Ok(query) => admitted.push(query),
            Err((refusal, partial)) => refused.push((idx, refusal, partial)),
        }
    }

    // Matching (and the near-identical detector, which matches too) runs on
    // the blocking pool: a 10,000-encoding batch against millions takes
    // seconds, and the async workers must keep serving connections.
    let jobs: Vec<(Arc<CachedIndex>, Clks, String, bool)> = admitted
        .iter_mut()
        .map(|q| {
            let clks = std::mem::replace(&mut q.clks, Clks::new(0));
            let peer = envelopes[q.envelope_idx].sender.clone();
            (q.index.clone(), clks, peer, q.reserved)
        })
        .collect();
    let (threshold, top_k, probe_config) = (config.threshold, config.top_k, config.probe);
    let probe = shared.probe.clone();
    let matched = tokio::task::spawn_blocking(move || {
        jobs.into_iter()
            .map(|(index, clks, peer, observe)| {
                let candidates = find_candidates(&index.index, &clks, threshold, top_k);
                let alert = if observe {
                    probe
                        .lock()
                        .ok()
                        .and_then(|mut p| p.observe(&probe_config, &peer, &clks, now))
                } else {
                    None
                };
                (candidates, alert, clks)
            })
            .collect::<Vec<_>>()
    })
    .await;
    let matched = match matched {
        Ok(matched) => matched,
        Err(err) => {
            tracing::warn!(error = %err, "matching hit queries failed");
            Vec::new()
        }
    };

    // One store read for every candidate record of the batch.
    let mut candidate_ids: Vec<&str> = Vec::new();
    for (query, (candidates, _, _)) in admitted.iter().zip(&matched) {
        if let Ok(candidates) = candidates {
            candidate_ids.extend(
                candidates
                    .iter()
                    .flatten()
                    .filter_map(|(pos, _)| query.index.ids.get(*pos as usize))
                    .map(String::as_str),
            );
        }
    }
    candidate_ids.sort_unstable();
    candidate_ids.dedup();
    let entities = if candidate_ids.is_empty() {
        Ok(Vec::new())
    } else {
        shared.store.get_many(&candidate_ids).await
    };

    let mut outcomes: Vec<Option<Result<Answered, NodeError>>> =
        (0..envelopes.len()).map(|_| None).collect();
    match entities {
        Ok(entities) => {
            let entities: std::collections::HashMap<&str, &palermo_model::Entity> =
                entities.iter().map(|e| (e.id.as_str(), e)).collect();
            // One policy world per peer and case for the whole batch.
            let worlds = PolicyWorlds::new(shared, envelopes, &admitted, &matched, &entities);
            let mut filters = worlds.filters(shared, now);
            let mut matched = matched.into_iter();
            for (query, group) in admitted.iter().zip(&worlds.group_of) {
                let outcome = match matched.next() {
                    Some((Ok(candidates), alert, clks)) => decide(
                        shared,
                        envelopes[query.envelope_idx],
                        query,
                        &candidates,
                        &entities,
                        filters.get_mut(*group).and_then(Option::as_mut),
                        alert,
                        clks.len() as u64,
                        now,
                    ),
                    Some((Err(err), _, _)) => Err(NodeError::Invalid(err.to_string())),
                    None => Err(NodeError::Invalid("matching failed".to_owned())),
                };
                outcomes[query.envelope_idx] = Some(outcome);
            }
        }
        Err(err) => {
            for query in &admitted {
                outcomes[query.envelope_idx] = Some(Err(NodeError::Store(clone_store_error(&err))));
            }
        }
    }

    // One transaction records every query of the batch (answered and
    // refused) and the hits of the answered ones.
    let mut records: Vec<HitQueryRecord> = Vec::new();
    let mut hits: Vec<HitRecord> = Vec::new();
    for outcome in outcomes.iter().flatten().flatten() {
        records.push(outcome.record.clone());
        hits.extend(outcome.hits.iter().cloned());
    }
    let refused_records: Vec<HitQueryRecord> = refused
        .iter()
        .map(|(idx, refusal, partial)| refused_record(envelopes[*idx], refusal, partial, now))
        .collect();
    records.extend(refused_records.iter().cloned());
    let stored = if deferred.is_some() {
        // Written with the inbox rows, and only for messages that turn out
        // new there: a query is new unless its row was stored before.
        Ok(records
            .iter()
            .map(|r| !stored_before.contains_key(&r.id))
            .collect::<Vec<bool>>())
    } else {
        shared.store.hit_queries_record(&records, &hits).await
    };
    let new: std::collections::HashMap<Uuid, bool> = match &stored {
        Ok(new) => records
            .iter()
            .map(|r| r.id)
            .zip(new.iter().copied())
            .collect(),
        Err(err) => {
            tracing::warn!(error = %err, "storing hit queries failed");
            Default::default()
        }
    };

    // Ledger entries by the id of the query (message) they record.
    let mut entries: Vec<(Uuid, NewEntry)> = Vec::new();
    let mut payloads: Vec<Option<(AnswerPayload, &'static str)>> =
        (0..envelopes.len()).map(|_| None).collect();
    for (idx, refusal, _) in &refused {
        let envelope = envelopes[*idx];
        tracing::warn!(
            peer = %envelope.sender,
            query = %envelope.id,
            code = refusal.code(),
            "hit query refused"
        );
        payloads[*idx] = Some((refusal_payload(shared, envelope.id, refusal), "refused"));
    }
    // Refusals are recorded on the ledger even when storing them failed, and
    // once: a redelivered refused query is not a new refusal.
    for record in &refused_records {
        if stored.is_err() || new.get(&record.id).copied().unwrap_or(false) {
            let code = record.code.as_deref().unwrap_or("refused");
            entries.push((
                record.id,
                query_entry(record, Vec::new(), format!("refused: {code}")),
            ));
        }
    }
    let mut windows_delta: Vec<(Uuid, String, HitWindow, bool)> = Vec::new();
    // What the new answered queries took, to give back if the inbox
    // transaction finds them duplicates or fails (with `deferred`).
    let mut taken: Vec<(Uuid, String, HitWindow, OffsetDateTime)> = Vec::new();
    for query in &admitted {
        let envelope = envelopes[query.envelope_idx];
        let peer = envelope.sender.as_str();
        let reserved = query.reservation;
        let outcome = outcomes[query.envelope_idx].take();
        let answered = match (outcome, &stored) {
            (Some(Ok(answered)), Ok(_)) => answered,
            // The query failed, or storing the batch did: answered `unavailable`.
            (outcome, _) => {
                if let Some(Err(err)) = outcome {
                    tracing::warn!(peer, query = %envelope.id, error = %err, "hit query failed");
                }
                if query.reserved {
                    windows_delta.push((envelope.id, peer.to_owned(), reserved, false));
                }
                payloads[query.envelope_idx] = Some((
                    refusal_payload(shared, envelope.id, &Refusal::Unavailable),
                    "failed",
                ));
                continue;
            }
        };
        let is_new = new.get(&envelope.id).copied().unwrap_or(false);
        let results = if is_new {
            // Stored in the same transaction as the query row, so these are what is stored.
            answers_from(&answered.hits)
        } else {
            // Stored before (a redelivery, or the same query answered at the
            // same time): answer with what was stored, not fresh references.
            if query.reserved {
                windows_delta.push((envelope.id, peer.to_owned(), reserved, false));
            }
            match shared
                .store
                .hits_for_query(HitDirection::Received, envelope.id)
                .await
            {
                Ok(stored) => answers_from(&stored),
                Err(err) => {
                    tracing::warn!(peer, query = %envelope.id, error = %err, "hit query failed");
                    payloads[query.envelope_idx] = Some((
                        refusal_payload(shared, envelope.id, &Refusal::Unavailable),
                        "failed",
                    ));
                    continue;
                }
            }
        };
        if is_new {
            let mut matched: Vec<String> = answered
                .hits
                .iter()
                .flat_map(|h| h.record_ids.clone())
                .collect();
            matched.sort_unstable();
            matched.dedup();
            entries.push((
                envelope.id,
                query_entry(
                    &answered.record,
                    matched,
                    format!(
                        "answered: {} of {} encodings hit",
                        results.len(),
                        answered.record.n_encodings
                    ),
                ),
            ));
            entries.extend(
                answered
                    .decisions
                    .iter()
                    .map(|d| (envelope.id, decision_entry(d, &query.case))),
            );
            entries.extend(
                answered
                    .alert
                    .iter()
                    .map(|a| (envelope.id, alert_entry(peer, a))),
            );
            let hit_delta = HitWindow {
                queries: 0,
                encodings: 0,
                hits: answered.record.n_hits,
            };
            windows_delta.push((envelope.id, peer.to_owned(), hit_delta, true));
            if query.reserved {
                let total = HitWindow {
                    queries: reserved.queries,
                    encodings: reserved.encodings,
                    hits: hit_delta.hits,
                };
                taken.push((envelope.id, peer.to_owned(), total, now));
            }
        }
        payloads[query.envelope_idx] = Some((
            AnswerPayload {
                query: envelope.id,
                node: shared.node_id().to_owned(),
                outcome: "answered".to_owned(),
                code: None,
                message: None,
                results,
            },
            "answered",
        ));
    }
    // The windows now hold what was answered: releases of reservations that
    // ended in no new answer, hits of the new ones, then the ratio detector
    // judges each peer that got a new answer.
    // Each ratio alert is recorded with the first new answer to its peer.
    let mut ratio_peers: Vec<(String, Uuid)> = Vec::new();
    if let Ok(mut windows) = shared.hit_windows.lock() {
        for (id, peer, delta, answered) in &windows_delta {
            if *answered {
                windows.add(peer, now, *delta);
                if !ratio_peers.iter().any(|(p, _)| p == peer) {
                    ratio_peers.push((peer.clone(), *id));
                }
            } else {
                windows.remove(peer, now, *delta);
            }
        }
    }
    for (peer, id) in &ratio_peers {
        if let Some(used) = probe_window(shared, peer, now).await
            && let Some(alert) = shared.probe_ratio(peer, used, now)
        {
            entries.push((*id, alert_entry(peer, &alert)));
        }
    }
    match deferred {
        Some(deferred) => {
            // Only the new queries' rows: a query stored before keeps the
            // rows (and references) it was first answered with.
            let is_new = |id: &Uuid| new.get(id).copied().unwrap_or(false);
            deferred.writes.queries.extend(
                records
                    .into_iter()
                    .filter(|r| is_new(&r.id))
                    .map(|r| (r.id, r)),
            );
            deferred.writes.hits.extend(
                hits.into_iter()
                    .filter(|h| is_new(&h.query_id))
                    .map(|h| (h.query_id, h)),
            );
            deferred.writes.entries.extend(entries);
            deferred.windows.extend(taken);
        }
        None => {
            shared
                .append_ledger(entries.into_iter().map(|(_, e)| e).collect())
                .await
        }
    }

    envelopes
        .iter()
        .zip(payloads)
        .map(|(envelope, payload)| {
            let (payload, note) = payload.unwrap_or_else(|| {
                (
                    refusal_payload(shared, envelope.id, &Refusal::Unavailable),
                    "failed",
                )
            });
            let (reply, wire) = Envelope::seal_wire(
                shared.identity.signing_key(),
                shared.node_id(),
                &envelope.sender,
                Kind::HitAnswer,
                serde_json::to_value(&payload).unwrap_or_default(),
                now,
            );
            let result = json!({
                "outcome": note,
                "code": payload.code,
                "answer": reply.id,
                "hits": payload.results.len(),
            });
            (result, vec![outgoing(&reply, wire)])
        })
        .collect()
}

/// A store error for each query of a batch whose shared read failed.
fn clone_store_error(err: &palermo_store::Error) -> palermo_store::Error {
    palermo_store::Error::Corrupt {
        what: "candidate records".to_owned(),
        reason: err.to_string(),
    }
}

/// The answer payload of a refusal.
fn refusal_payload(shared: &Shared, query: Uuid, refusal: &Refusal) -> AnswerPayload {
    AnswerPayload {
        query,
        node: shared.node_id().to_owned(),
        outcome: "refused".to_owned(),
        code: Some(refusal.code().to_owned()),
        message: Some(refusal.message()),
        results: Vec::new(),
    }
}

/// The stored record of a refused query.
fn refused_record(
    envelope: &Envelope,
    refusal: &Refusal,
    partial: &Partial,
    now: OffsetDateTime,
) -> HitQueryRecord {
    HitQueryRecord {
        id: envelope.id,
        direction: HitDirection::Received,
        peer: envelope.sender.clone(),
        case_id: partial.case.clone().unwrap_or_default(),
        purpose: partial.purpose.clone().unwrap_or_default(),
        basis: partial
            .basis
            .as_ref()
            .map(BasisClaim::text)
            .unwrap_or_default(),
        key_id: partial.key_id.clone(),
        n_encodings: partial.n_encodings,
        at: now,
        status: "refused".to_owned(),
        code: Some(refusal.code().to_owned()),
        n_hits: 0,
        record_ids: Vec::new(),
    }
}

/// What a refused query's record can say about it.
#[derive(Clone, Default)]
struct Partial {
    case: Option<String>,
    purpose: Option<String>,
    basis: Option<BasisClaim>,
    key_id: String,
    n_encodings: u64,
}

/// `peer`'s window of `window_secs` at `now`: from memory, or loaded from
/// the store (once per peer and window length).
async fn window(
    shared: &Shared,
    peer: &str,
    window_secs: u64,
    now: OffsetDateTime,
) -> palermo_store::Result<Option<HitWindow>> {
    if let Ok(mut windows) = shared.hit_windows.lock()
        && let Some(used) = windows.used(peer, window_secs, now)
    {
        return Ok(Some(used));
    }
    let since = now - time::Duration::seconds(i64::try_from(window_secs).unwrap_or(i64::MAX));
    let seconds = shared.store.hit_window_seconds(peer, since).await?;
    let Ok(mut windows) = shared.hit_windows.lock() else {
        return Ok(None);
    };
    windows.install(peer, window_secs, PeerWindow::from_seconds(seconds));
    Ok(windows.used(peer, window_secs, now))
}

/// `peer`'s window for the query-to-hit ratio detector.
async fn probe_window(shared: &Shared, peer: &str, now: OffsetDateTime) -> Option<HitWindow> {
    match window(shared, peer, shared.config.hits.probe.window_secs, now).await {
        Ok(used) => used,
        Err(err) => {
            tracing::warn!(error = %err, "reading the hit window failed");
            None
        }
    }
}

/// The checks, in the documented order. An admitted query that was not
/// answered before has its quota reserved in the node's windows.
async fn admit(
    shared: &Shared,
    reads: &mut BatchReads,
    envelope: &Envelope,
    envelope_idx: usize,
    answered_before: bool,
    now: OffsetDateTime,
) -> Result<Admitted, (Refusal, Partial)> {
    let config = &shared.config.hits;
    // Deserialised from the envelope's payload in place: a 10,000-encoding
    // query is megabytes of base64, not worth a copy.
    let payload = match QueryPayload::deserialize(&envelope.payload) {
        Ok(payload) => payload,
        Err(err) => {
            // serde's message names the field; it can quote only what the peer sent.
            return Err((Refusal::Malformed(err.to_string()), Partial::default()));
        }
    };
    let partial = Partial {
        case: payload.case.clone(),
        purpose: payload.purpose.clone(),
        basis: payload.basis.clone(),
        key_id: payload.key_id.clone(),
        n_encodings: payload.encodings.len() as u64,
    };
    let peer = envelope.sender.as_str();
    let setting = match reads.peer(shared, peer, &payload.key_id).await {
        Ok(setting) => setting,
        Err(err) => {
            tracing::warn!(error = %err, "reading hit peer settings failed");
            return Err((Refusal::Unavailable, partial));
        }
    };
    let Some(setting) = setting.filter(|s| s.enabled) else {
        return Err((Refusal::NotEnabled, partial));
    };
    let case = payload.case.clone().unwrap_or_default().trim().to_owned();
    if case.is_empty() {
        return Err((Refusal::NoCase, partial));
    }
    let purpose = payload
        .purpose
        .clone()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| format!("case:{case}"));
    let Some(basis) = payload
        .basis
        .clone()
        .filter(|b| !b.instrument.trim().is_empty())
    else {
        return Err((Refusal::NoBasis, partial));
    };
    let date = match Date::parse(&payload.date) {
        Ok(date) => date,
        Err(_) => {
            return Err((
                Refusal::Malformed("date: expected YYYY-MM-DD".to_owned()),
                partial,
            ));
        }
    };
    let (holder, asker) = match shared.node_infos(peer, now) {
        Some(pair) => pair,
        None => return Err((Refusal::NotEnabled, partial)),
    };
    if let Err(reason) =
        shared.check_basis_cached(&holder.jurisdiction, &asker.jurisdiction, &basis, date)
    {
        return Err((Refusal::BasisNotValid(reason), partial));
    }
    let n = payload.encodings.len();
    if n == 0 {
        return Err((
            Refusal::Malformed("encodings: empty batch".to_owned()),
            partial,
        ));
    }
    if n > config.max_batch {
        return Err((
            Refusal::OverQuota(format!(
                "{n} encodings in one query, at most {}",
                config.max_batch
            )),
            partial,
        ));
    }
    let window_secs = setting.window_secs.unwrap_or(config.window_secs);
    let max_queries = setting.max_queries.unwrap_or(config.max_queries);
    let max_encodings = setting.max_encodings.unwrap_or(config.max_encodings);
    let reservation = HitWindow {
        queries: 1,
        encodings: n as u64,
        hits: 0,
    };
    if !answered_before {
        // Loaded (once) before the check, then checked and reserved under
        // one lock, so that queries answered at the same time cannot
        // together pass a quota.
        if let Err(err) = window(shared, peer, window_secs, now).await {
            tracing::warn!(error = %err, "reading hit quotas failed");
            return Err((Refusal::Unavailable, partial));
        }
        let Ok(mut windows) = shared.hit_windows.lock() else {
            return Err((Refusal::Unavailable, partial));
        };
        let Some(used) = windows.used(peer, window_secs, now) else {
            return Err((Refusal::Unavailable, partial));
        };
        if used.queries + 1 > max_queries {
            return Err((
                Refusal::OverQuota(format!("{max_queries} queries per {window_secs} s")),
                partial,
            ));
        }
        if used.encodings + n as u64 > max_encodings {
            return Err((
                Refusal::OverQuota(format!("{max_encodings} encodings per {window_secs} s")),
                partial,
            ));
        }
        windows.add(peer, now, reservation);
    }
    // A refusal after the reservation gives it back.
    let release = |refusal: Refusal| {
        if !answered_before && let Ok(mut windows) = shared.hit_windows.lock() {
            windows.remove(peer, now, reservation);
        }
        (refusal, partial.clone())
    };
    let index = match reads.index(shared, &payload.key_id).await {
        Ok(Some(index)) => index,
        Ok(None) => return Err(release(Refusal::WrongKey)),
        Err(err) => {
            tracing::warn!(error = %err, "reading hit encodings failed");
            return Err(release(Refusal::Unavailable));
        }
    };
    let n_bits = index.index.n_bits();
    if payload.n_bits != n_bits {
        return Err(release(Refusal::WrongLength(format!(
            "the query says {} bits, encodings under this key have {n_bits}",
            payload.n_bits
        ))));
    }
    let mut clks = Clks::with_capacity(n_bits, payload.encodings.len());
    for (idx, text) in payload.encodings.iter().enumerate() {
        let Some(bytes) = codec::from_base64(text) else {
            return Err(release(Refusal::Malformed(format!(
                "encoding {idx}: not base64"
            ))));
        };
        if bytes.len() * 8 != n_bits || !clks.push_bytes(&bytes) {
            return Err(release(Refusal::WrongLength(format!(
                "encoding {idx} has {} bits, expected {n_bits}",
                bytes.len() * 8
            ))));
        }
    }
    Ok(Admitted {
        envelope_idx,
        case,
        purpose,
        basis,
        key_id: payload.key_id,
        clks,
        index,
        holder,
        asker,
        reserved: !answered_before,
        reservation,
    })
}

/// The encodings stored under `key_id`, from the node's cache when the
/// stored generation is the cached one, else loaded from the store (and
/// cached). `None` when there are none. `generation`: the stored
/// generation when the caller has just read it (`Some(None)`: no set).
///
/// The load runs in a task of its own, one at a time, with the index built
/// on the blocking pool: at 10,000,000 encodings it takes minutes, longer
/// than a sender waits for its POST, and a load inside the POST's handler
/// was dropped with it, so every retry started again and none finished.
/// Now a retry waits for the load in progress and then finds it cached.
async fn load_index(
    shared: &Shared,
    key_id: &str,
    generation: Option<Option<String>>,
) -> palermo_store::Result<Option<Arc<CachedIndex>>> {
    let store = shared.store.clone();
    let cache = shared.index_cache.clone();
    let loading = shared.index_loading.clone();
    let key_id = key_id.to_owned();
    // Spawned before anything is awaited, so that a request dropped at any
    // point leaves the load (if one is needed) running.
    let task = tokio::spawn(async move {
        let generation = match generation {
            Some(generation) => generation,
            None => store.hit_encoding_generation(&key_id).await?,
        };
        let Some(generation) = generation else {
            return Ok(None);
        };
        if let Some(cached) = cached_index(&cache, &key_id, &generation) {
            return Ok(Some(cached));
        }
        let _one_at_a_time = loading.lock().await;
        if let Some(cached) = cached_index(&cache, &key_id, &generation) {
            return Ok(Some(cached));
        }
        let Some(stored) = store.hit_encodings(&key_id).await? else {
            return Ok(None);
        };
        let built =
            tokio::task::spawn_blocking(move || build_index(&key_id, generation, stored)).await;
        let index = match built {
            Ok(index) => Arc::new(index?),
            Err(err) => {
                return Err(palermo_store::Error::Corrupt {
                    what: "hit encodings".to_owned(),
                    reason: format!("building the index failed: {err}"),
                });
            }
        };
        if let Ok(mut cache) = cache.lock() {
            cache.retain(|c| c.key_id != index.key_id);
            cache.push(index.clone());
        }
        Ok(Some(index))
    });
    match task.await {
        Ok(result) => result,
        Err(err) => Err(palermo_store::Error::Corrupt {
            what: "hit encodings".to_owned(),
            reason: format!("loading the set failed: {err}"),
        }),
    }
}

/// The cached set of `key_id` when its generation is `generation`.
fn cached_index(
    cache: &std::sync::Mutex<Vec<Arc<CachedIndex>>>,
    key_id: &str,
    generation: &str,
) -> Option<Arc<CachedIndex>> {
    let cache = cache.lock().ok()?;
    cache
        .iter()
        .find(|c| c.key_id == key_id && c.generation == generation)
        .cloned()
}

/// The in-memory index of a stored set (rows of the wrong length are skipped).
fn build_index(
    key_id: &str,
    generation: String,
    stored: palermo_store::HitEncodings,
) -> palermo_store::Result<CachedIndex> {
    let n_bits = usize::try_from(stored.set.n_bits).unwrap_or(0);
    // Sized once: at 10,000,000 rows, growing by doubling copied gigabytes
    // into fresh memory.
    let mut clks = Clks::with_capacity(n_bits, stored.rows.len());
    let mut ids = Vec::with_capacity(stored.rows.len());
    for (record_id, bytes) in stored.rows {
        if clks.push_bytes(&bytes) {
            ids.push(record_id);
        } else {
            tracing::warn!(record = %record_id, "stored hit encoding of the wrong length skipped");
        }
    }
    let index = Index::build(clks, &IndexConfig::standard()).map_err(|err| {
        palermo_store::Error::Corrupt {
            what: format!("stored hit encodings of key {key_id}"),
            reason: err.to_string(),
        }
    })?;
    Ok(CachedIndex {
        key_id: key_id.to_owned(),
        generation,
        ids,
        index,
    })
}

/// An admitted query's answer, before it is stored.
struct Answered {
    record: HitQueryRecord,
    hits: Vec<HitRecord>,
    decisions: Vec<Decision>,
    alert: Option<probe::Alert>,
}

/// Filters an admitted query's candidates through the policy and builds its
/// hits (with fresh references) and its record.
#[allow(clippy::too_many_arguments)]
fn decide(
    shared: &Shared,
    envelope: &Envelope,
    query: &Admitted,
    candidates: &[Vec<(u32, f64)>],
    entities: &std::collections::HashMap<&str, &palermo_model::Entity>,
    filter: Option<&mut palermo_policy::Filter<'_>>,
    alert: Option<probe::Alert>,
    n_encodings: u64,
    now: OffsetDateTime,
) -> Result<Answered, NodeError> {
    let config = &shared.config.hits;
    let peer = envelope.sender.as_str();
    // The policy decides on every candidate record, as the asking node's principal.
    let mut ids: Vec<&str> = candidates
        .iter()
        .flatten()
        .filter_map(|(pos, _)| query.index.ids.get(*pos as usize))
        .map(String::as_str)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let principal = principal_of(peer);
    let (permitted, decisions) = match filter {
        Some(filter) => permit_with(filter, &ids, entities)?,
        None => permit(shared, query, &principal, &ids, entities, now)?,
    };
    let mut hits = Vec::new();
    let mut n_hits = 0;
    for (index, found) in candidates.iter().enumerate() {
        let mut any = false;
        for (pos, score) in found {
            let Some(record_id) = query.index.ids.get(*pos as usize) else {
                continue;
            };
            if !permitted.contains(record_id.as_str()) {
                continue;
            }
            any = true;
            hits.push(HitRecord {
                direction: HitDirection::Received,
                peer: peer.to_owned(),
                hit_ref: new_reference(),
                query_id: envelope.id,
                query_index: index as u64,
                case_id: query.case.clone(),
                band: config.band(*score).to_owned(),
                score: Some(*score),
                record_ids: vec![record_id.clone()],
                at: now,
                status: "open".to_owned(),
            });
        }
        n_hits += u64::from(any);
    }
    let record = HitQueryRecord {
        id: envelope.id,
        direction: HitDirection::Received,
        peer: peer.to_owned(),
        case_id: query.case.clone(),
        purpose: query.purpose.clone(),
        basis: query.basis.text(),
        key_id: query.key_id.clone(),
        n_encodings,
        at: now,
        status: "answered".to_owned(),
        code: None,
        n_hits,
        record_ids: Vec::new(),
    };
    Ok(Answered {
        record,
        hits,
        decisions,
        alert,
    })
}

/// The per-encoding answers from hits (stored, or stored with their query), in query order.
fn answers_from(stored: &[HitRecord]) -> Vec<EncodingAnswer> {
    let mut results: Vec<EncodingAnswer> = Vec::new();
    for hit in stored {
        let reference = HitRef {
            reference: hit.hit_ref.clone(),
            band: hit.band.clone(),
        };
        match results.last_mut() {
            Some(last) if last.index == hit.query_index => last.hits.push(reference),
            _ => results.push(EncodingAnswer {
                index: hit.query_index,
                hits: vec![reference],
            }),
        }
    }
    results
}

/// What matching gave one admitted query: its candidates (per encoding,
/// index position and Dice score), a probing alert, and its encodings.
type Matched = (
    palermo_pprl::Result<Vec<Vec<(u32, f64)>>>,
    Option<probe::Alert>,
    Clks,
);

/// The policy principal of the asking node `peer`.
fn principal_of(peer: &str) -> String {
    format!("node:{peer}")
}

/// The policy worlds of one batch of admitted queries: one per group of
/// queries from the same peer for the same case (with the same holder and
/// asker), holding the candidate records of all of them, instead of one
/// world per query.
///
/// A query's decisions against its group's world are the ones it would get
/// against a world of its own candidates: a world differs from the query's
/// own only by other records, which a decision cannot reach unless a policy
/// names a record (then every query gets its own world, as before); the
/// principal, its node, its cases and the holder are the group's. Where the
/// group's world cannot be built (a record it refuses), each of its queries
/// builds its own, so that only the query with that record fails, as before.
struct PolicyWorlds {
    /// The group of each admitted query, in order.
    group_of: Vec<usize>,
    /// Per group: the principal and template's data, and the world (`None`: per query).
    groups: Vec<(String, Option<World>)>,
}

impl PolicyWorlds {
    fn new(
        shared: &Shared,
        envelopes: &[&Envelope],
        admitted: &[Admitted],
        matched: &[Matched],
        entities: &std::collections::HashMap<&str, &palermo_model::Entity>,
    ) -> PolicyWorlds {
        let per_query = shared.config.hits.policies.names_records();
        // (principal, case, holder, asker) and the candidate ids of each group.
        let mut keys: Vec<(String, &str, &NodeInfo, &NodeInfo)> = Vec::new();
        let mut ids: Vec<Vec<&str>> = Vec::new();
        let mut group_of = Vec::with_capacity(admitted.len());
        // Every admitted query gets a group, matched or not (a failed match
        // is answered as before, by the caller).
        for (i, query) in admitted.iter().enumerate() {
            let principal = principal_of(&envelopes[query.envelope_idx].sender);
            let key = (principal, query.case.as_str(), &query.holder, &query.asker);
            let group = match keys.iter().position(|k| *k == key) {
                Some(group) => group,
                None => {
                    keys.push(key);
                    ids.push(Vec::new());
                    keys.len() - 1
                }
            };
            group_of.push(group);
            if let Some((Ok(candidates), _, _)) = matched.get(i) {
                ids[group].extend(
                    candidates
                        .iter()
                        .flatten()
                        .filter_map(|(pos, _)| query.index.ids.get(*pos as usize))
                        .map(String::as_str),
                );
            }
        }
        let groups = keys
            .into_iter()
            .zip(ids)
            .map(|((principal, case, holder, asker), mut ids)| {
                ids.sort_unstable();
                ids.dedup();
                let records: Vec<RecordInfo> = ids
                    .iter()
                    .filter_map(|id| entities.get(id))
                    .map(|entity| RecordInfo::of_entity(&holder.id, entity))
                    .collect();
                let world = (!per_query && !records.is_empty())
                    .then(|| World::new(world_info(&principal, case, holder, asker, records)).ok())
                    .flatten();
                (principal, world)
            })
            .collect();
        PolicyWorlds { group_of, groups }
    }

    /// A policy filter per group (`None`: each query decides in a world of its own).
    fn filters<'a>(
        &'a self,
        shared: &'a Shared,
        now: OffsetDateTime,
    ) -> Vec<Option<palermo_policy::Filter<'a>>> {
        self.groups
            .iter()
            .map(|(principal, world)| {
                world.as_ref().map(|world| {
                    palermo_policy::Filter::new(
                        Decider {
                            policies: &shared.config.hits.policies,
                            world,
                            basis: &*shared.config.hits.policy_basis,
                        },
                        hit_template(principal, now),
                    )
                })
            })
            .collect()
    }
}

/// The policy world of a query-hit decision: the two nodes, the asking
/// node's principal working `case`, and the candidate `records`.
fn world_info(
    principal: &str,
    case: &str,
    holder: &NodeInfo,
    asker: &NodeInfo,
    records: Vec<RecordInfo>,
) -> WorldInfo {
    WorldInfo {
        nodes: vec![holder.clone(), asker.clone()],
        users: vec![UserInfo {
            id: principal.to_owned(),
            node: asker.id.clone(),
            agency: None,
            roles: Vec::new(),
            cases: vec![case.to_owned()],
        }],
        records,
    }
}

/// The query-hit decision `principal` asks for, on the date of `now`.
fn hit_template(principal: &str, now: OffsetDateTime) -> Query<'_> {
    Query::plain(principal, Action::QueryHit, today(now))
}

/// [`permit`] with the batch's filter of the query's group.
fn permit_with(
    filter: &mut palermo_policy::Filter<'_>,
    ids: &[&str],
    entities: &std::collections::HashMap<&str, &palermo_model::Entity>,
) -> Result<(std::collections::HashSet<String>, Vec<Decision>), NodeError> {
    let known: Vec<&str> = ids
        .iter()
        .filter(|id| entities.contains_key(*id))
        .copied()
        .collect();
    if known.is_empty() {
        return Ok((Default::default(), Vec::new()));
    }
    let mut decisions: Vec<Decision> = Vec::new();
    let allowed = filter
        .records(&known, &mut decisions)
        .map_err(|err| NodeError::Invalid(format!("policy: {err}")))?;
    Ok((allowed.into_iter().map(str::to_owned).collect(), decisions))
}

/// The candidate records the policy permits reporting as hits to `principal`,
/// and every decision made. A record missing from the store (not in
/// `entities`, read once for the batch) is not permitted.
fn permit(
    shared: &Shared,
    query: &Admitted,
    principal: &str,
    ids: &[&str],
    entities: &std::collections::HashMap<&str, &palermo_model::Entity>,
    now: OffsetDateTime,
) -> Result<(std::collections::HashSet<String>, Vec<Decision>), NodeError> {
    let records: Vec<RecordInfo> = ids
        .iter()
        .filter_map(|id| entities.get(id))
        .map(|entity| RecordInfo::of_entity(&query.holder.id, entity))
        .collect();
    if records.is_empty() {
        return Ok((Default::default(), Vec::new()));
    }
    let known: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let world = World::new(world_info(
        principal,
        &query.case,
        &query.holder,
        &query.asker,
        records,
    ))
    .map_err(|err| NodeError::Invalid(format!("policy world: {err}")))?;
    let decider = Decider {
        policies: &shared.config.hits.policies,
        world: &world,
        basis: &*shared.config.hits.policy_basis,
    };
    let template = hit_template(principal, now);
    let refs: Vec<&str> = known.iter().map(String::as_str).collect();
    let mut decisions: Vec<Decision> = Vec::new();
    let allowed = palermo_policy::filter(&decider, &template, &refs, &mut decisions)
        .map_err(|err| NodeError::Invalid(format!("policy: {err}")))?;
    Ok((allowed.into_iter().map(str::to_owned).collect(), decisions))
}

/// The effects of received `hit-answer` messages: stores their hits against
/// the queries this node sent and settles those queries (one transaction
/// for the batch), and records each answer on the ledger (one append).
/// Returns the inbox result per envelope, in order.
///
/// An answer to a query already settled (a redelivered answer) is
/// acknowledged without storing or recording it again.
///
/// With `deferred`, the hits, settlements and ledger entries are left in it
/// for the transaction that stores the answers' inbox rows (see
/// [`answer_all`]); without, they are written here.
pub(crate) async fn receive_answers(
    shared: &Shared,
    envelopes: &[&Envelope],
    deferred: Option<&mut Deferred>,
) -> Vec<Value> {
    let now = OffsetDateTime::now_utc();
    let mut results: Vec<Option<Value>> = vec![None; envelopes.len()];
    let mut parsed: Vec<(usize, AnswerPayload)> = Vec::new();
    for (idx, envelope) in envelopes.iter().enumerate() {
        match AnswerPayload::deserialize(&envelope.payload) {
            Ok(payload) => parsed.push((idx, payload)),
            Err(err) => {
                results[idx] =
                    Some(json!({ "stored": false, "problem": format!("payload: {err}") }))
            }
        }
    }
    // The queries this node sent through `Node::send_query` are remembered
    // as stored (pending, then as settled): only the others are read.
    let mut queries: std::collections::HashMap<Uuid, HitQueryRecord> = Default::default();
    let mut unknown: Vec<Uuid> = Vec::new();
    match shared.settled.lock() {
        Ok(settled) => {
            for (_, payload) in &parsed {
                match settled.known(payload.query) {
                    Some(query) => {
                        queries.insert(query.id, query);
                    }
                    None => unknown.push(payload.query),
                }
            }
        }
        Err(_) => unknown.extend(parsed.iter().map(|(_, p)| p.query)),
    }
    let stored = if unknown.is_empty() {
        Ok(Vec::new())
    } else {
        shared
            .store
            .hit_queries_by_id(HitDirection::Sent, &unknown)
            .await
    };
    match stored {
        Ok(rows) => queries.extend(rows.into_iter().map(|q| (q.id, q))),
        Err(err) => {
            let problem = json!({ "stored": false, "problem": format!("store: {err}") });
            return results
                .into_iter()
                .map(|r| r.unwrap_or_else(|| problem.clone()))
                .collect();
        }
    };
    // Each by the id of the answer (message) it comes from.
    let mut settlements: Vec<(Uuid, HitSettlement)> = Vec::new();
    let mut settled_records: Vec<(Uuid, HitQueryRecord)> = Vec::new();
    let mut hits: Vec<(Uuid, HitRecord)> = Vec::new();
    let mut entries: Vec<(Uuid, NewEntry)> = Vec::new();
    let mut settling: Vec<usize> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for (idx, payload) in parsed {
        let envelope = envelopes[idx];
        let Some(query) = queries
            .get(&payload.query)
            .filter(|q| q.peer == envelope.sender)
        else {
            tracing::warn!(peer = %envelope.sender, query = %payload.query, "hit answer to no query of ours");
            results[idx] = Some(
                json!({ "stored": false, "problem": "no query of ours to this node has that id" }),
            );
            continue;
        };
        if query.status != "pending" || !seen.insert(query.id) {
            // Its hits were stored with its settlement, in one transaction.
            results[idx] = Some(json!({ "stored": true, "outcome": query.status, "again": true }));
            continue;
        }
        if payload.outcome != "answered" {
            let code = payload.code.clone().unwrap_or_else(|| "refused".to_owned());
            tracing::warn!(
                peer = %envelope.sender,
                query = %payload.query,
                code = %code,
                message = payload.message.as_deref().unwrap_or(""),
                "hit query refused by the peer"
            );
            entries.push((
                envelope.id,
                query_entry(query, Vec::new(), format!("refused: {code}")),
            ));
            results[idx] = Some(json!({ "stored": true, "outcome": "refused", "code": code }));
            settlements.push((
                envelope.id,
                HitSettlement {
                    id: query.id,
                    status: "refused".to_owned(),
                    code: Some(code.clone()),
                    n_hits: 0,
                },
            ));
            settled_records.push((
                envelope.id,
                HitQueryRecord {
                    status: "refused".to_owned(),
                    code: Some(code),
                    n_hits: 0,
                    ..query.clone()
                },
            ));
            settling.push(idx);
            continue;
        }
        let mut local = Vec::new();
        let n_before = hits.len();
        for result in &payload.results {
            let Some(record_id) = usize::try_from(result.index)
                .ok()
                .and_then(|i| query.record_ids.get(i))
            else {
                continue;
            };
            local.push(record_id.clone());
            for hit in &result.hits {
                hits.push((
                    envelope.id,
                    HitRecord {
                        direction: HitDirection::Sent,
                        peer: envelope.sender.clone(),
                        hit_ref: hit.reference.clone(),
                        query_id: query.id,
                        query_index: result.index,
                        case_id: query.case_id.clone(),
                        band: hit.band.clone(),
                        score: None,
                        record_ids: vec![record_id.clone()],
                        at: now,
                        status: "open".to_owned(),
                    },
                ));
            }
        }
        let n_hits = local.len() as u64;
        tracing::info!(peer = %envelope.sender, query = %query.id, n_hits, "hit answer received");
        entries.push((
            envelope.id,
            query_entry(
                query,
                local,
                format!(
                    "answered by {}: {n_hits} of {} encodings hit",
                    envelope.sender, query.n_encodings
                ),
            ),
        ));
        results[idx] = Some(json!({
            "stored": true,
            "outcome": "answered",
            "hits": hits.len() - n_before,
        }));
        settlements.push((
            envelope.id,
            HitSettlement {
                id: query.id,
                status: "answered".to_owned(),
                code: None,
                n_hits,
            },
        ));
        settled_records.push((
            envelope.id,
            HitQueryRecord {
                status: "answered".to_owned(),
                code: None,
                n_hits,
                ..query.clone()
            },
        ));
        settling.push(idx);
    }
    if let Some(deferred) = deferred {
        deferred.writes.settlements.extend(settlements);
        deferred.writes.hits.extend(hits);
        deferred.writes.entries.extend(entries);
        deferred.settled.extend(settled_records);
    } else if !settlements.is_empty() {
        let settlements: Vec<HitSettlement> = settlements.into_iter().map(|(_, s)| s).collect();
        let hits: Vec<HitRecord> = hits.into_iter().map(|(_, h)| h).collect();
        let mut entries: Vec<NewEntry> = entries.into_iter().map(|(_, e)| e).collect();
        if let Err(err) = shared.store.hit_answers_store(&settlements, &hits).await {
            tracing::warn!(error = %err, "storing received hits failed");
            for idx in settling {
                results[idx] = Some(json!({ "stored": false, "problem": "store failure" }));
            }
            entries.clear();
            settled_records.clear();
        }
        shared.append_ledger(entries).await;
        // What was just committed (and put on the ledger), for the waiters
        // to read from memory.
        if let Ok(mut settled) = shared.settled.lock() {
            for (_, record) in settled_records {
                settled.insert(record);
            }
        }
        shared.hits_settled.notify_waiters();
    }
    results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| json!({ "stored": false })))
        .collect()
}

/// Checks that `claim` is among the instruments binding both states on
/// `date` that provide information exchange (and, when an article is
/// claimed, that the instrument provides it by that article).
pub fn check_basis(
    kb: &KnowledgeBase,
    holder: &str,
    asker: &str,
    claim: &BasisClaim,
    date: Date,
) -> Result<(), String> {
    let answer = palermo_law::basis(kb, holder, asker, COOPERATION, date)
        .map_err(|err| format!("the law engine cannot answer: {err}"))?;
    let Some(candidate) = answer.bases.iter().find(|c| {
        c.instrument_id
            .eq_ignore_ascii_case(claim.instrument.trim())
    }) else {
        let found: Vec<&str> = answer
            .bases
            .iter()
            .map(|c| c.instrument_id.as_str())
            .collect();
        return Err(format!(
            "{} does not bind {holder} and {asker} for information exchange on {date} \
             (instruments that do: {})",
            claim.instrument,
            if found.is_empty() {
                "none".to_owned()
            } else {
                found.join(", ")
            }
        ));
    };
    if let Some(article) = &claim.article
        && !candidate.articles.iter().any(|c| c.article == *article)
    {
        let known: Vec<&str> = candidate
            .articles
            .iter()
            .map(|c| c.article.as_str())
            .collect();
        return Err(format!(
            "{} does not provide information exchange by {article} (articles: {})",
            candidate.instrument_id,
            known.join(", ")
        ));
    }
    Ok(())
}

/// A `query` ledger entry for a query sent or received.
fn query_entry(query: &HitQueryRecord, persons: Vec<String>, outcome: String) -> NewEntry {
    NewEntry {
        actor: match query.direction {
            HitDirection::Received => format!("node:{}", query.peer),
            HitDirection::Sent => "hits".to_owned(),
        },
        case: (!query.case_id.is_empty()).then(|| query.case_id.clone()),
        time: None,
        body: EntryBody::Query {
            persons,
            purpose: Some(format!(
                "hit-query {} {} {} ({}): {}",
                query.direction.as_str(),
                if query.direction == HitDirection::Sent {
                    "to"
                } else {
                    "from"
                },
                query.peer,
                query.id,
                query.purpose
            )),
            legal_basis: (!query.basis.is_empty()).then(|| query.basis.clone()),
            policy_decision: Some(outcome),
        },
    }
}

/// A `policy-decision` ledger entry for one decision on a candidate record.
fn decision_entry(decision: &Decision, case: &str) -> NewEntry {
    NewEntry {
        actor: decision.principal.clone(),
        case: Some(case.to_owned()),
        time: None,
        body: EntryBody::PolicyDecision {
            request: format!("{} {}", decision.action.as_str(), decision.resource),
            decision: if decision.allowed { "allow" } else { "deny" }.to_owned(),
            policies: decision.determining.clone(),
        },
    }
}

/// A `policy-decision` ledger entry with decision `alert` for a probing alert.
fn alert_entry(peer: &str, alert: &probe::Alert) -> NewEntry {
    NewEntry {
        actor: format!("node:{peer}"),
        case: None,
        time: None,
        body: EntryBody::PolicyDecision {
            request: format!("hit-probing {peer}: {}", alert.reason),
            decision: "alert".to_owned(),
            policies: vec![format!("probe-{}", alert.kind)],
        },
    }
}

/// A fresh opaque hit reference: `hit-` and 128 random bits in hex.
fn new_reference() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("hit-{hex}")
}

/// The UTC date of `now`.
fn today(now: OffsetDateTime) -> Date {
    Date::from_unix_days(now.unix_timestamp().div_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set's load goes on when the request that started it is dropped
    /// (a sender's timeout), and the next request finds it cached.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_dropped_request_does_not_drop_the_set_it_was_loading() {
        let tmp = tempfile::tempdir().unwrap();
        let mut fed = crate::testutil::Fed::new("test", OffsetDateTime::now_utc());
        let signed = fed.signed();
        let identity = fed.node("de-bka");
        identity.save(tmp.path()).unwrap();
        signed
            .save(&tmp.path().join(crate::pki::DIRECTORY_FILE))
            .unwrap();
        let url = format!("sqlite://{}", tmp.path().join("node.db").display());
        let store = palermo_store::open(&url).await.unwrap();
        let rows: Vec<(String, Vec<u8>)> = (0..2_000u32)
            .map(|i| (format!("p{i}"), i.to_le_bytes().repeat(64)))
            .collect();
        let set = palermo_store::HitEncodingSet {
            key_id: "k1".to_owned(),
            n_bits: 2048,
            hardening: "balanced".to_owned(),
            records: rows.len() as u64,
        };
        store.hit_encodings_replace(&set, &rows).await.unwrap();
        let config = crate::NodeConfig::new(tmp.path(), palermo_ledger::NodeKey::generate());
        let node = crate::Node::open(config, store).unwrap();
        let shared = node.shared();
        // Dropped as soon as it waits (the store read, the load).
        let dropped =
            tokio::time::timeout(std::time::Duration::ZERO, load_index(shared, "k1", None)).await;
        assert!(dropped.is_err(), "the load finished at once");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while shared.index_cache.lock().unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "the dropped load never finished"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let loaded = load_index(shared, "k1", None).await.unwrap().unwrap();
        assert_eq!(loaded.ids.len(), 2_000);
        assert_eq!(shared.index_cache.lock().unwrap().len(), 1);
        assert!(load_index(shared, "other", None).await.unwrap().is_none());
    }

    #[test]
    fn large_batches_leave_exact_matching() {
        // Single-record queries stay exact up to EXACT_UP_TO stored encodings.
        assert!(matches_exactly(100_000, 1));
        assert!(matches_exactly(EXACT_UP_TO, 1));
        assert!(!matches_exactly(EXACT_UP_TO + 1, 1));
        // 10,000 against 20,000 is exact (about 1 s); against 100,000 it took
        // 11 s exactly, past the sender's request timeout, so it uses the buckets.
        assert!(matches_exactly(20_000, 10_000));
        assert!(!matches_exactly(100_000, 10_000));
        assert!(!matches_exactly(usize::MAX, usize::MAX));
    }
}
