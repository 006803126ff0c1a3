//! Text normalisation for matching: Unicode folding, transliteration, name tokens,
//! a cross-language phonetic key and the nickname table.
//!
//! Pipeline for a name: NFKC → transliteration to ASCII (any_ascii; Han and Hangul
//! syllables become separate tokens) → lower case → punctuation to spaces (apostrophes
//! join) → honorifics dropped → particles (al-, el-, bin, ibn, van der, de la, ...) set
//! aside. The phonetic key ([`phonetic_key`]) is our own: it folds the romanisations that
//! agencies actually produce for the same Arabic, Cyrillic or Greek name
//! (Mohammed/Muhammad/Mouhamed, Yushchenko/Juschtschenko/Iouchtchenko), which English
//! phonetic codes such as Soundex or Metaphone do not aim at.

use std::collections::HashMap;
use std::sync::LazyLock;

use unicode_normalization::UnicodeNormalization;

/// Folds any text to lower-case ASCII words separated by single spaces.
///
/// Diacritics are removed, other scripts are transliterated, apostrophes join
/// (`O'Brien` → `obrien`) and every other non-alphanumeric character separates words.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut space = true;
    // ASCII is its own NFKC form and needs no transliteration: most values of most files
    // are ASCII, and the normaliser's iterator costs more than the folding.
    if text.is_ascii() {
        for c in text.chars() {
            push_ascii(&mut out, c, &mut space);
        }
        while out.ends_with(' ') {
            out.pop();
        }
        return out;
    }
    fold_unicode(text, out)
}

/// [`fold`] of any text, through NFKC, appended to `out` (empty).
fn fold_unicode(text: &str, mut out: String) -> String {
    let mut space = true;
    let mut chars = text.nfkc().peekable();
    while let Some(c) = chars.next() {
        // The Arabic article ال is written joined to the noun: split it off like al-.
        if c == '\u{0627}' && space && chars.peek() == Some(&'\u{0644}') {
            chars.next();
            out.push_str("al ");
            continue;
        }
        if c.is_ascii() {
            push_ascii(&mut out, c, &mut space);
            continue;
        }
        // A word-initial alef (with or without hamza or madda) is a vowel: أحمد → ahmd.
        if space && matches!(c, '\u{0622}' | '\u{0623}' | '\u{0625}' | '\u{0627}') {
            out.push('a');
            space = false;
            continue;
        }
        if is_apostrophe(c) {
            continue;
        }
        // Thai needs whole words: vowels are written around their consonants.
        if crate::thai::is_thai(c) {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if !crate::thai::is_thai(n) {
                    break;
                }
                word.push(n);
                chars.next();
            }
            for a in crate::thai::romanize(&word).chars() {
                push_ascii(&mut out, a, &mut space);
            }
            continue;
        }
        let syllabic = is_syllabic(c);
        if syllabic && !space {
            out.push(' ');
            space = true;
        }
        for a in any_ascii::any_ascii_char(c).chars() {
            push_ascii(&mut out, a, &mut space);
        }
        if syllabic && !space {
            out.push(' ');
            space = true;
        }
    }
    while out.ends_with(' ') {
        out.pop();
    }
    out
}

fn push_ascii(out: &mut String, c: char, space: &mut bool) {
    if c.is_ascii_alphanumeric() {
        out.push(c.to_ascii_lowercase());
        *space = false;
    } else if c == '\'' || c == '`' {
        // apostrophes join: o'brien → obrien
    } else if !*space {
        out.push(' ');
        *space = true;
    }
}

fn is_apostrophe(c: char) -> bool {
    matches!(
        c,
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{02BB}' | '\u{02BE}' | '\u{02BF}'
    )
}

/// Han ideographs, Hangul syllables and kana: one syllable per character, written
/// without spaces, so each becomes its own token.
fn is_syllabic(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF
        | 0xAC00..=0xD7AF | 0x20000..=0x2FA1F)
}

