//! Markings that travel with every record: TLP 2.0, purpose, retention,
//! originator control and the Europol-style handling code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::Date;

use crate::{Error, Role};

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Traffic Light Protocol 2.0 level, from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tlp {
    /// TLP:CLEAR: may be shared publicly.
    Clear,
    /// TLP:GREEN: the recipient's community.
    Green,
    /// TLP:AMBER: the recipient's organisation and its clients, need-to-know.
    Amber,
    /// TLP:AMBER+STRICT: the recipient's organisation only.
    AmberStrict,
    /// TLP:RED: named recipients only.
    Red,
}

impl Tlp {
    /// All levels, least restrictive first.
    pub const ALL: [Tlp; 5] = [
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ];

    /// The canonical label, e.g. `TLP:AMBER+STRICT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tlp {
    type Err = Error;

    /// Accepts `TLP:AMBER`, `amber`, `TLP:AMBER+STRICT`; `TLP:WHITE` is the
    /// TLP 1.0 name of CLEAR and is accepted too.
    fn from_str(text: &str) -> Result<Tlp, Error> {
        let upper = text.trim().to_ascii_uppercase();
        let level = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match level {
            "CLEAR" | "WHITE" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(Error::InvalidMarking {
                value: text.to_owned(),
                reason: "expected TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED"
                    .to_owned(),
            }),
        }
    }
}

impl Serialize for Tlp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Tlp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Tlp, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// Europol-style handling code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum HandlingCode {
    /// H0: not to be used in judicial proceedings without the originator's permission.
    H0,
    /// H1: not to be disseminated without the originator's permission.
    H1,
    /// H2: restrictions as specified by the originator.
    H2,
    /// H3: other restrictions (free text kept with the record by the originator).
    H3,
}

impl FromStr for HandlingCode {
    type Err = Error;

    fn from_str(text: &str) -> Result<HandlingCode, Error> {
        match text.trim().to_ascii_uppercase().as_str() {
            "H0" => Ok(HandlingCode::H0),
            "H1" => Ok(HandlingCode::H1),
            "H2" => Ok(HandlingCode::H2),
            "H3" => Ok(HandlingCode::H3),
            _ => Err(Error::InvalidMarking {
                value: text.to_owned(),
                reason: "expected a handling code H0, H1, H2 or H3".to_owned(),
            }),
        }
    }
}

/// What a record may be used for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// Only for the named case.
    Case(String),
    /// A purpose described in words (e.g. "border screening").
    Text(String),
}

impl FromStr for Purpose {
    type Err = Error;

    /// `case:ID` names a case; any other non-empty text is a free purpose.
    fn from_str(text: &str) -> Result<Purpose, Error> {
        let text = text.trim();
        let invalid = |reason: &str| Error::InvalidMarking {
            value: text.to_owned(),
            reason: reason.to_owned(),
        };
        match text.split_once(':') {
            Some((prefix, id)) if prefix.eq_ignore_ascii_case("case") => {
                let id = id.trim();
                if id.is_empty() {
                    return Err(invalid("a case purpose needs an id: case:ID"));
                }
                Ok(Purpose::Case(id.to_owned()))
            }
            _ if text.is_empty() => Err(invalid("a purpose cannot be empty")),
            _ => Ok(Purpose::Text(text.to_owned())),
        }
    }
}

/// The node and agency a record originates from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Originator {
    /// The originating agency's name.
    pub agency: String,
    /// The originating node's id.
    pub node: String,
}

/// The handling rules attached to one record.
///
/// Fields are declared in alphabetical order on purpose: serialised through
/// `serde_json::Value` they then come out in the same order whether or not
/// another crate in the build turns on serde_json's `preserve_order`, so
/// FtM output and content hashes are byte-stable.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Markings {
    /// Europol-style handling code, if the originator set one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handling: Option<HandlingCode>,
    /// Whether recipients may share the record onward (originator control).
    pub onward_sharing: bool,
    /// The originating node and agency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub originator: Option<Originator>,
    /// Purpose limitation; `None` means the originator set none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<Purpose>,
    /// Date after which the record must no longer be kept or disclosed.
    #[serde(
        default,
        with = "iso_date::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub retain_until: Option<Date>,
    /// TLP 2.0 level.
    pub tlp: Tlp,
}

impl Markings {
    /// The default markings for a record with `role`: TLP:RED and no onward
    /// sharing for victims, TLP:AMBER and no onward sharing otherwise.
    pub fn default_for(role: Option<Role>) -> Markings {
        let tlp = if role == Some(Role::Victim) {
            Tlp::Red
        } else {
            Tlp::Amber
        };
        Markings {
            tlp,
            purpose: None,
            retain_until: None,
            originator: None,
            onward_sharing: false,
            handling: None,
        }
    }

    /// Parses a `YYYY-MM-DD` retention date.
    pub fn parse_retain_until(text: &str) -> Result<Date, Error> {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        Date::parse(text.trim(), &format).map_err(|err| Error::InvalidMarking {
            value: text.to_owned(),
            reason: format!("retain-until must be a full date YYYY-MM-DD ({err})"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tlp_labels() {
        let check =
            |input: &str, expect: Option<Tlp>| assert_eq!(input.parse::<Tlp>().ok(), expect);
        check("TLP:AMBER", Some(Tlp::Amber));
        check("amber+strict", Some(Tlp::AmberStrict));
        check("tlp:white", Some(Tlp::Clear));
        check("TLP:RED", Some(Tlp::Red));
        check("TLP:PURPLE", None);
        check("", None);
    }

    #[test]
    fn tlp_round_trips_through_its_label() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>().unwrap(), tlp);
        }
        assert!(Tlp::Red > Tlp::AmberStrict && Tlp::AmberStrict > Tlp::Amber);
    }

    #[test]
    fn victims_default_to_red_without_onward_sharing() {
        let victim = Markings::default_for(Some(Role::Victim));
        assert_eq!((victim.tlp, victim.onward_sharing), (Tlp::Red, false));
        let suspect = Markings::default_for(Some(Role::Suspect));
        assert_eq!(suspect.tlp, Tlp::Amber);
    }

    #[test]
    fn parses_purposes() {
        assert_eq!(
            "case:NL-2026-17".parse::<Purpose>().unwrap(),
            Purpose::Case("NL-2026-17".into())
        );
        assert_eq!(
            "screening".parse::<Purpose>().unwrap(),
            Purpose::Text("screening".into())
        );
        assert!("case:".parse::<Purpose>().is_err());
        assert!(" ".parse::<Purpose>().is_err());
    }

    #[test]
    fn markings_serialize_compactly() {
        let mut markings = Markings::default_for(None);
        markings.retain_until = Some(Markings::parse_retain_until("2031-12-31").unwrap());
        let json = serde_json::to_string(&markings).unwrap();
        assert_eq!(
            json,
            r#"{"onward_sharing":false,"retain_until":"2031-12-31","tlp":"TLP:AMBER"}"#
        );
        assert_eq!(serde_json::from_str::<Markings>(&json).unwrap(), markings);
    }
}
