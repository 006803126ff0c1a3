//! Operator updates: imports, corrections, bilateral agreements, reverts and bad input.

use palermo_law::{
    Cooperation, Error, KnowledgeBase, MemberStatus, TableKind, Update, UpdateAction,
};

use crate::{d, kb};

const PARTIES_HEADER: &str = "instrument_id,country_iso2,country_name,signature_date,consent_date,consent_type,source,notes\n";
const BILATERAL_HEADER: &str = "agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes\n";

fn import(version: u32, file: &str, content: &str) -> Update {
    Update {
        version,
        author: "analyst@nl".to_owned(),
        created: "2025-01-02T10:00:00Z".to_owned(),
        note: "test".to_owned(),
        action: UpdateAction::Import {
            file_name: file.to_owned(),
            content: content.to_owned(),
        },
    }
}

fn revert(version: u32, target: u32) -> Update {
    Update {
        version,
        author: "lead".to_owned(),
        created: "2025-01-03T10:00:00Z".to_owned(),
        note: String::new(),
        action: UpdateAction::Revert { target },
    }
}

fn status(kb: &KnowledgeBase, instrument: &str, country: &str, on: &str) -> MemberStatus {
    palermo_law::membership(kb, kb.instrument(instrument).unwrap(), country, d(on)).status
}

fn eritrea() -> String {
    format!(
        "{PARTIES_HEADER}UNTOC,ER,Eritrea,,2014-09-25,accession,https://treaties.un.org/example (operator check),\n"
    )
}

#[test]
fn an_import_adds_a_party_and_a_revert_removes_it() {
    let base = kb();
    assert_eq!(
        status(&base, "UNTOC", "ER", "2024-06-01"),
        MemberStatus::Unknown
    );
    let summary = base
        .check_import("er.csv", &eritrea(), d("2025-01-01"))
        .unwrap();
    assert_eq!(
        (summary.table, summary.rows, summary.added, summary.replaced),
        (TableKind::Parties, 1, 1, 0)
    );

    let log = vec![import(1, "er.csv", &eritrea())];
    let v1 = KnowledgeBase::with_updates(&log).unwrap();
    assert_eq!(
        status(&v1, "UNTOC", "ER", "2024-06-01"),
        MemberStatus::Bound
    );
    assert_eq!(v1.version().version, 1);
    assert_eq!(v1.version().applied_updates, [1]);
    let m = palermo_law::membership(&v1, v1.instrument("UNTOC").unwrap(), "ER", d("2024-06-01"));
    assert_eq!(
        m.origin.map(|o| o.0),
        Some(1),
        "the answer names the update that contributed the fact"
    );

    let log = vec![import(1, "er.csv", &eritrea()), revert(2, 1)];
    let v2 = KnowledgeBase::with_updates(&log).unwrap();
    assert_eq!(
        status(&v2, "UNTOC", "ER", "2024-06-01"),
        MemberStatus::Unknown
    );
    assert_eq!(v2.version().version, 2);
    assert!(v2.version().applied_updates.is_empty());
    assert!(
        palermo_law::check_revert(&log, 1).is_err(),
        "cannot revert twice"
    );
    assert!(
        palermo_law::check_revert(&log, 2).is_err(),
        "cannot revert a revert"
    );
    assert!(
        palermo_law::check_revert(&log, 9).is_err(),
        "no such version"
    );
}

#[test]
fn a_correction_replaces_the_row() {
    let content = format!(
        "{PARTIES_HEADER}UNTOC,KR,Republic of Korea,2000-12-13,2015-11-05,ratification,https://www.koreaherald.com/example,day derived\n"
    );
    let summary = kb()
        .check_import("kr.csv", &content, d("2025-01-01"))
        .unwrap();
    assert_eq!((summary.added, summary.replaced), (0, 1));
    let v1 = KnowledgeBase::with_updates(&[import(1, "kr.csv", &content)]).unwrap();
    // 2015-11-05 + 30 days = 2015-12-05: the uncertainty is gone.
    assert_eq!(
        status(&v1, "UNTOC", "KR", "2015-12-15"),
        MemberStatus::Bound
    );
    assert_eq!(
        status(&v1, "UNTOC", "KR", "2015-12-04"),
        MemberStatus::NotYetBound
    );
}

