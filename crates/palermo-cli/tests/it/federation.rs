//! `palermo federation` and `palermo node`: a trust anchor enrols three nodes,
//! publishes a signed directory, revokes one; bad input exits 2 and never
//! replaces keys.

// Test helpers outside #[test] functions unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

fn palermo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(args)
        .output()
        .unwrap()
}

fn str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command with `--format json`, asserts success and returns the report.
fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let out = palermo(&all);
    assert!(out.status.success(), "{args:?} failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn assert_bad_input(args: &[&str], expected: &str) {
    let out = palermo(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
    assert!(
        stderr(&out).contains(expected),
        "{args:?}: {:?} lacks {expected:?}",
        stderr(&out)
    );
}

const NODES: [(&str, &str, &str, &str); 3] = [
    ("NL", "KNP", "https://127.0.0.1:18443", "nl-knp"),
    ("DE", "BKA", "https://127.0.0.1:18444", "de-bka"),
    (
        "fr",
        "OCRTEH",
        "https://node.ocrteh.example.fr:443",
        "fr-ocrteh",
    ),
];

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn anchor_enrols_three_nodes_publishes_and_revokes() {
    let tmp = tempfile::tempdir().unwrap();
    let anchor = tmp.path().join("anchor");
    let report = json(&[
        "federation",
        "init",
        "--dir",
        str(&anchor),
        "--name",
        "Palermo Test",
    ]);
    assert_eq!(report["federation"], "Palermo Test");
    assert_eq!(report["members"].as_array().unwrap().len(), 0);
    #[cfg(unix)]
    for key in ["ca.key.pem", "directory.key.pem"] {
        assert_eq!(mode(&anchor.join(key)), 0o600, "{key}");
    }

    for (cc, agency, endpoint, id) in NODES {
        let dir = tmp.path().join(id);
        let report = json(&[
            "node",
            "init",
            "--dir",
            str(&dir),
            "--jurisdiction",
            cc,
            "--agency",
            agency,
            "--endpoint",
            endpoint,
        ]);
        assert_eq!(report["node_id"], id);
        assert_eq!(report["enrolled"], false);
        assert!(dir.join("enroll-request.json").is_file());
        #[cfg(unix)]
        for key in ["signing.key.pem", "tls.key.pem"] {
            assert_eq!(mode(&dir.join(key)), 0o600, "{key}");
        }
        let report = json(&[
            "node",
            "enroll",
            "--dir",
            str(&dir),
            "--anchor",
            str(&anchor),
        ]);
        assert_eq!(report["enrolled"], true);
        assert_eq!(report["federation"], "Palermo Test");
        assert_eq!(report["server_name"], format!("{id}.palermo.node"));
        assert!(dir.join("node.crt.pem").is_file());
        assert!(dir.join("ca.crt.pem").is_file());
    }

    let first = tmp.path().join("directory-1.json");
    let report = json(&[
        "federation",
        "directory",
        "--anchor",
        str(&anchor),
        "--out",
        str(&first),
    ]);
    assert_eq!(report["serial"], 1);
    let statuses: Vec<(&str, &str)> = report["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["node_id"].as_str().unwrap(),
                m["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("de-bka", "active"),
            ("fr-ocrteh", "active"),
            ("nl-knp", "active")
        ]
    );

    // Install it on a node: the node verifies it with the anchor's key.
    let nl = tmp.path().join("nl-knp");
    let report = json(&["node", "directory", "--dir", str(&nl), str(&first)]);
    assert_eq!(report["directory"]["serial"], 1);
    assert_eq!(report["directory"]["status"], "valid");

    let report = json(&[
        "federation",
        "revoke",
        "--anchor",
        str(&anchor),
        "fr-ocrteh",
    ]);
    assert_eq!(report["node_id"], "fr-ocrteh");
    assert!(report["revoked_at"].is_string());

    let second = tmp.path().join("directory-2.json");
    let report = json(&[
        "federation",
        "directory",
        "--anchor",
        str(&anchor),
        "--out",
        str(&second),
    ]);
    assert_eq!(report["serial"], 2);
    let signed: Value = serde_json::from_slice(&std::fs::read(&second).unwrap()).unwrap();
    let members = signed["directory"]["members"].as_array().unwrap();
    let fr = members
        .iter()
        .find(|m| m["node_id"] == "fr-ocrteh")
        .unwrap();
    assert!(fr["revoked_at"].is_string(), "{fr}");
    assert!(
        members
            .iter()
            .filter(|m| m["node_id"] != "fr-ocrteh")
            .all(|m| m["revoked_at"].is_null())
    );

    let report = json(&["node", "directory", "--dir", str(&nl), str(&second)]);
    let revoked: Vec<&str> = report["directory"]["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["status"] == "revoked")
        .map(|m| m["node_id"].as_str().unwrap())
        .collect();
    assert_eq!(revoked, ["fr-ocrteh"]);
    let report = json(&["federation", "show", "--anchor", str(&anchor)]);
    assert_eq!(report["serial"], 2);

    // An older directory does not replace a newer one (rollback).
    assert_bad_input(
        &["node", "directory", "--dir", str(&nl), str(&first)],
        "older",
    );
    // A tampered directory is refused.
    let tampered = tmp.path().join("tampered.json");
    let text = std::fs::read_to_string(&second).unwrap();
    std::fs::write(
        &tampered,
        text.replace("https://127.0.0.1:18444", "https://127.0.0.1:19999"),
    )
    .unwrap();
    assert_bad_input(
        &["node", "directory", "--dir", str(&nl), str(&tampered)],
        "signature",
    );
    // A revoked node cannot enrol again.
    let fr_dir = tmp.path().join("fr-ocrteh");
    assert_bad_input(
        &[
            "node",
            "enroll",
            "--dir",
            str(&fr_dir),
            "--anchor",
            str(&anchor),
        ],
        "revoked",
    );
    // Text output works too.
    let out = palermo(&["node", "show", "--dir", str(&nl)]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nl-knp"));
}

#[test]
fn out_of_band_enrolment_by_request_file() {
    let tmp = tempfile::tempdir().unwrap();
    let anchor = tmp.path().join("anchor");
    let node = tmp.path().join("node");
    json(&["federation", "init", "--dir", str(&anchor), "--name", "oob"]);
    json(&[
        "node",
        "init",
        "--dir",
        str(&node),
        "--jurisdiction",
        "PL",
        "--agency",
        "CBZC",
        "--endpoint",
        "https://node.cbzc.example.pl:8443",
    ]);
    // Only the request travels to the anchor, and only the answer travels back.
    let request = tmp.path().join("request.json");
    std::fs::copy(node.join("enroll-request.json"), &request).unwrap();
    let answer = tmp.path().join("enrollment.json");
    let report = json(&[
        "federation",
        "enroll",
        "--anchor",
        str(&anchor),
        str(&request),
        "--out",
        str(&answer),
        "--validity-days",
        "30",
    ]);
    assert_eq!(report["member"]["node_id"], "pl-cbzc");
    // A tampered request is refused.
    let forged = tmp.path().join("forged.json");
    let text = std::fs::read_to_string(&request).unwrap();
    std::fs::write(
        &forged,
        text.replace("node.cbzc.example.pl", "evil.example.org"),
    )
    .unwrap();
    assert_bad_input(
        &[
            "federation",
            "enroll",
            "--anchor",
            str(&anchor),
            str(&forged),
            "--out",
            str(&answer),
        ],
        "proof",
    );
    let report = json(&["node", "install", "--dir", str(&node), str(&answer)]);
    assert_eq!(report["enrolled"], true);
    assert_eq!(report["federation"], "oob");
    // Another node cannot install it.
    let other = tmp.path().join("other");
    json(&[
        "node",
        "init",
        "--dir",
        str(&other),
        "--jurisdiction",
        "PL",
        "--agency",
        "CBZC",
        "--endpoint",
        "https://node.cbzc.example.pl:8443",
    ]);
    assert_bad_input(
        &["node", "install", "--dir", str(&other), str(&answer)],
        "signing key",
    );
    let report = json(&["federation", "show", "--anchor", str(&anchor)]);
    assert_eq!(report["members"][0]["node_id"], "pl-cbzc");
}

#[test]
fn bad_input_exits_2_and_never_replaces_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let anchor = tmp.path().join("anchor");
    let node = tmp.path().join("node");
    let missing = tmp.path().join("missing");
    json(&["federation", "init", "--dir", str(&anchor), "--name", "t"]);
    let init = |dir: &Path, cc: &str, endpoint: &str| {
        palermo(&[
            "node",
            "init",
            "--dir",
            str(dir),
            "--jurisdiction",
            cc,
            "--agency",
            "KNP",
            "--endpoint",
            endpoint,
        ])
    };

    // Bad jurisdiction codes and endpoints.
    for cc in ["ZZ", "NLD", "1"] {
        let out = init(&node, cc, "https://127.0.0.1:1");
        assert_eq!(out.status.code(), Some(2), "{cc}: {}", stderr(&out));
        assert!(stderr(&out).contains("jurisdiction"), "{}", stderr(&out));
    }
    for endpoint in ["http://127.0.0.1:1", "https://127.0.0.1", "https://x:99999"] {
        let out = init(&node, "NL", endpoint);
        assert_eq!(out.status.code(), Some(2), "{endpoint}: {}", stderr(&out));
        assert!(stderr(&out).contains("endpoint"), "{}", stderr(&out));
    }
    assert!(
        !node.join("signing.key.pem").exists(),
        "nothing written on bad input"
    );

    // Missing directories.
    assert_bad_input(
        &["node", "show", "--dir", str(&missing)],
        "not a node directory",
    );
    assert_bad_input(
        &["federation", "show", "--anchor", str(&missing)],
        "not a trust anchor",
    );
    assert_bad_input(
        &[
            "federation",
            "directory",
            "--anchor",
            str(&missing),
            "--out",
            str(&tmp.path().join("d.json")),
        ],
        "not a trust anchor",
    );

    // An unenrolled node cannot install a directory.
    assert!(
        init(&node, "NL", "https://127.0.0.1:18443")
            .status
            .success()
    );
    let dir_file = tmp.path().join("d.json");
    json(&[
        "federation",
        "directory",
        "--anchor",
        str(&anchor),
        "--out",
        str(&dir_file),
    ]);
    assert_bad_input(
        &["node", "directory", "--dir", str(&node), str(&dir_file)],
        "not enrolled",
    );
    assert_bad_input(
        &[
            "node",
            "enroll",
            "--dir",
            str(&node),
            "--anchor",
            str(&missing),
        ],
        "not a trust anchor",
    );

    // Revoking an unknown member.
    assert_bad_input(
        &[
            "federation",
            "revoke",
            "--anchor",
            str(&anchor),
            "xx-nobody",
        ],
        "xx-nobody",
    );

    // Keys are never replaced without --force.
    let key = std::fs::read(node.join("signing.key.pem")).unwrap();
    assert_bad_input(
        &[
            "node",
            "init",
            "--dir",
            str(&node),
            "--jurisdiction",
            "NL",
            "--agency",
            "KNP",
            "--endpoint",
            "https://127.0.0.1:18443",
        ],
        "--force",
    );
    assert_eq!(std::fs::read(node.join("signing.key.pem")).unwrap(), key);
    let ca_key = std::fs::read(anchor.join("ca.key.pem")).unwrap();
    assert_bad_input(
        &["federation", "init", "--dir", str(&anchor), "--name", "t"],
        "--force",
    );
    assert_eq!(std::fs::read(anchor.join("ca.key.pem")).unwrap(), ca_key);

    // With --force they are.
    let out = palermo(&[
        "node",
        "init",
        "--dir",
        str(&node),
        "--jurisdiction",
        "NL",
        "--agency",
        "KNP",
        "--endpoint",
        "https://127.0.0.1:18443",
        "--force",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_ne!(std::fs::read(node.join("signing.key.pem")).unwrap(), key);

    // Bad validity.
    assert_bad_input(
        &[
            "federation",
            "init",
            "--dir",
            str(&tmp.path().join("a2")),
            "--name",
            "t",
            "--validity-days",
            "0",
        ],
        "validity",
    );
}
