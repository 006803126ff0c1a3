//! Membership on a date, one case per line: (instrument, state, date) → status.
//! Each expectation was worked out by hand from `parties.csv`,
//! `non_parties.csv` and `instruments.csv`.

use palermo_law::MemberStatus::{self, *};

use crate::{d, kb};

fn check(cases: &[(&str, &str, &str, MemberStatus)]) {
    let kb = kb();
    for (instrument, country, on, expect) in cases {
        let inst = kb.instrument(instrument).unwrap();
        let m = palermo_law::membership(&kb, inst, country, d(on));
        assert_eq!(
            m.status, *expect,
            "{instrument} {country} on {on}: {}",
            m.explanation
        );
        if m.status != Unknown || m.origin.is_some() {
            assert!(
                !m.source.is_empty(),
                "{instrument} {country}: a fact must cite its source"
            );
        }
    }
}

#[test]
fn untoc_consent_and_entry_into_force() {
    check(&[
        ("UNTOC", "NL", "2024-01-01", Bound), // ratified 2004-05-26
        ("UNTOC", "TH", "2013-10-01", NotYetBound), // ratified 2013-10-17: after the date
        ("UNTOC", "TH", "2013-11-01", NotYetBound), // in force for TH only on the 30th day, 2013-11-16
        ("UNTOC", "TH", "2013-11-16", Bound),
        ("UNTOC", "AF", "2003-09-25", NotYetBound), // consent 2003-09-24, UNTOC itself in force 2003-09-29
        ("UNTOC", "EU", "2005-01-01", Bound),       // EU approval 2004-05-21
        ("UNTOC", "SS", "2023-11-19", Bound), // accession 2023-10-20, in force 2023-11-19 per notes
        ("UNTOC", "SS", "2023-11-18", NotYetBound),
    ]);
}

#[test]
fn partial_consent_dates_give_uncertainty_not_yes() {
    check(&[
        ("UNTOC", "KR", "2015-11-15", NotYetBound), // 2015-11 + 30 days is at least 2015-12-01
        ("UNTOC", "KR", "2015-12-15", Uncertain),   // between 2015-12-01 and 2015-12-30
        ("UNTOC", "KR", "2016-01-01", Bound),
        ("UNTOC", "FJ", "2017-06-01", Uncertain), // year only: 2017
        ("UNTOC", "FJ", "2018-06-01", Bound),
        ("PALERMO_TIP", "BN", "2020-04-15", Uncertain), // accession 2020-03 (month only)
        ("PALERMO_TIP", "SD", "2014-06-01", Uncertain), // "on or before 2014-12-18"
        ("PALERMO_TIP", "SD", "2015-06-01", Bound),
    ]);
}

#[test]
fn signature_only_and_reported_consents_do_not_bind() {
    check(&[
        ("UNTOC", "IR", "2024-06-01", SignatureOnly),
        ("UNTOC", "CG", "2024-06-01", SignatureOnly),
        ("PALERMO_TIP", "UG", "2024-06-01", SignatureOnly),
        ("PALERMO_TIP", "CZ", "2024-06-01", SignatureOnly),
        ("UNTOC", "KP", "2024-06-01", Unconfirmed), // domestic ratification reported
        ("UNTOC", "SO", "2025-01-01", Unconfirmed), // accession reported, deposit not verified
        ("ACTIP", "ID", "2024-06-01", Unconfirmed), // domestic law only
    ]);
}

#[test]
fn missing_rows_are_unknown_and_non_parties_are_dated() {
    check(&[
        ("UNTOC", "ER", "2024-06-01", Unknown),        // no row at all
        ("CETS197", "US", "2024-06-01", Unknown),      // no row at all
        ("UNTOC", "PG", "2024-06-01", Unknown),        // STALE non-party (2014) only
        ("UNTOC", "PG", "2013-06-01", NotParty),       // the 2014 record covers 2013
        ("PALERMO_TIP", "IR", "2024-06-01", NotParty), // mid-2024 record
        ("PALERMO_TIP", "YE", "2022-06-01", NotParty), // USDOL 2022
        ("ACTIP", "LA", "2024-06-01", Unknown),        // row says unknown
        ("ACTIP", "MY", "2024-06-01", Unknown),
    ]);
}

#[test]
fn party_rows_without_dates_hold_as_of_the_knowledge_base() {
    check(&[
        ("PALERMO_TIP", "PS", "2025-01-01", Bound), // party per USDOL, no date
        ("PALERMO_TIP", "PS", "2020-01-01", Uncertain), // known only as of 2024-11-25
        ("UNTOC", "PS", "2025-01-01", Bound),       // "named as a party" (Wikipedia 2016)
        ("CETS197", "NL", "2024-12-01", Bound),
        ("ILO_P029", "GB", "2025-01-01", Bound),
    ]);
}

#[test]
fn regional_instruments_and_their_entry_into_force() {
    check(&[
        ("ACTIP", "TH", "2016-06-01", NotYetBound), // ACTIP itself in force only 2017-03
        ("ACTIP", "TH", "2017-06-01", Bound),       // deposit between 2016-01-25 and 2017-01-05
        ("ACTIP", "PH", "2017-03-15", Uncertain), // general entry into force "2017-03" (day unknown)
        ("ACTIP", "BN", "2019-06-01", NotYetBound), // ratified 2020-01
        ("CETS197", "AT", "2007-01-01", NotYetBound),
        ("CETS197", "AT", "2008-02-01", Bound), // CETS 197 in force 2008-02-01
        ("CETS197", "BY", "2014-02-28", NotYetBound), // accession 2013-11-26 + 3 months → 2014-03-01
        ("CETS197", "BY", "2014-03-01", Bound),
        ("ILO_P029", "SD", "2022-03-16", NotYetBound), // 12 months after 2021-03-17
        ("ILO_P029", "SD", "2022-03-17", Bound),
    ]);
}

#[test]
fn eu_directive_membership() {
    check(&[
        ("EU_DIR_2011_36", "HR", "2013-06-30", NotYetBound), // joined 2013-07-01
        ("EU_DIR_2011_36", "HR", "2013-07-01", Bound),
        ("EU_DIR_2011_36", "NL", "2010-01-01", NotYetBound), // directive adopted 2011-04-05
        ("EU_DIR_2011_36", "GB", "2015-01-01", Unknown),     // UK left 2020-01-31
        ("EU_DIR_2011_36", "GB", "2021-01-01", NotParty),
        ("EU_DIR_2011_36", "TH", "2021-01-01", NotParty),
        ("EU_DIR_2011_36", "EU", "2021-01-01", NotParty),
        ("PALERMO_TIP", "EU", "2006-09-10", NotYetBound), // approval 2006-09-06 + 30 days
    ]);
}