/// True if the text contains Han, Hangul or kana: names in these scripts are written
/// family name first.
pub fn family_first_script(text: &str) -> bool {
    text.chars().any(is_syllabic)
}

/// Titles and honorifics dropped from names.
const HONORIFICS: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "madam", "mme", "mlle", "herr",
    "frau", "sheikh", "shaikh", "sheik", "haji", "hajji", "hajj", "sayyid", "sri", "shri", "smt",
    "jr", "snr", "jnr", "ii", "iii", "iv", "esq",
];

/// Particles that may be written, glued, hyphenated or left out: compared both ways.
const PARTICLES: &[&str] = &[
    "al", "el", "ul", "ud", "bin", "ibn", "ben", "bint", "binti", "van", "der", "den", "de", "del",
    "della", "la", "le", "du", "da", "di", "dos", "das", "do", "von", "zu", "ter", "ten", "y",
];

/// Suffixes of patronymics and their Turkic equivalents (optional parts of a given name).
const PATRONYMIC_SUFFIXES: &[&str] = &[
    "ovich", "evich", "ovych", "evych", "ovna", "evna", "ivna", "ogly", "oglu", "kyzy", "qizi",
];

/// True if `token` is a name particle (al, bin, van, de, ...).
pub fn is_particle(token: &str) -> bool {
    PARTICLES.contains(&token)
}

/// True if `token` looks like a patronymic (Ivanovich, Petrovna, Aliyevich, Mammadoglu).
pub fn is_patronymic(token: &str) -> bool {
    token.len() > 6 && PATRONYMIC_SUFFIXES.iter().any(|s| token.ends_with(s))
}

/// Splits a folded name into tokens: `(core, all)`, where `core` omits honorifics and
/// particles (unless nothing else is left) and `all` keeps the particles.
pub fn name_tokens(text: &str) -> (Vec<String>, Vec<String>) {
    let folded = fold(text);
    let all: Vec<String> = folded
        .split(' ')
        .filter(|t| !t.is_empty() && !HONORIFICS.contains(t))
        .map(str::to_owned)
        .collect();
    let core: Vec<String> = all
        .iter()
        .enumerate()
        // "ben" first is a given name (Ben Smith), later a particle (Yosef ben Ami).
        .filter(|(i, t)| !(is_particle(t) && !(*i == 0 && t.as_str() == "ben")))
        .map(|(_, t)| t.clone())
        .collect();
    if core.is_empty() {
        (all.clone(), all)
    } else {
        (core, all)
    }
}

