//! A test federation: a trust anchor, enrolled nodes on loopback ports, and
//! helpers to start, stop and inspect them.

use std::path::PathBuf;
use std::time::Duration;

use palermo_federation::{NodeConfig, NodeIdentity, SignedDirectory, TrustAnchor};
use palermo_ledger::NodeKey;
use palermo_store::{AnyStore, EntryFilter, FederationStore, LedgerStore};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// One enrolled node.
pub(crate) struct TestNode {
    pub(crate) id: String,
    pub(crate) dir: PathBuf,
    pub(crate) identity: NodeIdentity,
    pub(crate) store: AnyStore,
    pub(crate) port: u16,
    pub(crate) ledger_key: NodeKey,
    /// `HitConfig::inline_encodings` when set (the default otherwise).
    pub(crate) inline_encodings: Option<usize>,
    running: Option<(oneshot::Sender<()>, JoinHandle<()>)>,
}

/// A federation of enrolled nodes.
pub(crate) struct Net {
    pub(crate) anchor: TrustAnchor,
    pub(crate) nodes: Vec<TestNode>,
    pub(crate) tmp: tempfile::TempDir,
}

pub(crate) const AGENCIES: [(&str, &str); 4] = [
    ("NL", "KNP"),
    ("DE", "BKA"),
    ("FR", "OCRTEH"),
    ("TH", "DSI"),
];

/// The PostgreSQL URL for tests, with a fresh schema name.
pub(crate) fn pg_url() -> String {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("fed_{}", uuid::Uuid::now_v7().simple());
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}schema={schema}")
}

impl Net {
    /// `n` nodes enrolled now for 30 days, each with a SQLite store (or the
    /// URL `stores` gives for its index).
    pub(crate) async fn new(n: usize, stores: impl Fn(usize) -> Option<String>) -> Net {
        let tmp = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let mut anchor = TrustAnchor::create("test", now - time::Duration::days(1), 365).unwrap();
        let mut nodes = Vec::new();
        for (idx, (cc, agency)) in AGENCIES.iter().take(n).enumerate() {
            let port = free_port().await;
            let node = enroll(&mut anchor, cc, agency, port, now, 30, tmp.path()).await;
            let url = stores(idx)
                .unwrap_or_else(|| format!("sqlite://{}", node.0.join("node.db").display()));
            let store = palermo_store::open(&url).await.unwrap();
            nodes.push(TestNode {
                id: node.1.node_id.clone(),
                dir: node.0,
                identity: node.1,
                store,
                port,
                ledger_key: NodeKey::generate(),
                inline_encodings: None,
                running: None,
            });
        }
        let mut net = Net { anchor, nodes, tmp };
        net.publish_to_all();
        net
    }

    /// Publishes the anchor's next directory into every node directory; returns it.
    pub(crate) fn publish_to_all(&mut self) -> SignedDirectory {
        let signed = self.anchor.publish(OffsetDateTime::now_utc(), 7).unwrap();
        for node in &self.nodes {
            signed
                .save(&node.dir.join(palermo_federation::pki::DIRECTORY_FILE))
                .unwrap();
        }
        signed
    }

    pub(crate) fn node(&mut self, idx: usize) -> &mut TestNode {
        &mut self.nodes[idx]
    }
}

/// Initialises and enrols a node listening on `port`, saved in `base/<node-id>`.
pub(crate) async fn enroll(
    anchor: &mut TrustAnchor,
    cc: &str,
    agency: &str,
    port: u16,
    enrolled_at: OffsetDateTime,
    validity_days: u32,
    base: &std::path::Path,
) -> (PathBuf, NodeIdentity) {
    let mut identity =
        NodeIdentity::init(cc, agency, &format!("https://127.0.0.1:{port}")).unwrap();
    let enrollment = anchor
        .enroll(&identity.enrollment_request(), enrolled_at, validity_days)
        .unwrap();
    identity.install(&enrollment).unwrap();
    anchor.record(enrollment.member).unwrap();
    let dir = base.join(&identity.node_id);
    std::fs::create_dir_all(&dir).unwrap();
    identity.save(&dir).unwrap();
    (dir, identity)
}

/// A loopback port nobody listens on now.
pub(crate) async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

impl TestNode {
    /// The test configuration: fast retries and tree-head exchange.
    pub(crate) fn config(&self) -> NodeConfig {
        let mut config = NodeConfig::new(&self.dir, self.ledger_key.clone());
        config.retry_base = Duration::from_millis(50);
        config.retry_max = Duration::from_millis(400);
        config.tree_head_interval = Duration::from_millis(300);
        config.request_timeout = Duration::from_secs(5);
        if let Some(n) = self.inline_encodings {
            config.hits.inline_encodings = n;
        }
        config
    }

    /// Starts the node on its port.
    pub(crate) async fn start(&mut self) {
        assert!(self.running.is_none(), "{} is already running", self.id);
        let mut listener = None;
        for _ in 0..50 {
            match TcpListener::bind(("127.0.0.1", self.port)).await {
                Ok(l) => {
                    listener = Some(l);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let listener = listener.unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let config = self.config();
        let store = self.store.clone();
        let id = self.id.clone();
        let handle = tokio::spawn(async move {
            let shutdown = async move {
                let _ = rx.await;
            };
            if let Err(err) = palermo_federation::run_node(config, store, listener, shutdown).await
            {
                panic!("node {id} failed: {err}");
            }
        });
        self.running = Some((tx, handle));
    }

    /// Stops the node and waits for it.
    pub(crate) async fn stop(&mut self) {
        if let Some((tx, handle)) = self.running.take() {
            let _ = tx.send(());
            tokio::time::timeout(Duration::from_secs(15), handle)
                .await
                .unwrap()
                .unwrap();
        }
    }

    pub(crate) async fn send(&self, to: &str, kind: palermo_federation::Kind) -> uuid::Uuid {
        palermo_federation::send(
            &self.store,
            &self.identity,
            to,
            kind,
            serde_json::json!({"hello": to}),
        )
        .await
        .unwrap()
    }

    pub(crate) async fn inbox_kinds(&self, kind: &str) -> usize {
        self.store
            .inbox_list(100_000)
            .await
            .unwrap()
            .iter()
            .filter(|r| r.kind == kind)
            .count()
    }

    pub(crate) async fn ledger_count(&self, kind: &str) -> usize {
        self.ledger_count_of(kind, None).await
    }

    /// Ledger entries of `kind`, only those about `subject` when given.
    pub(crate) async fn ledger_count_of(&self, kind: &str, subject: Option<&str>) -> usize {
        let filter = EntryFilter {
            kind: Some(kind.to_owned()),
            actor: None,
            case: None,
            subject: subject.map(str::to_owned),
            from_seq: 0,
            limit: 1_000_000,
        };
        self.store.ledger_entries(&filter).await.unwrap().len()
    }

    pub(crate) fn endpoint(&self) -> String {
        format!(
            "https://127.0.0.1:{}{}",
            self.port,
            palermo_federation::peer::MESSAGES_PATH
        )
    }
}

/// Polls `check` until it holds or `secs` seconds pass.
pub(crate) async fn eventually<F, Fut>(what: &str, secs: u64, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if check().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
