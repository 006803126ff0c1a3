//! A running federation node: the peer endpoint, the sender, the ledger
//! recorder and the periodic tree-head exchange, until a shutdown future
//! resolves ([`run_node`]); and [`send`], which enqueues a signed message.
//!
//! What a received message does (its *effect*) is decided here and committed
//! with its inbox row in one store transaction
//! ([`palermo_store::FederationStore::inbox_accept`]):
//! - `ping` → a `pong` reply is enqueued;
//! - `tree-head-exchange` → the peer's signed ledger head is checked against
//!   the heads seen before (`palermo_ledger::witness`), countersigned and stored;
//! - `directory-refresh` → the directory is verified with the anchor's key and
//!   replaces the cached one (`directory.json`) when its serial is newer;
//! - `hit-query` → checked, matched and answered with a `hit-answer` reply
//!   ([`crate::hits`]); the queries of a POST beyond
//!   [`HitConfig::inline_encodings`] are stored with their effect pending,
//!   acknowledged at once and answered by a task of their own, which
//!   records the result and enqueues the reply in one transaction
//!   (`inbox_complete`); a node answers what is still pending when it starts;
//! - `hit-answer` → its hits are stored against the query this node sent;
//! - the other known kinds are stored for the modules that will handle them.
//!
//! Every message is recorded once on the node's ledger: `message-received`
//! when accepted, in the transaction that stores it (its inbox row is stored
//! as recorded), `message-sent` when delivered or given up (subject = the
//! message id), appended in batches by one recorder task, which also records
//! received rows stored unrecorded (by an earlier version).

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration as StdDuration;

use palermo_law::Date;
use palermo_ledger::entry::NewEntry;
use palermo_ledger::merkle::ConsistencyProof;
use palermo_ledger::witness::{self, Observation, WitnessBook};
use palermo_ledger::{EntryBody, Hash, NodeKey, PublicKey, SignedTreeHead};
use palermo_store::{
    AnyStore, EntryFilter, FederationStore, InboxEffect, LedgerStore, OutboxRow, OutgoingMessage,
    PeerHead,
};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::{Notify, watch};
use uuid::Uuid;

use crate::directory::SignedDirectory;
use crate::envelope::{Envelope, Kind};
use crate::group::GroupCommit;
use crate::hits::HitConfig;
use crate::hits::probe::{Alert, ProbeMonitor};
use crate::pki::{DIRECTORY_FILE, NodeIdentity};
use crate::replay::ReplayGuard;
use palermo_store::HitQueryRecord;

/// What can stop a node or a send.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// An identity, directory or TLS problem.
    #[error(transparent)]
    Federation(#[from] crate::Error),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] palermo_store::Error),
    /// The peer endpoint could not listen.
    #[error("peer endpoint: {0}")]
    Listen(std::io::Error),
    /// A message cannot be sent as asked (unknown recipient...).
    #[error("{0}")]
    Invalid(String),
    /// A store write committed together with other callers' failed (the
    /// store's error, as text: it is shared by every write of the commit).
    #[error("store: {0}")]
    Commit(String),
}

impl NodeError {
    /// Is this the caller's fault (bad node directory, unknown recipient)?
    pub fn is_bad_input(&self) -> bool {
        match self {
            NodeError::Federation(err) => err.is_bad_input(),
            NodeError::Invalid(_) => true,
            NodeError::Store(_) | NodeError::Listen(_) | NodeError::Commit(_) => false,
        }
    }
}

/// How a node runs. [`NodeConfig::new`] gives the defaults named on each field.
#[derive(Clone)]
pub struct NodeConfig {
    /// The node directory (identity keys, certificate, `directory.json`).
    pub dir: PathBuf,
    /// The key that signs the node's ledger heads (the same key the rest of the node appends with).
    pub ledger_key: NodeKey,
    /// Largest accepted difference between a message's creation time and this node's clock (5 minutes).
    pub max_skew: time::Duration,
    /// Largest accepted request body on the peer endpoint (8 MiB).
    pub body_limit: usize,
    /// Most messages per POST to one peer (256).
    pub batch_size: u32,
    /// First retry delay; doubled per failed attempt, with jitter (200 ms).
    pub retry_base: StdDuration,
    /// Longest retry delay (30 s).
    pub retry_max: StdDuration,
    /// How often the node sends its ledger head to every peer (60 s).
    pub tree_head_interval: StdDuration,
    /// Timeout of one delivery POST (10 s).
    pub request_timeout: StdDuration,
    /// How hit/no-hit queries are answered ([`HitConfig::standard`]).
    pub hits: HitConfig,
}

