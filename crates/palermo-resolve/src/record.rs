//! A person record prepared for matching: every field normalised once, up front.

use std::borrow::Cow;
use std::sync::Arc;

use crate::memo::Memo;
use crate::normalize::{self, family_first_script, is_particle, is_patronymic, phonetic_key};
use crate::schema::{PROPERTIES, Property};
use crate::text::{EMPTY, Text, TextList};
use crate::thai;

/// One part of a person's name (given or family), normalised: the normalised forms,
/// shared by every record whose raw text gave them, and the name's frequency.
///
/// The forms are about 240 bytes and most raw names repeat (at 1M pooled `palermo sim`
/// records, 17,666 distinct given names for 664,587 values): kept inline, two copies of
/// them were 480 of a record's 776 bytes, written into fresh memory for every record.
/// Shared, a record holds a pointer per part, the [`Memo`] hands out a reference count
/// rather than a copy, and the forms of common names stay in cache while comparing.
/// Reads go through [`Deref`](std::ops::Deref) to [`NameForms`] (`name.tokens`).
#[derive(Clone, Default)]
pub(crate) struct Name {
    /// `None` for the empty name (no allocation for a missing part).
    forms: Option<Arc<NameForms>>,
    /// How many records carry this exact `joined` value on the same side of the name
    /// (filled in by the data set, for term-frequency adjustment).
    pub(crate) freq: u32,
}

impl std::ops::Deref for Name {
    type Target = NameForms;
    fn deref(&self) -> &NameForms {
        self.forms.as_deref().unwrap_or(&NO_NAME)
    }
}

impl Name {
    /// Asks the CPU for the shared forms (see [`crate::prefetch`]): the record holds only
    /// a pointer to them, a second cache miss after the record's own.
    #[inline]
    pub(crate) fn prefetch(&self) {
        if let Some(forms) = &self.forms {
            crate::prefetch::prefetch_bytes::<NameForms>(forms, FORMS_HOT_BYTES);
        }
    }

    /// Asks the CPU for the first cache line of the shared forms, which holds what
    /// blocking's sub-keys read (`joined`, `key`), and with `thai` the line of the Thai
    /// key as well (what [`blocking::keys`](crate::blocking) reads).
    #[inline]
    pub(crate) fn prefetch_keys(&self, thai: bool) {
        self.prefetch_head(64);
        if thai && let Some(forms) = &self.forms {
            crate::prefetch::prefetch(&forms.thai_key);
        }
    }

    /// Asks the CPU for the first `len` bytes of the shared forms.
    #[inline]
    pub(crate) fn prefetch_head(&self, len: usize) {
        if let Some(forms) = &self.forms {
            crate::prefetch::prefetch_bytes::<NameForms>(forms, len);
        }
    }
}

/// The bytes at the start of a [`NameForms`] up to the end of `joined`.
pub(crate) const FORMS_JOINED_BYTES: usize =
    std::mem::offset_of!(NameForms, joined) + size_of::<Text>();

/// The bytes at the start of a [`NameForms`] that term frequencies read (`joined` and the
/// tokens, for the full name).
pub(crate) const FORMS_TERM_BYTES: usize =
    std::mem::offset_of!(NameForms, tokens) + size_of::<TextList>();

impl Name {
    /// True when both names hold one shared set of forms (the same raw text, normalised
    /// once by the [`Memo`]): then every form of one equals the other's, and comparing
    /// them need not read the second name's forms.
    #[inline]
    pub(crate) fn same_forms(&self, other: &Name) -> bool {
        match (&self.forms, &other.forms) {
            (Some(x), Some(y)) => Arc::ptr_eq(x, y),
            _ => false,
        }
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Name) -> bool {
        **self == **other && self.freq == other.freq
    }
}

impl std::fmt::Debug for Name {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Name")
            .field("forms", &**self)
            .field("freq", &self.freq)
            .finish()
    }
}

/// The forms of the empty name.
static NO_NAME: NameForms = NameForms {
    tokens: TextList::Empty,
    required: TextList::Empty,
    joined: Text::empty(),
    all_joined: Text::empty(),
    keys: TextList::Empty,
    token_keys: TextList::Empty,
    token_nicks: Nicks::Empty,
    bag: 0,
    display: Text::empty(),
    key: Text::empty(),
    thai_key: Text::empty(),
    script: Text::empty(),
};

