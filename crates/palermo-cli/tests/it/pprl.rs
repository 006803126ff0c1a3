//! `palermo pprl encode` and `palermo pprl match` on files: contracts, clkhash interop and
//! bad input.

// Test helpers outside #[test] functions unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used)]

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

fn str(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const LEFT: &str = "\
rec_id,given_name,surname,date_of_birth,passport,sex,nationality
a1,Ahmed,Al-Rashid,1984-03-02,P1234567,m,SY
a2,Maria,Kowalski,1975-11-30,K5550001,f,PL
a3,Yuri,Yushchenko,1961-07-11,,m,UA
a4,Ann,Lee,1990-01-01,L0000001,f,GB
a5,Tomas,Novak,1955-05-05,N1111111,m,CZ
";

const RIGHT: &str = "\
rec_id,name,dob,passport_number,gender,nationality
b1,AL RASHID Ahmed,02/03/1984,P 123 4567,M,SY
b2,Мария Ковальски,1975-11-30,K5550001,F,PL
b3,Юрий Ющенко,1961-07-11,,M,UA
b4,Bo Kim,1999-09-09,Z9999999,F,KR
b5,Peter Novak,1950-02-03,Q2222222,M,CZ
";

/// Encodes LEFT and RIGHT with one group secret; returns (dir, left.json, right.json).
fn encoded() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let key = write(tmp.path(), "group.key", "a shared group secret, 32 bytes\n");
    let mut outs = Vec::new();
    for (name, text) in [("left", LEFT), ("right", RIGHT)] {
        let csv = write(tmp.path(), &format!("{name}.csv"), text);
        let out = tmp.path().join(format!("{name}.json"));
        let res = palermo(&[
            "pprl",
            "encode",
            str(&csv),
            "--id-column",
            "rec_id",
            "--secret-file",
            str(&key),
            "--out",
            str(&out),
        ]);
        assert!(res.status.success(), "{}", stderr(&res));
        let text = String::from_utf8_lossy(&res.stdout);
        assert!(
            text.starts_with(
                "encoded 5 records into 2560-bit encodings (hardening balance, key id "
            ),
            "{text}"
        );
        outs.push(out);
    }
    let right = outs.pop().unwrap();
    let left = outs.pop().unwrap();
    (tmp, left, right)
}

#[test]
fn encode_then_match_finds_cross_script_pairs() {
    let (tmp, left, right) = encoded();
    let file = std::fs::read_to_string(&left).unwrap();
    for plain in ["Ahmed", "Rashid", "1984", "P1234567", "ahmed"] {
        assert!(
            !file.contains(plain),
            "plaintext {plain:?} in the encodings file"
        );
    }
    let pairs = tmp.path().join("pairs.csv");
    let res = palermo(&[
        "pprl",
        "match",
        str(&left),
        str(&right),
        "--out",
        str(&pairs),
        "--one-to-one",
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let text = std::fs::read_to_string(&pairs).unwrap();
    let rows: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0], f[1])
        })
        .collect();
    assert_eq!(text.lines().next(), Some("left_id,right_id,score"));
    assert_eq!(rows, [("a1", "b1"), ("a2", "b2"), ("a3", "b3")], "{text}");
}