impl NodeConfig {
    /// The defaults for the node in `dir`, signing ledger heads with `ledger_key`.
    pub fn new(dir: impl Into<PathBuf>, ledger_key: NodeKey) -> NodeConfig {
        NodeConfig {
            dir: dir.into(),
            ledger_key,
            max_skew: time::Duration::minutes(5),
            body_limit: 8 * 1024 * 1024,
            batch_size: 256,
            retry_base: StdDuration::from_millis(200),
            retry_max: StdDuration::from_secs(30),
            tree_head_interval: StdDuration::from_secs(60),
            request_timeout: StdDuration::from_secs(10),
            hits: HitConfig::standard(),
        }
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("dir", &self.dir)
            .field("ledger_key", &self.ledger_key.public().fingerprint())
            .field("max_skew", &self.max_skew)
            .field("body_limit", &self.body_limit)
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}

/// The state shared by a node's tasks.
pub(crate) struct Shared {
    pub(crate) identity: NodeIdentity,
    pub(crate) store: AnyStore,
    pub(crate) config: NodeConfig,
    pub(crate) directory: RwLock<SignedDirectory>,
    pub(crate) replay: Mutex<ReplayGuard>,
    /// Wakes the sender (a message was enqueued).
    pub(crate) outbox_wake: Notify,
    /// Hit queries being enqueued ([`Node::send_query`] from its start to
    /// its commit): the sender about to start a POST waits a little for
    /// them (`delivery::gather`).
    pub(crate) enqueuing: std::sync::atomic::AtomicUsize,
    /// Wakes the ledger recorder (a message was accepted, delivered or failed).
    pub(crate) ledger_wake: Notify,
    /// Per peer: the size of our ledger head it last countersigned (or asked a proof from).
    pub(crate) witnessed_by: Mutex<HashMap<String, u64>>,
    /// Per peer: what the probing detectors remember (shared with the
    /// blocking matching tasks).
    pub(crate) probe: Arc<Mutex<ProbeMonitor>>,
    /// The encoding sets queries were matched against, by key id and generation.
    pub(crate) index_cache: Arc<Mutex<Vec<Arc<crate::hits::CachedIndex>>>>,
    /// Held while a set is loaded into memory, so that one load runs at a time.
    pub(crate) index_loading: Arc<tokio::sync::Mutex<()>>,
    /// Per peer: what it had answered in its quota and probing windows.
    pub(crate) hit_windows: Mutex<crate::hits::Windows>,
    /// Wakes [`Node::settled_query`] waiters (answers to sent queries were stored).
    pub(crate) hits_settled: Notify,
    /// Whether the ledger holds the `key-change` entry of `config.ledger_key`
    /// (once it does, it always will: the key is fixed for the node's run).
    pub(crate) ledger_key_announced: AtomicBool,
    /// Legal-basis checks already made, by states, claim and date (the
    /// knowledge base is fixed for the node's run).
    pub(crate) basis_checks: Mutex<BasisChecks>,
    /// Ledger appends of concurrent callers (hit effects, the recorder),
    /// committed together.
    pub(crate) ledger_group: GroupCommit<Vec<NewEntry>, Result<(), String>>,
    /// Sent hit queries with their outbox messages, committed together.
    pub(crate) send_group: GroupCommit<(HitQueryRecord, OutgoingMessage), Result<(), String>>,
    /// Sent hit queries recently settled, as stored ([`Node::settled_query`]
    /// waiters look here rather than each reading the store on every wake).
    pub(crate) settled: Mutex<Settled>,
    /// Received hit queries being answered by a task of their own, by
    /// message id (one task per query; see [`Shared::answer_apart`]).
    pub(crate) answering: Arc<Mutex<HashSet<Uuid>>>,
}

/// Attempts to store the answer of a query answered apart (100 ms, doubled, between them).
const APART_ATTEMPTS: u32 = 6;

/// Most settled queries remembered in memory (the oldest are forgotten first;
/// a waiter that misses one reads the store).
const SETTLED_KEPT: usize = 16_384;

/// Most queries remembered as sent and not settled (forgotten all at once
/// beyond it: their waiters then read the store).
const PENDING_KEPT: usize = 65_536;

/// Sent queries settled lately: their stored records by id, and the ids in
/// settlement order; and the queries sent through [`Node::send_query`] that
/// are not settled yet.
#[derive(Default)]
pub(crate) struct Settled {
    by_id: HashMap<Uuid, HitQueryRecord>,
    order: std::collections::VecDeque<Uuid>,
    /// The records of the queries sent and not settled, as stored (the
    /// answers' handler reads them here instead of from the store).
    pending: HashMap<Uuid, HitQueryRecord>,
}

impl Settled {
    /// Notes that `query` is being sent by this node (not settled yet), as it is stored.
    pub(crate) fn sent(&mut self, query: HitQueryRecord) {
        if self.pending.len() >= PENDING_KEPT {
            self.pending.clear();
        }
        self.pending.insert(query.id, query);
    }

    /// Forgets a query whose sending failed.
    pub(crate) fn unsent(&mut self, id: Uuid) {
        self.pending.remove(&id);
    }

    /// Whether query `id` was sent by this node and is not settled yet (as far as it remembers).
    pub(crate) fn is_pending(&self, id: Uuid) -> bool {
        self.pending.contains_key(&id)
    }

    /// The stored record of query `id` as this node remembers it: pending
    /// since it was sent, or as settled; `None` when it does not remember
    /// it (then only the store knows).
    pub(crate) fn known(&self, id: Uuid) -> Option<HitQueryRecord> {
        self.by_id
            .get(&id)
            .or_else(|| self.pending.get(&id))
            .cloned()
    }

    /// Remembers `query` (as committed to the store), forgetting the oldest beyond [`SETTLED_KEPT`].
    pub(crate) fn insert(&mut self, query: HitQueryRecord) {
        let id = query.id;
        self.pending.remove(&id);
        if self.by_id.insert(id, query).is_none() {
            self.order.push_back(id);
        }
        while self.order.len() > SETTLED_KEPT {
            if let Some(old) = self.order.pop_front() {
                self.by_id.remove(&old);
            }
        }
    }

    fn get(&self, id: Uuid) -> Option<HitQueryRecord> {
        self.by_id.get(&id).cloned()
    }
}

/// Counts a message as being enqueued while it lives (also when the
/// future enqueuing it is dropped).
struct Enqueuing<'a>(&'a std::sync::atomic::AtomicUsize);

