//! The ledger tables on both backends: append, proofs, filters, tamper
//! detection by direct SQL edits, and a `kill -9` in the middle of an append.

use std::time::{Duration, Instant};

use palermo_ledger::audit::Finding;
use palermo_ledger::entry::NewEntry;
use palermo_ledger::merkle::{verify_consistency, verify_inclusion};
use palermo_ledger::{EntryBody, NodeKey, leaf_hash};
use palermo_store::{
    AnyStore, EntryFilter, LedgerStore, PgStore, SqliteStore, ledger_consistency_proof,
    ledger_inclusion_proof, ledger_root,
};

/// Env var that turns [`child_appender`] into an endless appender (set only in the child).
const CHILD_ENV: &str = "PALERMO_LEDGER_CHILD_DB";
const CHILD_BATCH: usize = 500;

fn key() -> NodeKey {
    NodeKey::from_seed([11; 32])
}

fn key_entry(key: &NodeKey) -> NewEntry {
    NewEntry {
        actor: "node".into(),
        case: None,
        time: None,
        body: EntryBody::KeyChange {
            public_key: key.public().to_base64(),
            fingerprint: key.public().fingerprint(),
            previous: None,
            reason: "created".into(),
        },
    }
}

fn query(i: usize) -> NewEntry {
    NewEntry {
        actor: format!("analyst-{}", i % 3),
        case: Some(format!("C{}", i % 2)),
        time: None,
        body: EntryBody::Query {
            persons: vec![format!("person-{i}")],
            purpose: None,
            legal_basis: None,
            policy_decision: None,
        },
    }
}

/// Three batches: the key entry plus 4 queries, then 5 and 5 queries (15 entries).
async fn fill(store: &impl LedgerStore) {
    let key = key();
    let mut first = vec![key_entry(&key)];
    first.extend((0..4).map(query));
    store.ledger_append(first, &key).await.unwrap();
    store
        .ledger_append((4..9).map(query).collect(), &key)
        .await
        .unwrap();
    store
        .ledger_append((9..14).map(query).collect(), &key)
        .await
        .unwrap();
}

fn all(from_seq: u64) -> EntryFilter {
    EntryFilter {
        kind: None,
        actor: None,
        case: None,
        subject: None,
        from_seq,
        limit: 1000,
    }
}

