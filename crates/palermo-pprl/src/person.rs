//! The fields of a person that are encoded, normalised the same way on every node.
//!
//! Names go through `palermo-resolve`'s normaliser (NFKC, transliteration to ASCII,
//! honorifics and particles dropped), so a name written in Cyrillic on one side and in
//! Latin letters on the other produces the same q-grams. Dates accept ISO 8601 (full or
//! partial), `YYYYMMDD` and `DD/MM/YYYY`; the day/month order of a slashed date is not
//! trusted, which the encoding tolerates (see [`crate::encode`]).

use palermo_resolve::Property;
use palermo_resolve::normalize;

/// A date of birth, possibly partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BirthDate {
    /// The year.
    pub year: u16,
    /// The month (1–12), or the first of two slashed numbers when unknown.
    pub month: Option<u8>,
    /// The day (1–31).
    pub day: Option<u8>,
}

/// The normalised fields of one person, ready to encode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Person {
    /// Core name tokens of all name parts (lower-case ASCII), in written order.
    pub name_tokens: Vec<String>,
    /// Date of birth.
    pub birth: Option<BirthDate>,
    /// `m`, `f` or another folded value.
    pub sex: Option<String>,
    /// Nationality, folded (an ISO code or a country name).
    pub nationality: Option<String>,
    /// Passport and national id numbers: upper-case letters and digits only.
    pub identifiers: Vec<String>,
    /// Phone numbers (their last 8 digits, which survive national and international
    /// writing) and e-mail addresses (lower case); only field-level encodings use them.
    pub contacts: Vec<String>,
}

impl Person {
    /// Builds a person from raw `(property, value)` pairs; empty values are ignored,
    /// name parts accumulate, the first parseable birth date wins, and properties that are
    /// not encoded (addresses, cities) are ignored.
    pub fn from_values<S: AsRef<str>>(values: &[(Property, S)]) -> Person {
        let mut p = Person::default();
        for (prop, value) in values {
            let v = value.as_ref().trim();
            if v.is_empty() {
                continue;
            }
            match prop {
                Property::FirstName
                | Property::MiddleName
                | Property::LastName
                | Property::FatherName
                | Property::Name => {
                    let (core, _) = normalize::name_tokens(v);
                    p.name_tokens.extend(core);
                }
                Property::BirthDate => p.birth = p.birth.or_else(|| parse_date(v)),
                Property::IdNumber | Property::PassportNumber => {
                    let id = normalize::identifier(v);
                    if !id.is_empty() && !p.identifiers.contains(&id) {
                        p.identifiers.push(id);
                    }
                }
                Property::Phone => {
                    let digits: String = v.chars().filter(char::is_ascii_digit).collect();
                    if digits.len() >= 7 {
                        let tail = format!("p{}", &digits[digits.len().saturating_sub(8)..]);
                        if !p.contacts.contains(&tail) {
                            p.contacts.push(tail);
                        }
                    }
                }
                Property::Email => {
                    let email = format!("e{}", v.to_lowercase());
                    if email.contains('@') && !p.contacts.contains(&email) {
                        p.contacts.push(email);
                    }
                }
                Property::Gender => p.sex = Some(sex(v)),
                Property::Nationality => p.nationality = Some(normalize::fold(v)),
                _ => {}
            }
        }
        p
    }
}

/// Parses `YYYY`, `YYYY-MM`, `YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY` (also `.` or `-`
/// separated with the year last). Returns `None` for anything else or impossible values.
pub fn parse_date(text: &str) -> Option<BirthDate> {
    let t = text.trim();
    let parts: Vec<&str> = t
        .split(['-', '/', '.', ' '])
        .filter(|s| !s.is_empty())
        .collect();
    let num = |s: &str| -> Option<u32> {
        if s.bytes().all(|b| b.is_ascii_digit()) && !s.is_empty() {
            s.parse().ok()
        } else {
            None
        }
    };
    let (year, month, day) = match parts.as_slice() {
        [one] if one.len() == 8 => {
            let n = num(one)?;
            (n / 10_000, Some(n / 100 % 100), Some(n % 100))
        }
        [one] if one.len() == 4 => (num(one)?, None, None),
        [y, m] if y.len() == 4 => (num(y)?, Some(num(m)?), None),
        [y, m, d] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        [d, m, y] if y.len() == 4 => (num(y)?, Some(num(m)?), Some(num(d)?)),
        _ => return None,
    };
    let year = u16::try_from(year)
        .ok()
        .filter(|y| (1000..=2999).contains(y))?;
    let small = |v: Option<u32>, max: u32| -> Option<Option<u8>> {
        match v {
            None => Some(None),
            Some(0) => Some(None),
            Some(v) if v <= max => u8::try_from(v).ok().map(Some),
            Some(_) => None,
        }
    };
    // A slashed date may be month-first: accept a "month" up to 31 when the day is ≤ 12.
    let (month, day) = match (month, day) {
        (Some(m), Some(d)) if m > 12 && d <= 12 => (Some(d), Some(m)),
        other => other,
    };
    Some(BirthDate {
        year,
        month: small(month, 12)?,
        day: small(day, 31)?,
    })
}

fn sex(v: &str) -> String {
    match normalize::fold(v).as_str() {
        "m" | "male" | "man" | "h" | "homme" | "masculin" => "m".to_owned(),
        "f" | "female" | "woman" | "w" | "femme" | "feminin" => "f".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_date(input: &str, expect: Option<(u16, Option<u8>, Option<u8>)>) {
        let got = parse_date(input).map(|d| (d.year, d.month, d.day));
        assert_eq!(got, expect, "{input:?}");
    }

    #[test]
    fn parses_dates() {
        check_date("1990-04-21", Some((1990, Some(4), Some(21))));
        check_date("19900421", Some((1990, Some(4), Some(21))));
        check_date("21/04/1990", Some((1990, Some(4), Some(21))));
        check_date("04/21/1990", Some((1990, Some(4), Some(21))));
        check_date("1990", Some((1990, None, None)));
        check_date("1990-04", Some((1990, Some(4), None)));
        check_date("1990-13-40", None);
        check_date("abc", None);
        check_date("", None);
        check_date("0000", None);
    }

    fn check_person(values: &[(Property, &str)], expect: &Person) {
        assert_eq!(&Person::from_values(values), expect, "{values:?}");
    }

    #[test]
    fn builds_people() {
        check_person(
            &[
                (Property::FirstName, "Мария"),
                (Property::LastName, "Al-Rashid"),
                (Property::BirthDate, "1975-11-30"),
                (Property::PassportNumber, "p 123-456"),
                (Property::Gender, "Female"),
                (Property::Nationality, "UA"),
                (Property::City, "Kyiv"),
                (Property::Phone, "+380 (44) 123-45-67"),
                (Property::Email, " M.K@Example.org"),
                (Property::Phone, "044 123 45 67"),
            ],
            &Person {
                name_tokens: vec!["mariya".to_owned(), "rashid".to_owned()],
                birth: Some(BirthDate {
                    year: 1975,
                    month: Some(11),
                    day: Some(30),
                }),
                sex: Some("f".to_owned()),
                nationality: Some("ua".to_owned()),
                identifiers: vec!["P123456".to_owned()],
                contacts: vec!["p41234567".to_owned(), "em.k@example.org".to_owned()],
            },
        );
        check_person(
            &[(Property::Name, "  "), (Property::BirthDate, "x")],
            &Person::default(),
        );
    }
}
