//! The sharing policy outside the node's API: `export`, `resolve show`,
//! `explain` and `policy explain` from the store decide for `--as USER` or
//! the local operator, leave denied records out and put every decision on
//! the ledger; `policy load` validates, then activates a new version, on
//! SQLite and PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn palermo(db: &str, key: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PALERMO_DB")
        .env_remove("PALERMO_POLICIES")
        .env("USER", "e2e-tester")
        .env("PALERMO_KEY", key)
        .output()
        .expect("the palermo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: &Output) -> String {
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout)
}

fn bad(out: &Output, needle: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{err}");
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).unwrap()
}

fn write(dir: &Path, name: &str, bytes: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

const PERSONS: &str = "id,name,birth_date,passport_number,nationality,role\n\
    r1,Ahmed Al-Rashid,1984-03-02,P1234567,iq,suspect\n\
    r2,Achmed Alrasheed,1984-03-02,,iq,suspect\n\
    r3,Maria Kowalski,1975-11-30,K5550001,pl,suspect\n\
    r4,Мария Ковальски,1975-11-30,K5550001,pl,suspect\n\
    r5,Juri Juschtschenko,1961-07-11,U7777777,ua,suspect\n\
    r6,Tomas Novak,1955-05-05,N1111111,cz,suspect\n\
    r7,Dao Sukjai,2007-05-01,,th,victim\n\
    r8,Dao Sukjaj,2007-05-01,,th,victim\n";

/// `policy-decision` entries on the ledger.
fn decisions(db: &str, key: &Path) -> usize {
    let out = palermo(
        db,
        key,
        &[
            "ledger",
            "show",
            "--kind",
            "policy-decision",
            "--limit",
            "100000",
        ],
    );
    ok(&out).matches("policy-decision").count()
}

fn access(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("node.key");
    let file = write(dir.path(), "persons.csv", PERSONS);
    ok(&palermo(db, &key, &["import", s(&file)]));
    ok(&palermo(
        db,
        &key,
        &[
            "user", "add", "ana", "--role", "analyst", "--agency", "KMar",
        ],
    ));

    // The local operator exports the AMBER suspects, not the RED victims.
    let before = decisions(db, &key);
    let out_file = dir.path().join("out.jsonl");
    let out = palermo(db, &key, &["export", "--out", s(&out_file)]);
    ok(&out);
    assert!(
        text(&out.stderr).contains("2 left out"),
        "{}",
        text(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out_file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 6);
    assert!(lines.iter().all(|l| l["palermo"]["role"] == "suspect"));
    // Export groups like decisions: allowed suspects in one entry, denied victims in
    // another, every record named.
    assert_eq!(
        decisions(db, &key),
        before + 2,
        "one entry per run of like decisions"
    );
    let shown = ok(&palermo(
        db,
        &key,
        &[
            "ledger",
            "show",
            "--kind",
            "policy-decision",
            "--limit",
            "100000",
        ],
    ));
    let exports: Vec<&str> = shown
        .lines()
        .filter(|l| l.contains("export records:"))
        .collect();
    assert_eq!(exports.len(), 2, "{shown}");
    for id in ["r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8"] {
        assert!(
            exports.iter().any(|l| l.contains(id)),
            "{id} not on the ledger: {shown}"
        );
    }

    // Another agency's analyst may export nothing; an unknown user is bad input.
    let out = palermo(db, &key, &["export", "--as", "ana"]);
    assert!(ok(&out).is_empty());
    assert!(
        text(&out.stderr).contains("8 left out"),
        "{}",
        text(&out.stderr)
    );
    bad(
        &palermo(db, &key, &["export", "--as", "nobody"]),
        "unknown user",
    );
    // ana's eight denials: the suspects and the victims are denied by different
    // policies, so two more entries.
    assert_eq!(decisions(db, &key), before + 4);

    // Resolve; `show` and `explain` only show what the principal may view.
    ok(&palermo(db, &key, &["resolve"]));
    let show = json(&palermo(
        db,
        &key,
        &["--format", "json", "resolve", "show", "r1"],
    ));
    assert_eq!(show["principal"], "local-operator");
    assert_eq!(show["withheld"], 0);
    assert!(show["members"].as_array().unwrap().len() >= 2, "{show}");
    bad(
        &palermo(db, &key, &["resolve", "show", "r7"]),
        "that local-operator may view",
    );
    bad(
        &palermo(db, &key, &["resolve", "show", "r1", "--as", "ana"]),
        "that ana may view",
    );
    ok(&palermo(db, &key, &["explain", "r3", "r4"]));
    bad(&palermo(db, &key, &["explain", "r7", "r8"]), "may view");

    // `policy explain` from the store: the stored user and record.
    let allow = json(&palermo(
        db,
        &key,
        &[
            "--format",
            "json",
            "policy",
            "explain",
            "--as",
            "local-operator",
            "--action",
            "view",
            "--record",
            "r1",
        ],
    ));
    assert_eq!(allow["decision"]["allowed"], true);
    let deny = json(&palermo(
        db,
        &key,
        &[
            "--format", "json", "policy", "explain", "--as", "ana", "--action", "export",
            "--record", "r7",
        ],
    ));
    assert_eq!(deny["decision"]["allowed"], false);
    bad(
        &palermo(
            db,
            &key,
            &[
                "policy", "explain", "--as", "ana", "--action", "view", "--record", "zz",
            ],
        ),
        "unknown record",
    );

    // Policy versions: a bad set is refused with Cedar's error and changes nothing.
    let show = json(&palermo(db, &key, &["--format", "json", "policy", "show"]));
    assert!(show["version"].is_null());
    assert_eq!(show["source"], "default");
    let typo = write(
        dir.path(),
        "typo.cedar",
        "permit (principal, action, resource",
    );
    bad(
        &palermo(db, &key, &["policy", "load", s(&typo)]),
        "typo.cedar",
    );
    let empty = write(dir.path(), "empty.cedar", "// nothing\n");
    bad(
        &palermo(db, &key, &["policy", "load", s(&empty)]),
        "allow-empty",
    );
    assert!(json(&palermo(db, &key, &["--format", "json", "policy", "show"]))["version"].is_null());
    let open = write(
        dir.path(),
        "open.cedar",
        "@id(\"all-views\")\n@reason(\"test\")\npermit (principal, action == Palermo::Action::\"export\", resource);\n",
    );
    let loaded = json(&palermo(
        db,
        &key,
        &["--format", "json", "policy", "load", s(&open)],
    ));
    assert_eq!(loaded["version"], 1);
    bad(&palermo(db, &key, &["policy", "load", s(&typo)]), "syntax");
    let show = json(&palermo(db, &key, &["--format", "json", "policy", "show"]));
    assert_eq!(show["version"], 1);
    assert_eq!(show["history"].as_array().unwrap().len(), 1);
    assert_eq!(show["history"][0]["author"], "e2e-tester");
    // The loaded set is what export now decides with: ana exports all eight.
    let out = palermo(db, &key, &["export", "--as", "ana"]);
    assert_eq!(ok(&out).lines().count(), 8);
    // ... and what `policy test` tests by default: exporting a victim's record is
    // allowed by the loaded set where the shipped set needs a legal officer.
    let cases = write(
        dir.path(),
        "cases.json",
        r#"{"world": {
              "nodes": [{"id": "nl", "jurisdiction": "NL", "agency": "NL Police"}],
              "users": [{"id": "anna", "node": "nl", "roles": ["analyst"], "cases": ["C1"]}],
              "records": [{"id": "victim", "schema": "Person", "node": "nl", "role": "victim",
                           "case": "C1", "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}}]},
            "cases": [{"as": "anna", "action": "export", "record": "victim", "expect": "allow",
                       "policy": "all-views"}]}"#,
    );
    assert!(ok(&palermo(db, &key, &["policy", "test", s(&cases)])).contains("1 passed, 0 failed"));

    let verify = palermo(db, &key, &["ledger", "verify"]);
    ok(&verify);
}

#[test]
fn access_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    access(&format!(
        "sqlite://{}",
        dir.path().join("node.db").display()
    ));
}

#[test]
fn access_on_postgres() {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    access(&format!(
        "{base}?schema=cli_access_{}",
        uuid::Uuid::now_v7().simple()
    ));
}