#[test]
fn bilateral_agreements_become_a_basis() {
    let content = format!(
        "{BILATERAL_HEADER}NL-TH-MLAT,mlat,NL,TH,Treaty on mutual legal assistance in criminal matters,2019-03-01,2020-01-01,,all offences punishable in both states,https://example.org/trb,\nNL-TH-MOU,mou,TH,NL,Police cooperation memorandum,2021-01-01,2021-01-01,information,,https://example.org/mou,\n"
    );
    let v1 = KnowledgeBase::with_updates(&[import(1, "bilateral.csv", &content)]).unwrap();
    let mla = palermo_law::basis(&v1, "TH", "NL", Cooperation::Mla, d("2024-06-01")).unwrap();
    let ids: Vec<&str> = mla.bases.iter().map(|c| c.instrument_id.as_str()).collect();
    assert_eq!(ids, ["UNTOC", "NL-TH-MLAT"]);
    assert_eq!(mla.kb_version.version, 1);
    let info =
        palermo_law::basis(&v1, "NL", "TH", Cooperation::Information, d("2024-06-01")).unwrap();
    let mou = info
        .bases
        .iter()
        .find(|c| c.instrument_id == "NL-TH-MOU")
        .unwrap();
    assert!(
        mou.conditions
            .iter()
            .any(|c| c.contains("not legally binding"))
    );
    let early = palermo_law::basis(&v1, "NL", "TH", Cooperation::Mla, d("2019-06-01")).unwrap();
    assert!(
        early
            .not_binding
            .iter()
            .any(|c| c.instrument_id == "NL-TH-MLAT"),
        "not yet in force in 2019"
    );
}

#[test]
fn bad_imports_name_file_line_and_field_and_change_nothing() {
    let base = kb();
    let today = d("2025-01-01");
    let check = |content: String, expect: &str| {
        let err = base
            .check_import("upd.csv", &content, today)
            .unwrap_err()
            .to_string();
        assert_eq!(err, expect);
    };
    check(
        format!("{PARTIES_HEADER}UNTOC,XX,Nowhere,,2014-09-25,accession,https://x.org,\n"),
        "upd.csv:2: field 'country_iso2': unknown country code 'XX' (did you mean 'XK'?)",
    );
    check(
        format!(
            "{PARTIES_HEADER}UNTOC,ER,Eritrea,,2014-09-25,accession,https://x.org,\nUNTOC,PW,Palau,,2030-01-01,accession,https://x.org,\n"
        ),
        "upd.csv:3: field 'consent_date': date 2030-01-01 is in the future (today is 2025-01-01)",
    );
    check(
        format!("{PARTIES_HEADER}UNTOCC,ER,Eritrea,,2014-09-25,accession,https://x.org,\n"),
        "upd.csv:2: field 'instrument_id': unknown instrument 'UNTOCC' (known: PALERMO_TIP, UNTOC, CETS197, ILO_P029, ACTIP, EU_DIR_2011_36)",
    );
    check(
        format!("{PARTIES_HEADER}UNTOC,ER,Eritrea,,2014-13-25,accession,https://x.org,\n"),
        "upd.csv:2: field 'consent_date': invalid date '2014-13-25': month must be 01-12",
    );
    check(
        format!("{PARTIES_HEADER}UNTOC,ER,Eritrea,,2014-09-25,accession,,\n"),
        "upd.csv:2: field 'source': must not be empty",
    );
    check(
        format!("{BILATERAL_HEADER}X1,treaty,NL,TH,t,,,,,https://x.org,\n"),
        "upd.csv:2: field 'kind': expected mlat, extradition_treaty, police_cooperation or mou",
    );
    check(
        format!("{BILATERAL_HEADER}X1,mlat,NL,NL,t,,,,,https://x.org,\n"),
        "upd.csv:2: field 'state_b': a bilateral agreement needs two different states",
    );
    // The base is untouched by failed checks.
    assert_eq!(
        status(&base, "UNTOC", "ER", "2024-06-01"),
        MemberStatus::Unknown
    );
}

#[test]
fn an_out_of_order_log_is_refused() {
    let err = KnowledgeBase::with_updates(&[import(2, "er.csv", &eritrea())]).unwrap_err();
    assert!(matches!(err, Error::Version { version: 2, .. }));
}
