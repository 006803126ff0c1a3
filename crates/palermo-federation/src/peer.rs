//! The peer endpoint: an axum router served over mutual TLS.
//!
//! [`TlsListener`] accepts TCP connections and completes the TLS handshake in
//! background tasks (a slow client does not hold up the others); each
//! connection carries the client certificate the peer presented
//! ([`PeerAddr`]). The handler binds that certificate to a directory member
//! ([`crate::Directory::member_by_cert`]) and requires every envelope's sender
//! to be that member.
//!
//! `POST /federation/v1/messages` takes a JSON array of envelopes and answers
//! one [`Ack`] per envelope, in order: `accepted` (stored and applied now),
//! `duplicate` (already in the inbox: acknowledged, not applied again) or
//! `rejected` with a stable [`crate::Rejection::code`] and a message. A body
//! over the limit is a 413 problem (RFC 9457), a peer that is not a current
//! member a 403 problem, a store failure a 503 problem (the sender retries).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::serve::{IncomingStream, Listener};
use palermo_store::IncomingMessage;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use uuid::Uuid;

use crate::envelope::{Envelope, Rejection};
use crate::node::Shared;

/// The path envelopes are posted to.
pub const MESSAGES_PATH: &str = "/federation/v1/messages";

/// How long a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A peer connection's address and the client certificate it presented.
#[derive(Clone, Debug)]
pub struct PeerAddr {
    /// The remote socket address.
    pub remote: SocketAddr,
    /// The DER of the client's end-entity certificate.
    pub cert_der: Option<Arc<[u8]>>,
}

impl axum::extract::connect_info::Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> PeerAddr {
        stream.remote_addr().clone()
    }
}

/// A TCP listener that hands out connections after a successful TLS handshake.
pub struct TlsListener {
    local: SocketAddr,
    accepted: mpsc::Receiver<(TlsStream<TcpStream>, PeerAddr)>,
    task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Starts accepting on `tcp` with `config` (see [`crate::tls::server_config`]).
    pub fn new(
        tcp: TcpListener,
        config: Arc<rustls::ServerConfig>,
    ) -> std::io::Result<TlsListener> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, accepted) = mpsc::channel(64);
        let task = tokio::spawn(async move {
            loop {
                let (stream, remote) = match tcp.accept().await {
                    Ok(conn) => conn,
                    Err(err) => {
                        // Out of file descriptors and the like: back off a little.
                        tracing::warn!(error = %err, "accepting a peer connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let acceptor = acceptor.clone();
                let conn_tx = tx.clone();
                tokio::spawn(async move {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(err)) => {
                            tracing::info!(%remote, error = %err, "peer TLS handshake refused");
                            return;
                        }
                        Err(_) => {
                            tracing::info!(%remote, "peer TLS handshake timed out");
                            return;
                        }
                    };
                    let cert_der = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|chain| chain.first())
                        .map(|cert| Arc::from(cert.as_ref()));
                    let _ = conn_tx.send((tls, PeerAddr { remote, cert_der })).await;
                });
                if tx.is_closed() {
                    return;
                }
            }
        });
        Ok(TlsListener {
            local,
            accepted,
            task,
        })
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = PeerAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.accepted.recv().await {
            Some(conn) => conn,
            // The accept task only ends when the listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<PeerAddr> {
        Ok(PeerAddr {
            remote: self.local,
            cert_der: None,
        })
    }
}

/// The answer to one posted envelope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    /// The envelope's id, when it could be read.
    pub id: Option<Uuid>,
    /// What happened to it.
    pub status: AckStatus,
    /// The rejection code (`bad-signature`, `unknown-kind`...), when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The rejection message, when rejected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The result of applying it, when accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// What the receiver did with an envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AckStatus {
    /// Stored and applied.
    Accepted,
    /// Already received before: acknowledged, not applied again.
    Duplicate,
    /// Refused for good (see the code).
    Rejected,
}

/// The response body of a posted batch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BatchReply {
    /// One answer per posted envelope, in order.
    pub results: Vec<Ack>,
}

/// Serves the peer endpoint on `listener` until `shutdown` resolves.
pub(crate) fn serve(
    shared: Arc<Shared>,
    listener: TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<impl std::future::Future<Output = std::io::Result<()>>, crate::node::NodeError> {
    let config = crate::tls::server_config(&shared.identity)?;
    let listener = TlsListener::new(listener, config).map_err(crate::node::NodeError::Listen)?;
    let app = router(shared).into_make_service_with_connect_info::<PeerAddr>();
    Ok(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
    })
}

