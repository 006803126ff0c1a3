//! `palermo evidence`: add, custody, verify, report and offline check-report.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

use crate::ledger::{Node, stderr};

#[test]
fn report_verifies_offline_and_detects_edits() {
    let node = Node::with_evidence();
    let out_dir = node.path("report");
    let written = node.json(&[
        "evidence",
        "report",
        "--case",
        "NL-1",
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert_eq!(written["n_items"], 2);

    // check-report needs no store: point --db at a path that does not exist.
    let offline = std::process::Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args([
            "--format",
            "json",
            "--db",
            "sqlite:///nonexistent/dir/x.db",
            "evidence",
            "check-report",
        ])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(offline.status.success(), "{}", stderr(&offline));
    let checked: serde_json::Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert_eq!(checked["n_entries"], 3);

    let key = node.path("node.pem");
    std::fs::write(&key, node.run(&["ledger", "public-key"]).stdout).unwrap();
    let ok = node.run(&[
        "evidence",
        "check-report",
        out_dir.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert!(ok.status.success(), "{}", stderr(&ok));

    // A wrong key.
    let other = Node::with_evidence();
    let other_key = node.path("other.pem");
    std::fs::write(&other_key, other.run(&["ledger", "public-key"]).stdout).unwrap();
    let bad = node.run(&[
        "evidence",
        "check-report",
        out_dir.to_str().unwrap(),
        "--key",
        other_key.to_str().unwrap(),
    ]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("not the expected key"),
        "{}",
        stderr(&bad)
    );

    // An edited HTML file.
    let html = out_dir.join("report.html");
    let text = std::fs::read_to_string(&html).unwrap();
    std::fs::write(&html, text.replace("Rotterdam", "Amsterdam")).unwrap();
    let bad = node.run(&["evidence", "check-report", out_dir.to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("report.html has been edited"),
        "{}",
        stderr(&bad)
    );

    // A missing directory is bad input.
    let missing = node.run(&[
        "evidence",
        "check-report",
        node.path("nope").to_str().unwrap(),
    ]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn verify_rehashes_the_vault() {
    let node = Node::with_evidence();
    let checks = node.json(&["evidence", "verify", "--case", "NL-1"]);
    assert_eq!(checks.as_array().unwrap().len(), 2);
    // Damage one vault copy.
    let vault = node.path("node.db.vault");
    let victim = std::fs::read_dir(&vault)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&victim, "tampered").unwrap();
    let out = node.run(&["evidence", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no longer matches"));
}

#[test]
fn bad_input_is_exit_2() {
    let node = Node::new();
    let out = node.run(&[
        "evidence",
        "add",
        "missing.bin",
        "--case",
        "C",
        "--description",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("missing.bin"), "{}", stderr(&out));
    // Nothing was written.
    assert!(!node.path("node.db.key").exists());

    let node = Node::with_evidence();
    let out = node.run(&[
        "evidence",
        "custody",
        "ev-0000000000000000",
        "--event",
        "returned",
        "--to",
        "owner",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = node.run(&[
        "evidence",
        "custody",
        "ev-x",
        "--event",
        "transferred",
        "--to",
        "court",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn adding_the_same_file_twice_records_one_intake() {
    let node = Node::new();
    let file = node.write("a.bin", "same bytes");
    let first = node.json(&[
        "evidence",
        "add",
        file.to_str().unwrap(),
        "--case",
        "C",
        "--description",
        "x",
    ]);
    let again = node.json(&[
        "evidence",
        "add",
        file.to_str().unwrap(),
        "--case",
        "C",
        "--description",
        "x",
    ]);
    assert_eq!(first[0]["item"], again[0]["item"]);
    assert_eq!(again[0]["already_recorded"], true);
    assert_eq!(node.json(&["ledger", "head"])["size"], 2);
}
