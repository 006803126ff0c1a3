//! End-to-end tests of `palermo law`: the four questions, `--format json`,
//! imports with history and revert on both store backends, and bad input.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn palermo(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PALERMO_DB")
        .env("USER", "e2e-tester")
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

fn sqlite(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("node.db").display())
}

#[test]
fn basis_answers_in_text_and_json_without_creating_a_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let out = palermo(
        &db,
        &[
            "law",
            "basis",
            "NL",
            "TH",
            "--for",
            "mla",
            "--on",
            "2024-06-01",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("UNTOC Art. 18"), "{text}");
    assert!(text.contains("ratification 2013-10-17"), "{text}");
    assert!(text.contains("knowledge base v0"), "{text}");
    assert!(
        !dir.path().join("node.db").exists(),
        "a question must not create a store"
    );

    let v = json(&palermo(
        &db,
        &[
            "--format",
            "json",
            "law",
            "basis",
            "TH",
            "NL",
            "--for",
            "extradition",
            "--on",
            "2024-06-01",
        ],
    ));
    assert_eq!(v["bases"][0]["instrument_id"], "UNTOC");
    assert_eq!(v["bases"][0]["articles"][0]["article"], "Art. 16");
    assert_eq!(v["kb_version"]["version"], 0);
    assert_eq!(v["kb_as_of"], "2024-11-25");
    assert!(
        v["bases"][0]["source_urls"][0]
            .as_str()
            .unwrap()
            .starts_with("http")
    );
}

