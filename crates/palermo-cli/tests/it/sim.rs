//! `palermo sim`: determinism, the report, and bad input (exit 2, nothing written).

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

fn palermo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args(args)
        .output()
        .unwrap()
}

fn sim(out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["sim", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    palermo(&args)
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut all = Vec::new();
    for sub in ["TH", "MY", "NL", "truth"] {
        let mut names: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            all.push((
                path.strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(&path).unwrap(),
            ));
        }
    }
    all
}

#[test]
fn same_seed_writes_byte_identical_scenarios() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for dir in [&a, &b] {
        let out = sim(
            dir,
            &[
                "--countries",
                "TH,MY,NL",
                "--persons",
                "1500",
                "--seed",
                "9",
            ],
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("wrote a scenario of 1500 persons in 3 countries (seed 9)"),
            "{text}"
        );
    }
    let (fa, fb) = (files(&a), files(&b));
    // 3 countries x 2 files, 11 truth CSV files and summary.json.
    assert_eq!(fa.len(), 18);
    for ((name, x), (_, y)) in fa.iter().zip(&fb) {
        assert!(x == y, "{name} differs");
    }
}

#[test]
fn json_report_has_counts_per_country() {
    let tmp = tempfile::tempdir().unwrap();
    let out = palermo(&[
        "--format",
        "json",
        "sim",
        "--out",
        tmp.path().join("s").to_str().unwrap(),
        "--persons",
        "800",
        "--countries",
        "UA,NL",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["persons"], 800);
    let countries = report["countries"].as_array().unwrap();
    assert_eq!(
        countries
            .iter()
            .map(|c| c["code"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["UA", "NL"]
    );
    assert!(countries.iter().all(|c| c["records"].as_u64().unwrap() > 0));
}

fn check_bad_input(args: &[&str], message: &str, out: &Path) {
    let output = sim(out, args);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
    assert!(stderr.contains(message), "{args:?}: {stderr}");
    assert!(output.stdout.is_empty());
}

#[test]
fn bad_input_exits_2_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let fresh = tmp.path().join("fresh");
    check_bad_input(
        &["--countries", "TH,XX"],
        "unknown country code `XX`",
        &fresh,
    );
    check_bad_input(&["--countries", "TH,FR"], "FR is not supported", &fresh);
    check_bad_input(
        &["--countries", "TH"],
        "at least 2 countries, got 1",
        &fresh,
    );
    check_bad_input(&["--countries", "TH,NL,TH"], "TH is listed twice", &fresh);
    check_bad_input(&["--persons", "0"], "at least 1, got 0", &fresh);
    assert!(
        !fresh.exists(),
        "bad input must not create the output directory"
    );

    let used = tmp.path().join("used");
    std::fs::create_dir(&used).unwrap();
    std::fs::write(used.join("notes.txt"), "mine").unwrap();
    check_bad_input(
        &["--persons", "100"],
        "is not empty (use --force to overwrite)",
        &used,
    );
    assert_eq!(
        std::fs::read_dir(&used).unwrap().count(),
        1,
        "nothing written next to the user's file"
    );

    let out = sim(&used, &["--persons", "100", "--force"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(used.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(used.join("truth/records.csv").exists());
}