/// A cross-language phonetic key of one lower-case ASCII token.
///
/// Folds spelling variants of transliterated names: sh/sch/ch/kh/zh/shch/tsch become one
/// sound class, voiced and unvoiced consonants fold (d/t, b/p, g/k, v/f), c/k/q fold,
/// initial j/y/i before a vowel fold, `h` is kept only between vowels, vowels are dropped
/// after the first letter and repeated letters collapse.
pub fn phonetic_key(token: &str) -> String {
    let b = token.as_bytes();
    let mut sym: Vec<u8> = Vec::with_capacity(b.len());
    let is_vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let mut i = 0;
    while i < b.len() {
        let rest = &b[i..];
        let at = |s: &[u8]| rest.starts_with(s);
        let (out, len): (u8, usize) = if at(b"shch") || at(b"tsch") || at(b"dsch") {
            (if at(b"dsch") { b'j' } else { b'X' }, 4)
        } else if at(b"dzh") {
            (b'j', 3)
        } else if at(b"sch") || at(b"tch") {
            (b'X', 3)
        } else if at(b"sh") || at(b"ch") || at(b"kh") || at(b"zh") {
            (b'X', 2)
        } else if at(b"dj") {
            (b'j', 2)
        } else if at(b"ph") {
            (b'f', 2)
        } else if at(b"th") {
            (b't', 2)
        } else if at(b"gh") {
            (b'g', 2)
        } else if at(b"dh") {
            (b'd', 2)
        } else if at(b"ck") {
            (b'k', 2)
        } else if at(b"ts") || at(b"tz") {
            (b's', 2)
        } else if at(b"ou") || at(b"oo") {
            (b'u', 2)
        } else {
            let c = rest[0];
            let next = rest.get(1).copied();
            let m = match c {
                b'c' if matches!(next, Some(b'e' | b'i' | b'y')) => b's',
                b'c' | b'q' => b'k',
                b'x' => {
                    sym.push(b'k');
                    b's'
                }
                b'w' => b'v',
                b'z' => b's',
                _ => c,
            };
            (m, 1)
        };
        sym.push(out);
        i += len;
    }
    // Initial j/y/i before a vowel is the same glide in every romanisation.
    if sym.len() > 1 && matches!(sym[0], b'j' | b'y' | b'i') && is_vowel(sym[1]) {
        sym[0] = b'Y';
    }
    let mut key = String::with_capacity(sym.len());
    let mut last = 0u8;
    for (k, &c) in sym.iter().enumerate() {
        let folded = match c {
            b'b' => b'p',
            b'd' => b't',
            b'g' => b'k',
            b'v' => b'f',
            b'j' => b'Y',
            _ => c,
        };
        let keep = if k == 0 {
            true
        } else if is_vowel(folded) {
            false
        } else if folded == b'h' {
            // h survives between vowels (Mohammed) and after a consonant (Arabic-script
            // "mhmd"); it is silent after a vowel before a consonant (Ahmed) or at the end.
            let prev = sym[k - 1];
            match sym.get(k + 1) {
                None => false,
                Some(&next) => !is_vowel(prev) || is_vowel(next),
            }
        } else {
            true
        };
        let folded = if k == 0 && is_vowel(folded) {
            b'A'
        } else {
            folded
        };
        if keep && folded != last {
            key.push(folded as char);
            last = folded;
        }
    }
    key
}

/// Folds the spellings agencies use for the same romanised Thai name onto one, before
/// [`phonetic_key`]: the aspirated `ph`, `th`, `kh` are written with or without the `h`
/// (Phetcharat / Petcharat), `ch` and `j` both stand for จ and ช (the RTGS reading of ใจ is
/// `chai`, the common spelling `jai`), an `r` after a vowel is silent or marks a long vowel
/// (Siriphon / Siriporn, Prasoet / Prasert), `sr` is read `s` (Sisuk / Srisuk), and a
/// vowel-closing `w`, `l` or `s` is the final `o`, `n` or `t` (Kaeo / Kaew, Nattaphon /
/// Nattapol, Wiset / Vises).
///
/// Only for names of Thai origin: for other names these letters are different sounds.
pub fn thai_fold(token: &str) -> String {
    let b = token.as_bytes();
    let is_vowel = |c: u8| matches!(c, b'a' | b'e' | b'i' | b'o' | b'u' | b'y');
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        // A letter closes a syllable: after a vowel, before a consonant or the end.
        let closing = out.last().is_some_and(|&p| is_vowel(p)) && next.is_none_or(|n| !is_vowel(n));
        match (c, next) {
            (b'p' | b't' | b'k', Some(b'h')) => {
                out.push(c);
                i += 2;
                continue;
            }
            (b'c', Some(b'h')) => {
                out.push(b'j');
                i += 2;
                continue;
            }
            (b's', Some(b'r')) => {
                out.push(b's');
                i += 2;
                continue;
            }
            (b'r' | b'w', _) if closing => {}
            (b'l', _) if closing => out.push(b'n'),
            (b's', _) if closing => out.push(b't'),
            _ => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap_or_default()
}

/// The phonetic key of a name of Thai origin: [`phonetic_key`] of [`thai_fold`].
pub fn thai_key(token: &str) -> String {
    phonetic_key(&thai_fold(token))
}

static NICKNAMES: LazyLock<HashMap<&'static str, Vec<u16>>> = LazyLock::new(|| {
    let mut map: HashMap<&'static str, Vec<u16>> = HashMap::new();
    let lines = include_str!("../data/nicknames.csv")
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'));
    for (group, line) in lines.enumerate() {
        let group = u16::try_from(group).unwrap_or(u16::MAX);
        for name in line.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let entry = map.entry(name).or_default();
            if !entry.contains(&group) {
                entry.push(group);
            }
        }
    }
    map
});

