//! `palermo link`, `dedupe` and `explain` on files, and `palermo resolve` / `explain` in the
//! store: contracts, reports, incremental runs, human review and bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn palermo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(args)
        .output()
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const LEFT: &str = "\
rec_id,given_name,surname,date_of_birth,passport
a1,Ahmed,Al-Rashid,1984-03-02,P1234567
a2,Maria,Kowalski,1975-11-30,K5550001
a3,Juri,Juschtschenko,1961-07-11,
a4,Ann,Lee,1990-01-01,L0000001
a5,Tomas,Novak,1955-05-05,N1111111
";

const RIGHT: &str = "\
rec_id,name,dob,passport_number
b1,AL RASHID Achmed,02/03/1984,P 123 4567
b2,Мария Ковальски,1975-11-30,K5550001
b3,Юрий Ющенко,1961-07-11,
b4,Bo Kim,1999-09-09,Z9999999
b5,Peter Novak,1950-02-03,Q2222222
";

fn str(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn link_writes_scored_pairs() {
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (
        write(tmp.path(), "l.csv", LEFT),
        write(tmp.path(), "r.csv", RIGHT),
    );
    let out = tmp.path().join("pairs.csv");
    let o = palermo(&[
        "--format",
        "json",
        "link",
        str(&l),
        str(&r),
        "--id-column",
        "rec_id",
        "--out",
        str(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["stats"]["left_records"], 5);
    let text = std::fs::read_to_string(&out).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("left_id,right_id,score"));
    let pairs: Vec<(String, String, f64)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].parse().unwrap())
        })
        .collect();
    for (a, b) in [("a1", "b1"), ("a2", "b2"), ("a3", "b3")] {
        assert!(
            pairs.iter().any(|p| p.0 == a && p.1 == b),
            "{a}-{b} missing in {text}"
        );
    }
    assert!(pairs.iter().all(|p| p.2 >= 0.5 && p.2 < 1.0), "{text}");
    assert!(!pairs.iter().any(|p| p.0 == "a4" || p.1 == "b4"), "{text}");
}

