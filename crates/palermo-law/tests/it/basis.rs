//! Legal-basis questions answered from the data, by hand.

use palermo_law::{BasisAnswer, Cooperation, Cooperation::*, Error, MemberStatus, Tri};

use crate::{d, kb};

fn ids(list: &[palermo_law::Candidate]) -> Vec<&str> {
    list.iter().map(|c| c.instrument_id.as_str()).collect()
}

fn ask(a: &str, b: &str, kind: Cooperation, on: &str) -> BasisAnswer {
    palermo_law::basis(&kb(), a, b, kind, d(on)).unwrap()
}

/// (a, b, kind, date) → (binding both, unknown, not binding, fallback?)
#[allow(clippy::type_complexity)]
const CASES: &[(
    &str,
    &str,
    Cooperation,
    &str,
    &[&str],
    &[&str],
    &[&str],
    bool,
)] = &[
    // NL and TH: UNTOC (2004 / 2013) and the Protocol; TH has no CETS 197 row → unknown.
    (
        "NL",
        "TH",
        Mla,
        "2024-06-01",
        &["UNTOC"],
        &["CETS197"],
        &[],
        false,
    ),
    (
        "NL",
        "TH",
        Extradition,
        "2024-06-01",
        &["UNTOC"],
        &[],
        &[],
        false,
    ),
    (
        "NL",
        "TH",
        Information,
        "2024-06-01",
        &["PALERMO_TIP", "UNTOC"],
        &["CETS197"],
        &[],
        false,
    ),
    ("NL", "TH", Jit, "2024-06-01", &["UNTOC"], &[], &[], false),
    (
        "NL",
        "TH",
        AssetFreeze,
        "2024-06-01",
        &["UNTOC"],
        &[],
        &[],
        false,
    ),
    // Before TH's consent (2013-10-17) nothing binds both: fallback.
    (
        "NL",
        "TH",
        Mla,
        "2010-01-01",
        &[],
        &["CETS197"],
        &["UNTOC"],
        true,
    ),
    // Two CETS 197 parties (both EU member states).
    (
        "DE",
        "NL",
        Mla,
        "2024-12-01",
        &["UNTOC", "CETS197"],
        &[],
        &[],
        false,
    ),
    // Iran signed UNTOC only; the US has no CETS 197 row.
    (
        "US",
        "IR",
        Mla,
        "2024-06-01",
        &[],
        &["CETS197"],
        &["UNTOC"],
        true,
    ),
    // KR bound from 2015-12 at the latest; JP consented only in 2017.
    (
        "KR",
        "JP",
        Mla,
        "2016-01-01",
        &[],
        &["CETS197"],
        &["UNTOC"],
        true,
    ),
    (
        "KR",
        "JP",
        Mla,
        "2018-01-01",
        &["UNTOC"],
        &["CETS197"],
        &[],
        false,
    ),
    // The EU as a party (approval 2004-05-21 / Protocol 2006-09-06).
    (
        "EU",
        "TH",
        Mla,
        "2024-06-01",
        &["UNTOC"],
        &["CETS197"],
        &[],
        false,
    ),
    (
        "EU",
        "TH",
        Information,
        "2024-06-01",
        &["PALERMO_TIP", "UNTOC"],
        &["CETS197"],
        &[],
        false,
    ),
    // CZ signed the Protocol only (as at 2014); UNTOC binds (2013-09-24).
    (
        "CZ",
        "TH",
        Information,
        "2024-06-01",
        &["UNTOC"],
        &["CETS197"],
        &["PALERMO_TIP"],
        false,
    ),
    // Eritrea has no UNTOC row: unknown, never "no".
    (
        "ER",
        "TH",
        Mla,
        "2024-06-01",
        &[],
        &["UNTOC", "CETS197"],
        &[],
        true,
    ),
    // North Korea's UNTOC ratification is only reported.
    (
        "KP",
        "CN",
        Extradition,
        "2024-06-01",
        &[],
        &["UNTOC"],
        &[],
        true,
    ),
];

#[test]
fn hand_written_basis_cases() {
    for (a, b, kind, on, bases, unknown, not_binding, fallback) in CASES {
        let answer = ask(a, b, *kind, on);
        let what = format!("{a} {b} {} {on}", kind.as_str());
        assert_eq!(ids(&answer.bases), *bases, "bases for {what}");
        assert_eq!(ids(&answer.unknown), *unknown, "unknown for {what}");
        assert_eq!(
            ids(&answer.not_binding),
            *not_binding,
            "not binding for {what}"
        );
        assert_eq!(answer.fallback.is_some(), *fallback, "fallback for {what}");
        if let Some(f) = &answer.fallback {
            assert!(f.label.starts_with("FALLBACK"), "{what}");
        }
    }
}