/// The normalised forms of a name part ([`Name`]), a pure function of its raw text.
///
/// Laid out for the readers of a candidate pair (`repr(C)`, in declaration order, on a
/// cache-line boundary): what blocking's keys and sub-keys read (`joined`, `key`) in the
/// first line, what [`compare`](crate::compare) reads in the first four
/// ([`FORMS_HOT_BYTES`]), and the display form, which only explanations read, after them.
/// The forms of the second record of a pair are a cache miss, asked for ahead
/// ([`Name::prefetch`]); at 272 bytes from a 16-byte boundary they spanned five or six
/// lines, each a miss in flight, and the misses in flight are what comparing waits for.
#[derive(Debug, PartialEq)]
#[repr(C, align(64))]
pub(crate) struct NameForms {
    /// Core tokens concatenated (`ze dong` → `zedong`).
    pub(crate) joined: Text,
    /// Phonetic key of `joined`.
    pub(crate) key: Text,
    /// Hash of the sorted core tokens: equal for names with the same words in any order.
    pub(crate) bag: u64,
    /// Core tokens (no particles, no honorifics), in written order.
    pub(crate) tokens: TextList,
    /// All tokens including particles, concatenated (`al rashid` → `alrashid`).
    pub(crate) all_joined: Text,
    /// Core tokens that are not patronymics, sorted (the part that must agree).
    pub(crate) required: TextList,
    /// Phonetic keys of the core tokens, sorted.
    pub(crate) keys: TextList,
    /// Nickname groups of each core token, in token order (looked up once here rather
    /// than per comparison).
    pub(crate) token_nicks: Nicks,
    /// Phonetic key of `joined` with Thai romanisation variants folded
    /// ([`normalize::thai_key`]); compared only when a record is of Thai origin.
    pub(crate) thai_key: Text,
    /// The name as written in Thai script, one byte a letter ([`thai::script_form`]);
    /// empty unless every letter of the raw name is Thai. Names that differ in the script
    /// can romanise alike (ชัยดี and ใจดี are both `chaidi`), and a typo in the script
    /// can land letters apart in the romanisation.
    pub(crate) script: Text,
    /// Phonetic keys of the core tokens, in token order.
    pub(crate) token_keys: TextList,
    // Not read by comparisons: keep every field above `display` (see `FORMS_HOT_BYTES`).
    /// All tokens with particles, space-separated (for explanations).
    pub(crate) display: Text,
}

/// The bytes of a [`NameForms`] that comparisons read: the fields before the display form.
pub(crate) const FORMS_HOT_BYTES: usize = std::mem::offset_of!(NameForms, display);

// What comparisons read of a name's forms fits four cache lines, and what blocking reads
// the first.
const _: () = assert!(FORMS_HOT_BYTES <= 256);
const _: () = assert!(std::mem::offset_of!(NameForms, key) + size_of::<Text>() <= 64);

impl Name {
    /// Builds a name part from already folded tokens (core and with particles).
    pub(crate) fn from_tokens(core: Vec<String>, all: &[String]) -> Name {
        Name::from_tokens_in(core, all, "")
    }

    /// [`Name::from_tokens`] of a name written in Thai script as `script`
    /// ([`thai::script_form`]; empty for other names).
    pub(crate) fn from_tokens_in(core: Vec<String>, all: &[String], script: &str) -> Name {
        let joined: String = core.concat();
        let all_joined: String = all.concat();
        let mut required: Vec<&str> = core
            .iter()
            .map(String::as_str)
            .filter(|t| !is_patronymic(t))
            .collect();
        required.sort_unstable();
        let token_keys: Vec<String> = core.iter().map(|t| phonetic_key(t)).collect();
        let mut keys = token_keys.clone();
        keys.sort_unstable();
        keys.dedup();
        let key = phonetic_key(&joined);
        let thai_key = normalize::thai_key(&joined);
        let display = all.join(" ");
        let token_nicks = Nicks::new(core.iter().map(|t| normalize::nickname_groups(t)).collect());
        let bag = token_hash(&core);
        let forms = NameForms {
            token_nicks,
            bag,
            required: required.into_iter().collect(),
            tokens: core.into_iter().collect(),
            joined: joined.into(),
            all_joined: all_joined.into(),
            keys: keys.into_iter().collect(),
            token_keys: token_keys.into_iter().collect(),
            display: display.into(),
            key: key.into(),
            thai_key: thai_key.into(),
            script: script.into(),
        };
        Name {
            forms: Some(Arc::new(forms)),
            freq: 0,
        }
    }