impl<'a> Enqueuing<'a> {
    fn new(count: &'a std::sync::atomic::AtomicUsize) -> Enqueuing<'a> {
        count.fetch_add(1, Ordering::AcqRel);
        Enqueuing(count)
    }
}

impl Drop for Enqueuing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Legal-basis check results by holder state, asking state, claim and date.
pub(crate) type BasisChecks = HashMap<(String, String, String, Date), Result<(), String>>;

/// Most legal-basis checks remembered (the cache starts over when full).
const BASIS_CHECKS: usize = 4_096;

/// Runs the node in `config.dir` on `store` until `shutdown` resolves: the
/// mutual-TLS peer endpoint on `listener`, the sender, the ledger recorder and
/// the tree-head exchange. Pending work stays in the store for the next run.
pub async fn run_node(
    config: NodeConfig,
    store: AnyStore,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), NodeError> {
    Node::open(config, store)?.run(listener, shutdown).await
}

/// A loaded node: its identity, directory and store. Cheap to clone.
#[derive(Clone)]
pub struct Node {
    shared: Arc<Shared>,
}

impl Node {
    /// Loads the identity and the cached directory (verified with the anchor's key) from `config.dir`.
    pub fn open(config: NodeConfig, store: AnyStore) -> Result<Node, NodeError> {
        Ok(Node {
            shared: open(config, store)?,
        })
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        self.shared.node_id()
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Seals and enqueues a message, and wakes this node's sender (when running).
    pub async fn send(
        &self,
        recipient: &str,
        kind: Kind,
        payload: Value,
    ) -> Result<Uuid, NodeError> {
        self.shared.send(recipient, kind, payload).await
    }

    /// Sends a hit/no-hit query ([`crate::hits::send_query`]) and wakes this
    /// node's sender, so that it leaves at once rather than at the next poll.
    /// Queries sent at the same time are recorded in one store transaction
    /// (group commit); each returns once the one holding it committed.
    pub async fn send_query(&self, request: &crate::hits::QueryRequest) -> Result<Uuid, NodeError> {
        let enqueuing = Enqueuing::new(&self.shared.enqueuing);
        let (record, message) =
            crate::hits::prepare_query(&self.shared.identity, request, OffsetDateTime::now_utc())?;
        let id = record.id;
        let store = &self.shared.store;
        // Known pending before its message can leave, so that an answer
        // settling it at once finds it here (and takes it out).
        if let Ok(mut settled) = self.shared.settled.lock() {
            // As the store gives it back: times are stored in milliseconds.
            let mut kept = record.clone();
            kept.at = kept
                .at
                .replace_nanosecond(kept.at.nanosecond() / 1_000_000 * 1_000_000)
                .unwrap_or(kept.at);
            settled.sent(kept);
        }
        let committed = self
            .shared
            .send_group
            .submit(
                (record, message),
                Err("the commit was cancelled".to_owned()),
                |items| async move {
                    let (records, messages): (Vec<_>, Vec<_>) = items.into_iter().unzip();
                    let n = records.len();
                    let result = store
                        .hit_queries_send(&records, &messages)
                        .await
                        .map_err(|err| err.to_string());
                    vec![result; n]
                },
            )
            .await
            .map_err(NodeError::Commit);
        if committed.is_err()
            && let Ok(mut settled) = self.shared.settled.lock()
        {
            settled.unsent(id);
        }
        // No longer being enqueued before the sender is woken, so that a
        // sender gathering queries sees it done when it wakes.
        drop(enqueuing);
        committed?;
        self.shared.outbox_wake.notify_one();
        Ok(id)
    }

    /// Waits until the hit query `id` this node sent is settled (answered
    /// or refused) and returns it; returns it still pending when `timeout`
    /// passes first, and `None` when this node sent no such query.
    pub async fn settled_query(
        &self,
        id: Uuid,
        timeout: StdDuration,
    ) -> Result<Option<HitQueryRecord>, NodeError> {
        let deadline = tokio::time::Instant::now() + timeout;
        // The store is read first (unless this node sent the query and has
        // not seen it settled: then its settlement will be in memory), at the
        // deadline and once a second; in between, a wake-up looks at the
        // queries settled in memory, so that every answer stored does not
        // cost every waiter a store read.
        let mut read_store = !self
            .shared
            .settled
            .lock()
            .is_ok_and(|settled| settled.is_pending(id));
        loop {
            // Registered before anything is read, so that an answer stored
            // in between still wakes this waiter.
            let settled = self.shared.hits_settled.notified();
            tokio::pin!(settled);
            settled.as_mut().enable();
            if let Some(query) = self.shared.settled.lock().ok().and_then(|s| s.get(id)) {
                return Ok(Some(query));
            }
            let past_deadline = tokio::time::Instant::now() >= deadline;
            if read_store || past_deadline {
                let query = self
                    .shared
                    .store
                    .hit_query(palermo_store::HitDirection::Sent, id)
                    .await?;
                match query {
                    Some(query) if query.status == "pending" => {
                        if past_deadline {
                            return Ok(Some(query));
                        }
                    }
                    other => return Ok(other),
                }
            }
            let next_read = tokio::time::Instant::now() + StdDuration::from_secs(1);
            tokio::select! {
                _ = &mut settled => read_store = false,
                _ = tokio::time::sleep_until(next_read.min(deadline)) => read_store = true,
            }
        }
    }

    /// Runs the node until `shutdown` resolves (see [`run_node`]).
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), NodeError> {
        let shared = self.shared;
        let (stop_tx, stop_rx) = watch::channel(false);
        let server = tokio::spawn(crate::peer::serve(
            shared.clone(),
            listener,
            stopped(stop_rx.clone()),
        )?);
        let sender = tokio::spawn(crate::delivery::sender_loop(
            shared.clone(),
            stop_rx.clone(),
        ));
        // The recorder stops last, so that its final pass sees every message
        // the endpoint accepted and the sender settled.
        let (recorder_stop_tx, recorder_stop_rx) = watch::channel(false);
        let recorder = tokio::spawn(ledger_loop(shared.clone(), recorder_stop_rx));
        let exchange = tokio::spawn(exchange_loop(shared.clone(), stop_rx));
        // Queries accepted before a stop and not answered yet.
        tokio::spawn(answer_pending(shared.clone()));
        shutdown.await;
        let _ = stop_tx.send(true);
        let mut result = Ok(());
        if let Ok(Err(err)) = server.await {
            result = Err(NodeError::Listen(err));
        }
        // Queries being answered apart finish (their replies stay in the
        // outbox for the next run); one still matching after the grace
        // period stays pending in the store and is answered at the next start.
        let grace = tokio::time::Instant::now() + APART_GRACE;
        while !shared.answering.lock().map_or(true, |a| a.is_empty())
            && tokio::time::Instant::now() < grace
        {
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
        for task in [sender, exchange] {
            if let Ok(Err(err)) = task.await {
                result = Err(err);
            }
        }
        let _ = recorder_stop_tx.send(true);
        if let Ok(Err(err)) = recorder.await {
            result = Err(err);
        }
        result
    }
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("node_id", &self.node_id())
            .finish_non_exhaustive()
    }
}

/// Seals a `kind` message with `payload` from `identity` to `recipient` and
/// enqueues it; returns its id. A running node delivers it.
pub async fn send(
    store: &impl FederationStore,
    identity: &NodeIdentity,
    recipient: &str,
    kind: Kind,
    payload: Value,
) -> Result<Uuid, NodeError> {
    if recipient == identity.node_id {
        return Err(NodeError::Invalid(format!(
            "recipient {recipient} is this node"
        )));
    }
    crate::pki::validate_node_id(recipient)?;
    let (envelope, wire) = Envelope::seal_wire(
        identity.signing_key(),
        &identity.node_id,
        recipient,
        kind,
        payload,
        OffsetDateTime::now_utc(),
    );
    store.outbox_enqueue(&[outgoing(&envelope, wire)]).await?;
    Ok(envelope.id)
}

/// The outbox row of a sealed envelope, `wire` its wire form (as
/// [`Envelope::seal_wire`] returns it).
pub(crate) fn outgoing(envelope: &Envelope, wire: Vec<u8>) -> OutgoingMessage {
    debug_assert_eq!(wire, envelope.to_json());
    OutgoingMessage {
        id: envelope.id,
        recipient: envelope.recipient.clone(),
        kind: envelope.kind.clone(),
        envelope: wire,
        created_at: envelope.created_at,
    }
}

fn open(config: NodeConfig, store: AnyStore) -> Result<Arc<Shared>, NodeError> {
    let identity = NodeIdentity::load(&config.dir)?;
    let directory = identity.load_directory(&config.dir, OffsetDateTime::now_utc())?;
    let replay = ReplayGuard::new(config.max_skew);
    Ok(Arc::new(Shared {
        identity,
        store,
        directory: RwLock::new(directory),
        replay: Mutex::new(replay),
        outbox_wake: Notify::new(),
        enqueuing: std::sync::atomic::AtomicUsize::new(0),
        ledger_wake: Notify::new(),
        witnessed_by: Mutex::new(HashMap::new()),
        probe: Arc::new(Mutex::new(ProbeMonitor::default())),
        index_cache: Arc::new(Mutex::new(Vec::new())),
        index_loading: Arc::new(tokio::sync::Mutex::new(())),
        hit_windows: Mutex::new(crate::hits::Windows::default()),
        hits_settled: Notify::new(),
        ledger_key_announced: AtomicBool::new(false),
        basis_checks: Mutex::new(HashMap::new()),
        ledger_group: GroupCommit::default(),
        send_group: GroupCommit::default(),
        settled: Mutex::new(Settled::default()),
        answering: Arc::new(Mutex::new(HashSet::new())),
        config,
    }))
}

/// How long a stopping node waits for the queries it is answering apart.
const APART_GRACE: StdDuration = StdDuration::from_secs(30);

/// Most pending queries a starting node lists at once.
const PENDING_BATCH: u32 = 1_000;

/// Answers the received queries whose answer is still pending (the node
/// stopped after acknowledging them), oldest first.
async fn answer_pending(shared: Arc<Shared>) {
    let rows = match shared.store.inbox_pending(PENDING_BATCH).await {
        Ok(rows) => rows,
        Err(err) => {
            tracing::warn!(error = %err, "reading pending hit queries failed");
            return;
        }
    };
    for row in rows {
        match Envelope::from_json(&row.envelope) {
            Ok(envelope) if envelope.kind == Kind::HitQuery.as_str() => {
                shared.answer_apart(envelope);
            }
            // Only hit queries are stored pending; anything else is left as it is.
            Ok(_) | Err(_) => {
                tracing::warn!(id = %row.id, kind = %row.kind, "a pending message is not a readable hit query");
            }
        }
    }
}

/// Resolves when the stop flag is set (or its sender is gone).
pub(crate) async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|stop| *stop).await;
}

