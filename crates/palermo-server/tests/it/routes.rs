//! Every route of the table: 401 without a token, the policy consulted (a
//! deny-all policy set gives 403, logged on the ledger), and the route table
//! and the OpenAPI document list the same operations. The committed
//! `openapi.json` must match the generated one.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use palermo_server::routes::{ROUTES, openapi_json};
use palermo_store::{EntryFilter, LedgerStore};

use crate::util::{call, node};

/// A request path for a route (path parameters and required query filled in).
fn uri(path: &str) -> String {
    match path {
        "/api/v1/entities" => "/api/v1/entities?q=smith".to_owned(),
        "/api/v1/ledger/proof/inclusion" => format!("{path}?seq=0"),
        _ => path.replace("{id}", "nl-1"),
    }
}

#[tokio::test]
async fn every_route_needs_a_token() {
    let node = node(|_| {}).await;
    assert!(ROUTES.len() >= 10);
    for route in ROUTES {
        let reply = call(
            &node.router,
            route.method,
            &uri(route.path),
            None,
            None,
            Vec::new(),
        )
        .await;
        reply.problem(StatusCode::UNAUTHORIZED);
        let wrong = call(
            &node.router,
            route.method,
            &uri(route.path),
            Some("plm_0000"),
            None,
            Vec::new(),
        )
        .await;
        wrong.problem(StatusCode::UNAUTHORIZED);
    }
    // Unknown paths too: authentication comes first, then a 404 problem.
    call(&node.router, "GET", "/nope", None, None, Vec::new())
        .await
        .problem(StatusCode::UNAUTHORIZED);
    call(
        &node.router,
        "GET",
        "/nope",
        Some(&node.admin),
        None,
        Vec::new(),
    )
    .await
    .problem(StatusCode::NOT_FOUND);
    call(
        &node.router,
        "DELETE",
        "/health",
        Some(&node.admin),
        None,
        Vec::new(),
    )
    .await
    .problem(StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn every_route_asks_the_policy() {
    let deny = "@id(\"deny-all\")\n@reason(\"test\")\nforbid (principal, action, resource);";
    let node = node(|c| c.policies = Some(deny.to_owned())).await;
    let store = node.state.store().clone();
    for route in ROUTES {
        let before = store.ledger_size().await.unwrap();
        let reply = call(
            &node.router,
            route.method,
            &uri(route.path),
            Some(&node.admin),
            Some("text/csv"),
            b"id,name\n1,x\n".to_vec(),
        )
        .await;
        let detail = reply.problem(StatusCode::FORBIDDEN);
        assert!(detail.contains("sharing policy"), "{route:?}: {detail}");
        // The deny is on the ledger, named by the determining policy.
        let filter = EntryFilter {
            kind: Some("policy-decision".to_owned()),
            actor: Some("root".to_owned()),
            case: None,
            subject: None,
            from_seq: before,
            limit: 10,
        };
        let entries = store.ledger_entries(&filter).await.unwrap();
        assert_eq!(entries.len(), 1, "{route:?}");
        let body: serde_json::Value = serde_json::from_slice(&entries[0].bytes).unwrap();
        assert_eq!(body["body"]["decision"], "deny", "{route:?}");
        assert_eq!(
            body["body"]["policies"],
            serde_json::json!(["deny-all"]),
            "{route:?}"
        );
    }
}

/// `(METHOD, path)` of every operation in the OpenAPI document.
fn documented() -> BTreeSet<(String, String)> {
    let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "put", "delete", "patch", "head", "options"]
                .contains(&method.as_str())
            {
                ops.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn route_table_and_openapi_agree() {
    let table: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(table.len(), ROUTES.len(), "duplicate routes in the table");
    assert_eq!(table, documented());
    // Every operation requires the bearer token and documents the 401 and 403 problems.
    let doc: serde_json::Value = serde_json::from_str(&openapi_json()).unwrap();
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    assert_eq!(doc["security"][0]["bearer"], serde_json::json!([]));
    for (method, path) in table {
        let op = &doc["paths"][&path][method.to_ascii_lowercase()];
        for status in ["401", "403"] {
            assert!(
                op["responses"][status].is_object(),
                "{method} {path} lacks {status}"
            );
        }
    }
}

#[test]
fn committed_openapi_document_is_current() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi.json");
    let generated = openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "crates/palermo-server/openapi.json is stale; regenerate it with \
         `UPDATE_OPENAPI=1 cargo test -p palermo-server --test it committed_openapi` and commit it"
    );
}