    /// Builds a name part from raw text.
    pub(crate) fn parse(text: &str) -> Name {
        let (core, all) = normalize::name_tokens(text);
        // The script form stands for the core tokens only when nothing was dropped.
        let script = if core.len() == all.len() {
            thai::script_form(text)
        } else {
            String::new()
        };
        Name::from_tokens_in(core, &all, &script)
    }
}

impl NameForms {
    /// Nickname groups of the first core token.
    pub(crate) fn nick(&self) -> &'static [u16] {
        self.token_nicks
            .as_slice()
            .first()
            .copied()
            .unwrap_or_default()
    }

    /// True when nothing is known.
    pub(crate) fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }
}

/// The nickname groups of each token of a name: one token's without a heap block (most
/// names have one token, and the comparison of every candidate pair reads them).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Nicks {
    Empty,
    One(&'static [u16]),
    Many(Box<[&'static [u16]]>),
}

impl Nicks {
    fn new(mut groups: Vec<&'static [u16]>) -> Nicks {
        match groups.len() {
            0 => Nicks::Empty,
            1 => Nicks::One(groups.pop().unwrap_or_default()),
            _ => Nicks::Many(groups.into_boxed_slice()),
        }
    }

    /// The groups, one slice per token.
    pub(crate) fn as_slice(&self) -> &[&'static [u16]] {
        match self {
            Nicks::Empty => &[],
            Nicks::One(g) => std::slice::from_ref(g),
            Nicks::Many(gs) => gs,
        }
    }
}

/// Splits a full name into (given, family).
///
/// `Family, Given` when there is a comma; family first for Han/Hangul/kana script; the
/// upper-case words when only some words are upper case (`AL RASHID Ahmed`); family first
/// when the last word is a patronymic (`Petrov Ivan Ivanovich`); otherwise the last word
/// and the particles before it (`Ahmed al-Rashid`). Comparisons also try the other order.
pub(crate) fn split_full_name(text: &str) -> (Name, Name) {
    if let Some((family, given)) = text.split_once(',') {
        return (Name::parse(given), Name::parse(family));
    }
    let (_, all) = normalize::name_tokens(text);
    if all.len() < 2 {
        return (Name::default(), Name::parse(text));
    }
    let split_at = if family_first_script(text) {
        Some(1usize)
    } else {
        upper_case_split(text, all.len())
    };
    let n = all.len();
    let (family, given) = match split_at {
        Some(k) if k > 0 && k < n && (family_first_script(text) || upper_first(text)) => {
            (0..k, k..n)
        }
        Some(k) if k > 0 && k < n => (k..n, 0..k),
        _ if all.last().is_some_and(|t| is_patronymic(t)) => (0..1, 1..n),
        _ => {
            let mut start = n - 1;
            while start > 1 && is_particle(&all[start - 1]) {
                start -= 1;
            }
            (start..n, 0..start)
        }
    };
    // A name in Thai script keeps each part's script form when its words are the tokens
    // (a Thai word romanises to one token).
    let words: Vec<String> = text.split_whitespace().map(thai::script_form).collect();
    let scripts = (words.len() == n && words.iter().all(|w| !w.is_empty())).then_some(words);
    let script = |range: &std::ops::Range<usize>| -> String {
        scripts
            .as_ref()
            .map(|w| w[range.clone()].concat())
            .unwrap_or_default()
    };
    (
        part(&all[given.clone()], &script(&given)),
        part(&all[family.clone()], &script(&family)),
    )
}

fn part(all: &[String], script: &str) -> Name {
    let core: Vec<String> = all.iter().filter(|t| !is_particle(t)).cloned().collect();
    if core.is_empty() {
        Name::from_tokens_in(all.to_vec(), all, script)
    } else if core.len() == all.len() {
        Name::from_tokens_in(core, all, script)
    } else {
        Name::from_tokens(core, all)
    }
}

/// Words of the raw text that are entirely upper case (and have at least two letters).
fn upper_words(text: &str) -> Vec<bool> {
    text.split(|c: char| c.is_whitespace() || c == '-')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let letters: Vec<char> = w.chars().filter(|c| c.is_alphabetic()).collect();
            letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase())
        })
        .collect()
}

