//! End-to-end tests of `palermo import`, `export` and `stats`: the CLI
//! contract (exit codes, `--format json`, messages naming file and line) on
//! SQLite and PostgreSQL.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn palermo(db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PALERMO_DB")
        .env("USER", "e2e-tester")
        // Imports go on the ledger, signed with the node key; keep the key
        // out of the source tree (the default for PostgreSQL is ./palermo-node.key).
        .env(
            "PALERMO_KEY",
            std::env::temp_dir().join(format!("palermo-import-test-{}.key", std::process::id())),
        )
        .output()
        .expect("the palermo binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn total(db: &str) -> u64 {
    let out = palermo(db, &["--format", "json", "stats"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    stats["total"].as_u64().unwrap()
}

fn pg_db() -> String {
    let base = std::env::var("PALERMO_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    format!("{base}?schema=cli_{}", std::process::id())
}

const CASE_FILE: &[u8] =
    b"id,given_name,surname,date_of_birth,passport_number,phone,nationality,role\n\
    nl-1,Ahmed,Al-Rashid,1984-03-02,P1234567,+31 6 1234 5678,SY,suspect\n\
    nl-2,Achmed,Alrasheed,1984,P1234567,,SY,suspect\n\
    nl-3,Dao,Sukjai,2007-05,,,TH,victim\n";

/// Lets the local operator export every record (see `palermo export`).
const BACKUP_POLICY: &[u8] = b"@id(\"operator-backup\")\n\
    @reason(\"the local operator may export the whole store for a backup\")\n\
    permit (principal == Palermo::User::\"local-operator\", action == Palermo::Action::\"export\", resource);\n";

fn import_export_stats(db: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "nl-cases.csv", CASE_FILE);
    let out = palermo(
        db,
        &[
            "--format",
            "json",
            "import",
            file.to_str().unwrap(),
            "--marking",
            "TLP:AMBER+STRICT",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["records"].as_u64(), summary["new"].as_u64()),
        (Some(3), Some(3))
    );

    let out = palermo(db, &["--format", "json", "stats"]);
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["total"], 3);
    assert_eq!(
        stats["by_tlp"],
        serde_json::json!([["TLP:AMBER+STRICT", 2], ["TLP:RED", 1]])
    );
    assert_eq!(
        stats["by_role"],
        serde_json::json!([["suspect", 2], ["victim", 1]])
    );

    // An export is a disclosure like any other: for a full backup the node's
    // operator first loads a policy set that lets it export everything.
    let backup = write(dir.path(), "backup.cedar", BACKUP_POLICY);
    let out = palermo(db, &["policy", "load", backup.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let export = dir.path().join("out.jsonl");
    let out = palermo(db, &["export", "--out", export.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&export)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["schema"], "Person");
    assert_eq!(lines[0]["properties"]["firstName"][0], "Ahmed");
    assert_eq!(lines[2]["palermo"]["role"], "victim");
    assert_eq!(lines[2]["palermo"]["markings"]["tlp"], "TLP:RED");
    assert_eq!(lines[2]["palermo"]["markings"]["onward_sharing"], false);
    assert_eq!(lines[0]["palermo"]["provenance"]["record"], 2);
    assert_eq!(
        lines[0]["palermo"]["provenance"]["imported_by"],
        "e2e-tester"
    );

    // The export imports back as a no-op into the same store.
    let out = palermo(
        db,
        &["--format", "json", "import", export.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (summary["new"].as_u64(), summary["unchanged"].as_u64()),
        (Some(0), Some(3))
    );
}

#[test]
fn import_export_stats_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    import_export_stats(&format!(
        "sqlite://{}",
        dir.path().join("node.db").display()
    ));
}

#[test]
fn import_export_stats_on_postgres() {
    import_export_stats(&pg_db());
}

#[test]
fn bad_input_exits_2_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("node.db").display());
    let good = write(dir.path(), "good.csv", CASE_FILE);
    assert_eq!(
        palermo(&db, &["import", good.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
    let cases: &[(&str, &[u8], &[&str], &str)] = &[
        (
            "cols.csv",
            b"id,first_name\nx,A,B\n",
            &[],
            "cols.csv:2: wrong number of columns",
        ),
        (
            "utf8.csv",
            b"id,first_name\nx,\xff\n",
            &[],
            "utf8.csv:2: column `first_name`: invalid UTF-8",
        ),
        (
            "date.csv",
            b"id,dob\nx,12/31/1990\n",
            &[],
            "date.csv:2: column `dob`",
        ),
        (
            "map.csv",
            b"id,first_name,x\nx,A,1\n",
            &["--map", "x=wingspan"],
            "unknown property `wingspan`",
        ),
        (
            "schema.csv",
            b"id,first_name\nx,A\n",
            &["--schema", "Starship"],
            "unknown schema `Starship`",
        ),
        (
            "tlp.csv",
            b"id,first_name\nx,A\n",
            &["--marking", "TLP:PINK"],
            "unknown marking \"TLP:PINK\"",
        ),
        (
            "dup.csv",
            b"id,first_name\nnl-1,Someone\n",
            &[],
            "dup.csv:2: duplicate id `nl-1` with conflicting content",
        ),
        ("empty.csv", b"", &[], "empty.csv: the file is empty"),
        (
            "array.jsonl",
            b"[1]\n",
            &[],
            "array.jsonl:1: a line must be a JSON object",
        ),
    ];
    for (name, bytes, extra, expect) in cases {
        let path = write(dir.path(), name, bytes);
        let mut args = vec!["import", path.to_str().unwrap()];
        args.extend_from_slice(extra);
        let out = palermo(&db, &args);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out.stderr));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(expect), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(total(&db), 3, "{name}: the store changed");
    }
    let out = palermo(
        &db,
        &["import", dir.path().join("missing.csv").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("missing.csv: no such file"));
}

#[test]
fn dry_run_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("node.db").display());
    let good = write(dir.path(), "good.csv", CASE_FILE);
    let out = palermo(&db, &["import", "--dry-run", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("3 valid records"));
    assert_eq!(total(&db), 0);
}

#[test]
fn bad_store_url_is_bad_usage() {
    let out = palermo("mysql://nowhere/db", &["stats"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("expected sqlite://FILE or postgres://"));
}