/// The peer endpoint's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let limit = shared.config.body_limit;
    Router::new()
        .route(MESSAGES_PATH, post(messages))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(shared)
}

async fn messages(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(peer): ConnectInfo<PeerAddr>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = OffsetDateTime::now_utc();
    let member_id = {
        let Ok(directory) = shared.directory.read() else {
            return problem(StatusCode::INTERNAL_SERVER_ERROR, "internal error", "");
        };
        let directory = &directory.directory;
        let Some(member) = peer
            .cert_der
            .as_deref()
            .and_then(|der| directory.member_by_cert(der))
        else {
            return problem(
                StatusCode::FORBIDDEN,
                "unknown peer",
                "the client certificate belongs to no member of the federation directory",
            );
        };
        if let Err(rejection) = directory.admit(&member.node_id, now) {
            return problem(
                StatusCode::FORBIDDEN,
                "peer not admitted",
                &rejection.to_string(),
            );
        }
        member.node_id.clone()
    };
    let body = match body {
        Ok(body) => body,
        Err(rejection) => {
            let status = rejection.status();
            let title = if status == StatusCode::PAYLOAD_TOO_LARGE {
                "request body too large"
            } else {
                "unreadable request body"
            };
            return problem(
                status,
                title,
                &format!(
                    "the peer endpoint accepts at most {} bytes per request",
                    shared.config.body_limit
                ),
            );
        }
    };
    // Each envelope as its own bytes, parsed once by `Envelope::from_json`
    // (not into a `Value` first and written out again for it).
    let items: Vec<&RawValue> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(err) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "malformed batch",
                &format!("expected a JSON array of envelopes: {err}"),
            );
        }
    };
    match receive(&shared, &member_id, items, now).await {
        Ok(reply) => axum::Json(reply).into_response(),
        Err(err) => {
            tracing::error!(error = %err, peer = %member_id, "storing received messages failed");
            problem(
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily unavailable",
                "the messages were not stored; retry later",
            )
        }
    }
}

