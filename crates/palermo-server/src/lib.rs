//! The HTTP API of a Palermo node: token-authenticated, every route checked by
//! the sharing policy, errors as RFC 9457 problems, described by OpenAPI.
//!
//! - Every route needs `Authorization: Bearer plm_...` (users and tokens are
//!   in the store, managed by `palermo user`); otherwise 401.
//! - Every route asks the policy crate through [`authz`]: a node-level
//!   operation (action `operate` on the node), then, for records, `search`
//!   or `view` per record. Every decision goes to the ledger (kind
//!   `policy-decision`), all of one request in one append.
//! - The routes are one table ([`routes::ROUTES`]), so tests can enumerate
//!   them and check each against authentication, the policy and the OpenAPI
//!   document ([`routes::ApiDoc`], committed as `openapi.json`).
//! - Requests are counted per route and status (Prometheus text at `/metrics`).

pub mod authz;
pub mod hits;
pub mod problem;
pub mod resolve;
pub mod routes;
pub mod token;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::{EntryBody, NodeKey};
use palermo_policy::{LawBasis, LoadOptions, Policies};
use palermo_store::{AnyStore, EntryFilter, LedgerStore};

pub use crate::authz::AuthUser;
pub use crate::problem::Problem;

/// Default request body limit: 16 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configured Cedar policies do not parse or validate.
    #[error("sharing policies: {0}")]
    Policy(#[from] palermo_policy::Error),
    /// The legal knowledge base could not be loaded.
    #[error("legal knowledge base: {0}")]
    Law(String),
    /// The store failed.
    #[error("store: {0}")]
    Store(#[from] palermo_store::Error),
    /// The node's stored state (its active policy set, its law updates)
    /// cannot be used.
    #[error("node state: {0}")]
    Node(#[from] palermo_node::Error),
}

/// How a node's API is configured.
#[derive(Clone)]
pub struct ServerConfig {
    /// The node's name (its id in policy decisions), shown by `/health`.
    pub node_name: String,
    /// The node's jurisdiction (ISO 3166-1 alpha-2); default `ZZ` (unknown).
    pub jurisdiction: String,
    /// The agency running the node; default: the node name.
    pub agency: String,
    /// The key that signs the node's ledger heads.
    pub ledger_key: NodeKey,
    /// Cedar policy text; `None` uses the node's active stored set
    /// (`palermo policy load`), or the shipped policies if none was loaded.
    pub policies: Option<String>,
    /// Largest accepted request body, in bytes.
    pub body_limit: usize,
}

impl ServerConfig {
    /// A configuration with the node's active policies and the default body limit.
    pub fn new(node_name: impl Into<String>, ledger_key: NodeKey) -> ServerConfig {
        let node_name = node_name.into();
        ServerConfig {
            agency: node_name.clone(),
            node_name,
            jurisdiction: "ZZ".to_owned(),
            ledger_key,
            policies: None,
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }
}

impl std::fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerConfig")
            .field("node_name", &self.node_name)
            .field("jurisdiction", &self.jurisdiction)
            .field("agency", &self.agency)
            .field("policies", &self.policies.as_ref().map(|_| "custom"))
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

/// Shared state of the API; cheap to clone.
#[derive(Clone)]
pub struct ServerState {
    inner: Arc<Inner>,
}

/// What [`ServerState`] shares.
struct Inner {
    store: AnyStore,
    config: ServerConfig,
    policies: Policies,
    basis: LawBasis,
}

impl ServerState {
    /// Builds the state over an opened (migrated) store: loads and validates
    /// the policies (the configured text, else the node's active stored set,
    /// else the shipped set), builds the legal basis from the knowledge base
    /// with the store's law updates, and announces the ledger key on the
    /// ledger (a `key-change` entry) if it is not there yet.
    pub async fn new(store: AnyStore, config: ServerConfig) -> Result<ServerState, Error> {
        let policies = match &config.policies {
            Some(text) => Policies::parse("configured", text, LoadOptions { allow_empty: false })?,
            None => palermo_node::active_policies(&store).await?.0,
        };
        let basis = palermo_node::law_basis(&store).await?;
        announce_key(&store, &config).await?;
        Ok(ServerState {
            inner: Arc::new(Inner {
                store,
                config,
                policies,
                basis,
            }),
        })
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.inner.store
    }

    /// The configuration.
    pub fn config(&self) -> &ServerConfig {
        &self.inner.config
    }

    /// The active policy set.
    pub fn policies(&self) -> &Policies {
        &self.inner.policies
    }

    /// The legal basis source.
    pub(crate) fn basis(&self) -> &LawBasis {
        &self.inner.basis
    }
}

/// Appends a `key-change` entry for the node key unless the ledger has one.
async fn announce_key(store: &AnyStore, config: &ServerConfig) -> Result<(), Error> {
    let public = config.ledger_key.public();
    let filter = EntryFilter {
        kind: Some("key-change".to_owned()),
        actor: None,
        case: None,
        subject: Some(public.fingerprint()),
        from_seq: 0,
        limit: 1,
    };
    if !store.ledger_entries(&filter).await?.is_empty() {
        return Ok(());
    }
    let previous = store.ledger_head().await?.map(|h| h.key_id);
    let reason = if previous.is_some() {
        "key replaced"
    } else {
        "key created"
    };
    let entry = NewEntry {
        actor: config.node_name.clone(),
        case: None,
        time: None,
        body: EntryBody::KeyChange {
            public_key: public.to_base64(),
            fingerprint: public.fingerprint(),
            previous,
            reason: reason.to_owned(),
        },
    };
    store.ledger_append(vec![entry], &config.ledger_key).await?;
    Ok(())
}

/// The node's API router: the route table, then authentication, problem
/// documents, metrics and the body limit around every route.
pub fn router(state: ServerState) -> axum::Router {
    let mut router = axum::Router::new();
    for route in routes::ROUTES {
        router = router.route(route.path, (route.handler)());
    }
    router
        .layer(middleware::from_fn_with_state(
            state.clone(),
            authz::authenticate,
        ))
        .layer(middleware::from_fn(problem::problems))
        .layer(middleware::from_fn(count))
        .layer(DefaultBodyLimit::max(state.config().body_limit))
        .with_state(state)
}

/// Serves the API on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ServerState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The process-wide Prometheus recorder, installed on first use (`None`
/// when another recorder was installed first).
pub(crate) fn prometheus() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Middleware: counts requests and their duration per route and status.
async fn count(request: Request, next: Next) -> Response {
    prometheus();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("palermo_http_requests_total", "route" => route.clone(), "method" => method, "status" => status).increment(1);
    metrics::histogram!("palermo_http_request_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}