#[test]
fn fallback_is_labelled() {
    let dir = tempfile::tempdir().unwrap();
    let v = json(&palermo(
        &sqlite(dir.path()),
        &[
            "--format",
            "json",
            "law",
            "basis",
            "US",
            "IR",
            "--for",
            "mla",
            "--on",
            "2024-06-01",
        ],
    ));
    assert_eq!(v["bases"].as_array().unwrap().len(), 0);
    assert!(
        v["fallback"]["label"]
            .as_str()
            .unwrap()
            .starts_with("FALLBACK")
    );
    assert_eq!(
        v["not_binding"][0]["memberships"][0]["status"],
        "signature_only"
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let check = |args: &[&str], expect: &str| {
        let out = palermo(&db, args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(expect), "{args:?}: {}", stderr(&out));
    };
    check(
        &["law", "basis", "XX", "TH", "--for", "mla"],
        "unknown country code 'XX' (did you mean 'XK'?)",
    );
    check(
        &["law", "basis", "UK", "TH", "--for", "mla"],
        "did you mean 'GB'?",
    );
    check(
        &["law", "basis", "NL", "TH", "--for", "bribery"],
        "unknown kind of cooperation 'bribery'",
    );
    check(
        &[
            "law",
            "basis",
            "NL",
            "TH",
            "--for",
            "mla",
            "--on",
            "2999-01-01",
        ],
        "--on date 2999-01-01 is in the future",
    );
    check(
        &[
            "law",
            "basis",
            "NL",
            "TH",
            "--for",
            "mla",
            "--on",
            "2024-02-30",
        ],
        "invalid date",
    );
    check(
        &["law", "parties", "PALERMO"],
        "unknown instrument 'PALERMO'",
    );
    check(&["law", "gaps", "THA"], "did you mean 'TH'?");
    check(&["law", "matrix", "NL"], "at least two");
    check(&["law", "matrix", "NL,QQ"], "unknown country code 'QQ'");
}

#[test]
fn dual_criminality_reads_a_conduct_file() {
    let dir = tempfile::tempdir().unwrap();
    let conduct = dir.path().join("conduct.json");
    std::fs::write(&conduct, r#"{"acts":["recruitment"],"means":[],"purpose":["sexual_exploitation"],"victim_age":15,"transnational":true}"#).unwrap();
    let db = sqlite(dir.path());
    let conduct_arg = conduct.to_str().unwrap();
    let v = json(&palermo(
        &db,
        &[
            "--format",
            "json",
            "law",
            "dual-criminality",
            "--conduct",
            conduct_arg,
            "NL",
            "BR",
        ],
    ));
    assert_eq!(v["dual_criminality"], "no");
    assert_eq!(v["states"][0]["verdict"], "covered");
    assert_eq!(v["states"][1]["verdict"], "not_covered");
    assert_eq!(
        v["states"][1]["offences"][0]["section"],
        "art. 149-A (tráfico de pessoas)"
    );

    let text = stdout(&palermo(
        &db,
        &[
            "law",
            "dual-criminality",
            "--conduct",
            conduct_arg,
            "NL",
            "IT",
        ],
    ));
    assert!(text.contains("dual criminality: undetermined"), "{text}");

    std::fs::write(
        &conduct,
        r#"{"acts":["kidnap"],"purpose":["sexual_exploitation"]}"#,
    )
    .unwrap();
    let out = palermo(
        &db,
        &[
            "law",
            "dual-criminality",
            "--conduct",
            conduct_arg,
            "NL",
            "BR",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("conduct field 'acts': unknown value 'kidnap'"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn gaps_parties_and_matrix() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path());
    let v = json(&palermo(&db, &["--format", "json", "law", "gaps", "BR"]));
    assert!(
        v["gaps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g.as_str().unwrap().starts_with("child_rule"))
    );
    let text = stdout(&palermo(&db, &["law", "gaps", "TH"]));
    assert!(
        text.contains("[GAP] means abuse_of_vulnerability"),
        "{text}"
    );

    let v = json(&palermo(
        &db,
        &[
            "--format",
            "json",
            "law",
            "parties",
            "ACTIP",
            "--on",
            "2024-06-01",
        ],
    ));
    assert_eq!(v["instrument"]["id"], "ACTIP");
    assert_eq!(v["states"].as_array().unwrap().len(), 10);

    let out = palermo(
        &db,
        &["law", "matrix", "NL,TH,MY", "--on", "2024-06-01", "--csv"],
    );
    let csv = stdout(&out);
    assert!(
        csv.starts_with("state_a,state_b,PALERMO_TIP,UNTOC,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), 4);
    let v = json(&palermo(
        &db,
        &["--format", "json", "law", "matrix", "NL,TH"],
    ));
    assert_eq!(v["rows"][0]["a"], "NL");
}

const BILATERAL: &str = "agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes\nNL-TH-MLAT,mlat,NL,TH,Treaty on mutual legal assistance,2019-03-01,2020-01-01,,all offences punishable in both states,https://example.org/trb,\n";

fn import_history_revert(db: &str, dir: &Path) {
    let file = dir.join("bilateral.csv");
    std::fs::write(&file, BILATERAL).unwrap();
    let file_arg = file.to_str().unwrap();

    // A dry run stores nothing.
    let out = palermo(db, &["law", "import", file_arg, "--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("dry run"));

    let v = json(&palermo(
        db,
        &[
            "--format",
            "json",
            "law",
            "import",
            file_arg,
            "--note",
            "signed copy checked",
        ],
    ));
    assert_eq!(v["version"], 1);
    assert_eq!(v["summary"]["added"], 1);

    let v = json(&palermo(
        db,
        &[
            "--format",
            "json",
            "law",
            "basis",
            "NL",
            "TH",
            "--for",
            "mla",
            "--on",
            "2024-06-01",
        ],
    ));
    assert_eq!(v["kb_version"]["version"], 1);
    assert_eq!(v["bases"][1]["instrument_id"], "NL-TH-MLAT");

    // A malformed file is refused with file:line:field, and nothing changes.
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, "instrument_id,country_iso2,country_name,signature_date,consent_date,consent_type,source,notes\nUNTOC,ER,Eritrea,,2999-01-01,accession,https://x.org,\n").unwrap();
    let out = palermo(db, &["law", "import", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.csv:2: field 'consent_date': date 2999-01-01 is in the future"),
        "{}",
        stderr(&out)
    );

    let v = json(&palermo(db, &["--format", "json", "law", "history"]));
    assert_eq!(v["updates"].as_array().unwrap().len(), 1);
    assert_eq!(v["updates"][0]["author"], "e2e-tester");
    assert_eq!(v["updates"][0]["note"], "signed copy checked");

    let v = json(&palermo(db, &["--format", "json", "law", "revert", "1"]));
    assert_eq!(v["version"], 2);
    let out = palermo(db, &["law", "revert", "1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("already reverted"));

    let v = json(&palermo(
        db,
        &[
            "--format",
            "json",
            "law",
            "basis",
            "NL",
            "TH",
            "--for",
            "mla",
            "--on",
            "2024-06-01",
        ],
    ));
    assert_eq!(v["kb_version"]["version"], 2);
    assert_eq!(v["bases"].as_array().unwrap().len(), 1);
    let text = stdout(&palermo(db, &["law", "history"]));
    assert!(
        text.contains("v1")
            && text.contains("(reverted by v2)")
            && text.contains("revert of version 1"),
        "{text}"
    );
}

#[test]
fn import_history_revert_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    import_history_revert(&sqlite(dir.path()), dir.path());
}

#[test]
fn import_history_revert_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let db = format!("{base}?schema=law_e2e_{}_{nanos}", std::process::id());
    import_history_revert(&db, dir.path());
}