/// The nickname groups a given name belongs to (empty if it is in none).
pub fn nickname_groups(token: &str) -> &'static [u16] {
    NICKNAMES.get(token).map_or(&[], Vec::as_slice)
}

/// True if two given names are known variants of each other (Bill/William).
pub fn nickname_match(a: &str, b: &str) -> bool {
    let (ga, gb) = (nickname_groups(a), nickname_groups(b));
    ga.iter().any(|g| gb.contains(g))
}

/// Keeps the ASCII letters and digits of an identifier, upper-cased (`p-123 456` → `P123456`).
pub fn identifier(text: &str) -> String {
    fold(text)
        .bytes()
        .filter(u8::is_ascii_alphanumeric)
        .map(|b| b.to_ascii_uppercase() as char)
        .collect()
}

/// Normalises a phone number to E.164-like digits: `+` and `00` prefixes mark an
/// international number, a single leading trunk `0` is dropped. Returns the digits of the
/// subscriber part that are compared (the last 9 digits, which survive every national and
/// international way of writing the same number).
pub fn phone(text: &str) -> String {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let digits = digits.trim_start_matches('0');
    let start = digits.len().saturating_sub(9);
    digits[start..].to_owned()
}

/// Normalises a phone number to E.164 (`+66811783347`) with the `phonenumber` crate
/// (libphonenumber's metadata): international numbers (`+`, `00`) need no region, national
/// ones (`081 178 3347`) are read in `region` (an ISO 3166-1 alpha-2 code, any case).
/// Returns `None` when the number cannot be read (no region for a national number, too few
/// or too many digits, not a number); the caller then falls back to [`phone`].
pub fn phone_e164(text: &str, region: Option<&str>) -> Option<String> {
    let text = e164_input(text)?;
    // The plain forms most files hold are read without the crate, to the same answer.
    crate::e164::read(&text, region).or_else(|| e164_by_crate(&text, region))
}

/// [`phone_e164`] by the `phonenumber` crate alone (what the fast reader is checked
/// against).
#[cfg(test)]
pub(crate) fn phone_e164_slow(text: &str, region: Option<&str>) -> Option<String> {
    e164_by_crate(&e164_input(text)?, region)
}

/// The text [`phone_e164`] reads: trimmed, with a `00` prefix spelled `+`; `None` when
/// the digits are too few or too many to be a number.
fn e164_input(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    if !(4..=17).contains(&digits) {
        return None;
    }
    let trimmed = text.trim();
    // `00` is the international prefix in most of the world; libphonenumber reads it only
    // when it knows the caller's region, so spell it as `+`.
    Some(match trimmed.strip_prefix("00") {
        Some(rest) => format!("+{rest}").into(),
        None => trimmed.into(),
    })
}

