//! Country codes: ISO 3166-1 alpha-2 (plus `EU`), names, and the closest
//! code to suggest when a user mistypes one.

use crate::country_table::COUNTRIES;
use crate::error::{Error, Result};

/// Validates and normalises a country code (any case, surrounding spaces
/// allowed). Unknown codes give [`Error::UnknownCountry`] with a suggestion.
pub fn country(code: &str) -> Result<&'static str> {
    let upper = code.trim().to_ascii_uppercase();
    if upper.len() == 2
        && let Ok(idx) = COUNTRIES.binary_search_by(|(c, _, _)| (*c).cmp(upper.as_str()))
    {
        return Ok(COUNTRIES[idx].0);
    }
    Err(Error::UnknownCountry {
        code: code.to_owned(),
        suggestion: suggest(&upper).map(str::to_owned),
    })
}

/// The English short name of a known code.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .binary_search_by(|(c, _, _)| (*c).cmp(code))
        .ok()
        .map(|idx| COUNTRIES[idx].2)
}

/// Every known alpha-2 code (sorted).
pub fn all_codes() -> impl Iterator<Item = &'static str> {
    COUNTRIES.iter().map(|(c, _, _)| *c)
}

/// The known alpha-2 code closest to `text`: the real code for a reserved
/// alias (`UK` → `GB`), its alpha-3 code, its name, a
/// name it starts, then the code with the smallest edit distance (ties go to
/// the code that keeps the first letter).
fn suggest(upper: &str) -> Option<&'static str> {
    if upper.is_empty() {
        return None;
    }
    // Exceptionally reserved codes that people use for the real one.
    if let Some((_, code)) = [("UK", "GB"), ("EL", "GR")]
        .iter()
        .find(|(alias, _)| *alias == upper)
    {
        return Some(code);
    }
    if let Some((code, _, _)) = COUNTRIES.iter().find(|(_, a3, _)| *a3 == upper) {
        return Some(code);
    }
    let by_name = |pred: &dyn Fn(&str) -> bool| {
        COUNTRIES
            .iter()
            .find(|(_, _, name)| pred(&name.to_ascii_uppercase()))
            .map(|(c, _, _)| *c)
    };
    if upper.len() > 2
        && let Some(code) =
            by_name(&|name| name == upper).or_else(|| by_name(&|name| name.starts_with(upper)))
    {
        return Some(code);
    }
    COUNTRIES
        .iter()
        .map(|(code, _, _)| {
            let keeps_first = code.as_bytes().first() == upper.as_bytes().first();
            (edit_distance(code, upper), !keeps_first, *code)
        })
        .min()
        .map(|(_, _, code)| code)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates_and_suggests() {
        let check = |input: &str, expect: Result<&str, Option<&str>>| {
            let got = country(input).map_err(|e| match e {
                Error::UnknownCountry { suggestion, .. } => suggestion,
                other => panic!("unexpected {other}"),
            });
            assert_eq!(got, expect.map_err(|s| s.map(str::to_owned)), "{input}");
        };
        check("th", Ok("TH"));
        check(" NL ", Ok("NL"));
        check("EU", Ok("EU"));
        check("THA", Err(Some("TH")));
        check("NLD", Err(Some("NL")));
        check("Thailand", Err(Some("TH")));
        check("Malay", Err(Some("MY")));
        check("UK", Err(Some("GB")));
        check("XX", Err(Some("XK")));
        check("", Err(None));
    }

    #[test]
    fn table_is_sorted() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(country_name("MY"), Some("Malaysia"));
    }
}
