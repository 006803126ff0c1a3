//! A fast reader for the phone numbers most files hold, exactly equivalent to
//! [`normalize::phone_e164`](crate::normalize::phone_e164).
//!
//! Reading a number with the `phonenumber` crate runs its parser, several metadata regular
//! expressions behind one shared cache lock, the formatter (which matches the number against
//! the region's formats even for E.164) and the same again for the check that the result
//! reads back as itself: at a million records that was a tenth of a run. Most numbers are
//! written in one of a few plain forms, and for those the crate's answer follows from a few
//! metadata facts that can be read once per region ([`Plan`]):
//! - international: `+` (or `00`) and ASCII digits in groups split by single spaces
//!   (`+66812345678`, `+66 81 234 5678`), whose calling code belongs to exactly one region;
//! - national, read in a region: ASCII digits in groups split by single spaces or by single
//!   hyphens (`081-234-5678`, `0812345678`).
//!
//! [`read`] answers only when it can prove what the crate would answer, and `None` otherwise
//! (the caller then asks the crate): every step below names the crate's step it stands for.
//! The tests compare both on generated numbers of every region the metadata knows.

use std::collections::HashMap;
use std::sync::OnceLock;

use phonenumber::metadata::{DATABASE, Metadata};

/// The longest national significant number read here: 15 digits fit the crate's 56-bit
/// national number (its limit is about 7.2e16), and E.164 allows no more.
const MAX_NATIONAL: usize = 15;

/// Reads `text` (trimmed, a `00` prefix already spelled `+`) as E.164 when the number has
/// one of the plain forms of the module documentation; `region` is the upper- or lower-case
/// ISO 3166-1 alpha-2 code national numbers are read in. Returns the E.164 text, or `None`
/// when the number must be read by the `phonenumber` crate (which may still read it).
pub(crate) fn read(text: &str, region: Option<&str>) -> Option<String> {
    let table = table();
    if let Some(rest) = text.strip_prefix('+') {
        return international(table, rest);
    }
    let region = region?.as_bytes();
    let &[a, b] = region else { return None };
    let code = table
        .by_region
        .get(&[a.to_ascii_uppercase(), b.to_ascii_uppercase()])?;
    national(table, table.by_code.get(code)?, text)
}

/// What one region's metadata says about the plain forms (see [`read`]).
#[derive(Debug)]
struct Plan {
    /// The calling code (`66`), as digits.
    code: String,
    /// The national (trunk) prefix (`0`), when the region has one.
    trunk: Option<String>,
    /// The literal digits every match of the international (IDD) prefix starts with, when
    /// the region has one (`00`); `None` when it has none.
    idd_start: Option<String>,
    /// The general description's possible lengths, in the metadata's order.
    possible: Vec<u16>,
    /// The general description's local-only lengths.
    local: Vec<u16>,
}

impl Plan {
    /// The crate's `validator::length(meta, number, Type::Unknown) != TooShort` for a
    /// national number of `len` digits.
    fn not_too_short(&self, len: usize) -> bool {
        let Ok(len) = u16::try_from(len) else {
            return true;
        };
        match self.possible.first() {
            None => true,
            Some(&minimum) => self.local.contains(&len) || len >= minimum,
        }
    }
}

struct Table {
    /// Every calling code the metadata knows (the crate takes the shortest one a number
    /// starts with).
    codes: Vec<bool>,
    /// The plans of the calling codes of exactly one region whose plain forms are read here.
    by_code: HashMap<u16, Plan>,
    /// The same plans, by region code (upper case).
    by_region: HashMap<[u8; 2], u16>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(build)
}

fn build() -> Table {
    let mut codes = vec![false; 1000];
    let mut regions: HashMap<u16, Vec<&Metadata>> = HashMap::new();
    for meta in DATABASE.iter() {
        if let Some(known) = codes.get_mut(usize::from(meta.country_code())) {
            *known = true;
        }
        regions.entry(meta.country_code()).or_default().push(meta);
    }
    let mut by_code = HashMap::new();
    let mut by_region = HashMap::new();
    for (code, metas) in regions {
        // A code of several regions (`+1`, `+7`, `+44`) picks its region by pattern.
        let [meta] = metas.as_slice() else { continue };
        let Some(plan) = plan(meta) else { continue };
        if let &[a, b] = meta.id().as_bytes() {
            // National numbers are read only in regions the caller can name.
            if meta.id().parse::<phonenumber::country::Id>().is_ok() {
                by_region.insert([a, b], code);
            }
        }
        by_code.insert(code, plan);
    }
    Table {
        codes,
        by_code,
        by_region,
    }
}

