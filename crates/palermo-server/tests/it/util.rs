//! Fixtures: a node over a fresh store with users, and request helpers.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use palermo_ledger::NodeKey;
use palermo_server::{ServerConfig, ServerState, router, token};
use palermo_store::{AnyStore, NewUser, PgStore, SqliteStore};
use serde_json::Value;
use tower::ServiceExt;

/// A node under test, with the tokens of its users.
pub(crate) struct Node {
    pub(crate) state: ServerState,
    pub(crate) router: Router,
    /// Administrator (and analyst).
    pub(crate) admin: String,
    /// Analyst of the node's agency.
    pub(crate) analyst: String,
    /// Legal officer only.
    pub(crate) legal: String,
    _dir: Option<tempfile::TempDir>,
}

/// A fresh SQLite store in a temporary directory.
pub(crate) async fn sqlite() -> (AnyStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    (
        AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap()),
        dir,
    )
}

/// A fresh PostgreSQL schema (`PALERMO_TEST_PG`).
pub(crate) async fn postgres() -> AnyStore {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("t_{}", uuid::Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    AnyStore::Postgres(
        PgStore::connect(&format!("{base}{sep}schema={schema}"))
            .await
            .unwrap(),
    )
}

/// Adds a user and returns its token.
pub(crate) async fn add_user(store: &AnyStore, name: &str, roles: &[&str]) -> String {
    let token = token::generate();
    let user = NewUser {
        name: name.to_owned(),
        agency: None,
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        cases: Vec::new(),
    };
    store.add_user(&user, &token::hash(&token)).await.unwrap();
    token
}

/// A node named `nl-kmar` (agency KMar, NL) over `store`.
pub(crate) async fn node_with(
    store: AnyStore,
    dir: Option<tempfile::TempDir>,
    tweak: impl FnOnce(&mut ServerConfig),
) -> Node {
    let admin = add_user(&store, "root", &["administrator", "analyst"]).await;
    let analyst = add_user(&store, "ana", &["analyst"]).await;
    let legal = add_user(&store, "lou", &["legal-officer"]).await;
    let mut config = ServerConfig::new("nl-kmar", NodeKey::from_seed([7; 32]));
    config.jurisdiction = "NL".to_owned();
    config.agency = "KMar".to_owned();
    tweak(&mut config);
    let state = ServerState::new(store, config).await.unwrap();
    Node {
        router: router(state.clone()),
        state,
        admin,
        analyst,
        legal,
        _dir: dir,
    }
}

/// A node over a fresh SQLite store.
pub(crate) async fn node(tweak: impl FnOnce(&mut ServerConfig)) -> Node {
    let (store, dir) = sqlite().await;
    node_with(store, Some(dir), tweak).await
}

/// A response: status, content type and body.
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) content_type: String,
    pub(crate) body: Vec<u8>,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts a problem document with `status`; returns its detail.
    pub(crate) fn problem(&self, status: StatusCode) -> String {
        assert_eq!(self.status, status, "{}", self.text());
        assert_eq!(
            self.content_type,
            "application/problem+json",
            "{}",
            self.text()
        );
        let doc = self.json();
        assert_eq!(doc["status"], status.as_u16());
        assert!(
            doc["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:palermo:problem:")
        );
        assert!(!doc["title"].as_str().unwrap().is_empty());
        doc["detail"].as_str().unwrap().to_owned()
    }
}

/// Sends one request through the router.
pub(crate) async fn call(
    router: &Router,
    method: &str,
    uri: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Reply {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(ct) = content_type {
        request = request.header(header::CONTENT_TYPE, ct);
    }
    let response = router
        .clone()
        .oneshot(request.body(Body::from(body)).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        content_type,
        body,
    }
}

/// `GET uri` with `token`.
pub(crate) async fn get(router: &Router, uri: &str, token: &str) -> Reply {
    call(router, "GET", uri, Some(token), None, Vec::new()).await
}