#[test]
fn every_basis_cites_article_dates_source_and_as_of() {
    let answer = ask("NL", "TH", Mla, "2024-06-01");
    let untoc = &answer.bases[0];
    assert_eq!(untoc.articles[0].article, "Art. 18");
    assert_eq!(untoc.articles[0].check, "K");
    assert!(
        !untoc.articles[0].verified,
        "K rows are carried through as unverified"
    );
    let dates: Vec<Option<&str>> = untoc
        .memberships
        .iter()
        .map(|m| m.consent_date.as_deref())
        .collect();
    assert_eq!(dates, [Some("2004-05-26"), Some("2013-10-17")]);
    assert!(
        untoc
            .memberships
            .iter()
            .all(|m| m.source_urls.iter().any(|u| u.starts_with("http")))
    );
    assert!(untoc.source_urls[0].starts_with("http://treaties.un.org"));
    assert_eq!(answer.kb_as_of, "2024-11-25");
    assert_eq!(answer.kb_version.version, 0);
    assert!(untoc.scope_requirement.contains("organized criminal group"));
    assert_eq!(
        untoc.protocol_link.as_ref().map(|l| l.both_parties),
        Some(Tri::Yes)
    );
}

#[test]
fn extradition_states_the_unknown_treaty_notification() {
    let answer = ask("NL", "TH", Extradition, "2024-06-01");
    let untoc = &answer.bases[0];
    assert_eq!(untoc.articles[0].article, "Art. 16");
    assert!(untoc.articles[0].check.starts_with("S"));
    assert!(
        untoc
            .conditions
            .iter()
            .any(|c| c.contains("16(4)-(5)") && c.contains("NOT in the knowledge base"))
    );
}

#[test]
fn asset_freeze_cites_articles_12_to_14() {
    let answer = ask("NL", "TH", AssetFreeze, "2024-06-01");
    let arts: Vec<&str> = answer.bases[0]
        .articles
        .iter()
        .map(|a| a.article.as_str())
        .collect();
    assert_eq!(arts, ["Art. 13", "Art. 12", "Art. 14"]);
}

#[test]
fn protocol_link_is_reported_when_only_untoc_binds() {
    let answer = ask("CZ", "TH", Mla, "2024-06-01");
    let link = answer.bases[0].protocol_link.as_ref().unwrap();
    assert_eq!(link.both_parties, Tri::No);
    assert!(link.note.contains("serious crime"));
    assert!(
        answer
            .notes
            .iter()
            .any(|n| n.contains("does not make CZ a party")),
        "{:?}",
        answer.notes
    );
}

#[test]
fn eu_notes() {
    let with_member = ask("EU", "DE", Mla, "2024-06-01");
    assert!(
        with_member
            .notes
            .iter()
            .any(|n| n.contains("governed by EU law"))
    );
    let two_members = ask("DE", "NL", Mla, "2024-06-01");
    assert!(
        two_members
            .notes
            .iter()
            .any(|n| n.contains("European Investigation Order"))
    );
    let with_third = ask("EU", "TH", Mla, "2024-06-01");
    assert!(
        with_third
            .notes
            .iter()
            .any(|n| n.contains("regional economic integration organisation"))
    );
}

#[test]
fn also_binding_instruments_without_an_article_are_listed_separately() {
    // PH and VN both ratified ACTIP (2017); the KB has no ACTIP article for JITs.
    let answer = ask("PH", "VN", Jit, "2024-06-01");
    assert_eq!(ids(&answer.also_binding_both), ["PALERMO_TIP", "ACTIP"]);
    assert!(answer.also_binding_both[1].conditions[0].contains("no article"));
}

#[test]
fn consent_after_the_date_is_explained() {
    let answer = ask("NL", "TH", Mla, "2010-01-01");
    let th = answer.not_binding[0]
        .memberships
        .iter()
        .find(|m| m.country == "TH")
        .unwrap();
    assert_eq!(th.status, MemberStatus::NotYetBound);
    assert!(
        th.explanation.contains("2013-10-17 is after that date"),
        "{}",
        th.explanation
    );
}

#[test]
fn bad_country_codes_suggest_the_closest() {
    let check = |code: &str, suggestion: Option<&str>| match palermo_law::basis(
        &kb(),
        code,
        "TH",
        Mla,
        d("2024-01-01"),
    ) {
        Err(Error::UnknownCountry {
            suggestion: got, ..
        }) => {
            assert_eq!(got.as_deref(), suggestion, "{code}");
        }
        other => panic!("{code}: expected an unknown-country error, got {other:?}"),
    };
    check("XX", Some("XK"));
    check("UK", Some("GB"));
    check("NLD", Some("NL"));
    check("Thailand", Some("TH"));
}
