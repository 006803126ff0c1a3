//! Property tests: the legal basis is symmetric in the two states.

use std::sync::LazyLock;

use palermo_law::{Cooperation, Date, KnowledgeBase};
use proptest::prelude::*;

// States with rows, without rows, signature-only, reported, the EU and members.
const STATES: &[&str] = &[
    "NL", "TH", "MY", "DE", "GB", "US", "PH", "KR", "JP", "FJ", "IR", "CG", "KP", "SO", "ER", "PS",
    "EU", "CZ", "HR", "BY", "SD", "BN", "VN", "AT", "PG", "UG", "XK", "AQ",
];

static KB: LazyLock<KnowledgeBase> = LazyLock::new(crate::kb);

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn basis_is_symmetric(a in 0..STATES.len(), b in 0..STATES.len(), kind in 0..5usize, days in 11_000i64..20_300) {
        let kb = &*KB;
        let kind = Cooperation::ALL[kind];
        let on = Date::from_unix_days(days);
        let mut ab = palermo_law::basis(kb, STATES[a], STATES[b], kind, on).unwrap();
        let ba = palermo_law::basis(kb, STATES[b], STATES[a], kind, on).unwrap();
        ab.a.clone_from(&ba.a);
        ab.b.clone_from(&ba.b);
        prop_assert_eq!(ab, ba);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Operator input never panics the parser: any text is either a valid
    /// update or an error naming file, line and field.
    #[test]
    fn imports_and_conducts_never_panic(body in "[A-Za-z0-9_,;\"\\n -]{0,200}", header in 0..5usize) {
        let headers = [
            "instrument_id,country_iso2,country_name,signature_date,consent_date,consent_type,source,notes\n",
            "instrument_id,country_iso2,country_name,status_as_of,source\n",
            "agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes\n",
            "id,short_name,full_name,adopted_date,entry_into_force,depositary,source\n",
            "",
        ];
        let text = format!("{}{body}", headers[header]);
        let today = Date::parse("2025-01-01").unwrap();
        let _ = KB.check_import("p.csv", &text, today);
        let _ = palermo_law::Conduct::from_json(&text);
    }
}
