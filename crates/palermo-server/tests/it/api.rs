//! The local API end to end: import, search and view through the sharing
//! policy, ledger head and proofs, metrics, limits and problem documents,
//! on SQLite and PostgreSQL.

use axum::http::StatusCode;
use palermo_ledger::merkle::verify_inclusion;
use palermo_ledger::{Hash, InclusionProof};
use palermo_store::{EntryFilter, LedgerStore, Store};
use serde_json::Value;

use crate::util::{Node, call, get, node, node_with, postgres, sqlite};

const CSV: &str = "id,first_name,last_name,birth_date,role\n\
    nl-1,Ahmed,Smith,1984-03-02,suspect\n\
    nl-2,Joan,Smith,1990-01-01,suspect\n\
    nl-3,Dao,Smith,1999-05-05,victim\n";

/// Entries of `kind` from `from` on.
async fn entries(node: &Node, kind: &str, from: u64) -> Vec<Value> {
    let filter = EntryFilter {
        kind: Some(kind.to_owned()),
        actor: None,
        case: None,
        subject: None,
        from_seq: from,
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

async fn import_csv(node: &Node, token: &str, csv: &str) -> crate::util::Reply {
    call(
        &node.router,
        "POST",
        "/api/v1/import?schema=Person",
        Some(token),
        Some("text/csv; charset=utf-8"),
        csv.as_bytes().to_vec(),
    )
    .await
}

async fn local_api(node: Node) {
    let store = node.state.store().clone();
    // The node announced its key on the ledger at start.
    assert_eq!(entries(&node, "key-change", 0).await.len(), 1);

    // Health, for any user of the node.
    let health = get(&node.router, "/health", &node.legal).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text());
    assert_eq!(health.json()["node"], "nl-kmar");

    // Import: a legal officer may not, an analyst may; one ledger append.
    import_csv(&node, &node.legal, CSV)
        .await
        .problem(StatusCode::FORBIDDEN);
    let heads_before = store.ledger_heads().await.unwrap().len();
    let imported = import_csv(&node, &node.analyst, CSV).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.text());
    let summary = imported.json();
    assert_eq!(
        (summary["records"].as_u64(), summary["new"].as_u64()),
        (Some(3), Some(3))
    );
    assert_eq!(store.ledger_heads().await.unwrap().len(), heads_before + 1);
    let batches = entries(&node, "import-batch", 0).await;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0]["body"]["n_records"], 3);
    assert_eq!(batches[0]["body"]["sha256"].as_str().unwrap().len(), 64);

    // Search: AMBER suspects are visible to the node's agency; the RED victim is not.
    let found = get(&node.router, "/api/v1/entities?q=smith", &node.analyst).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    let ids: Vec<&str> = found.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned().leak() as &str)
        .collect();
    assert_eq!(ids, ["nl-1", "nl-2"]);
    let two = get(
        &node.router,
        "/api/v1/entities?q=Ahmed%20SMITH&schema=Person",
        &node.analyst,
    )
    .await;
    assert_eq!(two.json()["results"].as_array().unwrap().len(), 1);
    let unknown = get(
        &node.router,
        "/api/v1/entities?q=smith&schema=Vehicle",
        &node.analyst,
    )
    .await;
    assert!(unknown.problem(StatusCode::BAD_REQUEST).contains("schema"));
    let none = get(
        &node.router,
        "/api/v1/entities?q=smith&schema=Organization",
        &node.analyst,
    )
    .await;
    assert_eq!(none.json()["results"].as_array().unwrap().len(), 0);
    let decisions = entries(&node, "policy-decision", 0).await;
    let victim: Vec<&Value> = decisions
        .iter()
        .filter(|d| d["body"]["request"] == "search record:nl-3")
        .collect();
    assert_eq!(victim.len(), 1);
    assert_eq!(victim[0]["body"]["decision"], "deny");
    assert_eq!(victim[0]["actor"], "ana");

    // View: with provenance and markings; the victim looks missing.
    let one = get(
        &node.router,
        "/api/v1/entities/nl-1?case=C-7",
        &node.analyst,
    )
    .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text());
    let doc = one.json();
    assert_eq!(doc["palermo"]["markings"]["tlp"], "TLP:AMBER");
    assert_eq!(doc["palermo"]["provenance"]["imported_by"], "ana");
    assert_eq!(doc["palermo"]["provenance"]["record"], 1);
    let queries = entries(&node, "query", 0).await;
    let last = queries.last().unwrap();
    assert_eq!(
        (&last["actor"], &last["case"], &last["body"]["persons"]),
        (
            &Value::from("ana"),
            &Value::from("C-7"),
            &serde_json::json!(["nl-1"])
        )
    );
    get(&node.router, "/api/v1/entities/nl-3", &node.analyst)
        .await
        .problem(StatusCode::NOT_FOUND);
    get(&node.router, "/api/v1/entities/nope", &node.analyst)
        .await
        .problem(StatusCode::NOT_FOUND);

    // Bad input: problems with useful details and nothing imported.
    let bad = get(
        &node.router,
        "/api/v1/entities?q=smith&limit=0",
        &node.analyst,
    )
    .await;
    bad.problem(StatusCode::BAD_REQUEST);
    get(&node.router, "/api/v1/entities", &node.analyst)
        .await
        .problem(StatusCode::BAD_REQUEST);
    let conflict = "id,first_name,last_name\nnl-1,Other,Person\n";
    let detail = import_csv(&node, &node.analyst, conflict)
        .await
        .problem(StatusCode::CONFLICT);
    assert!(detail.contains("nl-1"), "{detail}");
    let detail = call(
        &node.router,
        "POST",
        "/api/v1/import",
        Some(&node.analyst),
        Some("application/x-ndjson"),
        b"{\"id\": \"x\", \"schema\": \"Nope\"}\n".to_vec(),
    )
    .await
    .problem(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        !detail.contains('/') || detail.contains("api-upload"),
        "{detail}"
    );
    call(
        &node.router,
        "POST",
        "/api/v1/import",
        Some(&node.analyst),
        Some("application/pdf"),
        b"%PDF".to_vec(),
    )
    .await
    .problem(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(store.batches().await.unwrap().len(), 1);

    // FtM JSON lines.
    let ftm = "{\"id\": \"nl-9\", \"schema\": \"Person\", \"properties\": {\"name\": [\"Mila Smith\"]}}\n";
    let reply = call(
        &node.router,
        "POST",
        "/api/v1/import?marking=TLP:GREEN",
        Some(&node.admin),
        Some("application/x-ndjson"),
        ftm.as_bytes().to_vec(),
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let lou = get(&node.router, "/api/v1/entities?q=mila", &node.legal).await;
    assert_eq!(lou.json()["results"][0]["id"], "nl-9");

    // Ledger head and an inclusion proof that verifies.
    let head = get(&node.router, "/api/v1/ledger/head", &node.legal).await;
    assert_eq!(head.status, StatusCode::OK, "{}", head.text());
    let head = head.json();
    let size = head["size"].as_u64().unwrap();
    assert_eq!(size, store.ledger_size().await.unwrap());
    let proof = get(
        &node.router,
        &format!("/api/v1/ledger/proof/inclusion?seq=2&size={size}"),
        &node.legal,
    )
    .await;
    assert_eq!(proof.status, StatusCode::OK, "{}", proof.text());
    let proof = proof.json();
    let hash = |v: &Value| Hash::from_hex(v.as_str().unwrap(), "test").unwrap();
    let inclusion = InclusionProof {
        index: 2,
        size,
        path: proof["path"].as_array().unwrap().iter().map(hash).collect(),
    };
    let root = hash(&head["root"]);
    verify_inclusion(&hash(&proof["leaf"]), &inclusion, &root).unwrap();
    get(
        &node.router,
        &format!("/api/v1/ledger/proof/inclusion?seq={}", size + 100),
        &node.legal,
    )
    .await
    .problem(StatusCode::BAD_REQUEST);

    // Metrics: administrators only; counters per route and status.
    get(&node.router, "/metrics", &node.analyst)
        .await
        .problem(StatusCode::FORBIDDEN);
    let metrics = get(&node.router, "/metrics", &node.admin).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.content_type.starts_with("text/plain"));
    assert!(
        metrics
            .text()
            .contains("palermo_http_requests_total{route=\"/api/v1/entities/{id}\",method=\"GET\",status=\"404\"}"),
        "{}",
        metrics.text()
    );

    // The API description.
    let doc = get(&node.router, "/openapi.json", &node.legal).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.json()["paths"]["/api/v1/entities"].is_object());

    // Revocation stops the token at once.
    store.revoke_user("ana").await.unwrap();
    get(&node.router, "/health", &node.analyst)
        .await
        .problem(StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn local_api_on_sqlite() {
    local_api(node(|_| {}).await).await;
}

#[tokio::test]
async fn local_api_on_postgres() {
    local_api(node_with(postgres().await, None, |_| {}).await).await;
}

#[tokio::test]
async fn body_limit_gives_413_problem() {
    let node = node(|c| c.body_limit = 1024).await;
    let mut csv = String::from("id,name\n");
    for i in 0..200 {
        csv.push_str(&format!("r-{i},Person Number {i}\n"));
    }
    assert!(csv.len() > 1024);
    import_csv(&node, &node.admin, &csv)
        .await
        .problem(StatusCode::PAYLOAD_TOO_LARGE);
    assert!(node.state.store().batches().await.unwrap().is_empty());
}

#[tokio::test]
async fn filtering_a_thousand_results_is_one_ledger_append() {
    let (store, dir) = sqlite().await;
    let node = node_with(store, Some(dir), |_| {}).await;
    let mut csv = String::from("id,first_name,last_name\n");
    for i in 0..1000 {
        csv.push_str(&format!("p-{i},Person{i},Novak\n"));
    }
    let reply = import_csv(&node, &node.analyst, &csv).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let store = node.state.store();
    let heads = store.ledger_heads().await.unwrap().len();
    let size = store.ledger_size().await.unwrap();
    let started = std::time::Instant::now();
    let found = get(
        &node.router,
        "/api/v1/entities?q=novak&limit=1000",
        &node.analyst,
    )
    .await;
    let elapsed = started.elapsed();
    assert_eq!(found.status, StatusCode::OK, "{}", found.text());
    assert_eq!(found.json()["results"].as_array().unwrap().len(), 1000);
    assert_eq!(store.ledger_heads().await.unwrap().len(), heads + 1);
    // One node-level decision, 1000 record decisions and one query entry.
    assert_eq!(store.ledger_size().await.unwrap(), size + 1002);
    eprintln!("search of 1000 results with 1001 decisions: {elapsed:?}");
}

#[tokio::test]
async fn internal_failures_reveal_no_internals() {
    let node = node(|_| {}).await;
    let palermo_store::AnyStore::Sqlite(sqlite) = node.state.store() else {
        unreachable!("the fixture is SQLite")
    };
    sqlx::query("DROP TABLE entity_keys")
        .execute(sqlite.pool())
        .await
        .unwrap();
    let reply = get(&node.router, "/api/v1/entities?q=smith", &node.analyst).await;
    let detail = reply.problem(StatusCode::INTERNAL_SERVER_ERROR);
    let body = reply.text().to_ascii_lowercase();
    for leak in [
        "entity_keys",
        "select",
        "sqlite",
        "no such table",
        "database",
        ".db",
        "/",
    ] {
        assert!(!body.contains(leak), "{leak:?} in {body}");
    }
    assert!(detail.contains("operator's log"), "{detail}");
}