/// Verifies, dedupes and applies a batch from the authenticated peer
/// `member_id`. Messages stored with their effect pending (large hit-query
/// batches) are acknowledged now and answered by tasks started here once
/// they are stored, only for ids that were new: a retry does not match again.
pub(crate) async fn receive(
    shared: &Arc<Shared>,
    member_id: &str,
    items: Vec<&RawValue>,
    now: OffsetDateTime,
) -> Result<BatchReply, crate::node::NodeError> {
    let mut results: Vec<Ack> = Vec::with_capacity(items.len());
    let mut verified = Vec::new();
    for item in items {
        let envelope = match Envelope::from_json(item.get().as_bytes()) {
            Ok(envelope) => envelope,
            Err(rejection) => {
                let id = serde_json::from_str::<Value>(item.get())
                    .ok()
                    .as_ref()
                    .and_then(|item| item.get("id"))
                    .and_then(Value::as_str)
                    .and_then(|id| Uuid::parse_str(id).ok());
                results.push(rejected(id, rejection.code(), rejection.to_string()));
                continue;
            }
        };
        if envelope.sender != member_id {
            results.push(rejected(
                Some(envelope.id),
                "sender-mismatch",
                format!(
                    "the envelope says it is from {} but the TLS client is {member_id}",
                    envelope.sender
                ),
            ));
            continue;
        }
        let checked = match shared.directory.read() {
            Ok(directory) => envelope.verify_wire(
                &directory.directory,
                shared.node_id(),
                now,
                shared.config.max_skew,
            ),
            Err(_) => Err(Rejection::Malformed("directory unavailable".to_owned())),
        };
        let (kind, wire) = match checked {
            Ok(checked) => checked,
            Err(rejection) => {
                results.push(rejected(
                    Some(envelope.id),
                    rejection.code(),
                    rejection.to_string(),
                ));
                continue;
            }
        };
        // The in-memory window is a fast path; the inbox below decides, so
        // a retry of a message whose first delivery was not stored still gets
        // applied, and a redelivered one is acknowledged as a duplicate.
        if let Ok(mut guard) = shared.replay.lock()
            && let Err(rejection @ Rejection::ClockSkew { .. }) =
                guard.check(envelope.id, envelope.created_at, now)
        {
            results.push(rejected(
                Some(envelope.id),
                rejection.code(),
                rejection.to_string(),
            ));
            continue;
        }
        results.push(Ack {
            id: Some(envelope.id),
            status: AckStatus::Duplicate,
            code: None,
            error: None,
            result: None,
        });
        verified.push((results.len() - 1, envelope, kind, wire));
    }
    let messages: Vec<(&Envelope, crate::Kind)> =
        verified.iter().map(|(_, e, k, _)| (e, *k)).collect();
    let mut deferred = crate::hits::Deferred::default();
    let effects = shared.effects(&messages, &mut deferred).await;
    // Each message's `message-received` entry (and witness entry) first,
    // then the entries of its effect, all appended in the transaction that
    // stores the messages.
    let mut by_message: std::collections::HashMap<Uuid, Vec<palermo_ledger::entry::NewEntry>> =
        std::collections::HashMap::new();
    for (id, entry) in std::mem::take(&mut deferred.writes.entries) {
        by_message.entry(id).or_default().push(entry);
    }
    let mut batch = Vec::with_capacity(verified.len());
    let mut seen = std::collections::HashSet::with_capacity(verified.len());
    for ((_, envelope, _, wire), effect) in verified.iter_mut().zip(effects) {
        // A message posted twice in one batch is stored (and recorded) once.
        if seen.insert(envelope.id) {
            let received = crate::node::received_entries(
                shared.node_id(),
                envelope.id,
                &envelope.sender,
                &envelope.kind,
                envelope.signature.clone(),
                &effect.result,
                now,
            );
            let effect_entries = by_message.remove(&envelope.id).unwrap_or_default();
            deferred.writes.entries.extend(
                received
                    .into_iter()
                    .chain(effect_entries)
                    .map(|entry| (envelope.id, entry)),
            );
        }
        batch.push((
            IncomingMessage {
                id: envelope.id,
                sender: envelope.sender.clone(),
                kind: envelope.kind.clone(),
                envelope: std::mem::take(wire),
                received_at: now,
            },
            effect,
        ));
    }
    let outcomes: Vec<Value> = batch.iter().map(|(_, e)| e.result.clone()).collect();
    let replies = batch.iter().any(|(_, e)| !e.replies.is_empty());
    let pending: Vec<bool> = batch.iter().map(|(_, e)| e.pending).collect();
    if batch.is_empty() {
        return Ok(BatchReply { results });
    }
    let accepted = async {
        shared.announce_ledger_key().await?;
        let writes = std::mem::take(&mut deferred.writes);
        let key = &shared.config.ledger_key;
        Ok::<_, crate::node::NodeError>(
            shared
                .store
                .inbox_accept_recorded(batch, writes, key)
                .await?,
        )
    }
    .await;
    let new_ids = match accepted {
        Ok(new_ids) => new_ids,
        Err(err) => {
            deferred.failed(shared);
            return Err(err);
        }
    };
    // The rows are on the ledger already: nothing for the recorder; the
    // sender has work only when replies were enqueued.
    if !new_ids.is_empty() && replies {
        shared.outbox_wake.notify_one();
    }
    let new_ids: std::collections::HashSet<Uuid> = new_ids.into_iter().collect();
    deferred.committed(shared, &new_ids);
    for ((_, envelope, _, _), pending) in verified.iter().zip(&pending) {
        if *pending && new_ids.contains(&envelope.id) {
            shared.answer_apart(envelope.clone());
        }
    }
    for ((idx, envelope, _, _), outcome) in verified.iter().zip(outcomes) {
        if new_ids.contains(&envelope.id) {
            results[*idx].status = AckStatus::Accepted;
            results[*idx].result = Some(outcome);
        }
    }
    Ok(BatchReply { results })
}

fn rejected(id: Option<Uuid>, code: &str, error: String) -> Ack {
    Ack {
        id,
        status: AckStatus::Rejected,
        code: Some(code.to_owned()),
        error: Some(error),
        result: None,
    }
}

/// An RFC 9457 problem response.
pub(crate) fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = serde_json::json!({
        "type": "about:blank",
        "title": title,
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}
