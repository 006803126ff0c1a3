//! End-to-end tests of `palermo policy`: show, validate, test and explain,
//! with the refusals of bad policy files, worlds and test files.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const WORLD: &str = r#"{
  "nodes": [
    {"id": "nl", "jurisdiction": "NL", "agency": "NL Police"},
    {"id": "th", "jurisdiction": "TH", "agency": "Royal Thai Police"}
  ],
  "users": [
    {"id": "anna", "node": "nl", "roles": ["analyst"], "cases": ["C1"]},
    {"id": "sam", "node": "nl", "roles": ["supervisor"]},
    {"id": "lea", "node": "nl", "roles": ["legal-officer"]}
  ],
  "records": [
    {"id": "amber", "schema": "Person", "node": "nl", "role": "suspect", "case": "C1",
     "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}},
    {"id": "victim", "schema": "Person", "node": "nl", "role": "victim", "case": "C1",
     "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}}
  ]
}"#;

const REQUEST: &str = r#"{"kind": "mla", "purpose": {"case": "C1"}, "subject_role": "suspect", "node": "th", "date": "2026-11-27"}"#;

fn palermo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(args)
        .env_remove("PALERMO_POLICIES")
        .env_remove("PALERMO_DB")
        .output()
        .expect("the palermo binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> serde_json::Value {
    assert_eq!(out.status.code(), Some(0), "stderr: {}", stderr(out));
    serde_json::from_slice(&out.stdout).expect("valid JSON on stdout")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn show_lists_the_shipped_policies() {
    let out = palermo(&["--format", "json", "policy", "show"]);
    let report = json(&out);
    assert_eq!(report["source"], "default");
    let ids: Vec<&str> = report["policies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"cross-border-needs-legal-basis"), "{ids:?}");
    assert!(
        ids.contains(&"victim-release-needs-legal-officer"),
        "{ids:?}"
    );
    let text = stdout(&palermo(&["policy", "show"]));
    assert!(text.contains("TLP:RED -> H1"), "{text}");
    let schema = stdout(&palermo(&["policy", "show", "--schema"]));
    assert!(schema.contains("namespace Palermo"), "{schema}");
}

#[test]
fn validate_accepts_good_files_and_refuses_bad_ones() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = stdout(&palermo(&["policy", "show", "--source"]));
    let good = write(dir.path(), "node.cedar", &shipped);
    let out = palermo(&["policy", "validate", s(&good)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("valid"), "{}", stdout(&out));

    let check = |name: &str, text: &str, expect: &str| {
        let path = write(dir.path(), name, text);
        let out = palermo(&["policy", "validate", s(&path)]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", stdout(&out));
        let err = stderr(&out);
        assert!(err.contains(name) && err.contains(expect), "{name}: {err}");
    };
    check(
        "syntax.cedar",
        "@id(\"x\")\npermit(principal, action resource);",
        "line 2",
    );
    check(
        "attr.cedar",
        "@id(\"x\") permit(principal, action, resource) when { resource.colour == \"red\" };",
        "does not validate",
    );
    check("empty.cedar", "// nothing yet\n", "allow-empty");
    check("noid.cedar", "permit(principal, action, resource);", "@id");

    let empty = write(dir.path(), "empty2.cedar", "");
    let out = palermo(&["policy", "validate", "--allow-empty", s(&empty)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // A refused node file leaves nothing active: explain with it is refused too.
    let world = write(dir.path(), "world.json", WORLD);
    let bad = dir.path().join("syntax.cedar");
    let args = [
        "policy",
        "explain",
        "--as",
        "anna",
        "--action",
        "view",
        "--record",
        "amber",
        "--world",
        s(&world),
        "--policies",
        s(&bad),
    ];
    assert_eq!(palermo(&args).status.code(), Some(2));
}

#[test]
fn explain_names_the_determining_policies_and_the_facts() {
    let dir = tempfile::tempdir().unwrap();
    let world = write(dir.path(), "world.json", WORLD);
    let request = write(dir.path(), "request.json", REQUEST);
    let base = [
        "policy",
        "explain",
        "--as",
        "anna",
        "--action",
        "disclose-to-node",
        "--world",
        s(&world),
        "--today",
        "2026-11-27",
    ];

    let mut args = base.to_vec();
    args.extend(["--record", "amber", "--to", "th"]);
    let out = palermo(&args);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("DENY"), "{text}");
    assert!(text.contains("cross-border-needs-legal-basis"), "{text}");
    assert!(text.contains("no request, so no legal basis"), "{text}");

    let mut args = base.to_vec();
    args.extend([
        "--record",
        "amber",
        "--request",
        s(&request),
        "--format",
        "json",
    ]);
    let report = json(&palermo(&args));
    assert_eq!(report["decision"]["allowed"], true, "{report}");
    assert_eq!(report["because"][0]["id"], "disclose-by-holding-node");
    assert!(
        report["decision"]["legal_basis"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b == "UNTOC"),
        "{report}"
    );

    let mut args = base.to_vec();
    args.extend([
        "--record",
        "amber",
        "--to",
        "th",
        "--override-by",
        "sam",
        "--reason",
        "child at risk, MLA follows",
    ]);
    let text = stdout(&palermo(&args));
    assert!(
        text.starts_with("ALLOW") && text.contains("override by sam"),
        "{text}"
    );

    let mut args = base.to_vec();
    args.extend(["--record", "victim", "--request", s(&request)]);
    let text = stdout(&palermo(&args));
    assert!(text.contains("victim-not-in-suspect-context"), "{text}");
}

#[test]
fn explain_refuses_bad_input_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let world = write(dir.path(), "world.json", WORLD);
    let bad_marking = write(
        dir.path(),
        "bad.json",
        &WORLD.replace(
            "\"onward_sharing\": false}},\n    {\"id\": \"victim\"",
            "\"onward_sharing\": false, \"sealed\": true}},\n    {\"id\": \"victim\"",
        ),
    );
    let run = |extra: &[&str]| {
        let mut args = vec!["policy", "explain", "--as", "anna", "--record", "amber"];
        args.extend_from_slice(extra);
        palermo(&args)
    };
    let out = run(&["--action", "fly", "--world", s(&world)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown action"), "{}", stderr(&out));
    let out = run(&["--action", "view", "--world", s(&bad_marking)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("markings.sealed"), "{}", stderr(&out));
    let out = palermo(&[
        "policy",
        "explain",
        "--as",
        "nobody",
        "--action",
        "view",
        "--record",
        "amber",
        "--world",
        s(&world),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("unknown user"), "{}", stderr(&out));
}

#[test]
fn test_runs_expected_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let cases = format!(
        r#"{{"world": {WORLD}, "cases": [
            {{"as": "anna", "action": "view", "record": "amber", "expect": "allow", "policy": "tlp-amber"}},
            {{"as": "anna", "action": "export", "record": "victim", "expect": "deny", "policy": "victim-release-needs-legal-officer"}},
            {{"as": "anna", "action": "export", "record": "victim", "approver": "lea", "expect": "allow"}},
            {{"as": "anna", "action": "release-on-request", "record": "amber", "request": {REQUEST}, "today": "2026-11-27", "expect": "allow"}}
        ]}}"#
    );
    let path = write(dir.path(), "cases.json", &cases);
    let out = palermo(&["policy", "test", s(&path)]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("4 passed, 0 failed"),
        "{}",
        stdout(&out)
    );

    let failing = cases.replace(
        r#""record": "victim", "expect": "deny""#,
        r#""record": "victim", "expect": "allow""#,
    );
    let path = write(dir.path(), "failing.json", &failing);
    let out = palermo(&["policy", "test", s(&path)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stdout(&out).contains("FAIL"), "{}", stdout(&out));

    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"world": {}, "cases": [{"as": "a", "action": "view", "record": "r", "expect": "maybe"}]}"#,
    );
    let out = palermo(&["policy", "test", s(&bad)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("case 1: expect"), "{}", stderr(&out));
}