/// [`phone_e164`] of an [`e164_input`] text by the `phonenumber` crate.
fn e164_by_crate(text: &str, region: Option<&str>) -> Option<String> {
    let region = region.filter(|r| r.len() == 2).and_then(|r| {
        r.to_ascii_uppercase()
            .parse::<phonenumber::country::Id>()
            .ok()
    });
    // An international number needs no region, and reading it without one keeps the
    // result independent of the record's country.
    let region = if text.starts_with('+') { None } else { region };
    if region.is_none() && !text.starts_with('+') {
        return None;
    }
    // Not checked against the plan's number ranges (`is_valid`): a number that parses
    // keeps one form whether or not the metadata knows its range (new mobile ranges,
    // test data), so its records still compare equal.
    let number = phonenumber::parse(region, text).ok()?;
    let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
    // Too short to be a subscriber number anywhere, or a form the parser does not read
    // back as itself: keep the digits instead, so the result is stable when read again.
    if e164.len() < 8 {
        return None;
    }
    // Read back the same text with no region, the parser gives the same answer.
    if e164 == text {
        return Some(e164);
    }
    let again = phonenumber::parse(None, &e164).ok()?;
    (again.format().mode(phonenumber::Mode::E164).to_string() == e164).then_some(e164)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_thai(a: &str, b: &str, same: bool) {
        assert_eq!(
            thai_key(a) == thai_key(b),
            same,
            "{a:?} {b:?}: {} vs {}",
            thai_key(a),
            thai_key(b)
        );
    }

    #[test]
    fn thai_romanisations_fold_together() {
        // RTGS (what the Thai-script romaniser gives) against the agencies' spellings.
        let thai = fold("ใจเพชร");
        check_thai(&thai, "jaipet", true);
        for (rtgs, common) in [
            ("chaiphet", "jaipet"),
            ("phetcharat", "petcharat"),
            ("siriphon", "siriporn"),
            ("prasoet", "prasert"),
            ("sisuk", "srisuk"),
            ("chankaeo", "jankaew"),
            ("natthaphon", "nattapol"),
            ("wiset", "vises"),
            ("kanchana", "kanjana"),
            ("khamsaen", "kumsan"),
            ("thiraphong", "teerapong"),
            ("anucha", "anuchar"),
        ] {
            check_thai(rtgs, common, true);
            // The general key keeps most of them apart (ch is not j elsewhere).
        }
        assert_ne!(phonetic_key("chaiphet"), phonetic_key("jaipet"));
        // Different names stay different.
        check_thai("somchai", "somsak", false);
        check_thai("jaidee", "chaiwat", false);
        check_thai("suwan", "sisuk", false);
    }

    fn check_fold(input: &str, expect: &str) {
        assert_eq!(fold(input), expect, "fold({input:?})");
    }

    #[test]
    fn folds_scripts_and_marks() {
        check_fold("José  Álvarez-García", "jose alvarez garcia");
        check_fold("O'Brien", "obrien");
        check_fold("Łódź", "lodz");
        check_fold("ﬁnn", "finn");
        check_fold("Алексей Ηλίας", "aleksey ilias");
        check_fold("Юрий Ющенко", "yuriy yushchenko");
        check_fold("毛泽东", "mao ze dong");
        check_fold("김민준", "gim min jun");
        check_fold("محمد", "mhmd");
        check_fold("أحمد الرشيد", "ahmd al rshyd");
        check_fold("  ", "");
    }

    fn check_key(names: &[&str]) {
        let keys: Vec<String> = names.iter().map(|n| phonetic_key(&fold(n))).collect();
        assert!(
            keys.windows(2).all(|w| w[0] == w[1]),
            "{names:?} → {keys:?}"
        );
    }

    #[test]
    fn phonetic_key_folds_romanisations() {
        check_key(&[
            "Mohammed", "Muhammad", "Mouhamed", "Mohamed", "Muhamad", "محمد",
        ]);
        check_key(&["Ahmed", "Ahmad", "أحمد"]);
        check_key(&["Rashid", "رشيد"]);
        check_key(&["Yushchenko", "Juschtschenko", "Iouchtchenko"]);
        check_key(&["Mikhail", "Michail"]);
        check_key(&["Jon", "John"]);
        check_key(&["Jonathan", "Jonathon"]);
        check_key(&["Philip", "Filip"]);
        check_key(&["Tchaikovsky", "Tschaikowski", "Chaykovskiy"]);
        check_key(&["Rashid", "Rasheed"]);
        assert_ne!(phonetic_key("smith"), phonetic_key("jones"));
        assert_ne!(phonetic_key("ali"), phonetic_key("omar"));
        assert_eq!(phonetic_key(""), "");
    }

    fn check_tokens(input: &str, core: &[&str], all: &[&str]) {
        let (c, a) = name_tokens(input);
        assert_eq!(c, core, "core of {input:?}");
        assert_eq!(a, all, "all of {input:?}");
    }

    #[test]
    fn tokens_drop_honorifics_and_set_aside_particles() {
        check_tokens(
            "Dr. Ahmed Al-Rashid",
            &["ahmed", "rashid"],
            &["ahmed", "al", "rashid"],
        );
        check_tokens(
            "Ludwig van der Rohe",
            &["ludwig", "rohe"],
            &["ludwig", "van", "der", "rohe"],
        );
        check_tokens("Ben Smith", &["ben", "smith"], &["ben", "smith"]);
        check_tokens("Yosef ben Ami", &["yosef", "ami"], &["yosef", "ben", "ami"]);
        check_tokens("de la", &["de", "la"], &["de", "la"]);
        check_tokens("", &[], &[]);
    }

    #[test]
    fn nicknames_and_patronymics() {
        assert!(nickname_match("bill", "william"));
        assert!(nickname_match("sasha", "alexander"));
        assert!(!nickname_match("bill", "robert"));
        assert!(is_patronymic("ivanovich"));
        assert!(is_patronymic("petrovna"));
        assert!(!is_patronymic("ivan"));
    }

    proptest::proptest! {
        #[test]
        fn any_text_folds_to_ascii_without_panicking(text in "\\PC{0,40}") {
            let folded = fold(&text);
            proptest::prop_assert!(folded.is_ascii());
            let (core, all) = name_tokens(&text);
            proptest::prop_assert!(core.len() <= all.len());
            for t in &all {
                let _ = phonetic_key(t);
            }
            let _ = crate::record::Record::new("x", vec![
                (crate::schema::Property::Name, text.clone()),
                (crate::schema::Property::BirthDate, text.clone()),
            ]);
        }
    }

    #[test]
    fn identifiers_and_phones() {
        assert_eq!(identifier("p-123 456"), "P123456");
        assert_eq!(phone("+44 20 7946 0018"), "079460018");
        assert_eq!(phone("020 7946 0018"), "079460018");
        assert_eq!(phone("0044 20 7946 0018"), phone("+44 (20) 7946-0018"));
        assert_eq!(phone(""), "");
    }

    fn check_e164(text: &str, region: Option<&str>, expect: Option<&str>) {
        assert_eq!(
            phone_e164(text, region).as_deref(),
            expect,
            "{text:?} in {region:?}"
        );
    }

    #[test]
    fn e164_phones() {
        check_e164("+66 81 178 3347", None, Some("+66811783347"));
        check_e164("081-178-3347", Some("th"), Some("+66811783347"));
        check_e164("0066 81 178 3347", None, Some("+66811783347"));
        check_e164("020 7946 0018", Some("GB"), Some("+442079460018"));
        check_e164("06 1234 5678", Some("nl"), Some("+31612345678"));
        check_e164("011-844 2814", Some("MY"), Some("+60118442814"));
        // A national number without a region, an unknown region, and junk stay unread.
        check_e164("081-178-3347", None, None);
        check_e164("081-178-3347", Some("Thailand"), None);
        check_e164("12", Some("TH"), None);
        check_e164("not a phone", Some("TH"), None);
    }

    proptest::proptest! {
        #[test]
        fn ascii_folds_as_through_nfkc(text in "[ -~]{0,40}") {
            proptest::prop_assert_eq!(fold(&text), fold_unicode(&text, String::new()));
        }
    }

    proptest::proptest! {
        #[test]
        fn e164_is_idempotent(text in "[+0-9 ()-]{0,20}", region in "(TH|MY|NL|GB|UA)?") {
            let region = (!region.is_empty()).then_some(region.as_str());
            if let Some(e164) = phone_e164(&text, region) {
                proptest::prop_assert_eq!(phone_e164(&e164, None), Some(e164.clone()));
                proptest::prop_assert_eq!(phone_e164(&e164, Some("TH")), Some(e164));
            }
        }
    }
}
