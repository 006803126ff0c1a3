//! Identifiers with real check digits: ICAO 9303 TD3 passport MRZs, IBANs
//! (ISO 13616 mod-97), and phone numbers in E.164 and local formats.
//!
//! The check-digit code is written here (about 60 lines) rather than taken
//! from the `mrz` crate: generation needs only the 7-3-1 weighting, and the
//! tests cross-check every MRZ against `mrz` as an independent parser.

use crate::country::{AccountFormat, Profile};
use crate::rng::Rng;

/// The ICAO 9303 check digit of `field` (weights 7, 3, 1; `<` counts 0).
pub fn mrz_check_digit(field: &str) -> u8 {
    let sum: u32 = field
        .bytes()
        .zip([7u32, 3, 1].into_iter().cycle())
        .map(|(b, w)| {
            let v = match b {
                b'0'..=b'9' => u32::from(b - b'0'),
                b'A'..=b'Z' => u32::from(b - b'A') + 10,
                _ => 0,
            };
            v * w
        })
        .sum();
    (sum % 10) as u8
}

/// The data printed in a TD3 (passport) MRZ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MrzData {
    pub(crate) issuer: &'static str,
    pub(crate) surname: String,
    pub(crate) given: String,
    pub(crate) number: String,
    pub(crate) nationality: &'static str,
    /// `YYMMDD`.
    pub(crate) birth: String,
    /// `M`, `F` or `<`.
    pub(crate) sex: char,
    /// `YYMMDD`.
    pub(crate) expiry: String,
}

/// Returns the two 44-character TD3 lines with correct check digits.
pub(crate) fn td3(data: &MrzData) -> [String; 2] {
    let name = format!("{}<<{}", mrz_field(&data.surname), mrz_field(&data.given));
    let line1 = pad(&format!("P<{}{}", data.issuer, name), 44);
    let number = pad(&data.number, 9);
    let personal = pad("", 14);
    let d_number = mrz_check_digit(&number);
    let d_birth = mrz_check_digit(&data.birth);
    let d_expiry = mrz_check_digit(&data.expiry);
    let d_personal = mrz_check_digit(&personal);
    let composite = format!(
        "{number}{d_number}{}{d_birth}{}{d_expiry}{personal}{d_personal}",
        data.birth, data.expiry
    );
    let d_composite = mrz_check_digit(&composite);
    let line2 = format!(
        "{number}{d_number}{}{}{d_birth}{}{}{d_expiry}{personal}{d_personal}{d_composite}",
        data.nationality, data.birth, data.sex, data.expiry
    );
    [line1, line2]
}

/// Checks every check digit of a TD3 second line.
pub fn td3_line2_valid(line2: &str) -> bool {
    let b = line2.as_bytes();
    if b.len() != 44 || !line2.is_ascii() {
        return false;
    }
    let digit = |i: usize| b[i].checked_sub(b'0').filter(|d| *d <= 9);
    let ok = |range: std::ops::Range<usize>, at: usize| {
        digit(at) == Some(mrz_check_digit(&line2[range]))
    };
    let composite = format!("{}{}{}", &line2[0..10], &line2[13..20], &line2[21..43]);
    ok(0..9, 9)
        && ok(13..19, 19)
        && ok(21..27, 27)
        && ok(28..42, 42)
        && digit(43) == Some(mrz_check_digit(&composite))
}

/// Upper-cases and reduces a name to the MRZ alphabet (`A-Z`, `<` for spaces and hyphens).
fn mrz_field(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            'a'..='z' | 'A'..='Z' => Some(c.to_ascii_uppercase()),
            'ä' | 'Ä' => Some('A'),
            'ö' | 'Ö' => Some('O'),
            'ü' | 'Ü' => Some('U'),
            'ï' | 'Ï' => Some('I'),
            'ë' | 'Ë' => Some('E'),
            ' ' | '-' | '\'' => Some('<'),
            _ => None,
        })
        .collect()
}

fn pad(text: &str, len: usize) -> String {
    let mut out: String = text.chars().take(len).collect();
    while out.len() < len {
        out.push('<');
    }
    out
}

/// A passport number: two letters and seven digits.
pub(crate) fn passport_number(rng: &mut Rng) -> String {
    let letter = |rng: &mut Rng| char::from(b'A' + rng.below(26) as u8);
    format!("{}{}{}", letter(rng), letter(rng), rng.digits(7))
}

/// The ISO 13616 check digits for `country` and `bban`.
pub fn iban_check_digits(country: &str, bban: &str) -> u8 {
    let rearranged = format!("{bban}{country}00");
    98 - mod97(&rearranged) as u8
}

/// Whether `iban` (no spaces) has valid mod-97 check digits.
pub fn iban_valid(iban: &str) -> bool {
    iban.len() > 4 && iban.is_ascii() && mod97(&format!("{}{}", &iban[4..], &iban[..4])) == 1
}

fn mod97(text: &str) -> u32 {
    text.chars().fold(0u32, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        if v >= 10 {
            (acc * 100 + v) % 97
        } else {
            (acc * 10 + v) % 97
        }
    })
}