/// The plan of a region, or `None` when its metadata asks for more than the plain forms
/// can prove: a transform rule, a trunk prefix that is not plain digits, a pattern for
/// the national prefix other than the prefix itself, an IDD pattern that does not start
/// with plain digits, or the non-geographic entity `001`.
fn plan(meta: &Metadata) -> Option<Plan> {
    if meta.id() == "001" || meta.national_prefix_transform_rule().is_some() {
        return None;
    }
    let trunk = meta.national_prefix().map(str::to_owned);
    if trunk
        .as_deref()
        .is_some_and(|t| t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    match (meta.national_prefix_for_parsing(), &trunk) {
        (None, _) => {}
        (Some(re), Some(t)) if squeeze(re.as_str()) == *t => {}
        _ => return None,
    }
    let idd_start = match meta.international_prefix() {
        None => None,
        Some(re) => Some(literal_start(&squeeze(re.as_str()))?),
    };
    let general = meta.descriptors().general();
    Some(Plan {
        code: meta.country_code().to_string(),
        trunk,
        idd_start,
        possible: general.possible_length().to_vec(),
        local: general.possible_local_length().to_vec(),
    })
}

/// A pattern without the whitespace its `ignore_whitespace` compilation ignores.
fn squeeze(pattern: &str) -> String {
    pattern.chars().filter(|c| !c.is_whitespace()).collect()
}

/// The literal digits every match of `pattern` starts with: its leading digits, when the
/// pattern has no alternation outside a group, the last of them carries no quantifier, and
/// nothing would change their meaning (escapes, comments). `None` otherwise.
fn literal_start(pattern: &str) -> Option<String> {
    if pattern.contains(['\\', '#']) {
        return None;
    }
    let mut depth = 0i32;
    for c in pattern.chars() {
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth -= 1,
            '|' if depth == 0 => return None,
            _ => {}
        }
    }
    let n = pattern.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 || matches!(pattern.as_bytes().get(n), Some(b'?' | b'*' | b'{' | b'+')) {
        return None;
    }
    Some(pattern[..n].to_owned())
}

/// `+` and digit groups split by single spaces: the crate's natural-language parser (the
/// RFC 3966 one gives up on spaces, and on a `+` number without separators), its plus
/// handling, and the calling code as the shortest known prefix.
fn international(table: &Table, rest: &str) -> Option<String> {
    let digits = plain_digits(rest, b' ')?;
    // The crate rejects a code starting with 0, and numbers of two digits or fewer.
    if digits.len() <= 2 || digits.starts_with('0') {
        return None;
    }
    let code_len = (1..=3).find(|&n| {
        digits[..n]
            .parse::<usize>()
            .is_ok_and(|c| table.codes.get(c).copied().unwrap_or(false))
    })?;
    let code: u16 = digits[..code_len].parse().ok()?;
    let plan = table.by_code.get(&code)?;
    let national = &digits[code_len..];
    // Nothing for the national prefix to strip: then the number is the digits as written.
    if !kept_as_is(plan, national) {
        return None;
    }
    let e164 = format!("+{digits}");
    // The caller's length floor; read back, the digits are the same and so is the answer.
    (e164.len() >= 8).then_some(e164)
}

/// Digit groups split by single spaces or single hyphens (not both), read in `plan`'s
/// region: the crate's IDD check, its calling-code check for national numbers, and its
/// stripping of the national prefix (once by pattern, once more by prefix).
fn national(table: &Table, plan: &Plan, text: &str) -> Option<String> {
    let digits = if text.contains(' ') {
        plain_digits(text, b' ')?
    } else {
        plain_digits(text, b'-')?
    };
    // An IDD at the start would make this an international number.
    if plan
        .idd_start
        .as_deref()
        .is_some_and(|idd| digits.starts_with(idd))
    {
        return None;
    }
    // A national number that starts with the calling code may have the code stripped.
    if digits.starts_with(plan.code.as_str()) {
        return None;
    }
    let national = match plan.trunk.as_deref() {
        Some(trunk) if digits.starts_with(trunk) => {
            let stripped = &digits[trunk.len()..];
            // Too short once stripped, the crate keeps the prefix.
            if !plan.not_too_short(stripped.len()) {
                return None;
            }
            stripped
        }
        _ => digits.as_str(),
    };
    // The crate strips the prefix a second time when it is there again.
    if !kept_as_is(plan, national) {
        return None;
    }
    let e164 = format!("+{}{national}", plan.code);
    if e164.len() < 8 {
        return None;
    }
    // Read back (international, no region), the code must be found again as itself.
    let back = &e164[1..];
    let code_len = (1..=3).find(|&n| {
        back[..n]
            .parse::<usize>()
            .is_ok_and(|c| table.codes.get(c).copied().unwrap_or(false))
    })?;
    (code_len == plan.code.len()).then_some(e164)
}

