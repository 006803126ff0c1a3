//! Translation between TLP 2.0 levels and Europol handling codes.
//!
//! Used when a record crosses into a system that speaks the other scheme,
//! and to compute a record's effective TLP when it carries both.
//!
//! | TLP 2.0          | → H-code | H-code | → TLP 2.0  |
//! |------------------|----------|--------|------------|
//! | TLP:CLEAR        | none     | H0     | TLP:AMBER  |
//! | TLP:GREEN        | H3       | H1     | TLP:RED    |
//! | TLP:AMBER        | H2       | H2     | TLP:AMBER  |
//! | TLP:AMBER+STRICT | H1       | H3     | TLP:AMBER  |
//! | TLP:RED          | H1       |        |            |
//!
//! The table never loosens a marking: translating a TLP level to an H-code
//! and back gives the same level or a stricter one. H0 (no use in judicial
//! proceedings without permission) has no TLP equivalent; it maps to AMBER so
//! that the record stays with the recipient's organisation and clients, and
//! the H0 code itself stays on the record.

use palermo_model::{HandlingCode, Markings, Tlp};

/// The handling code to send with a record of TLP level `tlp` to a system
/// that speaks Europol H-codes; `None` for TLP:CLEAR (no restriction).
pub fn tlp_to_handling(tlp: Tlp) -> Option<HandlingCode> {
    match tlp {
        Tlp::Clear => None,
        Tlp::Green => Some(HandlingCode::H3),
        Tlp::Amber => Some(HandlingCode::H2),
        Tlp::AmberStrict | Tlp::Red => Some(HandlingCode::H1),
    }
}

/// The TLP level to apply to a record that arrives with handling code `code`.
pub fn handling_to_tlp(code: HandlingCode) -> Tlp {
    match code {
        HandlingCode::H1 => Tlp::Red,
        HandlingCode::H0 | HandlingCode::H2 | HandlingCode::H3 => Tlp::Amber,
    }
}

/// The TLP level policies see: the stricter of the record's TLP and the
/// translation of its handling code.
pub fn effective_tlp(markings: &Markings) -> Tlp {
    match markings.handling {
        Some(code) => markings.tlp.max(handling_to_tlp(code)),
        None => markings.tlp,
    }
}

/// The TLP name without the `TLP:` prefix, as policies compare it.
pub(crate) fn tlp_name(tlp: Tlp) -> &'static str {
    match tlp {
        Tlp::Clear => "CLEAR",
        Tlp::Green => "GREEN",
        Tlp::Amber => "AMBER",
        Tlp::AmberStrict => "AMBER+STRICT",
        Tlp::Red => "RED",
    }
}

/// The rank policies see: 0 for CLEAR up to 4 for RED.
pub(crate) fn tlp_rank(tlp: Tlp) -> i64 {
    match tlp {
        Tlp::Clear => 0,
        Tlp::Green => 1,
        Tlp::Amber => 2,
        Tlp::AmberStrict => 3,
        Tlp::Red => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn translation_table() {
        let check =
            |tlp: Tlp, expect: Option<HandlingCode>| assert_eq!(tlp_to_handling(tlp), expect);
        check(Tlp::Clear, None);
        check(Tlp::Green, Some(HandlingCode::H3));
        check(Tlp::Amber, Some(HandlingCode::H2));
        check(Tlp::AmberStrict, Some(HandlingCode::H1));
        check(Tlp::Red, Some(HandlingCode::H1));
    }

    #[test]
    fn round_trip_never_loosens() {
        for tlp in Tlp::ALL {
            let back = tlp_to_handling(tlp).map_or(tlp, handling_to_tlp);
            assert!(back >= tlp, "{tlp} came back as {back}");
        }
    }

    #[test]
    fn effective_tlp_is_the_stricter() {
        let mut markings = Markings::default_for(None);
        markings.tlp = Tlp::Green;
        markings.handling = Some(HandlingCode::H1);
        assert_eq!(effective_tlp(&markings), Tlp::Red);
        markings.tlp = Tlp::Red;
        markings.handling = Some(HandlingCode::H2);
        assert_eq!(effective_tlp(&markings), Tlp::Red);
        markings.handling = None;
        markings.tlp = Tlp::Clear;
        assert_eq!(effective_tlp(&markings), Tlp::Clear);
    }
}