/// A bank account of `profile`'s country: the IBAN (when the country uses
/// IBAN) or the domestic account number, and the bank name.
pub(crate) fn account(rng: &mut Rng, profile: &Profile) -> (String, &'static str) {
    let (bank, code) = *rng.pick(profile.banks);
    match profile.account {
        AccountFormat::Iban { digits, .. } => {
            let bban = format!("{code}{}", rng.digits(digits));
            let check = iban_check_digits(profile.code, &bban);
            (format!("{}{check:02}{bban}", profile.code), bank)
        }
        AccountFormat::Domestic { groups } => {
            let parts: Vec<String> = groups.iter().map(|n| rng.digits(*n)).collect();
            (parts.join("-"), bank)
        }
    }
}

/// A mobile number of `profile`'s country in E.164 (`+66812345678`).
pub(crate) fn mobile(rng: &mut Rng, profile: &Profile) -> String {
    format!(
        "+{}{}{}",
        profile.calling_code,
        rng.pick(profile.mobile_prefixes),
        rng.digits(profile.mobile_digits)
    )
}

/// Writes an E.164 number the way people and agencies do: as is, spaced
/// internationally, or in the local format with the trunk prefix.
pub(crate) fn write_phone(e164: &str, profile: &Profile, style: u64) -> String {
    let national = e164
        .strip_prefix('+')
        .and_then(|n| n.strip_prefix(profile.calling_code))
        .unwrap_or(e164);
    let (head, tail) = national.split_at(national.len().min(2));
    let (mid, last) = tail.split_at(tail.len().min(3));
    match style % 4 {
        0 => e164.to_owned(),
        1 => format!("+{} {head} {mid} {last}", profile.calling_code),
        2 => format!("{}{head}-{mid}-{last}", profile.trunk),
        _ => format!("{}{national}", profile.trunk),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::country::profile;

    #[test]
    fn mrz_check_digits_match_icao_examples() {
        // ICAO 9303 part 4 specimen (Anna Maria Eriksson, Utopia).
        assert_eq!(mrz_check_digit("L898902C3"), 6);
        assert_eq!(mrz_check_digit("740812"), 2);
        assert_eq!(mrz_check_digit("120415"), 9);
        assert!(td3_line2_valid(
            "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
        ));
        assert!(!td3_line2_valid(
            "L898902C37UTO7408122F1204159ZE184226B<<<<<10"
        ));
    }

    #[test]
    fn generated_td3_lines_are_valid() {
        let data = MrzData {
            issuer: "THA",
            surname: "Saengthong".into(),
            given: "Somchai".into(),
            number: "AB1234567".into(),
            nationality: "THA",
            birth: "850412".into(),
            sex: 'M',
            expiry: "300101".into(),
        };
        let [l1, l2] = td3(&data);
        assert_eq!(l1, "P<THASAENGTHONG<<SOMCHAI<<<<<<<<<<<<<<<<<<<<");
        assert_eq!(l2.len(), 44);
        assert!(td3_line2_valid(&l2), "{l2}");
    }

    #[test]
    fn ibans_have_valid_check_digits() {
        assert!(iban_valid("NL91ABNA0417164300"));
        assert!(iban_valid("DE89370400440532013000"));
        assert!(!iban_valid("NL92ABNA0417164300"));
        assert_eq!(iban_check_digits("NL", "ABNA0417164300"), 91);
        let mut rng = Rng::derive(1, 2, 3);
        for code in ["NL", "DE", "UA", "AE"] {
            for _ in 0..50 {
                let (iban, _) = account(&mut rng, profile(code).unwrap());
                assert!(iban_valid(&iban), "{iban}");
            }
        }
    }

    #[test]
    fn phones_are_written_in_several_formats() {
        let th = profile("TH").unwrap();
        let check =
            |style, expect: &str| assert_eq!(write_phone("+66812345678", th, style), expect);
        check(0, "+66812345678");
        check(1, "+66 81 234 5678");
        check(2, "081-234-5678");
        check(3, "0812345678");
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn any_td3_we_write_has_valid_check_digits(
            surname in "[A-Z][a-z]{1,20}( [A-Z][a-z]{1,10})?",
            given in "[A-Z][a-z]{1,15}",
            number in "[A-Z]{2}[0-9]{7}",
            birth in "[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])",
            expiry in "[0-9]{2}(0[1-9]|1[0-2])(0[1-9]|[12][0-9])",
            female in any::<bool>(),
        ) {
            let data = MrzData { issuer: "NLD", surname, given, number, nationality: "NLD", birth, sex: if female { 'F' } else { 'M' }, expiry };
            let [l1, l2] = td3(&data);
            prop_assert_eq!((l1.len(), l2.len()), (44, 44));
            prop_assert!(td3_line2_valid(&l2));
            prop_assert!(mrz::parse_td3(&l1, &l2).is_ok_and(|d| d.valid()), "{}\n{}", l1, l2);
        }

        #[test]
        fn ibans_catch_every_single_digit_error(
            bank in "[A-Z]{4}",
            digits in "[0-9]{10}",
            at in 0usize..10,
            delta in 1u8..10,
        ) {
            let bban = format!("{bank}{digits}");
            let iban = format!("NL{:02}{bban}", iban_check_digits("NL", &bban));
            prop_assert!(iban_valid(&iban));
            let mut wrong = iban.into_bytes();
            let i = 8 + at;
            wrong[i] = b'0' + (wrong[i] - b'0' + delta) % 10;
            prop_assert!(!iban_valid(&String::from_utf8(wrong).unwrap()));
        }
    }
}
