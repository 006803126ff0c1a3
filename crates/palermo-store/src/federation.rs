//! Persistence of federation traffic (`palermo-federation`) on both backends.
//!
//! Three tables (migration 0400):
//! - `fed_outbox`: signed envelopes waiting for (or done with) delivery, with
//!   their attempt count, next attempt time, last error and outcome;
//! - `fed_inbox`: received envelopes keyed by message id, with the result of
//!   applying them;
//! - `fed_peer_heads`: the signed tree heads of peers this node checked and
//!   countersigned.
//!
//! **At-least-once delivery, exactly-once effect.** A change and the message
//! it causes commit together: a store module that must notify a peer calls
//! [`SqliteStore::outbox_enqueue_in`] / [`PgStore::outbox_enqueue_in`] with
//! its own open transaction, so either both the change and the outgoing
//! envelope are stored or neither is ([`FederationStore::outbox_enqueue`] is
//! the same in a transaction of its own). The sender reads
//! [`FederationStore::outbox_due`] and retries until the peer acknowledges.
//! The receiver calls [`FederationStore::inbox_accept`], which inserts each
//! message id if new **and** applies that message's [`InboxEffect`] (replies
//! to enqueue, a peer head to store) in one transaction; a redelivered id
//! changes nothing and is reported as not new.
//!
//! **Ledger recording.** Rows carry a `ledgered` flag: the node appends
//! `message-sent` / `message-received` entries for [`FederationStore::fed_unledgered`]
//! rows and then calls [`FederationStore::fed_mark_ledgered`]; after a crash
//! between the two it checks the ledger by subject (the message id) first.
//! [`AnyStore::inbox_accept_recorded`] stores received rows already marked,
//! appending their entries in the transaction that stores them.
//!
//! Times are stored as milliseconds since the Unix epoch on both backends.

mod postgres;
mod sqlite;

use std::future::Future;

use palermo_ledger::NodeKey;
use palermo_ledger::entry::NewEntry;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{AnyStore, Error, PgStore, Result, SqliteStore};

/// Rows per multi-row INSERT (at most 8 bound columns each).
pub(crate) const FED_ROWS_PER_STATEMENT: usize = 500;

/// A sealed envelope to deliver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// The envelope's message id.
    pub id: Uuid,
    /// The recipient node id.
    pub recipient: String,
    /// The envelope's kind (`ping`, `tree-head-exchange`...).
    pub kind: String,
    /// The envelope as sent on the wire (JSON).
    pub envelope: Vec<u8>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// Where an outgoing message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboxStatus {
    /// Not acknowledged yet; will be (re)tried at `next_attempt_at`.
    Pending,
    /// Acknowledged by the recipient.
    Delivered,
    /// Permanently rejected by the recipient (see `last_error`); not retried.
    Failed,
}

/// One stored outgoing message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OutboxRow {
    /// The message id.
    pub id: Uuid,
    /// The recipient node id.
    pub recipient: String,
    /// The envelope's kind.
    pub kind: String,
    /// The envelope bytes (JSON).
    #[serde(skip)]
    pub envelope: Vec<u8>,
    /// When it was enqueued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Delivery attempts that failed so far.
    pub attempts: u32,
    /// When the sender tries next (meaningful while pending).
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// The last failure (transport error or the recipient's rejection).
    pub last_error: Option<String>,
    /// When the recipient acknowledged it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// When it was given up as permanently rejected.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failed_at: Option<OffsetDateTime>,
    /// The status derived from the columns above.
    pub status: OutboxStatus,
}

/// A verified envelope as received.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncomingMessage {
    /// The envelope's message id.
    pub id: Uuid,
    /// The sender node id.
    pub sender: String,
    /// The envelope's kind.
    pub kind: String,
    /// The envelope bytes (JSON).
    pub envelope: Vec<u8>,
    /// When it arrived.
    pub received_at: OffsetDateTime,
}

/// What applying one received message does to the store, committed with its inbox row.
#[derive(Clone, Debug, PartialEq)]
pub struct InboxEffect {
    /// The result recorded with the message (returned to the sender in the acknowledgement).
    pub result: serde_json::Value,
    /// Messages to enqueue in the same transaction (a pong for a ping...).
    pub replies: Vec<OutgoingMessage>,
    /// A countersigned peer head to store.
    pub peer_head: Option<PeerHead>,
    /// Whether the effect is still to be applied, by a task of its own: the
    /// row is stored (and the message acknowledged) with `pending` set, and
    /// [`FederationStore::inbox_complete`] records the result and enqueues
    /// the replies later. Used for work that takes longer than a sender
    /// waits for its acknowledgement (a large hit-query batch).
    pub pending: bool,
}

