//! ISO 3166-1 alpha-2 country codes: validation, names and suggestions.

use crate::country_table::COUNTRIES;

/// Returns true when `code` (upper case) is a known alpha-2 code.
pub fn is_country(code: &str) -> bool {
    COUNTRIES.binary_search_by(|(c, _)| (*c).cmp(code)).is_ok()
}

/// Returns the English short name of a known alpha-2 code.
pub fn country_name(code: &str) -> Option<&'static str> {
    COUNTRIES
        .binary_search_by(|(c, _)| (*c).cmp(code))
        .ok()
        .map(|idx| COUNTRIES[idx].1)
}

/// Normalises `text` to an upper-case alpha-2 code, accepting any case and
/// surrounding spaces, or an exact English country name. Returns `None` when
/// the text names no known country.
pub fn normalize_country(text: &str) -> Option<&'static str> {
    let trimmed = text.trim();
    if trimmed.len() == 2 {
        let upper = trimmed.to_ascii_uppercase();
        return COUNTRIES
            .binary_search_by(|(c, _)| (*c).cmp(upper.as_str()))
            .ok()
            .map(|idx| COUNTRIES[idx].0);
    }
    COUNTRIES
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(trimmed))
        .map(|(code, _)| *code)
}

/// Suggests the known code closest to `text`: a country whose name starts
/// with it, or the code with the fewest differing letters.
pub fn suggest_country(text: &str) -> Option<&'static str> {
    let upper = text.trim().to_ascii_uppercase();
    if upper.is_empty() {
        return None;
    }
    if let Some((code, _)) = COUNTRIES
        .iter()
        .find(|(_, name)| name.to_ascii_uppercase().starts_with(&upper))
    {
        return Some(code);
    }
    COUNTRIES
        .iter()
        .map(|(code, _)| {
            let distance = code
                .bytes()
                .zip(upper.bytes())
                .filter(|(a, b)| a != b)
                .count()
                + code.len().abs_diff(upper.len());
            (distance, *code)
        })
        .min()
        .map(|(_, code)| code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_codes_and_names() {
        let check =
            |input: &str, expect: Option<&str>| assert_eq!(normalize_country(input), expect);
        check("th", Some("TH"));
        check(" NL ", Some("NL"));
        check("Thailand", Some("TH"));
        check("EU", Some("EU"));
        check("QQ", None);
        check("", None);
    }

    #[test]
    fn suggests_close_codes() {
        assert_eq!(suggest_country("Thai"), Some("TH"));
        assert_eq!(suggest_country("NLD").map(|c| c.len()), Some(2));
        assert_eq!(suggest_country(""), None);
    }

    #[test]
    fn table_is_sorted_for_binary_search() {
        assert!(COUNTRIES.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(country_name("MY"), Some("Malaysia"));
    }
}