#[test]
fn dedupe_writes_a_cluster_for_every_record_and_explain_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let mut text = String::from("id,first_name,last_name,birth_date,national_id\n");
    for (i, (g, f, d, n)) in [
        ("Mohammed", "Haddad", "1980-04-01", "7001"),
        ("Muhammad", "Haddad", "1980-04-01", "7001"),
        ("Mouhamed", "HADDAD", "1980-01-04", "7001"),
        ("Sofia", "Rossi", "1992-12-12", "8002"),
        ("Sophia", "Rossi", "1992-12-12", "8002"),
        ("Li", "Wei", "1970-03-03", "9003"),
    ]
    .iter()
    .enumerate()
    {
        text.push_str(&format!("r{i},{g},{f},{d},{n}\n"));
    }
    let input = write(tmp.path(), "in.csv", &text);
    let out = tmp.path().join("clusters.csv");
    let o = palermo(&[
        "dedupe",
        str(&input),
        "--id-column",
        "id",
        "--out",
        str(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("deduplicated 6 records"));
    let clusters = std::fs::read_to_string(&out).unwrap();
    assert_eq!(clusters.lines().count(), 7, "{clusters}");
    assert!(clusters.starts_with("record_id,cluster_id\n"));
    for (r, c) in [
        ("r0", "r0"),
        ("r1", "r0"),
        ("r2", "r0"),
        ("r3", "r3"),
        ("r4", "r3"),
        ("r5", "r5"),
    ] {
        assert!(
            clusters.contains(&format!("{r},{c}\n")),
            "{r} → {c} in\n{clusters}"
        );
    }

    let o = palermo(&[
        "explain",
        "r0",
        "r2",
        "--input",
        str(&input),
        "--id-column",
        "id",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("givenName") && text.contains("variant") && text.contains("idNumber"),
        "{text}"
    );
    let o = palermo(&[
        "--format",
        "json",
        "explain",
        "r0",
        "r5",
        "--input",
        str(&input),
        "--id-column",
        "id",
    ]);
    let e: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(e["probability"].as_f64().unwrap() < 0.5);
    assert!(
        e["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "birthDate")
    );
}

#[test]
fn trivial_files_give_trivial_answers() {
    let tmp = tempfile::tempdir().unwrap();
    let one = write(tmp.path(), "one.csv", "id,name\nx,Ann Lee\n");
    let out = tmp.path().join("c.csv");
    let o = palermo(&["dedupe", str(&one), "--id-column", "id", "--out", str(&out)]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "record_id,cluster_id\nx,x\n"
    );
    let header_only = write(tmp.path(), "h.csv", "id,name\n");
    let o = palermo(&[
        "link",
        str(&header_only),
        str(&one),
        "--id-column",
        "id",
        "--out",
        str(&out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "left_id,right_id,score\n"
    );
}

#[test]
fn bad_input_exits_2_with_a_clear_message() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let good = write(d, "good.csv", "id,name\n1,Ann Lee\n2,Bo Kim\n");
    let out = d.join("o.csv");
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec![str(&good).into(), "--id-column".into(), "rec".into()],
            "no id column \"rec\"",
        ),
        (
            vec![
                str(&write(d, "dup.csv", "id,name\n1,a\n1,b\n")).into(),
                "--id-column".into(),
                "id".into(),
            ],
            "line 3: duplicate id \"1\"",
        ),
        (
            vec![
                str(&write(d, "empty.csv", "")).into(),
                "--id-column".into(),
                "id".into(),
            ],
            "empty",
        ),
        (
            vec![
                str(&write(d, "noname.csv", "id,dob\n1,1990\n")).into(),
                "--id-column".into(),
                "id".into(),
            ],
            "no column maps to a name field",
        ),
        (
            vec![
                str(&good).into(),
                "--id-column".into(),
                "id".into(),
                "--map".into(),
                "name=shoeSize".into(),
            ],
            "unknown property",
        ),
        (
            vec![
                str(&good).into(),
                "--id-column".into(),
                "id".into(),
                "--threshold".into(),
                "1.5".into(),
            ],
            "not a probability",
        ),
        (
            vec![
                str(&d.join("missing.csv")).into(),
                "--id-column".into(),
                "id".into(),
            ],
            "missing.csv",
        ),
        (
            vec![
                str(&write(d, "ragged.csv", "id,name\n1,a,b\n")).into(),
                "--id-column".into(),
                "id".into(),
            ],
            "line 2: expected 2 fields, found 3",
        ),
    ];
    for (args, expect) in cases {
        let mut all = vec!["dedupe".to_owned()];
        all.extend(args);
        all.extend(["--out".to_owned(), str(&out).to_owned()]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let o = palermo(&refs);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{all:?}: {stderr}");
        assert!(
            stderr.contains(expect),
            "{all:?}: {stderr:?} lacks {expect:?}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let o = palermo(&[
        "explain",
        "1",
        "9",
        "--input",
        str(&good),
        "--id-column",
        "id",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown record id \"9\""));
}

const STORE_ONE: &str = "\
id,name,birth_date,passport_number,nationality
r1,Ahmed Al-Rashid,1984-03-02,P1234567,iq
r2,Achmed Alrasheed,1984-03-02,,iq
r3,Maria Kowalski,1975-11-30,K5550001,pl
r4,Мария Ковальски,1975-11-30,K5550001,pl
r5,Juri Juschtschenko,1961-07-11,U7777777,ua
r6,Tomas Novak,1955-05-05,N1111111,cz
r7,Ann Lee,1990-01-01,L0000001,gb
r8,Bo Kim,1999-09-09,Z9999999,kr
";

const STORE_TWO: &str = "\
id,name,birth_date,passport_number,nationality
s1,AL RASHID Ahmed,1984-03-02,P 123 4567,iq
s2,Юрий Ющенко,1961-07-11,U7777777,ua
s3,Peter Novak,1950-02-03,Q2222222,cz
";

/// Runs `palermo` against the store `db` with `--format json` and returns the output.
fn in_store(db: &str, args: &[&str]) -> Output {
    let mut all = vec!["--db", db, "--format", "json"];
    all.extend_from_slice(args);
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(&all)
        .env("PALERMO_USER", "reviewer")
        .output()
        .unwrap()
}

fn json_ok(o: &Output) -> serde_json::Value {
    assert!(
        o.status.success(),
        "stdout {} stderr {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn members(show: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = show["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn bad(o: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(needle), "{err}");
}

#[test]
fn resolve_in_the_store_incrementally_with_review() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("node.db").display());
    let (one, two) = (
        write(tmp.path(), "one.csv", STORE_ONE),
        write(tmp.path(), "two.csv", STORE_TWO),
    );
    json_ok(&in_store(&db, &["import", str(&one)]));
    let run = json_ok(&in_store(&db, &["resolve"]));
    assert_eq!(run["mode"], "full");
    assert_eq!(run["records"], 8);
    assert_eq!(run["model_version"], 1);
    // Aliases and another script: r1/r2 and r3/r4 are one person each.
    assert_eq!(run["clusters"], 6);
    assert_eq!(run["new_clusters"], 6);
    let before = json_ok(&in_store(&db, &["resolve", "show", "r1"]));
    assert_eq!(members(&before), ["r1", "r2"]);
    assert_eq!(
        members(&json_ok(&in_store(&db, &["resolve", "show", "r4"]))),
        ["r3", "r4"]
    );

    // Nothing new: a no-op that writes nothing.
    let again = json_ok(&in_store(&db, &["resolve"]));
    assert_eq!(
        (again["records"].as_u64(), again["run_id"].as_str()),
        (Some(0), Some(""))
    );

    // New records join the clusters they match; the clusters keep their ids.
    json_ok(&in_store(&db, &["import", str(&two)]));
    let inc = json_ok(&in_store(&db, &["resolve"]));
    assert_eq!(inc["mode"], "incremental");
    assert_eq!(inc["model_version"], 1);
    assert_eq!(inc["records"], 3);
    assert_eq!(
        (inc["new_clusters"].as_u64(), inc["grown_clusters"].as_u64()),
        (Some(1), Some(2))
    );
    assert_eq!(inc["clusters"], 7);
    assert_eq!(inc["resolved"], 11);
    let after = json_ok(&in_store(&db, &["resolve", "show", "s1"]));
    assert_eq!(members(&after), ["r1", "r2", "s1"]);
    assert_eq!(after["cluster_id"], before["cluster_id"]);
    assert_eq!(
        members(&json_ok(&in_store(&db, &["resolve", "show", "s2"]))),
        ["r5", "s2"]
    );
    let merge = after["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["right_id"] == "s1" || d["left_id"] == "s1")
        .unwrap();
    assert_eq!(merge["kind"], "merge");
    assert!(
        merge["weights"]
            .as_str()
            .unwrap()
            .contains("passportNumber=exact")
    );

    // Explain from the store with the stored model.
    let ex = json_ok(&in_store(&db, &["explain", "r1", "s1"]));
    assert!(ex["probability"].as_f64().unwrap() > 0.99, "{ex}");
    assert_eq!(ex["candidate"], true);
    let text = Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(["--db", &db, "explain", "r1", "s1"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("passportNumber  exact"));

    // Human review: a rejection splits, a confirmation joins, both are kept.
    let rej = json_ok(&in_store(
        &db,
        &[
            "resolve",
            "reject",
            "r1",
            "s1",
            "--note",
            "different fathers",
        ],
    ));
    assert_ne!(rej["cluster1"], rej["cluster2"]);
    let show = json_ok(&in_store(&db, &["resolve", "show", "r1"]));
    assert!(!members(&show).contains(&"s1".to_owned()));
    assert_eq!(
        show["cluster_id"], before["cluster_id"],
        "the larger part keeps the id"
    );
    let review = show["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "reject")
        .unwrap();
    assert_eq!(
        (review["actor"].as_str(), review["note"].as_str()),
        (Some("reviewer"), Some("different fathers"))
    );
    json_ok(&in_store(
        &db,
        &["resolve", "confirm", "r6", "s3", "--note", "interview"],
    ));
    assert_eq!(
        members(&json_ok(&in_store(&db, &["resolve", "show", "s3"]))),
        ["r6", "s3"]
    );
    // A confirmation outranks the machine: r2 leaves r1 for s1. Confirming r1 with r2
    // now would join the rejected pair r1 / s1 through r2, and is refused.
    let moved = json_ok(&in_store(&db, &["resolve", "confirm", "r2", "s1"]));
    assert_eq!(moved["cluster1"], moved["cluster2"]);
    bad(
        &in_store(&db, &["resolve", "confirm", "r1", "r2"]),
        "rejected pair",
    );

    // A full run retrains and reclusters but keeps the decisions.
    let full = json_ok(&in_store(&db, &["resolve", "--full"]));
    assert_eq!(
        (full["mode"].as_str(), full["model_version"].as_u64()),
        (Some("full"), Some(2))
    );
    let r1 = json_ok(&in_store(&db, &["resolve", "show", "r1"]));
    assert!(!members(&r1).contains(&"s1".to_owned()));
    assert_eq!(
        members(&json_ok(&in_store(&db, &["resolve", "show", "r6"]))),
        ["r6", "s3"]
    );

    // Every run and decision is on the ledger, and the ledger verifies.
    let ledger = in_store(&db, &["ledger", "verify"]);
    assert!(
        ledger.status.success(),
        "{}",
        String::from_utf8_lossy(&ledger.stderr)
    );
    let entries = Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(["--db", &db, "ledger", "show"])
        .output()
        .unwrap();
    let entries = String::from_utf8_lossy(&entries.stdout);
    assert_eq!(entries.matches("resolution-run").count(), 3, "{entries}");
    assert_eq!(entries.matches("merge-decision").count(), 3, "{entries}");
}

#[test]
fn resolve_bad_input_is_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", tmp.path().join("node.db").display());
    bad(&in_store(&db, &["resolve"]), "no Person entities");
    let one = write(tmp.path(), "one.csv", STORE_ONE);
    json_ok(&in_store(&db, &["import", str(&one)]));
    bad(
        &in_store(&db, &["explain", "r1", "r2"]),
        "no resolution model yet",
    );
    bad(
        &in_store(&db, &["resolve", "--threshold", "1.5"]),
        "not a probability",
    );
    json_ok(&in_store(&db, &["resolve"]));
    bad(
        &in_store(&db, &["resolve", "show", "nobody"]),
        "unknown record id \"nobody\"",
    );
    bad(
        &in_store(&db, &["resolve", "confirm", "r1", "r1"]),
        "the same",
    );
    bad(
        &in_store(&db, &["resolve", "confirm", "r1", "ghost"]),
        "unknown record id \"ghost\"",
    );
    bad(
        &in_store(&db, &["explain", "r1", "ghost"]),
        "unknown record id \"ghost\"",
    );
    bad(
        &in_store(&db, &["resolve", "reject", "r1", "r3", "--note", " "]),
        "needs --note",
    );
    // clap refuses a rejection without --note (exit 2 too).
    assert_eq!(
        in_store(&db, &["resolve", "reject", "r1", "r3"])
            .status
            .code(),
        Some(2)
    );
    // Explaining from files still needs the id column.
    bad(
        &in_store(&db, &["explain", "r1", "r2", "--input", str(&one)]),
        "--id-column",
    );
}
