//! `palermo ledger`: verify, head, proof, show, insider, and tamper detection
//! by editing the SQLite file's bytes and truncating it.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) struct Node {
    pub(crate) dir: tempfile::TempDir,
}

impl Node {
    pub(crate) fn new() -> Node {
        Node {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn db(&self) -> PathBuf {
        self.dir.path().join("node.db")
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Runs `palermo` against this node's SQLite database.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_palermo"))
            .args(args)
            .env("PALERMO_DB", format!("sqlite://{}", self.db().display()))
            .env("PALERMO_USER", "officer-1")
            .env_remove("PALERMO_KEY")
            .env_remove("PALERMO_VAULT")
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut full = vec!["--format", "json"];
        full.extend_from_slice(args);
        let out = self.run(&full);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    pub(crate) fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, content).unwrap();
        path
    }

    /// A node with two evidence items of case NL-1 and one transfer.
    pub(crate) fn with_evidence() -> Node {
        let node = Node::new();
        let a = node.write("phone.img", "phone image bytes");
        let b = node.write("laptop.img", "laptop image bytes");
        let out = node.json(&[
            "evidence",
            "add",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--case",
            "NL-1",
            "--description",
            "devices seized in Rotterdam",
            "--seized-at",
            "Rotterdam",
            "--seized-on",
            "2026-03-01",
            "--by",
            "J. de Vries",
        ]);
        let item = out[0]["item"].as_str().unwrap().to_owned();
        node.json(&[
            "evidence",
            "custody",
            &item,
            "--event",
            "transferred",
            "--from",
            "NL node",
            "--to",
            "court",
        ]);
        node
    }
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn replace_in_file(path: &Path, from: &str, to: &str) -> usize {
    assert_eq!(from.len(), to.len());
    let mut bytes = std::fs::read(path).unwrap();
    let mut n = 0;
    let mut pos = 0;
    while let Some(found) = bytes[pos..]
        .windows(from.len())
        .position(|w| w == from.as_bytes())
    {
        let at = pos + found;
        bytes[at..at + from.len()].copy_from_slice(to.as_bytes());
        pos = at + from.len();
        n += 1;
    }
    std::fs::write(path, bytes).unwrap();
    n
}

#[test]
fn verify_head_proof_and_show() {
    let node = Node::with_evidence();
    let verified = node.json(&["ledger", "verify"]);
    assert_eq!(verified["ok"], true);
    // The key-change entry, two intakes, one transfer.
    assert_eq!(verified["n_entries"], 4);

    let head = node.json(&["ledger", "head"]);
    assert_eq!(head["size"], 4);
    assert!(node.path("node.db.key").exists());

    let proof = node.json(&["ledger", "proof", "--entry", "1"]);
    assert_eq!(proof["proof"]["index"], 1);
    assert_eq!(proof["entry"]["body"]["kind"], "evidence-custody");
    let consistency = node.json(&["ledger", "proof", "--from", "3"]);
    assert_eq!(consistency["proof"]["new_size"], 4);

    let page = node.json(&[
        "ledger",
        "show",
        "--kind",
        "evidence-custody",
        "--limit",
        "2",
    ]);
    assert_eq!(page["entries"].as_array().unwrap().len(), 2);
    assert_eq!(page["next"], 3);
    let text = String::from_utf8(node.run(&["ledger", "show"]).stdout).unwrap();
    assert!(text.contains("key-change"), "{text}");

    let out = node.run(&["ledger", "proof", "--entry", "99"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let pem = String::from_utf8(node.run(&["ledger", "public-key"]).stdout).unwrap();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
}

#[test]
fn editing_the_sqlite_file_is_detected() {
    let node = Node::with_evidence();
    // Each command closes its store, so its commits are in the database file,
    // not left behind in the write-ahead log.
    let wal = node.path("node.db-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0,
        "the write-ahead log was left behind"
    );
    // Rewrite the seizing officer inside the stored entry bytes, in the
    // database file and in its write-ahead log if one was left behind.
    let mut n = replace_in_file(&node.db(), "J. de Vries", "J. de Vriez");
    if node.path("node.db-wal").exists() {
        n += replace_in_file(&node.path("node.db-wal"), "J. de Vries", "J. de Vriez");
    }
    assert!(n > 0, "the entry text was not found in the database files");
    let out = node.run(&["ledger", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("entry 1 was altered"),
        "{}",
        stderr(&out)
    );

    let json = node.run(&["--format", "json", "ledger", "verify"]);
    let value: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(value["finding"]["entry"], 1);
}

#[test]
fn a_truncated_database_is_an_error() {
    for keep in [0, 8192] {
        let node = Node::with_evidence();
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(node.db())
            .unwrap();
        file.set_len(keep).unwrap();
        drop(file);
        let out = node.run(&["ledger", "verify"]);
        assert_eq!(
            out.status.code(),
            Some(1),
            "kept {keep} bytes: {}",
            stderr(&out)
        );
        assert!(stderr(&out).starts_with("error:"), "{}", stderr(&out));
    }
}

#[test]
fn a_wrong_public_key_is_reported() {
    let node = Node::with_evidence();
    let other = Node::with_evidence();
    let pem = other.run(&["ledger", "public-key"]).stdout;
    std::fs::write(node.path("other.pem"), pem).unwrap();
    let out = node.run(&[
        "ledger",
        "verify",
        "--public-key",
        node.path("other.pem").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no key-change entry announces"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn insider_report_runs_on_an_empty_ledger() {
    let node = Node::new();
    let report = node.json(&["ledger", "insider"]);
    assert_eq!(report["signals"].as_array().unwrap().len(), 0);
    let out = node.run(&["ledger", "insider", "--work-hours", "9"]);
    assert_eq!(out.status.code(), Some(2));
}