/// Pending outgoing messages of one recipient ([`FederationStore::outbox_pending_counts`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingCount {
    /// The recipient node id.
    pub recipient: String,
    /// Pending messages due now.
    pub due: u64,
    /// The earliest next attempt of a pending message not due yet.
    pub next_due: Option<OffsetDateTime>,
}

/// One stored received message.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InboxRow {
    /// The message id.
    pub id: Uuid,
    /// The sender node id.
    pub sender: String,
    /// The envelope's kind.
    pub kind: String,
    /// The envelope bytes (JSON).
    #[serde(skip)]
    pub envelope: Vec<u8>,
    /// When it arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// The recorded result of applying it.
    pub result: serde_json::Value,
    /// Whether it is on the ledger.
    pub ledgered: bool,
}

/// A peer's signed tree head, with this node's cosignature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PeerHead {
    /// The peer node id.
    pub peer: String,
    /// The head's tree size.
    pub size: u64,
    /// The head's root hash (hex).
    pub root: String,
    /// The signed head (JSON).
    pub head: String,
    /// This node's cosignature (JSON).
    pub cosignature: String,
    /// When it was received.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
}

/// Outbox and inbox rows not on the ledger yet.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Unledgered {
    /// Outgoing messages that reached an outcome (delivered or failed).
    pub sent: Vec<OutboxRow>,
    /// Received messages.
    pub received: Vec<InboxRow>,
}

/// Row counts of the federation tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FederationCounts {
    /// Outgoing messages not acknowledged yet.
    pub outbox_pending: u64,
    /// Outgoing messages acknowledged.
    pub outbox_delivered: u64,
    /// Outgoing messages permanently rejected.
    pub outbox_failed: u64,
    /// Received messages.
    pub inbox: u64,
    /// Countersigned peer heads.
    pub peer_heads: u64,
}

