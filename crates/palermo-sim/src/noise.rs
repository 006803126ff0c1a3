//! Recording noise: typos, partial or swapped dates of birth.

use time::Date;

use crate::rng::Rng;

/// Applies one typo (deletion, transposition, substitution or doubling) to a
/// word, in its own script; words shorter than 3 characters stay unchanged.
pub(crate) fn typo(rng: &mut Rng, word: &str) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    if chars.len() < 3 {
        return word.to_owned();
    }
    // Keep the first letter: it is the one clerks get right most often.
    let at = 1 + rng.index(chars.len() - 1);
    match rng.below(4) {
        0 => {
            chars.remove(at);
        }
        1 if at + 1 < chars.len() => chars.swap(at, at + 1),
        1 | 2 => {
            // Substitute with a neighbouring letter of the same script.
            let c = chars[at];
            let shifted =
                char::from_u32(u32::from(c) ^ 1).filter(|n| n.is_alphabetic() && !n.is_uppercase());
            chars[at] = shifted.unwrap_or(c);
        }
        _ => chars.insert(at, chars[at]),
    }
    chars.into_iter().collect()
}

/// Writes a date of birth as an agency recorded it: in full, with day and
/// month swapped (when that is still a valid date), as year-month, as year
/// only, or not at all.
pub(crate) fn birth_date(rng: &mut Rng, date: Date) -> String {
    let (y, m, d) = (date.year(), u8::from(date.month()), date.day());
    match rng.weighted(&[72, 6, 5, 7, 10]) {
        0 => format!("{y:04}-{m:02}-{d:02}"),
        1 if d <= 12 && d != m => format!("{y:04}-{d:02}-{m:02}"),
        1 => format!("{y:04}-{m:02}-{d:02}"),
        2 => format!("{y:04}-{m:02}"),
        3 => format!("{y:04}"),
        _ => String::new(),
    }
}

/// Formats a date as ISO 8601.
pub(crate) fn iso(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Formats a date as the MRZ's `YYMMDD`.
pub(crate) fn yymmdd(date: Date) -> String {
    format!(
        "{:02}{:02}{:02}",
        date.year().rem_euclid(100),
        u8::from(date.month()),
        date.day()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_change_one_letter_and_keep_the_script() {
        let mut rng = Rng::derive(3, 4, 5);
        for word in ["Saengthong", "Шевченко", "แสงทอง", "الراشد"] {
            for _ in 0..50 {
                let t = typo(&mut rng, word);
                let (a, b) = (word.chars().count() as i64, t.chars().count() as i64);
                assert!((a - b).abs() <= 1, "{word} -> {t}");
                assert_eq!(t.chars().next(), word.chars().next());
            }
        }
        assert_eq!(typo(&mut rng, "Ng"), "Ng");
    }

    #[test]
    fn birth_dates_are_valid_partial_dates() {
        let mut rng = Rng::derive(1, 1, 1);
        let date = Date::from_calendar_date(1990, time::Month::April, 7).unwrap();
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..500 {
            let text = birth_date(&mut rng, date);
            if !text.is_empty() {
                palermo_model::PartialDate::parse(&text).unwrap();
            }
            seen.insert(text);
        }
        for expect in ["1990-04-07", "1990-07-04", "1990-04", "1990", ""] {
            assert!(seen.contains(expect), "{expect}");
        }
        assert_eq!(yymmdd(date), "900407");
    }
}