async fn append_prove_and_filter(store: &impl LedgerStore) {
    assert_eq!(store.ledger_head().await.unwrap(), None);
    fill(store).await;
    assert_eq!(store.ledger_size().await.unwrap(), 15);
    let heads = store.ledger_heads().await.unwrap();
    assert_eq!(
        heads.iter().map(|h| h.head.size).collect::<Vec<_>>(),
        vec![5, 10, 15]
    );
    let head = store.ledger_head().await.unwrap().unwrap();
    key().public().verify_head(&head).unwrap();
    assert_eq!(ledger_root(store, 15).await.unwrap(), head.head.root);

    let entries = store.ledger_entries(&all(0)).await.unwrap();
    for entry in &entries {
        assert_eq!(leaf_hash(&entry.bytes), entry.leaf);
        let proof = ledger_inclusion_proof(store, entry.seq, 15).await.unwrap();
        verify_inclusion(&entry.leaf, &proof, &head.head.root).unwrap();
    }
    for old in &heads {
        let proof = ledger_consistency_proof(store, old.head.size, 15)
            .await
            .unwrap();
        verify_consistency(&proof, &old.head.root, &head.head.root).unwrap();
    }

    let filter = EntryFilter {
        kind: Some("query".into()),
        actor: Some("analyst-1".into()),
        from_seq: 3,
        limit: 2,
        ..all(0)
    };
    let page = store.ledger_entries(&filter).await.unwrap();
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![5, 8]);
    let filter = EntryFilter {
        case: Some("C0".into()),
        ..all(0)
    };
    assert_eq!(store.ledger_entries(&filter).await.unwrap().len(), 7);
    let summary = store
        .ledger_audit(Some(key().public()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((summary.n_entries, summary.n_heads), (15, 3));

    // A key the log never announced is not trusted.
    let other = NodeKey::from_seed([12; 32]);
    let finding = store
        .ledger_audit(Some(other.public()))
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(finding.kind, "untrusted");
}

/// A direct edit of the tables, bypassing the API.
#[derive(Clone, Copy, Debug)]
enum Tamper {
    EditBody,
    EditBodyAndLeaf,
    EditBodyBinary,
    DeleteMiddle,
    DeleteLast,
    Swap,
    AppendWithoutHead,
    EditHeadSignature,
    EditNode,
    DeleteNode,
}

const TAMPERS: [(Tamper, Option<u64>, &str); 10] = [
    (Tamper::EditBody, Some(7), "altered"),
    (Tamper::EditBodyBinary, Some(7), "altered"),
    (Tamper::EditBodyAndLeaf, Some(7), "altered"),
    (Tamper::DeleteMiddle, Some(7), "missing"),
    (Tamper::DeleteLast, Some(14), "missing"),
    (Tamper::Swap, Some(3), "reordered"),
    (Tamper::AppendWithoutHead, Some(15), "reordered"),
    (Tamper::EditHeadSignature, Some(9), "bad-signature"),
    (Tamper::EditNode, Some(8), "altered"),
    (Tamper::DeleteNode, None, "missing"),
];

/// The SQL statements (with `$1`-style or `?` placeholders) and byte parameters of a tamper.
async fn tamper_sql(
    store: &impl LedgerStore,
    tamper: Tamper,
    pg: bool,
) -> Vec<(String, Vec<Vec<u8>>)> {
    let p = |n: usize| if pg { format!("${n}") } else { "?".to_owned() };
    let entries = store.ledger_entries(&all(0)).await.unwrap();
    let body7 = String::from_utf8(entries[7].bytes.clone())
        .unwrap()
        .replace("person-6", "person-X")
        .into_bytes();
    match tamper {
        Tamper::EditBody => vec![(format!("UPDATE ledger_entries SET body = {} WHERE seq = 7", p(1)), vec![body7])],
        Tamper::EditBodyBinary => {
            // A record separator and invalid UTF-8 defeat the fast read path.
            let mut body = entries[7].bytes.clone();
            body.extend_from_slice(&[0x1e, 0xff, 0x00]);
            vec![(format!("UPDATE ledger_entries SET body = {} WHERE seq = 7", p(1)), vec![body])]
        }
        Tamper::EditBodyAndLeaf => {
            let leaf = leaf_hash(&body7).0.to_vec();
            vec![(format!("UPDATE ledger_entries SET body = {}, leaf = {} WHERE seq = 7", p(1), p(2)), vec![body7, leaf])]
        }
        Tamper::DeleteMiddle => vec![("DELETE FROM ledger_entries WHERE seq = 7".into(), vec![])],
        Tamper::DeleteLast => vec![("DELETE FROM ledger_entries WHERE seq = 14".into(), vec![])],
        Tamper::Swap => vec![
            (format!("UPDATE ledger_entries SET body = {}, leaf = {} WHERE seq = 3", p(1), p(2)), vec![entries[4].bytes.clone(), entries[4].leaf.0.to_vec()]),
            (format!("UPDATE ledger_entries SET body = {}, leaf = {} WHERE seq = 4", p(1), p(2)), vec![entries[3].bytes.clone(), entries[3].leaf.0.to_vec()]),
        ],
        Tamper::AppendWithoutHead => vec![(
            "INSERT INTO ledger_entries (seq, leaf, body, kind, actor, case_id, subject, time) \
             SELECT 15, leaf, body, kind, actor, case_id, subject, time FROM ledger_entries WHERE seq = 14"
                .into(),
            vec![],
        )],
        Tamper::EditHeadSignature => {
            let heads = store.ledger_heads().await.unwrap();
            let sig = heads[0].signature.clone().into_bytes();
            vec![(format!("UPDATE ledger_heads SET signature = CAST({} AS TEXT) WHERE size = 10", p(1)), vec![sig])]
        }
        Tamper::EditNode => vec![(
            format!("UPDATE ledger_nodes SET hash = {} WHERE level = 1 AND idx = 4", p(1)),
            vec![vec![0u8; 32]],
        )],
        Tamper::DeleteNode => vec![("DELETE FROM ledger_nodes WHERE level = 2 AND idx = 2".into(), vec![])],
    }
}

fn check_finding(tamper: Tamper, finding: &Finding, entry: Option<u64>, kind: &str) {
    assert_eq!(
        (finding.entry, finding.kind),
        (entry, kind),
        "{tamper:?}: {}",
        finding.message
    );
}

mod sqlite {
    use super::*;

    async fn open() -> (SqliteStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("node.db").display());
        (SqliteStore::connect(&url).await.unwrap(), dir)
    }

    #[tokio::test]
    async fn ledger_append_prove_and_filter() {
        let (store, _dir) = open().await;
        append_prove_and_filter(&store).await;
    }

    #[tokio::test]
    async fn ledger_direct_sql_edits_are_detected() {
        for (tamper, entry, kind) in TAMPERS {
            let (store, _dir) = open().await;
            fill(&store).await;
            for (sql, params) in tamper_sql(&store, tamper, false).await {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for param in params {
                    query = query.bind(param);
                }
                query.execute(store.pool()).await.unwrap();
            }
            let finding = store
                .ledger_audit(Some(key().public()))
                .await
                .unwrap()
                .unwrap_err();
            check_finding(tamper, &finding, entry, kind);
        }
    }

    #[tokio::test]
    async fn ledger_refuses_to_extend_a_damaged_log() {
        let (store, _dir) = open().await;
        fill(&store).await;
        sqlx::query("DELETE FROM ledger_entries WHERE seq = 14")
            .execute(store.pool())
            .await
            .unwrap();
        let err = store
            .ledger_append(vec![query(99)], &key())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("refusing to append"), "{err}");
    }

    #[tokio::test]
    async fn ledger_kill_mid_append_leaves_the_log_consistent() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("node.db").display());
        kill_mid_append(&url).await;
    }

    /// Appends made at the same time from several threads take turns on the
    /// store's one write connection: every one lands, the log audits clean,
    /// and no second connection was opened to write.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_appends_share_the_one_write_connection() {
        let (store, _dir) = open().await;
        store
            .ledger_append(vec![key_entry(&key())], &key())
            .await
            .unwrap();
        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..24 {
            let store = store.clone();
            tasks.spawn(async move {
                for round in 0..4 {
                    let first = (task * 4 + round) * 3;
                    store
                        .ledger_append((first..first + 3).map(query).collect(), &key())
                        .await
                        .unwrap();
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
        assert_eq!(store.ledger_size().await.unwrap(), 1 + 24 * 4 * 3);
        let summary = store
            .ledger_audit(Some(key().public()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((summary.n_entries, summary.n_heads), (289, 97));
        assert_eq!(store.write_pool().size(), 1);
    }
}

mod postgres {
    use super::*;

    async fn open() -> PgStore {
        let url = crate::util::pg_url();
        PgStore::connect(&url).await.unwrap()
    }

    #[tokio::test]
    async fn ledger_append_prove_and_filter() {
        append_prove_and_filter(&open().await).await;
    }

    #[tokio::test]
    async fn ledger_direct_sql_edits_are_detected() {
        for (tamper, entry, kind) in TAMPERS {
            let store = open().await;
            fill(&store).await;
            for (sql, params) in tamper_sql(&store, tamper, true).await {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
                for param in params {
                    query = query.bind(param);
                }
                query.execute(store.pool()).await.unwrap();
            }
            let finding = store
                .ledger_audit(Some(key().public()))
                .await
                .unwrap()
                .unwrap_err();
            check_finding(tamper, &finding, entry, kind);
        }
    }

    #[tokio::test]
    async fn ledger_kill_mid_append_leaves_the_log_consistent() {
        kill_mid_append(&crate::util::pg_url()).await;
    }
}

/// Starts this test binary as a child that appends batches of [`CHILD_BATCH`]
/// forever, kills it with SIGKILL mid-stream, and checks the log.
async fn kill_mid_append(url: &str) {
    // Create the schema first so the child and the parent agree on it.
    let store = palermo_store::open(url).await.unwrap();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "ledger::child_appender",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, url)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while store.ledger_size().await.unwrap() < 3 * CHILD_BATCH as u64 {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the child never appended"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Let it get into the middle of another batch, then kill -9.
    tokio::time::sleep(Duration::from_millis(37)).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let reopened = palermo_store::open(url).await.unwrap();
    let size = reopened.ledger_size().await.unwrap();
    assert_eq!(
        size % CHILD_BATCH as u64,
        0,
        "a partial batch survived: {size} entries"
    );
    let summary = reopened
        .ledger_audit(Some(key().public()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(summary.n_entries, size);
    // The log can be extended after the crash.
    reopened
        .ledger_append(vec![query(0)], &key())
        .await
        .unwrap();
    drop(store);
}

/// The child side of [`kill_mid_append`]: does nothing unless [`CHILD_ENV`] is set.
#[tokio::test]
async fn child_appender() {
    let Ok(url) = std::env::var(CHILD_ENV) else {
        return;
    };
    let store: AnyStore = palermo_store::open(&url).await.unwrap();
    let key = key();
    let mut first = vec![key_entry(&key)];
    first.extend((1..CHILD_BATCH).map(query));
    store.ledger_append(first, &key).await.unwrap();
    loop {
        store
            .ledger_append((0..CHILD_BATCH).map(query).collect(), &key)
            .await
            .unwrap();
    }
}