#[test]
fn match_reports_json() {
    let (tmp, left, right) = encoded();
    let pairs = tmp.path().join("pairs.csv");
    let res = palermo(&[
        "--format",
        "json",
        "pprl",
        "match",
        str(&left),
        str(&right),
        "--threshold",
        "0.75",
        "--top-k",
        "1",
        "--out",
        str(&pairs),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(v["command"], "pprl match");
    assert_eq!(v["left_records"], 5);
    assert_eq!(v["n_bits"], 2560);
    assert_eq!(v["nominal_comparisons"], 25);
    assert_eq!(v["blocking"], "exhaustive");
    assert!(v["pairs_written"].as_u64().unwrap() >= 3);
}

#[test]
fn match_reads_clkhash_json_with_position_ids() {
    let tmp = tempfile::tempdir().unwrap();
    // Three 16-bit encodings: 0 and 1 agree on 7 of 8 bits, 2 is disjoint.
    let a = write(tmp.path(), "a.json", r#"{"clks": ["/wA=", "AP8="]}"#);
    let b = write(tmp.path(), "b.json", r#"["AP8=", "/gA=", "AAE="]"#);
    let pairs = tmp.path().join("pairs.csv");
    let res = palermo(&[
        "pprl",
        "match",
        str(&a),
        str(&b),
        "--threshold",
        "0.9",
        "--out",
        str(&pairs),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let text = std::fs::read_to_string(&pairs).unwrap();
    assert_eq!(text, "left_id,right_id,score\n0,1,0.933333\n1,0,1.000000\n");
}

fn check_bad(args: &[&str], expect: &str) {
    let res = palermo(args);
    assert_eq!(res.status.code(), Some(2), "{args:?}: {}", stderr(&res));
    let err = stderr(&res);
    assert!(
        err.contains(expect),
        "{args:?}: {err:?} does not contain {expect:?}"
    );
}

#[test]
fn bad_input_is_refused_clearly() {
    let (tmp, left, right) = encoded();
    let dir = tmp.path();
    let out = dir.join("out.csv");
    let other_key = write(dir, "other.key", "another group secret, 32 bytes!!");
    let short_key = write(dir, "short.key", "too short\n");
    let csv = write(dir, "in.csv", LEFT);
    let other = dir.join("other.json");
    let res = palermo(&[
        "pprl",
        "encode",
        str(&csv),
        "--id-column",
        "rec_id",
        "--secret-file",
        str(&other_key),
        "--out",
        str(&other),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    check_bad(
        &["pprl", "match", str(&left), str(&other), "--out", str(&out)],
        "encodings were made with different keys",
    );
    let clk = write(dir, "c.json", r#"{"clks": ["/wA=", "AP8A"]}"#);
    check_bad(
        &["pprl", "match", str(&clk), str(&clk), "--out", str(&out)],
        "encoding 1 has 24 bits, expected 16",
    );
    let ok = write(dir, "ok.json", r#"{"clks": ["/wA="]}"#);
    check_bad(
        &["pprl", "match", str(&left), str(&ok), "--out", str(&out)],
        "different keys",
    );
    let broken = write(dir, "broken.json", r#"{"clks": ["/wA=""#);
    check_bad(
        &["pprl", "match", str(&ok), str(&broken), "--out", str(&out)],
        "broken.json: invalid JSON",
    );
    let bad64 = write(dir, "bad64.json", r#"{"clks": ["/wA=", "not base64!"]}"#);
    check_bad(
        &["pprl", "match", str(&ok), str(&bad64), "--out", str(&out)],
        "encoding 1 is not valid base64",
    );
    check_bad(
        &[
            "pprl",
            "match",
            str(&left),
            str(&right),
            "--threshold",
            "0",
            "--out",
            str(&out),
        ],
        "--threshold 0",
    );
    check_bad(
        &[
            "pprl",
            "encode",
            str(&csv),
            "--id-column",
            "rec_id",
            "--secret-file",
            str(&short_key),
            "--out",
            str(&out),
        ],
        "invalid secret: 9 bytes, at least 16 are needed",
    );
    check_bad(
        &[
            "pprl",
            "encode",
            str(&csv),
            "--id-column",
            "nope",
            "--secret-file",
            str(&other_key),
            "--out",
            str(&out),
        ],
        "no id column \"nope\"",
    );
    check_bad(
        &[
            "pprl",
            "encode",
            str(&csv),
            "--id-column",
            "rec_id",
            "--secret-file",
            str(&other_key),
            "--bits",
            "1000",
            "--out",
            str(&out),
        ],
        "n_bits: 1000",
    );
    let missing = dir.join("missing.json");
    check_bad(
        &[
            "pprl",
            "match",
            str(&missing),
            str(&right),
            "--out",
            str(&out),
        ],
        "missing.json",
    );
}

#[test]
fn calibrate_then_match_with_probabilities() {
    let (tmp, left, right) = encoded();
    let dir = tmp.path();
    let truth = write(
        dir,
        "truth.csv",
        "record_id,entity_id\na1,P1\na2,P2\na3,P3\na4,P4\na5,P5\nb1,P1\nb2,P2\nb3,P3\nb4,P6\nb5,P7\n",
    );
    let cal = dir.join("cal.json");
    let res = palermo(&[
        "--format",
        "json",
        "pprl",
        "calibrate",
        str(&left),
        str(&right),
        "--truth",
        str(&truth),
        "--threshold",
        "0.3",
        "--out",
        str(&cal),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(v["true_pairs"], 3);
    assert_eq!(v["positives"], 3);
    let pairs = dir.join("pairs.csv");
    let res = palermo(&[
        "pprl",
        "match",
        str(&left),
        str(&right),
        "--threshold",
        "0.3",
        "--calibration",
        str(&cal),
        "--min-probability",
        "0.5",
        "--out",
        str(&pairs),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let text = std::fs::read_to_string(&pairs).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("left_id,right_id,score,probability,band")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    let ids: Vec<(&str, &str)> = rows.iter().map(|r| (r[0], r[1])).collect();
    assert_eq!(ids, [("a1", "b1"), ("a2", "b2"), ("a3", "b3")], "{text}");
    for r in &rows {
        let p: f64 = r[3].parse().unwrap();
        assert!(p >= 0.5, "{text}");
        assert!(["medium", "high"].contains(&r[4]), "{text}");
    }
    // The calibration is tied to the schema: an unhardened encoding is refused.
    let key = write(dir, "k.key", "a shared group secret, 32 bytes\n");
    let csv = write(dir, "l.csv", LEFT);
    let raw = dir.join("raw.json");
    let res = palermo(&[
        "pprl",
        "encode",
        str(&csv),
        "--id-column",
        "rec_id",
        "--secret-file",
        str(&key),
        "--hardening",
        "none",
        "--out",
        str(&raw),
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    check_bad(
        &[
            "pprl",
            "match",
            str(&raw),
            str(&raw),
            "--calibration",
            str(&cal),
            "--out",
            str(&pairs),
        ],
        "was fit on 2560-bit encodings with hardening balance, not 1280-bit with none",
    );
    check_bad(
        &[
            "pprl",
            "match",
            str(&left),
            str(&right),
            "--min-probability",
            "0.5",
            "--out",
            str(&pairs),
        ],
        "--min-probability needs --calibration",
    );
    check_bad(
        &[
            "pprl",
            "calibrate",
            str(&left),
            str(&right),
            "--truth",
            str(&csv),
            "--out",
            str(&cal),
        ],
        "no id column \"record_id\"",
    );
}

#[test]
fn attack_reports_reidentification() {
    let (tmp, left, _) = encoded();
    let dir = tmp.path();
    let csv = write(dir, "left.csv", LEFT);
    let res = palermo(&[
        "--format",
        "json",
        "pprl",
        "attack",
        str(&left),
        "--truth",
        str(&csv),
        "--known",
        str(&csv),
        "--id-column",
        "rec_id",
    ]);
    assert!(res.status.success(), "{}", stderr(&res));
    let v: serde_json::Value = serde_json::from_slice(&res.stdout).unwrap();
    assert_eq!(v["command"], "pprl attack");
    assert_eq!(v["records"], 5);
    assert_eq!(v["hardening"], "balance");
    let rate = v["reidentification_rate"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&rate), "{v}");
    let other = write(dir, "other.csv", RIGHT);
    check_bad(
        &[
            "pprl",
            "attack",
            str(&left),
            "--truth",
            str(&other),
            "--known",
            str(&csv),
            "--id-column",
            "rec_id",
        ],
        "encoding 0 has id \"a1\", which is not in",
    );
}

/// The left records of LEFT plus a record holding only a name, which the sender's own
/// resolution put with `a1` (the same person, the birth date and passport on `a1` only).
const LEFT_WITH_NAME_ONLY: &str = "\
rec_id,given_name,surname,date_of_birth,passport,sex,nationality
a1,Ahmed,Al-Rashid,1984-03-02,P1234567,m,SY
a2,Maria,Kowalski,1975-11-30,K5550001,f,PL
a3,Yuri,Yushchenko,1961-07-11,,m,UA
a6,Ahmed,Al Rashid,,,,
";

fn rows(path: &Path) -> Vec<(String, String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect()
}

#[test]
fn clusters_link_persons_and_bad_clusters_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let key = write(dir, "group.key", "a shared group secret, 32 bytes\n");
    let left_csv = write(dir, "left.csv", LEFT_WITH_NAME_ONLY);
    let right_csv = write(dir, "right.csv", RIGHT);
    let clusters = write(
        dir,
        "clusters.csv",
        "record_id,cluster_id\na1,a1\na2,a2\na3,a3\na6,a1\n",
    );
    let encode = |csv: &Path, out: &Path, clusters: Option<&Path>| {
        let mut args = vec![
            "pprl",
            "encode",
            str(csv),
            "--id-column",
            "rec_id",
            "--secret-file",
            str(&key),
            "--out",
            str(out),
        ];
        if let Some(c) = clusters {
            args.extend(["--clusters", str(c)]);
        }
        palermo(&args)
    };
    let (left, plain_left, right) = (
        dir.join("left.json"),
        dir.join("plain.json"),
        dir.join("right.json"),
    );
    let res = encode(&left_csv, &left, Some(&clusters));
    assert!(res.status.success(), "{}", stderr(&res));
    let text = String::from_utf8_lossy(&res.stdout);
    assert!(
        text.starts_with("encoded 4 records of 3 persons "),
        "{text}"
    );
    let file = std::fs::read_to_string(&left).unwrap();
    assert!(
        file.contains("\"version\":6"),
        "a file with persons is version 6"
    );
    assert!(file.contains("\"persons\":[0,1,2,0]"), "{file}");
    assert!(!file.contains("cluster"), "cluster ids are not written");
    assert!(encode(&left_csv, &plain_left, None).status.success());
    assert!(encode(&right_csv, &right, None).status.success());

    // By person: the name-only a6 is linked to b1 through a1, at a1's score.
    let pairs = dir.join("pairs.csv");
    let run = |left: &Path, extra: &[&str]| {
        let mut args = vec![
            "pprl",
            "match",
            str(left),
            str(&right),
            "--out",
            str(&pairs),
        ];
        args.extend(extra);
        let res = palermo(&args);
        assert!(res.status.success(), "{}", stderr(&res));
        (
            rows(&pairs),
            String::from_utf8_lossy(&res.stdout).into_owned(),
        )
    };
    let (by_person, report) = run(&left, &[]);
    assert!(report.contains("(by person, from "), "{report}");
    let score = |rows: &[(String, String, String)], l: &str, r: &str| {
        rows.iter()
            .find(|(a, b, _)| a == l && b == r)
            .map(|(_, _, s)| s.clone())
    };
    let a1 = score(&by_person, "a1", "b1");
    assert!(a1.is_some(), "{by_person:?}");
    assert_eq!(score(&by_person, "a6", "b1"), a1, "{by_person:?}");
    // Without persons (or with --no-persons) a6 is matched on its own record, as before.
    let (plain, _) = run(&plain_left, &[]);
    let (no_persons, report) = run(&left, &["--no-persons", "--threshold", "0.826"]);
    assert_eq!(plain, no_persons);
    assert!(!report.contains("by person"), "{report}");
    assert_ne!(score(&plain, "a6", "b1"), a1, "{plain:?}");

    // A one-to-one assignment contradicts persons.
    check_bad(
        &[
            "pprl",
            "match",
            str(&left),
            str(&right),
            "--out",
            str(&pairs),
            "--one-to-one",
        ],
        "add --no-persons",
    );
    // Bad cluster files name the file, the line and the problem.
    let out = dir.join("bad.json");
    let encode_with_clusters = |clusters: &Path, extra: &[&str], expect: &str| {
        let mut args = vec![
            "pprl",
            "encode",
            str(&left_csv),
            "--id-column",
            "rec_id",
            "--secret-file",
            str(&key),
            "--clusters",
            str(clusters),
            "--out",
            str(&out),
        ];
        args.extend_from_slice(extra);
        check_bad(&args, expect);
    };
    for (name, text, expect) in [
        (
            "unknown.csv",
            "record_id,cluster_id\na1,x\nzz,x\n",
            "unknown.csv: line 3: record_id \"zz\" is not a record of the input",
        ),
        (
            "dup.csv",
            "record_id,cluster_id\na1,x\na2,y\na1,z\n",
            "dup.csv: line 4: duplicate record_id \"a1\" (first on line 2)",
        ),
        (
            "nocol.csv",
            "record_id,entity_id\na1,x\n",
            "nocol.csv: no column \"cluster_id\" (columns: record_id, entity_id)",
        ),
        (
            "short.csv",
            "record_id,cluster_id\na1\n",
            "short.csv: line 2:",
        ),
    ] {
        encode_with_clusters(&write(dir, name, text), &[], expect);
    }
    encode_with_clusters(&dir.join("missing.csv"), &[], "missing.csv");
    // Persons are carried by field-level files only.
    encode_with_clusters(&clusters, &["--record-level"], "cannot be used with");
}
