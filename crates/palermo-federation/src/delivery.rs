//! The sender: delivers due outbox rows until each is acknowledged.
//!
//! The loop reads due rows ([`palermo_store::FederationStore::outbox_due`]),
//! groups them per recipient (up to `batch_size` per POST; one POST in flight
//! per recipient, or up to [`POSTS_IN_FLIGHT`] while a backlog fills whole
//! batches, so that transfer and the receiver's commits overlap; never the
//! same row in two of them; recipients in parallel) and posts them over
//! mutual TLS
//! (reqwest with [`crate::tls::client_config`]). While POSTs are in flight,
//! a wake-up first asks per-recipient counts
//! ([`palermo_store::FederationStore::outbox_pending_counts`]) and reads the
//! rows only when they could start another POST; the wake-ups of
//! [`COUNTS_INTERVAL`] after a count share the next one. Before reading the
//! rows to start a POST, it waits (at most [`GATHER`]) for hit queries that
//! are being enqueued at that moment, so that they leave together. Per
//! envelope, the answer is:
//! - `accepted` / `duplicate` → acknowledged (`delivered`);
//! - `rejected` → given up with the code and message (never retried);
//! - a batch refused as too large (413) → sent again in halves; a single
//!   message refused as too large is given up;
//! - no answer (connection refused, timeout, 5xx, the peer not in the
//!   directory) → retried after `retry_base · 2^attempts` (at most
//!   `retry_max`), scaled by a random factor in [0.5, 1) so that many
//!   senders do not retry in lockstep.
//!
//! A row is only marked after the answer, so a sender killed mid-delivery
//! sends it again after restart; the receiver's inbox makes that harmless.
//! A POST is in flight until its answer arrives: the next POST to that
//! recipient may start while the rows of the last one are being marked
//! (they are not read again until then).
//! Acknowledged rows are marked with their `message-sent` ledger entries in
//! one transaction (`AnyStore::outbox_ack_recorded`); the recorder records
//! the rows given up.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use palermo_store::{FederationStore, OutboxRow};
use reqwest::StatusCode;
use time::OffsetDateTime;
use tokio::sync::watch;
use tokio::task::JoinSet;
use uuid::Uuid;

use crate::node::{NodeError, Shared, stopped};
use crate::peer::{AckStatus, BatchReply, MESSAGES_PATH};

/// Most POSTs in flight to one recipient at a time.
pub const POSTS_IN_FLIGHT: usize = 3;

/// How often the sender looks at the outbox when nothing wakes it.
const IDLE_POLL: Duration = Duration::from_millis(250);

/// Shortest time between two reads of the outbox's counts while POSTs are
/// in flight: the wake-ups of that time (one per message or group of
/// messages enqueued) are answered by one read. A POST ending reads the
/// due rows at once whatever this says.
const COUNTS_INTERVAL: Duration = Duration::from_millis(2);

/// Longest time the sender waits, before reading the due rows to start a
/// POST, for messages being enqueued at that moment (hit queries between
/// [`crate::Node::send_query`]'s start and its commit), so that they leave
/// in this POST rather than the next. It waits only while some are being
/// enqueued: a lone message leaves at once.
const GATHER: Duration = Duration::from_millis(2);

/// The HTTP client of a node: presents its certificate, trusts only the anchor's CA.
pub fn client(
    identity: &crate::NodeIdentity,
    timeout: Duration,
) -> Result<reqwest::Client, crate::Error> {
    let mut config = (*crate::tls::client_config(identity)?).clone();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .use_preconfigured_tls(config)
        .connect_timeout(Duration::from_secs(2))
        .timeout(timeout)
        .build()
        .map_err(|err| crate::Error::Tls(format!("HTTP client: {err}")))
}