fn upper_first(text: &str) -> bool {
    upper_words(text).first().copied().unwrap_or(false)
}

/// If the upper-case words form a prefix or suffix (and not all words are upper case),
/// the index where they end (prefix) or start (suffix).
fn upper_case_split(text: &str, n_tokens: usize) -> Option<usize> {
    let words = upper_words(text);
    if words.len() != n_tokens || words.iter().all(|u| *u) || !words.iter().any(|u| *u) {
        return None;
    }
    let prefix = words.iter().take_while(|u| **u).count();
    if prefix > 0 && words[prefix..].iter().all(|u| !*u) {
        return Some(prefix);
    }
    let suffix = words.iter().rev().take_while(|u| **u).count();
    if suffix > 0 && words[..words.len() - suffix].iter().all(|u| !*u) {
        return Some(words.len() - suffix);
    }
    None
}

/// A (possibly partial) date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Date {
    pub(crate) year: Option<u16>,
    pub(crate) month: Option<u8>,
    pub(crate) day: Option<u8>,
}

impl Date {
    /// Parses ISO 8601 (`1990-04-21`, `1990-04`, `1990`), compact `19900421`, and
    /// day-first `21/04/1990`, `21.04.1990`, `21-04-1990`. Out-of-range months and days
    /// are kept (typos still carry information).
    pub(crate) fn parse(text: &str) -> Option<Date> {
        let t = text.trim();
        if t.is_empty() {
            return None;
        }
        let parts: Vec<&str> = t
            .split(|c: char| !c.is_ascii_digit())
            .filter(|p| !p.is_empty())
            .collect();
        let num = |s: &str| s.parse::<u32>().ok();
        match parts.as_slice() {
            [one] if one.len() == 8 => {
                let (y, m, d) = (num(&one[..4])?, num(&one[4..6])?, num(&one[6..])?);
                if (1800..=2100).contains(&y) {
                    Some(Date::ymd(y, Some(m), Some(d)))
                } else {
                    let (d, m, y) = (num(&one[..2])?, num(&one[2..4])?, num(&one[4..])?);
                    Some(Date::ymd(y, Some(m), Some(d)))
                }
            }
            [one] if one.len() == 6 && t.contains('-') => None,
            [one] if one.len() == 6 => {
                let (y, m) = (num(&one[..4])?, num(&one[4..])?);
                Some(Date::ymd(y, Some(m), None))
            }
            [y] if y.len() == 4 => Some(Date::ymd(num(y)?, None, None)),
            [y, m] if y.len() == 4 => Some(Date::ymd(num(y)?, Some(num(m)?), None)),
            [y, m, d] if y.len() == 4 => Some(Date::ymd(num(y)?, Some(num(m)?), Some(num(d)?))),
            [d, m, y] if y.len() == 4 => Some(Date::ymd(num(y)?, Some(num(m)?), Some(num(d)?))),
            _ => None,
        }
    }

    fn ymd(y: u32, m: Option<u32>, d: Option<u32>) -> Date {
        Date {
            year: u16::try_from(y).ok(),
            month: m.and_then(|m| u8::try_from(m).ok()),
            day: d.and_then(|d| u8::try_from(d).ok()),
        }
    }

    /// `YYYYMMDD` digits of a complete date as bytes, without allocating (compared for
    /// every candidate pair). Parts too large for their width keep their last digits.
    pub(crate) fn digit_bytes(&self) -> Option<[u8; 8]> {
        let (y, m, d) = (self.year?, self.month?, self.day?);
        let digit = |v: u32, place: u32| b'0' + ((v / place) % 10) as u8;
        let (y, m, d) = (u32::from(y), u32::from(m), u32::from(d));
        Some([
            digit(y, 1000),
            digit(y, 100),
            digit(y, 10),
            digit(y, 1),
            digit(m, 10),
            digit(m, 1),
            digit(d, 10),
            digit(d, 1),
        ])
    }
}

/// The address parts of a record other than city and country. Many files have none
/// (no `palermo sim` persons file has them), and inline they were 120 of a record's 888
/// bytes: at 1M records 90 MB of fresh memory written for nothing. Boxed when any is
/// present (8 bytes otherwise), at the price of one pointer per comparison of records
/// that both have an address.
#[derive(Debug, Clone, Default)]
pub(crate) struct Address {
    pub(crate) street_number: Text,
    pub(crate) street: Text,
    pub(crate) street2: Text,
    pub(crate) postcode: Text,
    pub(crate) region: Text,
}

