//! Registry views: parties of an instrument and the coverage matrix.

use palermo_law::{Error, MemberStatus, Tri};

use crate::{d, kb};

#[test]
fn parties_lists_every_recorded_state() {
    let r = palermo_law::parties(&kb(), "untoc", d("2025-01-01")).unwrap();
    // 191 party rows plus 5 states recorded only as (STALE) non-parties.
    assert_eq!(r.states.len(), 196);
    let count = |s: MemberStatus| {
        r.counts
            .iter()
            .find(|(x, _)| *x == s)
            .map_or(0, |(_, n)| *n)
    };
    assert_eq!(count(MemberStatus::SignatureOnly), 3); // CG, IR, SL
    assert_eq!(count(MemberStatus::Unconfirmed), 2); // KP, SO
    assert!(r.note.contains("unknown"));
    assert!(r.source_urls[0].starts_with("http://treaties.un.org"));
}

#[test]
fn parties_of_an_unknown_instrument_is_an_error() {
    let err = palermo_law::parties(&kb(), "PALERMO", d("2025-01-01")).unwrap_err();
    assert!(matches!(err, Error::UnknownInstrument { .. }));
    assert!(err.to_string().contains("known: PALERMO_TIP, UNTOC"));
}

#[test]
fn matrix_covers_each_pair_once() {
    let m = palermo_law::matrix(
        &kb(),
        &["TH".into(), "NL".into(), "MY".into(), "th".into()],
        d("2024-06-01"),
    )
    .unwrap();
    let pairs: Vec<(&str, &str)> = m
        .rows
        .iter()
        .map(|r| (r.a.as_str(), r.b.as_str()))
        .collect();
    assert_eq!(pairs, [("MY", "NL"), ("MY", "TH"), ("NL", "TH")]);
    let my_th = &m.rows[1];
    let cell = |id: &str| {
        my_th
            .cells
            .iter()
            .find(|c| c.instrument_id == id)
            .unwrap()
            .binds_both
    };
    assert_eq!(cell("UNTOC"), Tri::Yes);
    assert_eq!(cell("PALERMO_TIP"), Tri::Yes);
    assert_eq!(cell("ACTIP"), Tri::Unknown); // MY's ACTIP status unknown
    assert_eq!(cell("EU_DIR_2011_36"), Tri::No);
    let csv = m.to_csv();
    assert!(csv.starts_with("state_a,state_b,PALERMO_TIP,UNTOC,CETS197,ILO_P029,ACTIP,EU_DIR_2011_36,bilateral_in_force\n"));
    assert!(
        csv.contains("\nMY,TH,yes,yes,unknown,unknown,unknown,no,\n"),
        "{csv}"
    );
}