/// The federation operations of a store.
pub trait FederationStore: Send + Sync {
    /// Enqueues messages for delivery in a transaction of their own (due now).
    /// An id already in the outbox is left as it is.
    fn outbox_enqueue(
        &self,
        messages: &[OutgoingMessage],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Pending messages due at `now`, at most `per_recipient` for each
    /// recipient, ordered by recipient then creation.
    fn outbox_due(
        &self,
        now: OffsetDateTime,
        per_recipient: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>>> + Send;

    /// The earliest next attempt of any pending message.
    fn outbox_next_due(&self) -> impl Future<Output = Result<Option<OffsetDateTime>>> + Send;

    /// Per recipient with pending messages: how many are due at `now`, and
    /// the earliest next attempt after `now` (in one cheap statement that
    /// reads no envelope: the sender asks it to know whether reading the due
    /// rows could start a POST).
    fn outbox_pending_counts(
        &self,
        now: OffsetDateTime,
    ) -> impl Future<Output = Result<Vec<PendingCount>>> + Send;

    /// Marks messages acknowledged; returns how many were pending.
    fn outbox_ack(
        &self,
        ids: &[Uuid],
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<u64>> + Send;

    /// Records a failed attempt of a pending message and when to try again.
    fn outbox_retry(
        &self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Gives up a pending message that the recipient rejected for good.
    fn outbox_fail(
        &self,
        id: Uuid,
        error: &str,
        at: OffsetDateTime,
    ) -> impl Future<Output = Result<()>> + Send;

    /// The latest `limit` outgoing messages, newest first.
    fn outbox_list(&self, limit: u32) -> impl Future<Output = Result<Vec<OutboxRow>>> + Send;

    /// Stores each message whose id is new together with its effect, all in
    /// one transaction; returns the ids that were new (in batch order).
    /// A duplicate id (also within the batch) has no second effect.
    fn inbox_accept(
        &self,
        batch: Vec<(IncomingMessage, InboxEffect)>,
    ) -> impl Future<Output = Result<Vec<Uuid>>> + Send;

    /// The latest `limit` received messages, newest first.
    fn inbox_list(&self, limit: u32) -> impl Future<Output = Result<Vec<InboxRow>>> + Send;

    /// Up to `limit` received messages whose effect is still pending
    /// ([`InboxEffect::pending`]), oldest first.
    fn inbox_pending(&self, limit: u32) -> impl Future<Output = Result<Vec<InboxRow>>> + Send;

    /// Completes the pending message `id`: records `result` and enqueues
    /// `replies`, in one transaction. Returns false (and enqueues nothing)
    /// when the message is not pending (unknown, or completed before), so
    /// that a message is answered once.
    fn inbox_complete(
        &self,
        id: Uuid,
        result: &serde_json::Value,
        replies: &[OutgoingMessage],
    ) -> impl Future<Output = Result<bool>> + Send;

    /// The stored heads of `peer`, smallest first.
    fn peer_heads(&self, peer: &str) -> impl Future<Output = Result<Vec<PeerHead>>> + Send;

    /// Up to `limit` outbox rows with an outcome and inbox rows that are not on the ledger yet, oldest first.
    fn fed_unledgered(&self, limit: u32) -> impl Future<Output = Result<Unledgered>> + Send;

    /// Marks rows as recorded on the ledger.
    fn fed_mark_ledgered(
        &self,
        sent: &[Uuid],
        received: &[Uuid],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Row counts.
    fn fed_counts(&self) -> impl Future<Output = Result<FederationCounts>> + Send;
}

/// A time as stored: milliseconds since the Unix epoch.
pub(crate) fn to_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored time back.
pub(crate) fn from_ms(ms: i64, what: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_err(|err| {
        Error::Corrupt {
            what: what.to_owned(),
            reason: format!("time {ms}: {err}"),
        }
    })
}

/// A stored message id back.
pub(crate) fn parse_id(id: &str, what: &str) -> Result<Uuid> {
    Uuid::parse_str(id).map_err(|err| Error::Corrupt {
        what: what.to_owned(),
        reason: format!("message id {id:?}: {err}"),
    })
}

/// The stored columns of an outbox row.
pub(crate) type OutboxColumns = (
    String,
    String,
    String,
    Vec<u8>,
    i64,
    i64,
    i64,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// The column list matching [`OutboxColumns`].
pub(crate) const OUTBOX_COLUMNS: &str = "id, recipient, kind, envelope, created_at, attempts, \
     next_attempt_at, last_error, delivered_at, failed_at";

pub(crate) fn outbox_row(row: OutboxColumns) -> Result<OutboxRow> {
    let (id, recipient, kind, envelope, created, attempts, next, last_error, delivered, failed) =
        row;
    let what = "fed_outbox";
    let delivered_at = delivered.map(|ms| from_ms(ms, what)).transpose()?;
    let failed_at = failed.map(|ms| from_ms(ms, what)).transpose()?;
    let status = if delivered_at.is_some() {
        OutboxStatus::Delivered
    } else if failed_at.is_some() {
        OutboxStatus::Failed
    } else {
        OutboxStatus::Pending
    };
    Ok(OutboxRow {
        id: parse_id(&id, what)?,
        recipient,
        kind,
        envelope,
        created_at: from_ms(created, what)?,
        attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
        next_attempt_at: from_ms(next, what)?,
        last_error,
        delivered_at,
        failed_at,
        status,
    })
}

/// The stored columns of an inbox row.
pub(crate) type InboxColumns = (String, String, String, Vec<u8>, i64, String, i64);

/// The column list matching [`InboxColumns`].
pub(crate) const INBOX_COLUMNS: &str = "id, sender, kind, envelope, received_at, result, ledgered";

pub(crate) fn inbox_row(row: InboxColumns) -> Result<InboxRow> {
    let (id, sender, kind, envelope, received, result, ledgered) = row;
    let what = "fed_inbox";
    Ok(InboxRow {
        id: parse_id(&id, what)?,
        sender,
        kind,
        envelope,
        received_at: from_ms(received, what)?,
        result: serde_json::from_str(&result).map_err(|err| Error::Corrupt {
            what: format!("fed_inbox {id} result"),
            reason: err.to_string(),
        })?,
        ledgered: ledgered != 0,
    })
}

/// Which inbox rows a listing reads, and in what order.
#[derive(Clone, Copy, Debug)]
pub(crate) enum InboxSelection {
    /// Every row, newest first ([`FederationStore::inbox_list`]).
    Latest,
    /// Rows whose effect is pending, oldest first ([`FederationStore::inbox_pending`]).
    PendingOldest,
}

impl InboxSelection {
    /// The `WHERE` and `ORDER BY` clauses (the same on both backends).
    pub(crate) fn sql(self) -> &'static str {
        match self {
            InboxSelection::Latest => "ORDER BY received_at DESC, id DESC",
            InboxSelection::PendingOldest => "WHERE pending = 1 ORDER BY received_at, id",
        }
    }
}

/// The stored columns of a peer head.
pub(crate) type PeerHeadColumns = (String, i64, String, String, String, i64);

pub(crate) fn peer_head_row(row: PeerHeadColumns) -> Result<PeerHead> {
    let (peer, size, root, head, cosignature, received) = row;
    Ok(PeerHead {
        peer,
        size: crate::ledger::to_u64(size, "fed_peer_heads size")?,
        root,
        head,
        cosignature,
        received_at: from_ms(received, "fed_peer_heads")?,
    })
}

/// Drops messages of a batch whose id came earlier in the same batch.
pub(crate) fn first_of_each_id(
    batch: Vec<(IncomingMessage, InboxEffect)>,
) -> Vec<(IncomingMessage, InboxEffect)> {
    let mut seen = std::collections::HashSet::with_capacity(batch.len());
    batch
        .into_iter()
        .filter(|(message, _)| seen.insert(message.id))
        .collect()
}

pub(crate) fn counts(row: (i64, i64, i64, i64, i64)) -> FederationCounts {
    let n = |v: i64| u64::try_from(v).unwrap_or(0);
    FederationCounts {
        outbox_pending: n(row.0),
        outbox_delivered: n(row.1),
        outbox_failed: n(row.2),
        inbox: n(row.3),
        peer_heads: n(row.4),
    }
}

/// The SQL of [`FederationStore::fed_counts`] (the same on both backends).
pub(crate) const COUNTS_SQL: &str = "SELECT \
    (SELECT count(*) FROM fed_outbox WHERE delivered_at IS NULL AND failed_at IS NULL), \
    (SELECT count(*) FROM fed_outbox WHERE delivered_at IS NOT NULL), \
    (SELECT count(*) FROM fed_outbox WHERE failed_at IS NOT NULL), \
    (SELECT count(*) FROM fed_inbox), \
    (SELECT count(*) FROM fed_peer_heads)";

macro_rules! delegate {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call,
            AnyStore::Postgres($s) => $call,
        }
    };
}

impl FederationStore for AnyStore {
    async fn outbox_enqueue(&self, messages: &[OutgoingMessage]) -> Result<()> {
        delegate!(self, s => s.outbox_enqueue(messages).await)
    }

    async fn outbox_due(&self, now: OffsetDateTime, per_recipient: u32) -> Result<Vec<OutboxRow>> {
        delegate!(self, s => s.outbox_due(now, per_recipient).await)
    }

    async fn outbox_next_due(&self) -> Result<Option<OffsetDateTime>> {
        delegate!(self, s => s.outbox_next_due().await)
    }

    async fn outbox_pending_counts(&self, now: OffsetDateTime) -> Result<Vec<PendingCount>> {
        delegate!(self, s => s.outbox_pending_counts(now).await)
    }

    async fn outbox_ack(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<u64> {
        delegate!(self, s => s.outbox_ack(ids, at).await)
    }

    async fn outbox_retry(
        &self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<()> {
        delegate!(self, s => s.outbox_retry(id, next_attempt_at, error).await)
    }

    async fn outbox_fail(&self, id: Uuid, error: &str, at: OffsetDateTime) -> Result<()> {
        delegate!(self, s => s.outbox_fail(id, error, at).await)
    }

    async fn outbox_list(&self, limit: u32) -> Result<Vec<OutboxRow>> {
        delegate!(self, s => s.outbox_list(limit).await)
    }

    async fn inbox_accept(&self, batch: Vec<(IncomingMessage, InboxEffect)>) -> Result<Vec<Uuid>> {
        delegate!(self, s => s.inbox_accept(batch).await)
    }

    async fn inbox_list(&self, limit: u32) -> Result<Vec<InboxRow>> {
        delegate!(self, s => s.inbox_list(limit).await)
    }

    async fn inbox_pending(&self, limit: u32) -> Result<Vec<InboxRow>> {
        delegate!(self, s => s.inbox_pending(limit).await)
    }

    async fn inbox_complete(
        &self,
        id: Uuid,
        result: &serde_json::Value,
        replies: &[OutgoingMessage],
    ) -> Result<bool> {
        delegate!(self, s => s.inbox_complete(id, result, replies).await)
    }

    async fn peer_heads(&self, peer: &str) -> Result<Vec<PeerHead>> {
        delegate!(self, s => s.peer_heads(peer).await)
    }

    async fn fed_unledgered(&self, limit: u32) -> Result<Unledgered> {
        delegate!(self, s => s.fed_unledgered(limit).await)
    }

    async fn fed_mark_ledgered(&self, sent: &[Uuid], received: &[Uuid]) -> Result<()> {
        delegate!(self, s => s.fed_mark_ledgered(sent, received).await)
    }

    async fn fed_counts(&self) -> Result<FederationCounts> {
        delegate!(self, s => s.fed_counts().await)
    }
}

impl AnyStore {
    /// Marks the pending messages among `delivered` acknowledged at `at`
    /// and appends, signed with `key`, the ledger entry given with each of
    /// them that was pending, in one transaction; those rows are stored as
    /// recorded on the ledger. Returns the ids that were pending.
    pub async fn outbox_ack_recorded(
        &self,
        delivered: Vec<(Uuid, NewEntry)>,
        at: OffsetDateTime,
        key: &NodeKey,
    ) -> Result<Vec<Uuid>> {
        if delivered.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = delivered.iter().map(|(id, _)| *id).collect();
        let pick = |acked: &[Uuid], delivered: Vec<(Uuid, NewEntry)>| -> Vec<NewEntry> {
            let acked: std::collections::HashSet<&Uuid> = acked.iter().collect();
            delivered
                .into_iter()
                .filter(|(id, _)| acked.contains(id))
                .map(|(_, entry)| entry)
                .collect()
        };
        match self {
            AnyStore::Sqlite(s) => {
                let mut tx = s.write_pool().begin_with("BEGIN IMMEDIATE").await?;
                let acked = SqliteStore::outbox_ack_in(&mut tx, &ids, at, true).await?;
                let entries = pick(&acked, delivered);
                if !entries.is_empty() {
                    crate::ledger::sqlite::append_in(s, &mut tx, entries, key).await?;
                }
                tx.commit().await?;
                Ok(acked)
            }
            AnyStore::Postgres(s) => {
                let mut tx = s.pool().begin().await?;
                crate::ledger::postgres::lock_appends(&mut tx).await?;
                let acked = PgStore::outbox_ack_in(&mut tx, &ids, at, true).await?;
                let entries = pick(&acked, delivered);
                if !entries.is_empty() {
                    crate::ledger::postgres::append_in(&mut tx, entries, key).await?;
                }
                tx.commit().await?;
                Ok(acked)
            }
        }
    }
}

// Both backends implement the trait in their own submodule.
const _: fn() = || {
    fn assert_impl<T: FederationStore>() {}
    assert_impl::<SqliteStore>();
    assert_impl::<PgStore>();
};

/// The federation tables, written once for both backends: `$store` is the store
/// type and `$db` its sqlx database. Each backend module invokes it and adds
/// `federation_begin`, its write transaction.
macro_rules! federation_impl {
    ($store:ty, $db:ty) => {
        use sqlx::QueryBuilder;
        use time::OffsetDateTime;
        use uuid::Uuid;

        use crate::federation::{
            COUNTS_SQL, FED_ROWS_PER_STATEMENT, FederationCounts, FederationStore, INBOX_COLUMNS,
            InboxColumns, InboxEffect, InboxRow, InboxSelection, IncomingMessage, OUTBOX_COLUMNS,
            OutboxColumns, OutboxRow, OutgoingMessage, PeerHead, PeerHeadColumns, PendingCount,
            Unledgered,
            counts, first_of_each_id, inbox_row, outbox_row, peer_head_row, to_ms,
        };
        use crate::ledger::to_i64;
        use crate::Result;

        impl $store {
            /// Enqueues `messages` inside the caller's open transaction, so that the
            /// change that caused them and the messages commit (or roll back) together.
            /// An id already in the outbox is left as it is.
            pub async fn outbox_enqueue_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                messages: &[OutgoingMessage],
            ) -> Result<()> {
                for chunk in messages.chunks(FED_ROWS_PER_STATEMENT) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO fed_outbox (id, recipient, kind, envelope, created_at, next_attempt_at) ",
                    );
                    insert.push_values(chunk, |mut b, m| {
                        b.push_bind(m.id.to_string())
                            .push_bind(m.recipient.clone())
                            .push_bind(m.kind.clone())
                            .push_bind(m.envelope.clone())
                            .push_bind(to_ms(m.created_at))
                            .push_bind(to_ms(m.created_at));
                    });
                    insert.push(" ON CONFLICT (id) DO NOTHING");
                    insert.build().execute(&mut *conn).await?;
                }
                Ok(())
            }

            /// Marks the pending messages among `ids` acknowledged at `at`
            /// inside the caller's open transaction (`ledgered`: and recorded
            /// on the ledger); returns the ids that were pending.
            pub(crate) async fn outbox_ack_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                ids: &[Uuid],
                at: OffsetDateTime,
                ledgered: bool,
            ) -> Result<Vec<Uuid>> {
                let mut acked = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(FED_ROWS_PER_STATEMENT) {
                    let mut update = QueryBuilder::<$db>::new("UPDATE fed_outbox SET delivered_at = ");
                    update
                        .push_bind(to_ms(at))
                        .push(", last_error = NULL, ledgered = ")
                        .push_bind(i64::from(ledgered))
                        .push(" WHERE delivered_at IS NULL AND failed_at IS NULL AND id IN (");
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(id.to_string());
                    }
                    update.push(") RETURNING id");
                    let rows: Vec<String> = update.build_query_scalar().fetch_all(&mut *conn).await?;
                    for id in rows {
                        acked.push(crate::federation::parse_id(&id, "fed_outbox")?);
                    }
                }
                Ok(acked)
            }

            /// Stores each message of `batch` (first of each id) whose id is
            /// new with its effect, inside the caller's open write transaction;
            /// returns the ids that were new, in batch order. `ledgered`: the
            /// rows are stored as recorded on the ledger (the caller appends their
            /// `message-received` entries in the same transaction).
            pub(crate) async fn inbox_accept_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                batch: Vec<(IncomingMessage, InboxEffect)>,
                ledgered: bool,
            ) -> Result<Vec<Uuid>> {
                let batch = first_of_each_id(batch);
                let mut new_ids = std::collections::HashSet::new();
                for chunk in batch.chunks(FED_ROWS_PER_STATEMENT) {
                    let mut insert = QueryBuilder::<$db>::new(
                        "INSERT INTO fed_inbox (id, sender, kind, envelope, received_at, result, pending, ledgered) ",
                    );
                    insert.push_values(chunk, |mut b, (m, effect)| {
                        b.push_bind(m.id.to_string())
                            .push_bind(m.sender.clone())
                            .push_bind(m.kind.clone())
                            .push_bind(m.envelope.clone())
                            .push_bind(to_ms(m.received_at))
                            .push_bind(effect.result.to_string())
                            .push_bind(i64::from(effect.pending))
                            .push_bind(i64::from(ledgered));
                    });
                    insert.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
                    let ids: Vec<String> = insert.build_query_scalar().fetch_all(&mut *conn).await?;
                    new_ids.extend(ids);
                }
                let mut accepted = Vec::with_capacity(new_ids.len());
                let mut replies = Vec::new();
                let mut heads = Vec::new();
                for (message, effect) in batch {
                    if new_ids.contains(&message.id.to_string()) {
                        accepted.push(message.id);
                        replies.extend(effect.replies);
                        heads.extend(effect.peer_head);
                    }
                }
                <$store>::outbox_enqueue_in(&mut *conn, &replies).await?;
                insert_heads(&mut *conn, &heads).await?;
                Ok(accepted)
            }
        }