impl Address {
    fn is_empty(&self) -> bool {
        self.street_number.is_empty()
            && self.street.is_empty()
            && self.street2.is_empty()
            && self.postcode.is_empty()
            && self.region.is_empty()
    }
}

/// A person record, normalised for comparison.
///
/// Laid out for comparing (`repr(C)`, in declaration order): what a comparison reads comes
/// first, in four cache lines (the names' pointers, the name hash, the birth date, the
/// flags and the address pointer in the first), the id and the raw values, which only
/// output and explanations read, after them; records start on a line boundary. The second
/// record of a candidate pair lies anywhere in memory, so each line of it is a cache miss:
/// at 296 bytes from any offset, a record spanned five or six lines and the comparison
/// asked for five ([`Record::prefetch`] now asks for the four it reads).
#[derive(Debug, Clone, Default)]
#[repr(C, align(64))]
pub struct Record {
    pub(crate) given: Name,
    pub(crate) family: Name,
    /// Hash of the sorted core tokens of given and family name together (0 when there are
    /// fewer than three), so that `Ng Siew Lan` read from a full-name column and
    /// given `Siew Lan`, family `Ng` meet whichever way the full name was split.
    pub(crate) name_bag: u64,
    pub(crate) birth: Option<Date>,
    /// How many records carry this exact full name (given and family, in either order;
    /// filled in by the data set, for the joint term-frequency adjustment; 0 = unknown).
    pub(crate) name_freq: u32,
    /// True when given and family name were guessed by splitting a full-name column
    /// ([`split_full_name`]): the split may not be the one the other record used.
    pub(crate) name_split_guessed: bool,
    /// True when the person is likely Thai (Thai nationality, or Thai script in the name,
    /// or the country Thailand when no nationality is given): names then also compare by
    /// their Thai keys ([`Name::thai_key`]).
    pub(crate) thai: bool,
    /// Street, house number, postal code and region, boxed: `None` when all are empty.
    pub(crate) address: Option<Box<Address>>,
    pub(crate) ids: TextList,
    pub(crate) passports: TextList,
    pub(crate) phones: TextList,
    pub(crate) email: Text,
    pub(crate) city: Text,
    pub(crate) country: Text,
    pub(crate) nationality: Text,
    pub(crate) gender: Text,
    // Not read by comparisons: keep every field above `id` (see `HOT_BYTES`).
    /// The record id from the id column.
    pub id: String,
    /// The raw values as read, for explanations (empty when read without them).
    pub(crate) raw: RawValues,
}

/// The bytes of a [`Record`] that comparisons read: the fields before the id.
pub(crate) const HOT_BYTES: usize = std::mem::offset_of!(Record, id);

// What comparisons read fits four cache lines (a field added above `id` that breaks this
// costs a cache miss per candidate pair), and blocking's sub-keys read the names and the
// birth date from the first.
const _: () = assert!(HOT_BYTES <= 256);
const _: () = assert!(std::mem::offset_of!(Record, name_bag) + 8 <= 64);
const _: () = assert!(std::mem::offset_of!(Record, birth) + size_of::<Option<Date>>() <= 64);

impl Record {
    /// Asks the CPU for the part of the record that comparisons read ([`HOT_BYTES`];
    /// see [`crate::prefetch`]).
    #[inline]
    pub(crate) fn prefetch(&self) {
        crate::prefetch::prefetch_bytes(self, HOT_BYTES);
    }

    /// The house number (empty when unknown).
    pub(crate) fn street_number(&self) -> &Text {
        self.address.as_deref().map_or(&EMPTY, |a| &a.street_number)
    }

    /// The street (empty when unknown).
    pub(crate) fn street(&self) -> &Text {
        self.address.as_deref().map_or(&EMPTY, |a| &a.street)
    }

    /// The second street line (empty when unknown).
    pub(crate) fn street2(&self) -> &Text {
        self.address.as_deref().map_or(&EMPTY, |a| &a.street2)
    }

    /// The postal code (empty when unknown).
    pub(crate) fn postcode(&self) -> &Text {
        self.address.as_deref().map_or(&EMPTY, |a| &a.postcode)
    }

    /// The region (empty when unknown).
    pub(crate) fn region(&self) -> &Text {
        self.address.as_deref().map_or(&EMPTY, |a| &a.region)
    }

