//! Real `palermo serve --node` processes exchanging messages over mutual TLS,
//! killed with SIGKILL in the middle of delivery (the sender) and of applying
//! (the receiver): after a restart nothing is lost and nothing is applied or
//! ledgered twice.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const N_PINGS: usize = 300;

fn palermo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(args: &[&str]) -> Output {
    let out = palermo(args);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn json(db: &str, args: &[&str]) -> Value {
    let mut all = vec!["--db", db, "--format", "json"];
    all.extend_from_slice(args);
    serde_json::from_slice(&ok(&all).stdout).unwrap()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Node {
    id: String,
    dir: PathBuf,
    db: String,
    port: u16,
    child: Option<Child>,
}

impl Node {
    fn start(&mut self) {
        let log = std::fs::File::options()
            .create(true)
            .append(true)
            .open(self.dir.join("serve.log"))
            .unwrap();
        let peer = format!("127.0.0.1:{}", self.port);
        let child = Command::new(env!("CARGO_BIN_EXE_palermo"))
            .args([
                "--db",
                &self.db,
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--node",
                self.dir.to_str().unwrap(),
                "--peer-listen",
                &peer,
                "--tree-head-interval",
                "3600",
                // One message per POST: delivery takes many round trips,
                // so the kill lands in the middle of it.
                "--batch-size",
                "1",
            ])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn kill9(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM and wait: a clean stop records everything on the ledger.
    fn stop(&mut self) {
        let mut child = self.child.take().unwrap();
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "{} exited with {status}", self.id);
                return;
            }
            assert!(Instant::now() < deadline, "{} did not stop", self.id);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn inbox(&self) -> Vec<Value> {
        json(&self.db, &["peer", "inbox", "--limit", "1000000"])
            .as_array()
            .unwrap()
            .clone()
    }

    fn outbox(&self) -> Vec<Value> {
        json(&self.db, &["peer", "outbox", "--limit", "1000000"])
            .as_array()
            .unwrap()
            .clone()
    }

    fn ledger_subjects(&self, kind: &str) -> Vec<String> {
        let out = json(
            &self.db,
            &["ledger", "show", "--kind", kind, "--limit", "1000000"],
        );
        out["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["subject"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn count(rows: &[Value], kind: &str) -> usize {
    rows.iter().filter(|r| r["kind"] == kind).count()
}

/// An anchor and two enrolled nodes (nl-knp sends, de-bka receives) with SQLite stores.
fn federation(tmp: &Path) -> (Node, Node) {
    let anchor = tmp.join("anchor");
    ok(&[
        "federation",
        "init",
        "--dir",
        anchor.to_str().unwrap(),
        "--name",
        "test",
    ]);
    let mut nodes = Vec::new();
    for (cc, agency, id) in [("NL", "KNP", "nl-knp"), ("DE", "BKA", "de-bka")] {
        let dir = tmp.join(id);
        let port = free_port();
        ok(&[
            "node",
            "init",
            "--dir",
            dir.to_str().unwrap(),
            "--jurisdiction",
            cc,
            "--agency",
            agency,
            "--endpoint",
            &format!("https://127.0.0.1:{port}"),
        ]);
        ok(&[
            "node",
            "enroll",
            "--dir",
            dir.to_str().unwrap(),
            "--anchor",
            anchor.to_str().unwrap(),
        ]);
        let db = format!("sqlite://{}", dir.join("node.db").display());
        nodes.push(Node {
            id: id.to_owned(),
            dir,
            db,
            port,
            child: None,
        });
    }
    let published = tmp.join("directory.json");
    ok(&[
        "federation",
        "directory",
        "--anchor",
        anchor.to_str().unwrap(),
        "--out",
        published.to_str().unwrap(),
    ]);
    for node in &nodes {
        ok(&[
            "node",
            "directory",
            "--dir",
            node.dir.to_str().unwrap(),
            published.to_str().unwrap(),
        ]);
    }
    let b = nodes.pop().unwrap();
    let a = nodes.pop().unwrap();
    // Create the receiver's store before two processes open it at once
    // (SQLite migrations take no lock across processes).
    assert!(b.inbox().is_empty());
    // Queue the pings before the sender runs, so that delivery takes a while.
    let out = json(
        &a.db,
        &[
            "peer",
            "send",
            "--node",
            a.dir.to_str().unwrap(),
            "--to",
            &b.id,
            "--kind",
            "ping",
            "--repeat",
            &N_PINGS.to_string(),
        ],
    );
    assert_eq!(out["ids"].as_array().unwrap().len(), N_PINGS);
    (a, b)
}

fn wait_for(what: &str, secs: u64, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Every ping arrived once, was answered once, and is on both ledgers once.
fn assert_exactly_once(a: &Node, b: &Node) {
    let inbox = b.inbox();
    assert_eq!(count(&inbox, "ping"), N_PINGS);
    let pongs = count(&b.outbox(), "pong");
    assert_eq!(
        pongs, N_PINGS,
        "one pong per ping, whatever was redelivered"
    );
    let received = b.ledger_subjects("message-received");
    assert_eq!(
        received.len(),
        inbox.len(),
        "each received message on the ledger once"
    );
    let unique: HashSet<&String> = received.iter().collect();
    assert_eq!(unique.len(), received.len());
    let sent = a.ledger_subjects("message-sent");
    let unique: HashSet<&String> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len());
    let delivered = a
        .outbox()
        .iter()
        .filter(|r| r["status"] == "delivered")
        .count();
    assert_eq!(sent.len(), delivered);
    // Both ledgers still verify.
    for node in [a, b] {
        ok(&["--db", &node.db, "ledger", "verify"]);
    }
}

fn all_pings_delivered(a: &Node) -> bool {
    let rows = a.outbox();
    count(&rows, "ping") == N_PINGS
        && rows
            .iter()
            .filter(|r| r["kind"] == "ping")
            .all(|r| r["status"] == "delivered")
}

#[test]
fn killing_the_sender_mid_delivery_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b) = federation(tmp.path());
    b.start();
    a.start();
    wait_for("the first pings to arrive", 90, || {
        count(&b.inbox(), "ping") > 0
    });
    a.kill9();
    let before = count(&b.inbox(), "ping");
    assert!(before < N_PINGS, "delivery finished before the kill");
    a.start();
    wait_for("every ping to be delivered", 120, || {
        all_pings_delivered(&a)
    });
    wait_for("every pong to come back", 120, || {
        count(&a.inbox(), "pong") == N_PINGS
    });
    a.stop();
    b.stop();
    assert_exactly_once(&a, &b);
}

#[test]
fn killing_the_receiver_mid_apply_loses_and_duplicates_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut a, mut b) = federation(tmp.path());
    b.start();
    a.start();
    wait_for("the first pings to arrive", 90, || {
        count(&b.inbox(), "ping") > 0
    });
    b.kill9();
    let before = count(&b.inbox(), "ping");
    assert!(before < N_PINGS, "delivery finished before the kill");
    b.start();
    wait_for("every ping to be delivered", 120, || {
        all_pings_delivered(&a)
    });
    wait_for("every pong to come back", 120, || {
        count(&a.inbox(), "pong") == N_PINGS
    });
    a.stop();
    b.stop();
    assert_exactly_once(&a, &b);
}