        impl $store {
            /// Up to `limit` inbox rows of `selection`, in its order.
            async fn inbox_select(&self, selection: InboxSelection, limit: u32) -> Result<Vec<InboxRow>> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {INBOX_COLUMNS} FROM fed_inbox {} LIMIT ",
                    selection.sql()
                ));
                q.push_bind(i64::from(limit));
                let rows: Vec<InboxColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                rows.into_iter().map(inbox_row).collect()
            }

            /// Counts a failed delivery attempt of a pending message and sets
            /// `column` (`next_attempt_at`: retry then; `failed_at`: give up).
            async fn outbox_attempt_failed(
                &self,
                id: Uuid,
                column: &'static str,
                at: OffsetDateTime,
                error: &str,
            ) -> Result<()> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "UPDATE fed_outbox SET attempts = attempts + 1, {column} = "
                ));
                q.push_bind(to_ms(at))
                    .push(", last_error = ")
                    .push_bind(error.to_owned())
                    .push(" WHERE id = ")
                    .push_bind(id.to_string())
                    .push(" AND delivered_at IS NULL AND failed_at IS NULL");
                q.build().execute(self.write_pool()).await?;
                Ok(())
            }
        }

        impl FederationStore for $store {
            async fn outbox_enqueue(&self, messages: &[OutgoingMessage]) -> Result<()> {
                if messages.is_empty() {
                    return Ok(());
                }
                let mut tx = self.federation_begin().await?;
                <$store>::outbox_enqueue_in(&mut tx, messages).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn outbox_due(&self, now: OffsetDateTime, per_recipient: u32) -> Result<Vec<OutboxRow>> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {OUTBOX_COLUMNS} FROM (SELECT *, row_number() OVER \
                     (PARTITION BY recipient ORDER BY created_at, id) AS rank FROM fed_outbox \
                     WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= "
                ));
                q.push_bind(to_ms(now))
                    .push(") AS due WHERE rank <= ")
                    .push_bind(i64::from(per_recipient))
                    .push(" ORDER BY recipient, created_at, id");
                let rows: Vec<OutboxColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                rows.into_iter().map(outbox_row).collect()
            }

            async fn outbox_next_due(&self) -> Result<Option<OffsetDateTime>> {
                let next: Option<i64> = sqlx::query_scalar(
                    "SELECT min(next_attempt_at) FROM fed_outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
                )
                .fetch_one(self.pool())
                .await?;
                next.map(|ms| crate::federation::from_ms(ms, "fed_outbox")).transpose()
            }

            async fn outbox_pending_counts(&self, now: OffsetDateTime) -> Result<Vec<PendingCount>> {
                let now_ms = to_ms(now);
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT recipient, CAST(sum(CASE WHEN next_attempt_at <= ",
                );
                q.push_bind(now_ms)
                    .push(" THEN 1 ELSE 0 END) AS BIGINT), min(CASE WHEN next_attempt_at > ")
                    .push_bind(now_ms)
                    .push(
                        " THEN next_attempt_at END) FROM fed_outbox \
                         WHERE delivered_at IS NULL AND failed_at IS NULL GROUP BY recipient",
                    );
                let rows: Vec<(String, i64, Option<i64>)> =
                    q.build_query_as().fetch_all(self.pool()).await?;
                rows.into_iter()
                    .map(|(recipient, due, next)| {
                        Ok(PendingCount {
                            recipient,
                            due: u64::try_from(due).unwrap_or(0),
                            next_due: next
                                .map(|ms| crate::federation::from_ms(ms, "fed_outbox"))
                                .transpose()?,
                        })
                    })
                    .collect()
            }

            async fn outbox_ack(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<u64> {
                let mut n_acked = 0;
                for chunk in ids.chunks(FED_ROWS_PER_STATEMENT) {
                    let mut update = QueryBuilder::<$db>::new("UPDATE fed_outbox SET delivered_at = ");
                    update.push_bind(to_ms(at)).push(
                        ", last_error = NULL WHERE delivered_at IS NULL AND failed_at IS NULL AND id IN (",
                    );
                    let mut list = update.separated(", ");
                    for id in chunk {
                        list.push_bind(id.to_string());
                    }
                    update.push(")");
                    n_acked += update.build().execute(self.write_pool()).await?.rows_affected();
                }
                Ok(n_acked)
            }

            async fn outbox_retry(
                &self,
                id: Uuid,
                next_attempt_at: OffsetDateTime,
                error: &str,
            ) -> Result<()> {
                self.outbox_attempt_failed(id, "next_attempt_at", next_attempt_at, error)
                    .await
            }

            async fn outbox_fail(&self, id: Uuid, error: &str, at: OffsetDateTime) -> Result<()> {
                self.outbox_attempt_failed(id, "failed_at", at, error).await
            }

            async fn outbox_list(&self, limit: u32) -> Result<Vec<OutboxRow>> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {OUTBOX_COLUMNS} FROM fed_outbox ORDER BY created_at DESC, id DESC LIMIT "
                ));
                q.push_bind(i64::from(limit));
                let rows: Vec<OutboxColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                rows.into_iter().map(outbox_row).collect()
            }

            async fn inbox_accept(&self, batch: Vec<(IncomingMessage, InboxEffect)>) -> Result<Vec<Uuid>> {
                let batch = first_of_each_id(batch);
                if batch.is_empty() {
                    return Ok(Vec::new());
                }
                // The write lock (SQLite) or the insert's row locks (PostgreSQL: a
                // concurrent insert of the same id waits, then does nothing) decide
                // "is it new?" and apply the effect once.
                let mut tx = self.federation_begin().await?;
                let accepted = <$store>::inbox_accept_in(&mut tx, batch, false).await?;
                tx.commit().await?;
                Ok(accepted)
            }

            async fn inbox_list(&self, limit: u32) -> Result<Vec<InboxRow>> {
                self.inbox_select(InboxSelection::Latest, limit).await
            }

            async fn inbox_pending(&self, limit: u32) -> Result<Vec<InboxRow>> {
                self.inbox_select(InboxSelection::PendingOldest, limit).await
            }

            async fn inbox_complete(
                &self,
                id: Uuid,
                result: &serde_json::Value,
                replies: &[OutgoingMessage],
            ) -> Result<bool> {
                let mut tx = self.federation_begin().await?;
                let mut update = QueryBuilder::<$db>::new("UPDATE fed_inbox SET pending = 0, result = ");
                update
                    .push_bind(result.to_string())
                    .push(" WHERE pending = 1 AND id = ")
                    .push_bind(id.to_string());
                let completed = update.build().execute(&mut *tx).await?.rows_affected() == 1;
                if completed {
                    <$store>::outbox_enqueue_in(&mut tx, replies).await?;
                }
                tx.commit().await?;
                Ok(completed)
            }

            async fn peer_heads(&self, peer: &str) -> Result<Vec<PeerHead>> {
                let mut q = QueryBuilder::<$db>::new(
                    "SELECT peer, size, root, head, cosignature, received_at FROM fed_peer_heads WHERE peer = ",
                );
                q.push_bind(peer.to_owned()).push(" ORDER BY size");
                let rows: Vec<PeerHeadColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                rows.into_iter().map(peer_head_row).collect()
            }

            async fn fed_unledgered(&self, limit: u32) -> Result<Unledgered> {
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {OUTBOX_COLUMNS} FROM fed_outbox WHERE ledgered = 0 AND \
                     (delivered_at IS NOT NULL OR failed_at IS NOT NULL) ORDER BY created_at, id LIMIT "
                ));
                q.push_bind(i64::from(limit));
                let sent: Vec<OutboxColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                let mut q = QueryBuilder::<$db>::new(format!(
                    "SELECT {INBOX_COLUMNS} FROM fed_inbox WHERE ledgered = 0 ORDER BY received_at, id LIMIT "
                ));
                q.push_bind(i64::from(limit));
                let received: Vec<InboxColumns> = q.build_query_as().fetch_all(self.pool()).await?;
                Ok(Unledgered {
                    sent: sent.into_iter().map(outbox_row).collect::<Result<_>>()?,
                    received: received.into_iter().map(inbox_row).collect::<Result<_>>()?,
                })
            }

            async fn fed_mark_ledgered(&self, sent: &[Uuid], received: &[Uuid]) -> Result<()> {
                let mut tx = self.federation_begin().await?;
                for (table, ids) in [("fed_outbox", sent), ("fed_inbox", received)] {
                    for chunk in ids.chunks(FED_ROWS_PER_STATEMENT) {
                        let mut update = QueryBuilder::<$db>::new(format!(
                            "UPDATE {table} SET ledgered = 1 WHERE id IN ("
                        ));
                        let mut list = update.separated(", ");
                        for id in chunk {
                            list.push_bind(id.to_string());
                        }
                        update.push(")");
                        update.build().execute(&mut *tx).await?;
                    }
                }
                tx.commit().await?;
                Ok(())
            }

            async fn fed_counts(&self) -> Result<FederationCounts> {
                let row: (i64, i64, i64, i64, i64) =
                    sqlx::query_as(COUNTS_SQL).fetch_one(self.pool()).await?;
                Ok(counts(row))
            }
        }

        async fn insert_heads(conn: &mut <$db as sqlx::Database>::Connection, heads: &[PeerHead]) -> Result<()> {
            for chunk in heads.chunks(FED_ROWS_PER_STATEMENT) {
                let mut insert = QueryBuilder::<$db>::new(
                    "INSERT INTO fed_peer_heads (peer, size, root, head, cosignature, received_at) ",
                );
                insert.push_values(chunk, |mut b, h| {
                    b.push_bind(h.peer.clone())
                        .push_bind(to_i64(h.size))
                        .push_bind(h.root.clone())
                        .push_bind(h.head.clone())
                        .push_bind(h.cosignature.clone())
                        .push_bind(to_ms(h.received_at));
                });
                // A head seen again (same peer and size) keeps its first cosignature.
                insert.push(" ON CONFLICT (peer, size) DO NOTHING");
                insert.build().execute(&mut *conn).await?;
            }
            Ok(())
        }
    };
}
pub(crate) use federation_impl;
