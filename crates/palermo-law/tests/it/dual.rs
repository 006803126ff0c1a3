//! Dual criminality, worked out by hand from `national_offences.csv`.

use palermo_law::{Conduct, Tri};

use crate::kb;

/// (conduct JSON, a, b) → (verdict a, verdict b, overall)
const CASES: &[(&str, &str, &str, &str, &str, &str)] = &[
    // GB s. 2 needs no means; TH s. 6 lists deception and prostitution.
    (
        r#"{"acts":["recruitment"],"means":["deception"],"purpose":["sexual_exploitation"],"victim_age":25,"transnational":true}"#,
        "GB",
        "TH",
        "covered",
        "covered",
        "yes",
    ),
    // A 15-year-old recruited without means: NL's child rule covers it, BR requires means for children.
    (
        r#"{"acts":["recruitment"],"means":[],"purpose":["sexual_exploitation"],"victim_age":15,"transnational":true}"#,
        "NL",
        "BR",
        "covered",
        "not_covered",
        "no",
    ),
    // Italy's acts and means are unknown in the knowledge base.
    (
        r#"{"acts":["recruitment"],"means":["force"],"purpose":["forced_labour"],"victim_age":30}"#,
        "IT",
        "GB",
        "undetermined",
        "covered",
        "undetermined",
    ),
    // DE § 232: deceit is listed (aggravated), begging is a purpose.
    (
        r#"{"acts":["recruitment"],"means":["deception"],"purpose":["begging"],"victim_age":30}"#,
        "DE",
        "NL",
        "covered",
        "covered",
        "yes",
    ),
    // US § 1591: child, commercial sex, no means needed.
    (
        r#"{"acts":["recruitment"],"purpose":["sexual_exploitation"],"victim_age":16}"#,
        "US",
        "PH",
        "covered",
        "covered",
        "yes",
    ),
    // US § 1590: labour with threats of serious harm.
    (
        r#"{"acts":["harbouring"],"means":["force"],"purpose":["forced_labour"],"victim_age":40}"#,
        "US",
        "NG",
        "covered",
        "covered",
        "yes",
    ),
    // TH's 2008 text does not list abuse of vulnerability; GB needs no means.
    (
        r#"{"acts":["recruitment"],"means":["abuse_of_vulnerability"],"purpose":["forced_labour"],"victim_age":30}"#,
        "TH",
        "GB",
        "not_covered",
        "covered",
        "no",
    ),
    // KR art. 289 is about buying or selling; recruitment is not in the text read.
    (
        r#"{"acts":["recruitment"],"means":["deception"],"purpose":["sexual_exploitation"],"victim_age":30}"#,
        "KR",
        "PH",
        "not_covered",
        "covered",
        "no",
    ),
    // Fiji has no national offence row.
    (
        r#"{"acts":["receipt"],"means":["fraud"],"purpose":["servitude"],"victim_age":30}"#,
        "FJ",
        "PH",
        "undetermined",
        "covered",
        "undetermined",
    ),
    // Victim age unknown, no means: NL needs means for adults, none for children → undetermined.
    (
        r#"{"acts":["transportation"],"purpose":["sexual_exploitation"]}"#,
        "NL",
        "GB",
        "undetermined",
        "covered",
        "undetermined",
    ),
    // A child with no means in Nigeria: its child rule is unknown → undetermined.
    (
        r#"{"acts":["transportation"],"purpose":["forced_labour"],"victim_age":12}"#,
        "NG",
        "MX",
        "undetermined",
        "covered",
        "undetermined",
    ),
];

#[test]
fn hand_written_dual_criminality_cases() {
    let kb = kb();
    for (json, a, b, va, vb, overall) in CASES {
        let conduct = Conduct::from_json(json).unwrap();
        let answer = palermo_law::dual_criminality(&kb, &conduct, a, b).unwrap();
        let got: Vec<&str> = answer.states.iter().map(|s| s.verdict).collect();
        assert_eq!(got, [*va, *vb], "{a}/{b} for {json}: {:#?}", answer.states);
        assert_eq!(answer.dual_criminality, *overall, "{a}/{b} for {json}");
    }
}

#[test]
fn element_checks_cite_section_and_quote_the_cell() {
    let conduct = Conduct::from_json(
        r#"{"acts":["recruitment"],"means":[],"purpose":["sexual_exploitation"],"victim_age":15}"#,
    )
    .unwrap();
    let answer = palermo_law::dual_criminality(&kb(), &conduct, "BR", "NL").unwrap();
    let br = &answer.states[0].offences[0];
    assert_eq!(br.section, "art. 149-A (tráfico de pessoas)");
    assert_eq!(br.covers, Tri::No);
    let means = &br.elements[1];
    assert_eq!(means.covered, Tri::No);
    assert!(means.evidence.starts_with("grave ameaça"));
    assert!(br.source_urls.iter().all(|u| u.starts_with("http")));
    assert!(!br.as_of_year.is_empty());
    assert_eq!(answer.kb_as_of, "2024-11-25");
}

#[test]
fn unknown_is_never_yes() {
    // For every state with a row, a conduct whose elements are all unknown must
    // not come out "covered".
    let kb = kb();
    let conduct = Conduct::from_json(
        r#"{"acts":["receipt"],"means":["payments"],"purpose":["organ_removal"],"victim_age":30}"#,
    )
    .unwrap();
    for code in [
        "IT", "PL", "BG", "MA", "JO", "PK", "LA", "MY", "PE", "DO", "TR", "KW", "ET",
    ] {
        let answer = palermo_law::dual_criminality(&kb, &conduct, code, "GB").unwrap();
        assert_ne!(answer.states[0].verdict, "covered", "{code}");
    }
}