    /// Builds a record from raw `(property, value)` pairs; empty values are ignored and
    /// repeated properties accumulate.
    pub fn new(id: impl Into<String>, values: Vec<(Property, String)>) -> Record {
        let values: Vec<(Property, &str)> = values.iter().map(|(p, v)| (*p, v.as_str())).collect();
        Record::build(id.into(), &values, None, true)
    }

    /// [`Record::new`] from borrowed values, with the normalised names and short codes
    /// taken from `memo` when given (the same record either way: see [`Memo`]). Without
    /// `raw`, the raw values are not kept (see [`crate::read_csv_with_raw`]).
    pub(crate) fn build<'a>(
        id: String,
        values: &[(Property, &'a str)],
        memo: Option<&Memo>,
        raw: bool,
    ) -> Record {
        let mut r = Record {
            id,
            ..Record::default()
        };
        let fold = |v: &str| -> Text {
            match memo {
                Some(m) => m.fold(v),
                None => normalize::fold(v).into(),
            }
        };
        // A name part from one column (the common case) is borrowed, not copied.
        let mut given_text: Cow<'_, str> = Cow::Borrowed("");
        let mut family_text: Cow<'_, str> = Cow::Borrowed("");
        let mut full_text: Cow<'_, str> = Cow::Borrowed("");
        let mut street_full: Cow<'_, str> = Cow::Borrowed("");
        let mut phones_text: Vec<&str> = Vec::new();
        let mut address = Address::default();
        for &(p, v) in values {
            let v = v.trim();
            if v.is_empty() {
                continue;
            }
            let append = |s: &mut Cow<'a, str>| {
                if s.is_empty() {
                    *s = Cow::Borrowed(v);
                } else {
                    let s = s.to_mut();
                    s.push(' ');
                    s.push_str(v);
                }
            };
            match p {
                Property::FirstName | Property::MiddleName | Property::FatherName => {
                    append(&mut given_text);
                }
                Property::LastName => append(&mut family_text),
                Property::Name => append(&mut full_text),
                Property::BirthDate => r.birth = r.birth.or_else(|| Date::parse(v)),
                Property::IdNumber => r.ids.push_distinct(&normalize::identifier(v)),
                Property::PassportNumber => {
                    r.passports.push_distinct(&normalize::identifier(v));
                }
                // Read once the record's country is known (national numbers need it).
                Property::Phone => phones_text.push(v),
                Property::Email => r.email = lowercase(v),
                Property::StreetNumber => address.street_number = normalize::fold(v).into(),
                Property::Street => address.street = normalize::fold(v).into(),
                Property::Street2 => address.street2 = normalize::fold(v).into(),
                Property::City => r.city = fold(v),
                Property::PostalCode => address.postcode = normalize::identifier(v).into(),
                Property::Region => address.region = fold(v),
                Property::Country => r.country = fold(v),
                Property::Address => append(&mut street_full),
                Property::Nationality => r.nationality = fold(v),
                Property::Gender => r.gender = gender(&fold(v)).into(),
            }
        }
        for v in phones_text {
            // Not memoised: nearly every phone number of a file is written once (at 1M
            // pooled `palermo sim` records, 228,912 distinct of 231,680).
            let value = r.phone_value(v);
            r.phones.push_distinct(&value);
        }
        if address.street.is_empty() && !street_full.is_empty() {
            address.street = normalize::fold(&street_full).into();
        }
        if !address.is_empty() {
            r.address = Some(Box::new(address));
        }
        let name = |text: &str| match memo {
            Some(m) => m.name(text),
            None => Name::parse(text),
        };
        r.given = name(&given_text);
        r.family = name(&family_text);
        if r.given.is_empty() && r.family.is_empty() && !full_text.is_empty() {
            let (g, f) = match memo {
                Some(m) => m.full_name(&full_text),
                None => split_full_name(&full_text),
            };
            r.given = g;
            r.family = f;
            r.name_split_guessed = true;
        }
        r.name_bag = name_bag(&r.given, &r.family);
        r.thai = r.nationality == "th"
            || (r.nationality.is_empty() && r.country == "th")
            || [&given_text, &family_text, &full_text]
                .iter()
                .any(|t| t.chars().any(crate::thai::is_thai));
        if raw {
            r.raw = RawValues::pack(values);
        }
        r
    }

