//! Gap reports against the Palermo standard, worked out by hand.

use palermo_law::{Finding, GapReport};

use crate::{d, kb};

fn report(code: &str) -> GapReport {
    palermo_law::gaps(&kb(), code, d("2024-12-01")).unwrap()
}

fn finding(r: &GapReport, area: &str, element_prefix: &str) -> Finding {
    r.elements
        .iter()
        .find(|e| e.area == area && e.element.starts_with(element_prefix))
        .map(|e| e.finding)
        .unwrap_or_else(|| panic!("{} has no {area}/{element_prefix}", r.country))
}

/// (country, area, element) → finding
const CASES: &[(&str, &str, &str, Finding)] = &[
    ("GB", "means", "force", Finding::Broader), // none required
    ("GB", "child_rule", "child", Finding::Covered),
    ("GB", "consent", "consent", Finding::Covered), // "consent of V irrelevant"
    ("GB", "act", "receipt", Finding::Covered),
    ("GB", "penalty", "maximum", Finding::Covered), // life
    ("GB", "non_punishment", "non-punishment", Finding::Unknown), // CETS party; implementation not in KB
    ("BR", "child_rule", "child", Finding::Gap),                  // means required for children
    ("NP", "child_rule", "child", Finding::Gap),
    ("TH", "means", "abuse_of_vulnerability", Finding::Gap), // not listed in the 2008 text
    ("TH", "child_rule", "child", Finding::Covered),
    ("IN", "purpose", "forced_labour", Finding::Gap), // not named expressly
    ("US", "purpose", "organ_removal", Finding::Gap), // not listed in § 1590; § 1591 is sex only
    ("AL", "act", "recruitment", Finding::Unknown),   // not read
    ("AL", "purpose", "forced_labour", Finding::Covered), // "labour trafficking" per TIP 2023
    ("AL", "purpose", "organ_removal", Finding::Unknown), // full list unknown
    ("NL", "purpose", "begging", Finding::Broader),
    ("MX", "purpose", "illegal_adoption", Finding::Broader),
    ("KR", "act", "recruitment", Finding::Gap), // buying/selling only
    ("NG", "child_rule", "child", Finding::Unknown),
    ("TH", "ancillary", "attempt", Finding::Unknown), // not recorded in the KB
    ("TH", "non_punishment", "non-punishment", Finding::Unknown), // CETS 197 membership unknown
];

#[test]
fn hand_written_gap_cases() {
    for (code, area, element, expect) in CASES {
        let r = report(code);
        assert_eq!(
            finding(&r, area, element),
            *expect,
            "{code} {area} {element}"
        );
    }
}

#[test]
fn a_state_without_an_offence_row_is_all_unknown() {
    let r = report("FJ");
    assert!(r.offences.is_empty());
    assert!(r.gaps.is_empty());
    assert!(
        r.elements
            .iter()
            .all(|e| matches!(e.finding, Finding::Unknown | Finding::NotApplicable))
    );
}

#[test]
fn non_punishment_does_not_apply_before_cets_binds() {
    // Belarus acceded to CETS 197 on 2013-11-26 (in force 2014-03-01).
    let r = palermo_law::gaps(&kb(), "BY", d("2012-01-01")).unwrap();
    assert_eq!(
        finding(&r, "non_punishment", "non-punishment"),
        Finding::NotApplicable
    );
}

#[test]
fn reports_cite_statute_source_and_standard() {
    let r = report("DE");
    assert_eq!(
        r.offences[0].section,
        "§ 232 Menschenhandel (version in force 16.08.2023)"
    );
    assert_eq!(r.offences[0].as_of_year, "2023");
    assert!(
        r.offences[0]
            .source_urls
            .iter()
            .any(|u| u.starts_with("http"))
    );
    let arts: Vec<&str> = r.standard.iter().map(|c| c.article.as_str()).collect();
    assert!(
        arts.contains(&"Art. 3(a)") && arts.contains(&"Art. 26"),
        "{arts:?}"
    );
}
