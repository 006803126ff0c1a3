//! `POST /api/v1/resolve`: policy-checked, one ledger append per run with
//! its `resolution-run` entry, JSON counts and time, bad input as 400
//! problems, on SQLite and PostgreSQL; and the server runs the node's
//! active stored policy set.

use axum::http::StatusCode;
use palermo_policy::{DEFAULT_POLICIES, LoadOptions};
use palermo_store::{AnyStore, EntryFilter, LedgerStore};
use serde_json::Value;

use crate::util::{Node, call, get, node_with, postgres, sqlite};

const PERSONS: &str = "id,name,birth_date,passport_number,nationality\n\
    r1,Ahmed Al-Rashid,1984-03-02,P1234567,iq\n\
    r2,Achmed Alrasheed,1984-03-02,,iq\n\
    r3,Maria Kowalski,1975-11-30,K5550001,pl\n\
    r4,Мария Ковальски,1975-11-30,K5550001,pl\n\
    r5,Juri Juschtschenko,1961-07-11,U7777777,ua\n\
    r6,Tomas Novak,1955-05-05,N1111111,cz\n\
    r7,Ann Lee,1990-01-01,L0000001,gb\n\
    r8,Bo Kim,1999-09-09,Z9999999,kr\n";

async fn kinds(node: &Node, kind: &str) -> Vec<Value> {
    let filter = EntryFilter {
        kind: Some(kind.to_owned()),
        actor: None,
        case: None,
        subject: None,
        from_seq: 0,
        limit: 100_000,
    };
    node.state
        .store()
        .ledger_entries(&filter)
        .await
        .unwrap()
        .iter()
        .map(|e| serde_json::from_slice(&e.bytes).unwrap())
        .collect()
}

async fn resolve(node: &Node, query: &str, token: &str) -> crate::util::Reply {
    let uri = format!("/api/v1/resolve{query}");
    call(&node.router, "POST", &uri, Some(token), None, Vec::new()).await
}

async fn runs(node: Node) {
    // A legal officer may not run resolution: 403, and the denial is logged.
    resolve(&node, "", &node.legal)
        .await
        .problem(StatusCode::FORBIDDEN);
    let denied = kinds(&node, "policy-decision").await;
    assert!(
        denied
            .iter()
            .any(|e| e["actor"] == "lou" && e.to_string().contains("(resolve)")),
        "{denied:?}"
    );
    // Nothing to resolve yet, and a threshold that is no probability: 400.
    let detail = resolve(&node, "", &node.analyst)
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(detail.contains("no Person"), "{detail}");

    let import = call(
        &node.router,
        "POST",
        "/api/v1/import?schema=Person",
        Some(&node.analyst),
        Some("text/csv"),
        PERSONS.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(import.status, StatusCode::OK, "{}", import.text());
    let detail = resolve(&node, "?threshold=1.5", &node.analyst)
        .await
        .problem(StatusCode::BAD_REQUEST);
    assert!(detail.contains("not a probability"), "{detail}");
    assert!(kinds(&node, "resolution-run").await.is_empty());

    let size = node.state.store().ledger_size().await.unwrap();
    let run = resolve(&node, "", &node.analyst).await;
    assert_eq!(run.status, StatusCode::OK, "{}", run.text());
    let run = run.json();
    assert_eq!(run["mode"], "full");
    assert_eq!(run["records"], 8);
    assert_eq!(run["model_version"], 1);
    assert!(run["clusters"].as_u64().unwrap() < 8, "{run}");
    assert!(run["merges"].as_u64().unwrap() >= 2, "{run}");
    assert!(run["seconds"].as_f64().unwrap() >= 0.0);
    // One append: the decision, then the run.
    let logged = kinds(&node, "resolution-run").await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["actor"], "ana");
    assert_eq!(node.state.store().ledger_size().await.unwrap(), size + 2);

    // Nothing new: an empty run id and no second run on the ledger.
    let again = resolve(&node, "?full=false", &node.analyst).await.json();
    assert_eq!(again["run_id"], "");
    assert_eq!(kinds(&node, "resolution-run").await.len(), 1);
    // A full run retrains.
    let full = resolve(&node, "?full=true", &node.admin).await.json();
    assert_eq!(
        (full["mode"].as_str(), full["model_version"].as_u64()),
        (Some("full"), Some(2))
    );
    assert_eq!(kinds(&node, "resolution-run").await.len(), 2);
}

#[tokio::test]
async fn resolve_runs_sqlite() {
    let (store, dir) = sqlite().await;
    runs(node_with(store, Some(dir), |_| {}).await).await;
}

#[tokio::test]
async fn resolve_runs_postgres() {
    runs(node_with(postgres().await, None, |_| {}).await).await;
}

/// The server decides with the node's active stored set: a set without the
/// node-level policies denies even `/health`.
async fn stored_policies(store: AnyStore, dir: Option<tempfile::TempDir>) {
    let stored = palermo_node::install_policies(
        &store,
        "records-only.cedar",
        DEFAULT_POLICIES,
        LoadOptions { allow_empty: false },
        "ops",
    )
    .await
    .unwrap();
    assert_eq!(stored.version, 1);
    let node = node_with(store, dir, |_| {}).await;
    assert_eq!(node.state.policies().source_name(), "records-only.cedar");
    get(&node.router, "/health", &node.admin)
        .await
        .problem(StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn server_runs_the_stored_policy_set_sqlite() {
    let (store, dir) = sqlite().await;
    stored_policies(store, Some(dir)).await;
}

#[tokio::test]
async fn server_runs_the_stored_policy_set_postgres() {
    stored_policies(postgres().await, None).await;
}