    /// Builds many records at once, in parallel (as [`Record::new`] each, in input
    /// order). Normalising is most of the cost of loading records (phone numbers,
    /// transliteration, phonetic keys): a store's incremental run loads tens of thousands
    /// of neighbours, and a full run every person. Names and short codes that repeat are
    /// normalised once ([`Memo`]).
    pub fn new_many(rows: Vec<(String, Vec<(Property, String)>)>) -> Vec<Record> {
        use rayon::prelude::*;
        let memo = Memo::default();
        rows.into_par_iter()
            .map(|(id, values)| {
                let values: Vec<(Property, &str)> =
                    values.iter().map(|(p, v)| (*p, v.as_str())).collect();
                Record::build(id, &values, Some(&memo), true)
            })
            .collect()
    }

    /// The key of the full name for term frequencies: the core tokens of given and family
    /// name, sorted, so that a swapped record, and a full name split elsewhere, count with
    /// the straight one; `None` unless both parts are known.
    pub(crate) fn full_name_key(&self) -> Option<String> {
        if self.given.is_empty() || self.family.is_empty() {
            return None;
        }
        let mut tokens: Vec<&str> = self
            .given
            .tokens
            .iter()
            .chain(&self.family.tokens)
            .map(Text::as_str)
            .collect();
        tokens.sort_unstable();
        Some(tokens.join(" "))
    }

    /// A phone number as compared: E.164 when it can be read (national numbers in the
    /// record's country, else its nationality), otherwise the digits [`normalize::phone`]
    /// keeps.
    fn phone_value(&self, text: &str) -> String {
        normalize::phone_e164(text, self.phone_region()).unwrap_or_else(|| normalize::phone(text))
    }

    /// The region national phone numbers are read in: the record's country, else its
    /// nationality, when it is a two-letter code.
    fn phone_region(&self) -> Option<&str> {
        [&self.country, &self.nationality]
            .into_iter()
            .find(|c| c.len() == 2)
            .map(|c| c.as_str())
    }

    /// The raw values of one property, joined with ` | ` (for explanations).
    pub(crate) fn raw_of(&self, props: &[Property]) -> String {
        let vals: Vec<&str> = self
            .raw
            .iter()
            .filter(|(p, _)| props.contains(p))
            .map(|(_, v)| v.trim())
            .collect();
        vals.join(" | ")
    }
}

/// The raw values of a record as read, packed into one heap block for explanations.
///
/// Only explanations read them, yet as a `Vec<(Property, String)>` they were a third of a
/// record's memory (a heap block per value). Each value is stored as its property's index
/// in [`PROPERTIES`], its length as 4 little-endian bytes and its UTF-8 bytes.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawValues(Box<[u8]>);

impl RawValues {
    /// Packs the non-empty values (as read, untrimmed).
    fn pack(values: &[(Property, &str)]) -> RawValues {
        let mut out = Vec::with_capacity(values.iter().map(|(_, v)| v.len() + 5).sum());
        for &(p, v) in values {
            if v.trim().is_empty() {
                continue;
            }
            let (Some(idx), Ok(len)) = (
                PROPERTIES.iter().position(|(q, _)| *q == p),
                u32::try_from(v.len()),
            ) else {
                continue;
            };
            out.push(idx as u8);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(v.as_bytes());
        }
        RawValues(out.into_boxed_slice())
    }

    /// The values in the order they were read.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (Property, &str)> + '_ {
        let mut rest: &[u8] = &self.0;
        std::iter::from_fn(move || {
            let (&idx, tail) = rest.split_first()?;
            let (len, tail) = tail.split_first_chunk::<4>()?;
            let len = usize::try_from(u32::from_le_bytes(*len)).ok()?;
            let (value, tail) = tail.split_at_checked(len)?;
            rest = tail;
            // Written from a `&str` by `pack`, so always valid; an empty string otherwise.
            let value = std::str::from_utf8(value).unwrap_or_default();
            Some((PROPERTIES.get(usize::from(idx))?.0, value))
        })
    }
}

/// See [`Record::name_bag`]: the hash of the sorted core tokens, 0 for fewer than three
/// tokens (two tokens can only be split one way, and the crosswise comparison covers the
/// swap) or when a part is missing.
fn name_bag(given: &Name, family: &Name) -> u64 {
    if given.is_empty() || family.is_empty() || given.tokens.len() + family.tokens.len() < 3 {
        return 0;
    }
    let tokens: Vec<&str> = given
        .tokens
        .iter()
        .chain(family.tokens.iter())
        .map(Text::as_str)
        .collect();
    token_hash(&tokens)
}