/// A national significant number the crate keeps as written: 2 to [`MAX_NATIONAL`] digits,
/// no leading zero (no leading-zero count to keep), not starting with the trunk prefix.
fn kept_as_is(plan: &Plan, national: &str) -> bool {
    (2..=MAX_NATIONAL).contains(&national.len())
        && !national.starts_with('0')
        && !plan
            .trunk
            .as_deref()
            .is_some_and(|t| national.starts_with(t))
}

/// The ASCII digits of `text` when it is digit groups split by single `sep` bytes (no
/// separator first, last or twice in a row); `None` for anything else.
fn plain_digits(text: &str, sep: u8) -> Option<String> {
    let bytes = text.as_bytes();
    if bytes.first() == Some(&sep) || bytes.last() == Some(&sep) {
        return None;
    }
    let mut out = String::with_capacity(bytes.len());
    let mut last_sep = false;
    for &b in bytes {
        if b.is_ascii_digit() {
            out.push(char::from(b));
            last_sep = false;
        } else if b == sep && !last_sep {
            last_sep = true;
        } else {
            return None;
        }
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalize::phone_e164_slow;

    /// The fast reader agrees with the crate wherever it answers.
    fn agrees(text: &str, region: Option<&str>) -> bool {
        let fast = crate::normalize::phone_e164(text, region);
        let slow = phone_e164_slow(text, region);
        assert_eq!(fast, slow, "{text:?} in {region:?}");
        let trimmed = text.trim();
        let international = trimmed.strip_prefix("00").map(|rest| format!("+{rest}"));
        read(international.as_deref().unwrap_or(trimmed), region).is_some()
    }

    #[test]
    fn plain_forms_are_read_fast() {
        for (text, region) in [
            ("+66812345678", None),
            ("+66 81 234 5678", None),
            ("0066 81 234 5678", None),
            ("081-234-5678", Some("TH")),
            ("0812345678", Some("th")),
            ("06 1234 5678", Some("NL")),
            ("011-844 2814", Some("MY")),
        ] {
            let fast = agrees(text, region);
            // `011-844 2814` mixes separators: the crate reads it.
            assert_eq!(fast, !text.contains("-844 "), "{text:?}");
        }
    }

    #[test]
    fn odd_forms_are_left_to_the_crate() {
        for (text, region) in [
            ("+66-81-234-5678", None),
            ("+1 202 555 0100", None),
            ("+7 912 345 6789", None),
            ("8 912 345 6789", Some("RU")),
            ("+39 06 1234 5678", None),
            ("(020) 7946 0018", Some("GB")),
            ("081  234 5678", Some("TH")),
            ("+66 081 234 5678", None),
            ("66812345678", Some("TH")),
            ("tel:+66812345678", None),
            ("+66812345678 ext 12", None),
        ] {
            assert!(!agrees(text, region), "{text:?}");
        }
    }

    #[test]
    fn literal_starts() {
        assert_eq!(literal_start("00").as_deref(), Some("00"));
        assert_eq!(literal_start("00[1-9]").as_deref(), Some("00"));
        assert_eq!(literal_start("00(?:1|2)").as_deref(), Some("00"));
        assert_eq!(literal_start("00|810"), None);
        assert_eq!(literal_start("0?0"), None);
        assert_eq!(literal_start("00?"), None);
        assert_eq!(literal_start("[01]0"), None);
        assert_eq!(literal_start("\\d0"), None);
    }

    proptest::proptest! {
        /// Any text of digits, plus signs, spaces and hyphens, in a few regions.
        #[test]
        fn agrees_with_the_crate_on_any_text(
            text in "[+0-9 -]{0,20}",
            region in "(TH|MY|NL|GB|UA|RU|AE|DE|US|IT|th|X)?",
        ) {
            let region = (!region.is_empty()).then_some(region.as_str());
            proptest::prop_assert_eq!(
                crate::normalize::phone_e164(&text, region),
                phone_e164_slow(&text, region)
            );
        }
    }

    /// A small deterministic generator (splitmix64), so the sweep needs no seed file.
    struct Gen(u64);

    impl Gen {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn digits(&mut self, n: usize) -> String {
            (0..n)
                .map(|_| char::from(b'0' + self.below(10) as u8))
                .collect()
        }

        /// Splits `digits` into groups by `sep` at random places.
        fn spaced(&mut self, digits: &str, sep: &str) -> String {
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && self.below(3) == 0 {
                    out.push_str(sep);
                }
                out.push(c);
            }
            out
        }
    }

    /// Every region the metadata knows, numbers built from its own example numbers (so
    /// that they start as real numbers do) and from random digits, in every plain form and
    /// a few near-plain ones, read in their own region and in others.
    #[test]
    fn agrees_with_the_crate_on_every_region() {
        let mut g = Gen(7);
        let metas: Vec<&Metadata> = DATABASE.iter().collect();
        let ids: Vec<&str> = metas.iter().map(|m| m.id()).collect();
        let (mut checked, mut fast) = (0usize, 0usize);
        for meta in &metas {
            let code = meta.country_code().to_string();
            let trunk = meta.national_prefix().unwrap_or("");
            let examples: Vec<String> = [
                meta.descriptors().general().example(),
                meta.descriptors().mobile().and_then(|d| d.example()),
                meta.descriptors().fixed_line().and_then(|d| d.example()),
            ]
            .into_iter()
            .flatten()
            .map(str::to_owned)
            .collect();
            for round in 0..30 {
                let national = match examples.get(round % 4) {
                    Some(e) if round % 5 != 4 => {
                        // The example with its tail replaced: the same ranges, new numbers.
                        let keep = e.len().min(1 + g.below(3));
                        let tail = g.digits(e.len() - keep);
                        format!("{}{tail}", &e[..keep])
                    }
                    _ => {
                        let n = 1 + g.below(14);
                        g.digits(n)
                    }
                };
                let region = match round % 3 {
                    0 => meta.id(),
                    1 => ids[g.below(ids.len())],
                    _ => "th",
                };
                let sep = ["", " ", "-", "  ", " -"][g.below(5)];
                let forms = [
                    format!("+{code}{national}"),
                    format!("+{}", g.spaced(&format!("{code}{national}"), sep)),
                    format!("00{code} {}", g.spaced(&national, sep)),
                    format!("{trunk}{national}"),
                    g.spaced(&format!("{trunk}{national}"), sep),
                    g.spaced(&format!("{trunk}{trunk}{national}"), sep),
                    g.spaced(&format!("{code}{national}"), sep),
                    g.spaced(&national, sep),
                    format!("+{code}0{national}"),
                ];
                for text in &forms {
                    for region in [Some(region), None] {
                        checked += 1;
                        fast += usize::from(agrees(text, region));
                    }
                }
            }
        }
        // The sweep must exercise the fast path, not only the fallback.
        eprintln!("{fast} of {checked} read fast");
        assert!(fast * 5 > checked, "{fast} of {checked}");
    }

    /// Every phone number of a CSV file of persons (columns `phone`, `country`,
    /// `nationality`), read in the region a record reads it in, when
    /// `PALERMO_E164_CSV` names the file (a pooled `palermo sim` world holds a few hundred
    /// thousand numbers; too slow for every run).
    #[test]
    fn agrees_with_the_crate_on_a_csv_file() {
        let Ok(path) = std::env::var("PALERMO_E164_CSV") else {
            return;
        };
        let mut reader = csv::Reader::from_path(&path).expect("reading the CSV file");
        let headers = reader.headers().expect("a header row").clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let phone = column("phone").expect("a phone column");
        let (country, nationality) = (column("country"), column("nationality"));
        let (mut checked, mut fast) = (0usize, 0usize);
        for row in reader.records() {
            let row = row.expect("a CSV row");
            let text = row.get(phone).unwrap_or_default().trim();
            if text.is_empty() {
                continue;
            }
            let code = |c: Option<usize>| {
                c.and_then(|c| row.get(c))
                    .map(|v| v.trim().to_lowercase())
                    .filter(|v| v.len() == 2)
            };
            let region = code(country).or_else(|| code(nationality));
            checked += 1;
            fast += usize::from(agrees(text, region.as_deref()));
        }
        eprintln!("{fast} of {checked} numbers of {path} read fast");
    }

    /// The numbers `palermo sim` writes: its countries' mobile plans in its four styles.
    #[test]
    fn agrees_with_the_crate_on_simulated_numbers() {
        let mut g = Gen(11);
        let plans: [(&str, &str, &[&str], usize, &str); 7] = [
            ("TH", "66", &["8", "9", "6"], 8, "0"),
            ("MY", "60", &["11", "12", "16", "17", "19"], 7, "0"),
            ("NL", "31", &["6"], 8, "0"),
            ("UA", "380", &["50", "67", "93"], 7, "0"),
            ("RU", "7", &["9"], 9, "8"),
            ("AE", "971", &["50", "55"], 7, "0"),
            ("DE", "49", &["151", "160", "170"], 8, "0"),
        ];
        for (region, code, prefixes, n, trunk) in plans {
            for _ in 0..400 {
                let national = format!("{}{}", prefixes[g.below(prefixes.len())], g.digits(n));
                let e164 = format!("+{code}{national}");
                let (head, tail) = national.split_at(2);
                let (mid, last) = tail.split_at(3);
                let forms = [
                    e164.clone(),
                    format!("+{code} {head} {mid} {last}"),
                    format!("{trunk}{head}-{mid}-{last}"),
                    format!("{trunk}{national}"),
                ];
                for text in &forms {
                    agrees(text, Some(region));
                    agrees(text, Some("NL"));
                }
            }
        }
    }
}