pub(crate) async fn sender_loop(
    shared: Arc<Shared>,
    stop: watch::Receiver<bool>,
) -> Result<(), NodeError> {
    let client = client(&shared.identity, shared.config.request_timeout)?;
    // Each task returns its recipient, the rows it posted and its POST's token.
    let mut in_flight: JoinSet<(String, Vec<Uuid>, u64)> = JoinSet::new();
    // Per recipient: POSTs open (not answered yet) and the rows of the
    // tasks not finished (answered rows stay here until marked).
    let mut posts: HashMap<String, (usize, usize)> = HashMap::new();
    let mut posted: HashSet<Uuid> = HashSet::new();
    // The POSTs not answered yet, by token: a task releases its POST when
    // the answer arrives (`Release`), before it marks the rows.
    let mut open: HashMap<u64, String> = HashMap::new();
    let mut next_token: u64 = 0;
    let (release_tx, mut release_rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
    let stop_fut = stopped(stop.clone());
    tokio::pin!(stop_fut);
    // When the counts were last read while POSTs were in flight.
    let mut counted_at: Option<tokio::time::Instant> = None;
    loop {
        while let Some(done) = in_flight.try_join_next() {
            if let Ok(done) = done {
                settle(done, &mut posts, &mut posted, &mut open);
            }
        }
        while let Ok(token) = release_rx.try_recv() {
            release(token, &mut posts, &mut open);
        }
        if !in_flight.is_empty()
            && !*stop.borrow()
            && let Some(at) = counted_at
            && at.elapsed() < COUNTS_INTERVAL
        {
            // Woken again soon after the last count: the wake-ups until
            // the interval ends share the next read (a POST ending, or a
            // stop, ends the wait at once).
            tokio::select! {
                _ = stopped(stop.clone()) => {}
                Some(done) = in_flight.join_next() => {
                    if let Ok(done) = done {
                        settle(done, &mut posts, &mut posted, &mut open);
                    }
                    // A POST ended: the next pass reads at once.
                    counted_at = None;
                }
                Some(token) = release_rx.recv() => {
                    release(token, &mut posts, &mut open);
                    // A POST was answered: the next pass reads at once.
                    counted_at = None;
                }
                _ = tokio::time::sleep_until(at + COUNTS_INTERVAL) => {}
            }
            continue;
        }
        if *stop.borrow() {
            // A clean stop lets POSTs in flight finish (each is bounded by the
            // request timeout): aborting one could leave its outcome being
            // written after the ledger recorder's last pass. A crash instead
            // leaves the rows pending, and they are sent again on the next run.
            while in_flight.join_next().await.is_some() {}
            return Ok(());
        }
        if open.is_empty() {
            gather(&shared, &stop).await;
        }
        // Taken after the gathering, so that the rows it waited for are due.
        let now = OffsetDateTime::now_utc();
        let mut n_started = 0;
        let batch = shared.config.batch_size as usize;
        // While POSTs are in flight, counts (one small statement, no
        // envelopes) say whether reading the due rows could start another;
        // every message enqueued meanwhile woke the sender into reading them
        // all, the posted ones included, and a wait of 5 ms for the posted
        // rows, which are due (a read and a poll per query under load).
        let mut next_due: Option<Option<OffsetDateTime>> = None;
        let read = if in_flight.is_empty() {
            true
        } else {
            counted_at = Some(tokio::time::Instant::now());
            match shared.store.outbox_pending_counts(now).await {
                Ok(counts) => {
                    next_due = Some(counts.iter().filter_map(|c| c.next_due).min());
                    counts.iter().any(|c| {
                        let (n_posts, n_rows) = posts.get(&c.recipient).copied().unwrap_or((0, 0));
                        let unposted = usize::try_from(c.due)
                            .unwrap_or(usize::MAX)
                            .saturating_sub(n_rows);
                        match n_posts {
                            0 => unposted > 0,
                            n => n < POSTS_IN_FLIGHT && unposted >= batch,
                        }
                    })
                }
                Err(_) => true,
            }
        };
        // Rows already posted are still due until answered: read past them.
        let limit = batch * (POSTS_IN_FLIGHT + 1);
        let due = if read {
            shared
                .store
                .outbox_due(now, u32::try_from(limit).unwrap_or(u32::MAX))
                .await
        } else {
            Ok(Vec::new())
        };
        match due {
            Ok(rows) => {
                let mut by_recipient: HashMap<String, Vec<OutboxRow>> = HashMap::new();
                for row in rows {
                    if !posted.contains(&row.id) {
                        by_recipient
                            .entry(row.recipient.clone())
                            .or_default()
                            .push(row);
                    }
                }
                for (recipient, mut rows) in by_recipient {
                    loop {
                        let n = posts.get(&recipient).map_or(0, |(n, _)| *n);
                        // A second POST only for a backlog (a full batch):
                        // a trickle keeps one POST at a time, so that
                        // concurrent commits at the receiver add no latency.
                        let start = match n {
                            0 => !rows.is_empty(),
                            n => n < POSTS_IN_FLIGHT && rows.len() >= batch,
                        };
                        if !start {
                            break;
                        }
                        let rest = rows.split_off(rows.len().min(batch));
                        let chunk = std::mem::replace(&mut rows, rest);
                        let ids: Vec<Uuid> = chunk.iter().map(|r| r.id).collect();
                        posted.extend(ids.iter().copied());
                        let entry = posts.entry(recipient.clone()).or_default();
                        entry.0 += 1;
                        entry.1 += ids.len();
                        n_started += 1;
                        let token = next_token;
                        next_token += 1;
                        open.insert(token, recipient.clone());
                        let shared = shared.clone();
                        let client = client.clone();
                        let recipient = recipient.clone();
                        let release = Release {
                            tx: release_tx.clone(),
                            token,
                        };
                        in_flight.spawn(async move {
                            deliver(&shared, &client, &recipient, chunk, Some(release)).await;
                            (recipient, ids, token)
                        });
                    }
                }
            }
            Err(err) => tracing::warn!(error = %err, "reading the outbox failed"),
        }
        if n_started > 0 {
            continue;
        }
        // Known from the counts when they were read (only rows not due yet:
        // the due ones are posted, or wait for a POST to end).
        let next_due = match next_due {
            Some(next) => Ok(next),
            None => shared.store.outbox_next_due().await,
        };
        let wait = match next_due {
            Ok(Some(next)) => {
                let until = (next - OffsetDateTime::now_utc()).max(time::Duration::milliseconds(5));
                Duration::try_from(until)
                    .unwrap_or(IDLE_POLL)
                    .min(IDLE_POLL)
            }
            _ => IDLE_POLL,
        };
        tokio::select! {
            _ = &mut stop_fut => {}
            _ = shared.outbox_wake.notified() => {}
            Some(done) = in_flight.join_next(), if !in_flight.is_empty() => {
                if let Ok(done) = done {
                    settle(done, &mut posts, &mut posted, &mut open);
                }
            }
            Some(token) = release_rx.recv() => {
                release(token, &mut posts, &mut open);
            }
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

/// Waits (at most [`GATHER`]) while messages are being enqueued, so that
/// the POST about to start takes them too; returns at once when none are.
async fn gather(shared: &Shared, stop: &watch::Receiver<bool>) {
    let until = tokio::time::Instant::now() + GATHER;
    while shared.enqueuing.load(std::sync::atomic::Ordering::Acquire) > 0
        && tokio::time::Instant::now() < until
        && !*stop.borrow()
    {
        tokio::select! {
            _ = shared.outbox_wake.notified() => {}
            _ = tokio::time::sleep_until(until) => {}
        }
    }
}

/// Lets a POST's task say that its POST was answered, so that the next
/// POST to that recipient may start while the task marks the rows: the
/// acknowledgement's transaction (the rows and their `message-sent`
/// entries, a signed tree head) used to hold the recipient's only POST
/// slot, so every POST round waited for it on top of the peer's answer.
struct Release {
    tx: tokio::sync::mpsc::UnboundedSender<u64>,
    token: u64,
}

impl Release {
    fn send(self) {
        // The loop outlives its tasks; a closed channel means it stopped.
        let _ = self.tx.send(self.token);
    }
}

/// A POST was answered: one fewer open to its recipient (its rows stay
/// posted until the task that marks them ends).
fn release(
    token: u64,
    posts: &mut HashMap<String, (usize, usize)>,
    open: &mut HashMap<u64, String>,
) {
    if let Some(recipient) = open.remove(&token)
        && let Some((n_posts, _)) = posts.get_mut(&recipient)
    {
        *n_posts = n_posts.saturating_sub(1);
    }
}

/// Forgets a finished POST task: its POST is no longer open (if it did not
/// say so earlier), its rows may be read again (they are settled, or due
/// for a retry).
fn settle(
    (recipient, ids, token): (String, Vec<Uuid>, u64),
    posts: &mut HashMap<String, (usize, usize)>,
    posted: &mut HashSet<Uuid>,
    open: &mut HashMap<u64, String>,
) {
    release(token, posts, open);
    if let Some((_, n_rows)) = posts.get_mut(&recipient) {
        *n_rows = n_rows.saturating_sub(ids.len());
    }
    for id in ids {
        posted.remove(&id);
    }
}

/// Posts `rows` to `recipient` and records the outcome of each; says so on
/// `release` once the recipient answered, before marking the rows.
async fn deliver(
    shared: &Shared,
    client: &reqwest::Client,
    recipient: &str,
    rows: Vec<OutboxRow>,
    release: Option<Release>,
) {
    let now = OffsetDateTime::now_utc();
    let endpoint = shared.directory.read().ok().and_then(|d| {
        d.directory
            .admit(recipient, now)
            .ok()
            .map(|m| m.endpoint.clone())
    });
    let Some(endpoint) = endpoint else {
        retry_all(
            shared,
            &rows,
            &format!("{recipient} is not a current member of the federation directory"),
        )
        .await;
        return;
    };
    let url = format!("{}{MESSAGES_PATH}", endpoint.trim_end_matches('/'));
    let mut body = Vec::with_capacity(rows.iter().map(|r| r.envelope.len() + 1).sum::<usize>() + 2);
    body.push(b'[');
    for (idx, row) in rows.iter().enumerate() {
        if idx > 0 {
            body.push(b',');
        }
        body.extend_from_slice(&row.envelope);
    }
    body.push(b']');
    let response = client
        .post(&url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let response = match response {
        Ok(response) => response,
        Err(err) => {
            retry_all(shared, &rows, &format!("POST {url}: {}", error_chain(&err))).await;
            return;
        }
    };
    let status = response.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE && rows.len() > 1 {
        // The batch is too large as a whole: send it in halves.
        let mut rows = rows;
        let right = rows.split_off(rows.len() / 2);
        // The halves go one after the other in this POST's slot.
        Box::pin(deliver(shared, client, recipient, rows, None)).await;
        Box::pin(deliver(shared, client, recipient, right, None)).await;
        return;
    }
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let at = OffsetDateTime::now_utc();
        for row in &rows {
            let error = "payload-too-large: the recipient refuses a message this large";
            log_store(shared.store.outbox_fail(row.id, error, at).await);
        }
        shared.ledger_wake.notify_one();
        return;
    }
    if !status.is_success() {
        let detail = response.text().await.unwrap_or_default();
        let detail: String = detail.chars().take(300).collect();
        retry_all(
            shared,
            &rows,
            &format!("POST {url}: HTTP {status}: {detail}"),
        )
        .await;
        return;
    }
    let reply: BatchReply = match response.json().await {
        Ok(reply) => reply,
        Err(err) => {
            retry_all(
                shared,
                &rows,
                &format!("POST {url}: unreadable answer: {err}"),
            )
            .await;
            return;
        }
    };
    let by_id: HashMap<Uuid, &OutboxRow> = rows.iter().map(|r| (r.id, r)).collect();
    let mut acked = Vec::with_capacity(rows.len());
    let mut answered = HashSet::with_capacity(rows.len());
    let mut rejected = false;
    let at = OffsetDateTime::now_utc();
    for ack in &reply.results {
        let Some(row) = ack.id.and_then(|id| by_id.get(&id)) else {
            continue;
        };
        answered.insert(row.id);
        match ack.status {
            AckStatus::Accepted | AckStatus::Duplicate => {
                acked.push(row.id);
                if let Some(result) = &ack.result
                    && row.kind == crate::Kind::TreeHeadExchange.as_str()
                {
                    shared.on_tree_head_ack(recipient, result);
                }
            }
            AckStatus::Rejected => {
                let error = format!(
                    "{}: {}",
                    ack.code.as_deref().unwrap_or("rejected"),
                    ack.error.as_deref().unwrap_or("")
                );
                tracing::warn!(id = %row.id, %recipient, %error, "message rejected by the recipient");
                log_store(shared.store.outbox_fail(row.id, &error, at).await);
                rejected = true;
            }
        }
    }
    // Answered: the rows stay posted (not read again) until marked below,
    // but the next POST need not wait for the marking.
    if let Some(release) = release {
        release.send();
    }
    ack(shared, &rows, acked, at).await;
    let unanswered: Vec<OutboxRow> = rows
        .into_iter()
        .filter(|r| !answered.contains(&r.id))
        .collect();
    if !unanswered.is_empty() {
        retry_all(
            shared,
            &unanswered,
            "the recipient did not answer for this message",
        )
        .await;
    }
    // Acknowledged rows went on the ledger with their acknowledgement; the
    // recorder records the rejected ones.
    if rejected {
        shared.ledger_wake.notify_one();
    }
}

/// Marks the rows `acked` acknowledged at `at` with their `message-sent`
/// entries, in one transaction (the recorder has nothing left to do for
/// them); on failure they stay pending and are posted again (the peer
/// answers `duplicate`).
async fn ack(shared: &Shared, rows: &[OutboxRow], acked: Vec<Uuid>, at: OffsetDateTime) {
    if acked.is_empty() {
        return;
    }
    let by_id: HashMap<Uuid, &OutboxRow> = rows.iter().map(|r| (r.id, r)).collect();
    let delivered: Vec<(Uuid, palermo_ledger::entry::NewEntry)> = acked
        .iter()
        .filter_map(|id| by_id.get(id))
        .map(|row| (row.id, crate::node::sent_entry(shared.node_id(), row, at)))
        .collect();
    let result = async {
        shared.announce_ledger_key().await?;
        shared
            .store
            .outbox_ack_recorded(delivered, at, &shared.config.ledger_key)
            .await?;
        Ok::<(), crate::node::NodeError>(())
    }
    .await;
    if let Err(err) = result {
        tracing::warn!(error = %err, "updating the outbox failed");
    }
}

async fn retry_all(shared: &Shared, rows: &[OutboxRow], error: &str) {
    tracing::info!(n = rows.len(), %error, "delivery failed; will retry");
    let now = OffsetDateTime::now_utc();
    for row in rows {
        let delay = backoff(
            shared.config.retry_base,
            shared.config.retry_max,
            row.attempts,
            rand::random_range(0.5..1.0),
        );
        let next = now + time::Duration::try_from(delay).unwrap_or(time::Duration::SECOND);
        log_store(shared.store.outbox_retry(row.id, next, error).await);
    }
}

/// The delay before retry number `attempts + 1`: `base · 2^attempts`, capped
/// at `max`, scaled by `jitter` (in [0.5, 1)).
pub fn backoff(base: Duration, max: Duration, attempts: u32, jitter: f64) -> Duration {
    let exp = base.saturating_mul(2u32.saturating_pow(attempts.min(20)));
    exp.min(max).mul_f64(jitter.clamp(0.0, 1.0))
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn log_store(result: palermo_store::Result<()>) {
    if let Err(err) = result {
        tracing::warn!(error = %err, "updating the outbox failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let base = Duration::from_millis(100);
        let max = Duration::from_secs(2);
        let check = |attempts, jitter, expect_ms| {
            assert_eq!(
                backoff(base, max, attempts, jitter),
                Duration::from_millis(expect_ms),
                "attempts {attempts} jitter {jitter}"
            );
        };
        check(0, 1.0, 100);
        check(1, 1.0, 200);
        check(3, 1.0, 800);
        check(5, 1.0, 2000);
        check(40, 1.0, 2000);
        check(1, 0.5, 100);
        check(5, 0.5, 1000);
    }
}