impl Shared {
    pub(crate) fn node_id(&self) -> &str {
        &self.identity.node_id
    }

    /// Seals and enqueues a message from this node.
    pub(crate) async fn send(
        &self,
        recipient: &str,
        kind: Kind,
        payload: Value,
    ) -> Result<Uuid, NodeError> {
        let id = send(&self.store, &self.identity, recipient, kind, payload).await?;
        self.outbox_wake.notify_one();
        Ok(id)
    }

    /// The effect of a verified message: what to store with it.
    pub(crate) async fn effect(&self, envelope: &Envelope, kind: Kind) -> InboxEffect {
        let now = OffsetDateTime::now_utc();
        let (result, replies, peer_head) = match kind {
            Kind::Ping => {
                let (pong, wire) = Envelope::seal_wire(
                    self.identity.signing_key(),
                    self.node_id(),
                    &envelope.sender,
                    Kind::Pong,
                    json!({ "ping": envelope.id }),
                    now,
                );
                (
                    json!({ "pong": pong.id }),
                    vec![outgoing(&pong, wire)],
                    None,
                )
            }
            Kind::TreeHeadExchange => match self.witness(envelope, now).await {
                Ok((result, head)) => (result, Vec::new(), head),
                Err(problem) => (
                    json!({ "outcome": "refused", "problem": problem }),
                    Vec::new(),
                    None,
                ),
            },
            Kind::DirectoryRefresh => (self.refresh_directory(envelope, now), Vec::new(), None),
            Kind::HitQuery => {
                let mut answers = crate::hits::answer_all(self, &[envelope], now, None).await;
                let (result, replies) = answers.pop().unwrap_or_default();
                (result, replies, None)
            }
            Kind::HitAnswer => {
                let mut results = crate::hits::receive_answers(self, &[envelope], None).await;
                (results.pop().unwrap_or_default(), Vec::new(), None)
            }
            _ => (json!({ "stored": true }), Vec::new(), None),
        };
        InboxEffect {
            result,
            replies,
            peer_head,
            pending: false,
        }
    }

    /// Answers the stored query `envelope` in a task of its own: checks,
    /// matching, policy, the query's rows and ledger entries as for a query
    /// answered inside its POST, then its result and `hit-answer` reply in
    /// one transaction that completes the pending inbox row. A query already
    /// being answered is not started again; one already completed is
    /// answered from what was stored and its reply not enqueued twice.
    pub(crate) fn answer_apart(self: &Arc<Self>, envelope: Envelope) {
        match self.answering.lock() {
            Ok(mut answering) => {
                if !answering.insert(envelope.id) {
                    return;
                }
            }
            Err(_) => return,
        }
        let shared = self.clone();
        tokio::spawn(async move {
            shared.complete_apart(&envelope).await;
            if let Ok(mut answering) = shared.answering.lock() {
                answering.remove(&envelope.id);
            }
        });
    }

