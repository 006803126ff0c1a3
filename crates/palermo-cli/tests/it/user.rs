//! `palermo user add|list|revoke`, and the token against a running
//! `palermo serve`: accepted, then refused at once after a revoke.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};

use crate::ledger::Node;

/// `GET path` with a bearer token over plain HTTP/1.1; returns the status code.
fn status(addr: &str, path: &str, token: &str) -> u16 {
    let mut stream = TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {response:?}"))
}

/// Kills the server when the test ends, even on failure.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn users_get_tokens_shown_once_and_revocation_is_immediate() {
    let node = Node::new();
    let added = node.json(&[
        "user", "add", "ana", "--role", "analyst", "--role", "Analyst", "--case", "C-1",
        "--agency", "KMar",
    ]);
    let token = added["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("plm_") && token.len() == 68, "{token}");
    assert_eq!(added["user"]["roles"], serde_json::json!(["analyst"]));
    assert_eq!(added["user"]["cases"], serde_json::json!(["C-1"]));
    node.json(&["user", "add", "root", "--role", "administrator"]);
    // The case assignment is on the ledger, for the insider-abuse report.
    let assigned = node.json(&["ledger", "show", "--kind", "case-assignment"]);
    let text = assigned.to_string();
    assert!(text.contains("\"ana\"") && text.contains("C-1"), "{text}");

    // Bad input: exit 2 with a message naming the problem.
    for (args, expect) in [
        (
            &["user", "add", "ana", "--role", "analyst"][..],
            "already exists",
        ),
        (
            &["user", "add", "bob", "--role", "judge"][..],
            "unknown role",
        ),
        (
            &["user", "add", "b o b", "--role", "analyst"][..],
            "user name",
        ),
        (&["user", "revoke", "nobody"][..], "no user"),
    ] {
        let out = node.run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(expect), "{args:?}: {stderr}");
    }
    let out = node.run(&["user", "add", "bob"]);
    assert_eq!(out.status.code(), Some(2), "a role is required");

    // The store keeps only the hash: the token text is nowhere in the files.
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(node.dir.path()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap_or_default());
    }
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains(&token[4..]));

    let list = node.json(&["user", "list"]);
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ana", "root"]);
    assert!(list[0]["revoked_at"].is_null());

    // A running node accepts the token, then refuses it right after the revoke.
    let mut child = Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("PALERMO_DB", format!("sqlite://{}", node.db().display()))
        .env_remove("PALERMO_KEY")
        .current_dir(node.dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let server = Server(child);
    let mut lines = BufReader::new(stderr).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("palermo serve exited before listening")
            .unwrap();
        if let Some(rest) = line.split("local API on http://").nth(1) {
            break rest.trim().to_owned();
        }
    };
    assert_eq!(status(&addr, "/health", &token), 200);
    assert_eq!(status(&addr, "/health", "plm_not-a-token"), 401);
    let revoked = node.json(&["user", "revoke", "ana"]);
    assert!(revoked["revoked_at"].is_string());
    assert_eq!(status(&addr, "/health", &token), 401);
    drop(server);

    let out = node.run(&["user", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("REVOKED"), "{text}");
}
