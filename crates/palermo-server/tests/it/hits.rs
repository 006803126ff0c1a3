//! `GET /api/v1/hits` lists the stored hits of both directions, on SQLite and PostgreSQL.

use axum::http::StatusCode;
use palermo_store::{AnyStore, HitDirection, HitRecord};
use time::OffsetDateTime;

use crate::util::{Node, get, node_with, postgres, sqlite};

fn hit(direction: HitDirection, hit_ref: &str, record: &str, seconds: i64) -> HitRecord {
    HitRecord {
        direction,
        peer: "de-bka".to_owned(),
        hit_ref: hit_ref.to_owned(),
        query_id: uuid::Uuid::now_v7(),
        query_index: 1,
        case_id: "NL-2026-017".to_owned(),
        band: "high".to_owned(),
        score: Some(0.97),
        record_ids: vec![record.to_owned()],
        at: OffsetDateTime::from_unix_timestamp(1_790_000_000 + seconds).unwrap(),
        status: "open".to_owned(),
    }
}

async fn lists_hits(store: AnyStore, node: Node) {
    let empty = get(&node.router, "/api/v1/hits", &node.analyst).await;
    assert_eq!(empty.status, StatusCode::OK, "{}", empty.text());
    assert_eq!(empty.json()["hits"].as_array().unwrap().len(), 0);
    store
        .hits_insert(&[
            hit(HitDirection::Sent, "hit-aaaa", "nl-q1", 1),
            hit(HitDirection::Received, "hit-bbbb", "nl-p7", 2),
        ])
        .await
        .unwrap();
    let all = get(&node.router, "/api/v1/hits", &node.analyst)
        .await
        .json();
    let refs: Vec<&str> = all["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hit_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, vec!["hit-bbbb", "hit-aaaa"], "newest first");
    // The score stays inside the node that computed it.
    assert!(all["hits"][0].get("score").is_none());
    let sent = get(&node.router, "/api/v1/hits?direction=sent", &node.analyst)
        .await
        .json();
    assert_eq!(sent["hits"].as_array().unwrap().len(), 1);
    assert_eq!(sent["hits"][0]["record_ids"][0], "nl-q1");
    assert_eq!(sent["hits"][0]["direction"], "sent");
    for bad in ["direction=sideways", "limit=0", "limit=5000"] {
        get(&node.router, &format!("/api/v1/hits?{bad}"), &node.analyst)
            .await
            .problem(StatusCode::BAD_REQUEST);
    }
}

#[tokio::test]
async fn hits_are_listed_on_sqlite() {
    let (store, dir) = sqlite().await;
    let node = node_with(store.clone(), Some(dir), |_| {}).await;
    lists_hits(store, node).await;
}

#[tokio::test]
async fn hits_are_listed_on_postgres() {
    let store = postgres().await;
    let node = node_with(store.clone(), None, |_| {}).await;
    lists_hits(store, node).await;
}
