//! `palermo demo --no-serve`: the whole story on a small scenario.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

use std::process::Command;

#[test]
fn demo_generates_imports_resolves_and_reports() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("demo");
    let run = |extra: &[&str]| {
        let mut args = vec!["demo", "--dir", dir.to_str().unwrap(), "--persons", "900"];
        args.extend_from_slice(extra);
        Command::new(env!("CARGO_BIN_EXE_palermo"))
            .args(&args)
            .output()
            .unwrap()
    };
    let out = run(&["--no-serve"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}\n{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    for expect in [
        "1. Scenario",
        "2. One node store per agency",
        "3. Entity resolution",
        "4. Cross-border matching",
        "5. Legal basis",
        "6. Hit/no-hit between the nodes",
        "7. What the agencies know",
        "UI: not requested",
    ] {
        assert!(stdout.contains(expect), "missing `{expect}` in:\n{stdout}");
    }
    for code in ["th", "my", "nl"] {
        assert!(dir.join(format!("nodes/{code}.db")).exists());
    }
    assert!(dir.join("scenario/truth/records.csv").exists());

    // Without --no-serve it says the UI is not built and still succeeds; a rerun replaces the demo.
    let out = Command::new(env!("CARGO_BIN_EXE_palermo"))
        .args([
            "--format",
            "json",
            "demo",
            "--dir",
            dir.to_str().unwrap(),
            "--persons",
            "900",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["serve"].as_str().unwrap().contains("not built yet"));
    assert_eq!(report["nodes"].as_array().unwrap().len(), 3);
    let imported: u64 = report["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["persons"].as_u64().unwrap() + n["entities"].as_u64().unwrap())
        .sum();
    let generated: u64 = report["scenario"]["countries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["records"].as_u64().unwrap())
        .sum();
    assert_eq!(imported, generated, "every generated record is imported");
    assert_eq!(report["legal_basis"].as_array().unwrap().len(), 3);

    // Every node asks every other about its resolved persons: answered, mostly right,
    // and a node asking about its own persons is never mistaken for a prober.
    let hits = report["hits"].as_array().unwrap();
    assert_eq!(hits.len(), 6);
    for h in hits {
        assert_eq!(h["outcome"], "answered", "{h}");
        assert!(h["encodings"].as_u64() <= h["records"].as_u64(), "{h}");
        assert!(h["hits"].as_u64().unwrap() > 0, "{h}");
        assert!(h["precision"].as_f64().unwrap() >= 0.8, "{h}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("probing suspected"),
        "the demo's own queries raised probing alerts:\n{stderr}"
    );
}