/// FNV-1a over the sorted tokens (never 0, which stands for "no name").
fn token_hash<S: AsRef<str>>(tokens: &[S]) -> u64 {
    let mut sorted: Vec<&str> = tokens.iter().map(AsRef::as_ref).collect();
    sorted.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in sorted {
        for &b in t.as_bytes().iter().chain(&[0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h.max(1)
}

/// `text.to_lowercase()`, without the intermediate `String` when the text is ASCII
/// without capitals (most e-mail addresses), where lowering changes nothing.
fn lowercase(text: &str) -> Text {
    if text
        .bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_uppercase())
    {
        Text::new(text)
    } else {
        text.to_lowercase().into()
    }
}

/// The gender code of a folded value.
fn gender(folded: &str) -> String {
    match folded {
        "m" | "male" | "man" | "h" | "homme" | "masculin" => "m".to_owned(),
        "f" | "female" | "woman" | "w" | "femme" | "feminin" => "f".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_split(input: &str, given: &str, family: &str) {
        let (g, f) = split_full_name(input);
        assert_eq!(
            (g.tokens.join(" "), f.tokens.join(" ")),
            (given.to_owned(), family.to_owned()),
            "{input:?}"
        );
    }

    #[test]
    fn splits_full_names() {
        check_split("Ahmed Al-Rashid", "ahmed", "rashid");
        check_split("AL RASHID Ahmed", "ahmed", "rashid");
        check_split("Rashid, Ahmed", "ahmed", "rashid");
        check_split("毛泽东", "ze dong", "mao");
        check_split("Ludwig Mies van der Rohe", "ludwig mies", "rohe");
        check_split("Petrov Ivan Ivanovich", "ivan ivanovich", "petrov");
        check_split("Madonna", "", "madonna");
    }

    #[test]
    fn records_stay_small() {
        // Names share their normalised forms (see `Name`): inline, they made a record
        // 776 bytes, most of the fresh memory a large run writes.
        assert_eq!(std::mem::size_of::<Name>(), 16);
        let size = std::mem::size_of::<Record>();
        assert!(size <= 320, "a record is {size} bytes");
        // What comparisons read fits four cache lines, from a line boundary (a field
        // added above `id` that breaks this costs a cache miss per candidate pair).
        assert_eq!(std::mem::align_of::<Record>(), 64);
        // `HOT_BYTES` and the first line's fields are checked where they are defined.
    }

    #[test]
    fn shared_names_compare_and_read_as_their_forms() {
        let a = Name::parse("Mary Jane");
        let mut b = a.clone();
        assert_eq!(a, b);
        assert_eq!(a.joined, "maryjane");
        b.freq = 3;
        assert_ne!(a, b, "the frequency is the record's own");
        assert_eq!(a.freq, 0);
        let empty = Name::default();
        assert!(empty.is_empty() && empty.joined.is_empty() && empty.nick().is_empty());
        assert!(Name::parse("").is_empty());
        // Shared forms are the same forms; equal forms built apart are not shared.
        assert!(a.same_forms(&b));
        assert!(!a.same_forms(&Name::parse("Mary Jane")));
        assert!(!empty.same_forms(&Name::default()));
        let memo = Memo::default();
        assert!(memo.name("Somchai").same_forms(&memo.name("Somchai")));
    }

    fn check_date(input: &str, expect: Option<(u16, Option<u8>, Option<u8>)>) {
        let got = Date::parse(input).map(|d| (d.year.unwrap_or(0), d.month, d.day));
        assert_eq!(got, expect, "{input:?}");
    }

    #[test]
    fn parses_dates() {
        check_date("1990-04-21", Some((1990, Some(4), Some(21))));
        check_date("19900421", Some((1990, Some(4), Some(21))));
        check_date("21/04/1990", Some((1990, Some(4), Some(21))));
        check_date("21041990", Some((1990, Some(4), Some(21))));
        check_date("1990-04", Some((1990, Some(4), None)));
        check_date("1990", Some((1990, None, None)));
        check_date("19901341", Some((1990, Some(13), Some(41))));
        check_date("", None);
        check_date("n/a", None);
        check_date("12", None);
    }
}