    async fn complete_apart(&self, envelope: &Envelope) {
        let now = OffsetDateTime::now_utc();
        let mut answers = crate::hits::answer_all(self, &[envelope], now, None).await;
        let (result, replies) = answers.pop().unwrap_or_default();
        let mut delay = StdDuration::from_millis(100);
        for attempt in 1..=APART_ATTEMPTS {
            match self
                .store
                .inbox_complete(envelope.id, &result, &replies)
                .await
            {
                Ok(_) => {
                    self.outbox_wake.notify_one();
                    return;
                }
                Err(err) if attempt < APART_ATTEMPTS => {
                    tracing::warn!(query = %envelope.id, error = %err, "storing a hit answer failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                }
                // Left pending: answered again (from what was stored) at the next start.
                Err(err) => {
                    tracing::warn!(query = %envelope.id, error = %err, "storing a hit answer failed");
                }
            }
        }
    }

    /// The effects of a batch of verified messages, in order. Hit queries
    /// and hit answers are applied together per kind, their rows and ledger
    /// entries left in `deferred` for the transaction that stores the
    /// messages (`peer::receive`); the others one by one.
    pub(crate) async fn effects(
        &self,
        messages: &[(&Envelope, Kind)],
        deferred: &mut crate::hits::Deferred,
    ) -> Vec<InboxEffect> {
        let now = OffsetDateTime::now_utc();
        let mut effects: Vec<Option<InboxEffect>> = (0..messages.len()).map(|_| None).collect();
        let of_kind = |kind: Kind| -> (Vec<usize>, Vec<&Envelope>) {
            messages
                .iter()
                .enumerate()
                .filter(|(_, (_, k))| *k == kind)
                .map(|(idx, (envelope, _))| (idx, *envelope))
                .unzip()
        };
        let (all_idxs, all_queries) = of_kind(Kind::HitQuery);
        // Queries are answered inside the POST while their encodings fit in
        // `inline_encodings`; the others are stored pending and answered
        // apart once stored (`peer::receive` starts their tasks).
        let mut budget = self.config.hits.inline_encodings;
        let (mut idxs, mut queries) = (Vec::new(), Vec::new());
        for (idx, envelope) in all_idxs.into_iter().zip(all_queries) {
            let n = crate::hits::encodings_in(envelope);
            if n <= budget {
                budget -= n;
                idxs.push(idx);
                queries.push(envelope);
            } else {
                effects[idx] = Some(InboxEffect {
                    result: json!({ "outcome": "queued" }),
                    replies: Vec::new(),
                    peer_head: None,
                    pending: true,
                });
            }
        }
        if !queries.is_empty() {
            let answers = crate::hits::answer_all(self, &queries, now, Some(&mut *deferred)).await;
            for (idx, (result, replies)) in idxs.into_iter().zip(answers) {
                effects[idx] = Some(InboxEffect {
                    result,
                    replies,
                    peer_head: None,
                    pending: false,
                });
            }
        }
        let (idxs, answers) = of_kind(Kind::HitAnswer);
        if !answers.is_empty() {
            let results = crate::hits::receive_answers(self, &answers, Some(&mut *deferred)).await;
            for (idx, result) in idxs.into_iter().zip(results) {
                effects[idx] = Some(InboxEffect {
                    result,
                    replies: Vec::new(),
                    peer_head: None,
                    pending: false,
                });
            }
        }
        let mut out = Vec::with_capacity(messages.len());
        for ((envelope, kind), effect) in messages.iter().zip(effects) {
            out.push(match effect {
                Some(effect) => effect,
                None => self.effect(envelope, *kind).await,
            });
        }
        out
    }

    /// Checks a peer's signed ledger head against the heads seen before and countersigns it.
    async fn witness(
        &self,
        envelope: &Envelope,
        now: OffsetDateTime,
    ) -> Result<(Value, Option<PeerHead>), String> {
        let payload: TreeHeadPayload = serde_json::from_value(envelope.payload.clone())
            .map_err(|err| format!("payload: {err}"))?;
        let key = PublicKey::from_base64(&payload.ledger_key)
            .map_err(|err| format!("ledger_key: {err}"))?;
        let stored = self
            .store
            .peer_heads(&envelope.sender)
            .await
            .map_err(|err| format!("reading stored heads: {err}"))?;
        let mut seen = serde_json::Map::new();
        for row in &stored {
            let head: SignedTreeHead = serde_json::from_str(&row.head)
                .map_err(|err| format!("stored head of size {}: {err}", row.size))?;
            if head.key_id == key.fingerprint() {
                seen.insert(
                    row.size.to_string(),
                    serde_json::to_value(head).unwrap_or_default(),
                );
            }
        }
        let book_json = json!({ "nodes": { key.fingerprint(): seen } });
        let mut book: WitnessBook =
            serde_json::from_value(book_json).map_err(|err| format!("witness book: {err}"))?;
        let size = payload.head.head.size;
        let outcome = match book.observe(&key, &payload.head, &payload.proofs) {
            Ok(outcome) => outcome,
            Err(palermo_ledger::Error::BadProof { .. }) => {
                let from = stored
                    .iter()
                    .map(|h| h.size)
                    .filter(|s| *s < size)
                    .max()
                    .unwrap_or(0);
                return Ok((
                    json!({ "outcome": "need-proof", "from": from, "size": size }),
                    None,
                ));
            }
            Err(err) => return Err(err.to_string()),
        };
        let base = json!({
            "node": key.fingerprint(),
            "size": size,
            "root": payload.head.head.root,
        });
        match outcome {
            Observation::Consistent => {
                let now_ms = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
                let cosig = witness::cosign(&self.config.ledger_key, &payload.head, now_ms);
                let head = PeerHead {
                    peer: envelope.sender.clone(),
                    size,
                    root: payload.head.head.root.to_hex(),
                    head: serde_json::to_string(&payload.head).unwrap_or_default(),
                    cosignature: serde_json::to_string(&cosig).unwrap_or_default(),
                    received_at: now,
                };
                let mut result = base;
                result["outcome"] = json!("consistent");
                result["cosignature"] = serde_json::to_value(&cosig).unwrap_or_default();
                Ok((result, Some(head)))
            }
            Observation::SplitView { earlier, .. } => {
                tracing::warn!(peer = %envelope.sender, size, "split view: two heads of one size");
                let mut result = base;
                result["outcome"] = json!("split-view");
                result["earlier"] = serde_json::to_value(earlier).unwrap_or_default();
                Ok((result, None))
            }
            Observation::Inconsistent { earlier, reason } => {
                tracing::warn!(peer = %envelope.sender, size, "inconsistent ledger head");
                let mut result = base;
                result["outcome"] = json!("inconsistent");
                result["earlier_size"] = json!(earlier.head.size);
                result["reason"] = json!(reason);
                Ok((result, None))
            }
        }
    }

    /// Installs a newer signed directory (also written to `directory.json`).
    fn refresh_directory(&self, envelope: &Envelope, now: OffsetDateTime) -> Value {
        let Some(anchor) = self.identity.anchor_directory_key() else {
            return json!({ "installed": false, "problem": "this node has no anchor key" });
        };
        let bytes = serde_json::to_vec(envelope.payload.get("directory").unwrap_or(&Value::Null))
            .unwrap_or_default();
        let signed = match SignedDirectory::from_json(&bytes, "directory-refresh payload") {
            Ok(signed) => signed,
            Err(err) => return json!({ "installed": false, "problem": err.to_string() }),
        };
        if let Err(err) = signed.verify(&anchor, now) {
            return json!({ "installed": false, "problem": err.to_string() });
        }
        let serial = signed.directory.serial;
        let current = self.directory_serial();
        if serial <= current {
            return json!({ "installed": false, "serial": serial, "current": current });
        }
        // Written before the inbox row commits: installing is idempotent, so a
        // crash in between only means the redelivered message finds it installed.
        if let Err(err) = signed.save(&self.config.dir.join(DIRECTORY_FILE)) {
            return json!({ "installed": false, "problem": err.to_string() });
        }
        if let Ok(mut directory) = self.directory.write() {
            *directory = signed;
        }
        tracing::info!(serial, "installed a newer federation directory");
        json!({ "installed": true, "serial": serial })
    }

    /// Appends entries to the node's ledger (after the `key-change` entry
    /// announcing the ledger key, when the ledger has none yet). A failure is
    /// logged: the message itself is still recorded by the recorder.
    pub(crate) async fn append_ledger(&self, entries: Vec<NewEntry>) {
        if let Err(err) = self.append_ledger_grouped(entries).await {
            tracing::warn!(error = %err, "recording hit entries on the ledger failed");
        }
    }

    /// Appends entries to the node's ledger together with those of other
    /// callers appending at the same time (one transaction and one signed
    /// head for all of them; group commit); returns once they are committed.
    pub(crate) async fn append_ledger_grouped(
        &self,
        entries: Vec<NewEntry>,
    ) -> Result<(), NodeError> {
        if entries.is_empty() && self.ledger_key_announced.load(Ordering::Relaxed) {
            return Ok(());
        }
        self.ledger_group
            .submit(
                entries,
                Err("the commit was cancelled".to_owned()),
                |batches| async move {
                    let n = batches.len();
                    let mut entries: Vec<NewEntry> = batches.into_iter().flatten().collect();
                    let result = async {
                        let announcing = key_change_entry(self).await?;
                        let announced = announcing.is_some();
                        if let Some(key_change) = announcing {
                            entries.insert(0, key_change);
                        }
                        if entries.is_empty() {
                            return Ok(());
                        }
                        self.store
                            .ledger_append(entries, &self.config.ledger_key)
                            .await?;
                        if announced {
                            self.ledger_key_announced.store(true, Ordering::Relaxed);
                        }
                        Ok::<(), NodeError>(())
                    }
                    .await
                    .map_err(|err| err.to_string());
                    vec![result; n]
                },
            )
            .await
            .map_err(NodeError::Commit)
    }

    /// Makes sure the ledger holds the `key-change` entry announcing the
    /// ledger key (appending it when not), so that appends made outside the
    /// group commit (with received messages) need not look for it.
    pub(crate) async fn announce_ledger_key(&self) -> Result<(), NodeError> {
        self.append_ledger_grouped(Vec::new()).await
    }

    /// This node and `peer` as the policy crate sees them, from the directory;
    /// `None` when either is not a current member.
    pub(crate) fn node_infos(
        &self,
        peer: &str,
        now: OffsetDateTime,
    ) -> Option<(palermo_policy::NodeInfo, palermo_policy::NodeInfo)> {
        let directory = self.directory.read().ok()?;
        let info = |id: &str| {
            directory
                .directory
                .members
                .iter()
                .find(|m| m.node_id == id && m.is_current(now) && !m.is_revoked(now))
                .map(|m| palermo_policy::NodeInfo {
                    id: m.node_id.clone(),
                    jurisdiction: m.jurisdiction.to_ascii_uppercase(),
                    agency: m.agency.clone(),
                })
        };
        Some((info(self.node_id())?, info(peer)?))
    }

    /// Checks a claimed legal basis ([`crate::hits::check_basis`]), from
    /// the checks already made when the same one was checked before.
    pub(crate) fn check_basis_cached(
        &self,
        holder: &str,
        asker: &str,
        claim: &crate::hits::BasisClaim,
        date: Date,
    ) -> Result<(), String> {
        let key = (holder.to_owned(), asker.to_owned(), claim.text(), date);
        if let Ok(checks) = self.basis_checks.lock()
            && let Some(result) = checks.get(&key)
        {
            return result.clone();
        }
        let result = crate::hits::check_basis(&self.config.hits.law, holder, asker, claim, date);
        if let Ok(mut checks) = self.basis_checks.lock() {
            if checks.len() >= BASIS_CHECKS {
                checks.clear();
            }
            checks.insert(key, result.clone());
        }
        result
    }

    /// Judges `peer`'s query-to-hit ratio; logs and returns its alert.
    pub(crate) fn probe_ratio(
        &self,
        peer: &str,
        used: palermo_store::HitWindow,
        now: OffsetDateTime,
    ) -> Option<Alert> {
        let alert = self
            .probe
            .lock()
            .ok()?
            .ratio(&self.config.hits.probe, peer, used, now)?;
        tracing::warn!(peer, kind = alert.kind, reason = %alert.reason, "hit/no-hit probing suspected");
        Some(alert)
    }

    pub(crate) fn directory_serial(&self) -> u64 {
        self.directory
            .read()
            .map(|d| d.directory.serial)
            .unwrap_or(0)
    }

    /// Notes what a peer answered to our tree head (for the next exchange's proofs).
    pub(crate) fn on_tree_head_ack(&self, peer: &str, result: &Value) {
        let size = match result.get("outcome").and_then(Value::as_str) {
            Some("consistent") => result.get("size").and_then(Value::as_u64),
            Some("need-proof") => result.get("from").and_then(Value::as_u64),
            _ => None,
        };
        if let (Some(size), Ok(mut map)) = (size, self.witnessed_by.lock()) {
            map.insert(peer.to_owned(), size);
        }
    }

    /// Sends this node's latest ledger head to every other current member.
    async fn exchange_heads(&self) -> Result<(), NodeError> {
        let Some(head) = self.store.ledger_head().await? else {
            return Ok(());
        };
        let now = OffsetDateTime::now_utc();
        let peers: Vec<String> = match self.directory.read() {
            Ok(d) => d
                .directory
                .members
                .iter()
                .filter(|m| m.node_id != self.node_id() && m.is_current(now) && !m.is_revoked(now))
                .map(|m| m.node_id.clone())
                .collect(),
            Err(_) => Vec::new(),
        };
        for peer in peers {
            let seen = self
                .witnessed_by
                .lock()
                .ok()
                .and_then(|m| m.get(&peer).copied());
            let mut proofs = Vec::new();
            if let Some(old) = seen.filter(|old| *old > 0 && *old < head.head.size) {
                proofs.push(
                    palermo_store::ledger_consistency_proof(&self.store, old, head.head.size)
                        .await?,
                );
            }
            let payload = TreeHeadPayload {
                ledger_key: self.config.ledger_key.public().to_base64(),
                head: head.clone(),
                proofs,
            };
            let payload = serde_json::to_value(&payload).unwrap_or_default();
            self.send(&peer, Kind::TreeHeadExchange, payload).await?;
        }
        Ok(())
    }
}

/// The payload of a `tree-head-exchange` message.
#[derive(serde::Serialize, serde::Deserialize)]
struct TreeHeadPayload {
    /// The sender's ledger public key (base64).
    ledger_key: String,
    /// Its latest signed head.
    head: SignedTreeHead,
    /// Consistency proofs from heads the recipient countersigned before.
    proofs: Vec<ConsistencyProof>,
}

async fn exchange_loop(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Result<(), NodeError> {
    let mut tick = tokio::time::interval(shared.config.tree_head_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let stop_fut = stopped(stop);
    tokio::pin!(stop_fut);
    loop {
        tokio::select! {
            _ = &mut stop_fut => return Ok(()),
            _ = tick.tick() => {
                if let Err(err) = shared.exchange_heads().await {
                    tracing::warn!(error = %err, "tree-head exchange failed");
                }
            }
        }
    }
}

/// Rows recorded per ledger append.
const LEDGER_BATCH: u32 = 2_000;

/// Appends `message-sent` / `message-received` entries for every row not yet on the ledger.
async fn ledger_loop(shared: Arc<Shared>, stop: watch::Receiver<bool>) -> Result<(), NodeError> {
    // Rows left unmarked by a crash may already be on the ledger: rows from
    // before this start are looked up first (later ones cannot be there).
    let started = OffsetDateTime::now_utc();
    let stop_fut = stopped(stop.clone());
    tokio::pin!(stop_fut);
    loop {
        let n = match record_once(&shared, Some(started)).await {
            Ok(n) => n,
            Err(err) => {
                tracing::warn!(error = %err, "recording messages on the ledger failed");
                0
            }
        };
        if n >= LEDGER_BATCH as usize {
            continue;
        }
        if n > 0 {
            linger(&stop).await;
            continue;
        }
        if *stop.borrow() {
            return Ok(());
        }
        tokio::select! {
            _ = &mut stop_fut => {
                // Last passes so that accepted and settled work is on the ledger.
                let mut failures = 0;
                loop {
                    match record_once(&shared, Some(started)).await {
                        Ok(0) => return Ok(()),
                        Ok(_) => {}
                        // A busy store must not leave settled messages off the
                        // ledger at a clean stop: retry a few times, then report.
                        Err(err) if failures < 5 => {
                            tracing::warn!(error = %err, "recording messages on the ledger failed; retrying");
                            failures += 1;
                            tokio::time::sleep(StdDuration::from_millis(50)).await;
                        }
                        Err(err) => return Err(err),
                    }
                }
            }
            _ = shared.ledger_wake.notified() => linger(&stop).await,
            _ = tokio::time::sleep(StdDuration::from_millis(500)) => {}
        }
    }
}

/// How long the recorder lets messages gather before a pass that is not
/// draining a backlog.
const RECORD_LINGER: StdDuration = StdDuration::from_millis(20);

/// Waits [`RECORD_LINGER`] (unless the node is stopping), so that the
/// messages accepted and settled meanwhile are recorded in the same pass:
/// a pass costs a ledger append (one transaction and a signed head) and a
/// transaction marking the rows, whatever the number of messages, and
/// under load a pass per POST was a large share of a query's cost.
async fn linger(stop: &watch::Receiver<bool>) {
    if *stop.borrow() {
        return;
    }
    tokio::select! {
        _ = stopped(stop.clone()) => {}
        _ = tokio::time::sleep(RECORD_LINGER) => {}
    }
}

/// Records one batch; returns how many rows it handled. Rows older than
/// `started` are first looked up on the ledger (a crash may have left them
/// recorded but unmarked).
pub(crate) async fn record_once(
    shared: &Shared,
    started: Option<OffsetDateTime>,
) -> Result<usize, NodeError> {
    let before_start = |at: OffsetDateTime| started.is_some_and(|s| at < s);
    let store = &shared.store;
    let rows = store.fed_unledgered(LEDGER_BATCH).await?;
    let n_rows = rows.sent.len() + rows.received.len();
    if n_rows == 0 {
        return Ok(0);
    }
    let actor = shared.node_id().to_owned();
    let mut entries = Vec::with_capacity(n_rows + 1);
    for row in &rows.sent {
        if before_start(row.created_at) && on_ledger(store, "message-sent", row.id).await? {
            continue;
        }
        entries.push(sent_entry(
            &actor,
            row,
            row.delivered_at.or(row.failed_at).unwrap_or(row.created_at),
        ));
    }
    for row in &rows.received {
        if before_start(row.received_at) && on_ledger(store, "message-received", row.id).await? {
            continue;
        }
        let signature = Envelope::from_json(&row.envelope)
            .map(|e| e.signature)
            .unwrap_or_default();
        entries.extend(received_entries(
            &actor,
            row.id,
            &row.sender,
            &row.kind,
            signature,
            &row.result,
            row.received_at,
        ));
    }
    shared.append_ledger_grouped(entries).await?;
    let sent: Vec<Uuid> = rows.sent.iter().map(|r| r.id).collect();
    let received: Vec<Uuid> = rows.received.iter().map(|r| r.id).collect();
    store.fed_mark_ledgered(&sent, &received).await?;
    Ok(n_rows)
}

/// The `message-sent` entry of an outgoing message that reached its
/// outcome (`row`'s delivered or failed time; `at` when neither is set yet,
/// as when the entry is written with the acknowledgement).
pub(crate) fn sent_entry(actor: &str, row: &OutboxRow, at: OffsetDateTime) -> NewEntry {
    let outcome = match (&row.failed_at, &row.last_error) {
        (Some(_), Some(error)) => format!("failed: {error}"),
        (Some(_), None) => "failed".to_owned(),
        (None, _) => "delivered".to_owned(),
    };
    entry(
        actor,
        Some(row.delivered_at.or(row.failed_at).unwrap_or(at)),
        EntryBody::MessageSent {
            id: row.id.to_string(),
            to: row.recipient.clone(),
            message_kind: row.kind.clone(),
            outcome,
        },
    )
}

/// The `message-received` entry of a message this node received (and its
/// `witness` entry, for a countersigned or refused peer head with `result`).
pub(crate) fn received_entries(
    actor: &str,
    id: Uuid,
    sender: &str,
    kind: &str,
    signature: String,
    result: &Value,
    at: OffsetDateTime,
) -> Vec<NewEntry> {
    let mut entries = vec![entry(
        actor,
        Some(at),
        EntryBody::MessageReceived {
            id: id.to_string(),
            from: sender.to_owned(),
            message_kind: kind.to_owned(),
            signature,
        },
    )];
    if let Some(body) = witness_entry(kind, result) {
        entries.push(entry(actor, Some(at), body));
    }
    entries
}

fn entry(actor: &str, time: Option<OffsetDateTime>, body: EntryBody) -> NewEntry {
    NewEntry {
        actor: actor.to_owned(),
        case: None,
        time,
        body,
    }
}

/// A `witness` entry for a countersigned (or refused) peer head.
fn witness_entry(kind: &str, result: &Value) -> Option<EntryBody> {
    if kind != Kind::TreeHeadExchange.as_str() {
        return None;
    }
    let outcome = result.get("outcome")?.as_str()?;
    if !matches!(outcome, "consistent" | "split-view" | "inconsistent") {
        return None;
    }
    Some(EntryBody::Witness {
        node: result.get("node")?.as_str()?.to_owned(),
        size: result.get("size")?.as_u64()?,
        root: Hash::from_hex(result.get("root")?.as_str()?, "root").ok()?,
        outcome: outcome.to_owned(),
    })
}

async fn on_ledger(store: &AnyStore, kind: &str, id: Uuid) -> Result<bool, NodeError> {
    let filter = EntryFilter {
        kind: Some(kind.to_owned()),
        actor: None,
        case: None,
        subject: Some(id.to_string()),
        from_seq: 0,
        limit: 1,
    };
    Ok(!store.ledger_entries(&filter).await?.is_empty())
}

/// The `key-change` entry announcing the ledger key, when the ledger has none for it yet.
async fn key_change_entry(shared: &Shared) -> Result<Option<NewEntry>, NodeError> {
    // Looked up on the ledger until found once: every append asked before.
    if shared.ledger_key_announced.load(Ordering::Relaxed) {
        return Ok(None);
    }
    let public = shared.config.ledger_key.public();
    let filter = EntryFilter {
        kind: Some("key-change".to_owned()),
        actor: None,
        case: None,
        subject: Some(public.fingerprint()),
        from_seq: 0,
        limit: 1,
    };
    if !shared.store.ledger_entries(&filter).await?.is_empty() {
        shared.ledger_key_announced.store(true, Ordering::Relaxed);
        return Ok(None);
    }
    let previous = shared.store.ledger_head().await?.map(|h| h.key_id);
    let reason = if previous.is_some() {
        "key replaced"
    } else {
        "key created"
    };
    Ok(Some(entry(
        shared.node_id(),
        None,
        EntryBody::KeyChange {
            public_key: public.to_base64(),
            fingerprint: public.fingerprint(),
            previous,
            reason: reason.to_owned(),
        },
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(id: Uuid, status: &str) -> HitQueryRecord {
        HitQueryRecord {
            id,
            direction: palermo_store::HitDirection::Sent,
            peer: "de-bka".to_owned(),
            case_id: "C-1".to_owned(),
            purpose: "case:C-1".to_owned(),
            basis: "UNTOC".to_owned(),
            key_id: "k".to_owned(),
            n_encodings: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            status: status.to_owned(),
            code: None,
            n_hits: 0,
            record_ids: vec!["r0".to_owned()],
        }
    }

    #[test]
    fn settled_queries_are_kept_up_to_the_limit_oldest_forgotten_first() {
        let mut settled = Settled::default();
        let ids: Vec<Uuid> = (0..SETTLED_KEPT + 2).map(|_| Uuid::now_v7()).collect();
        for id in &ids {
            settled.insert(sent(*id, "answered"));
        }
        assert_eq!(settled.by_id.len(), SETTLED_KEPT);
        assert!(settled.get(ids[0]).is_none());
        assert!(settled.get(ids[1]).is_none());
        assert_eq!(
            settled.get(ids[2]).map(|q| q.status),
            Some("answered".to_owned())
        );
        // Settled again (the same id): replaced, not counted twice.
        let last = ids[ids.len() - 1];
        settled.insert(sent(last, "refused"));
        assert_eq!(settled.order.len(), SETTLED_KEPT);
        assert_eq!(
            settled.get(last).map(|q| q.status),
            Some("refused".to_owned())
        );
    }

    #[test]
    fn a_sent_query_is_pending_until_settled_or_unsent() {
        let mut settled = Settled::default();
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        settled.sent(sent(a, "pending"));
        settled.sent(sent(b, "pending"));
        assert!(settled.is_pending(a) && settled.is_pending(b));
        assert_eq!(
            settled.known(a).map(|q| q.status),
            Some("pending".to_owned())
        );
        settled.insert(sent(a, "answered"));
        assert!(!settled.is_pending(a));
        assert_eq!(
            settled.known(a).map(|q| q.status),
            Some("answered".to_owned())
        );
        settled.unsent(b);
        assert!(!settled.is_pending(b));
        assert!(settled.known(b).is_none());
        // Beyond the limit every pending id is forgotten (their waiters and
        // answers read the store).
        for _ in 0..PENDING_KEPT {
            settled.sent(sent(Uuid::now_v7(), "pending"));
        }
        settled.sent(sent(a, "pending"));
        assert_eq!(settled.pending.len(), 1);
    }
}
