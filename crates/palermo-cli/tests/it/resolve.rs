//! `palermo link`, `dedupe` and `explain` on files: contracts, reports and bad input.

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
