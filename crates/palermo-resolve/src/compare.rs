//! Per-field comparison levels (exact / close / partial / different / missing).

use crate::normalize;
use crate::record::{Date, Name, Record};
use crate::schema::Property;
use crate::similarity::{jaro_winkler_from, osa_bounded};
use crate::text::Text;

/// Number of comparison fields.
pub const N_FIELDS: usize = 16;
/// The level value that stands for "missing on at least one side".
pub(crate) const MISSING: u8 = u8::MAX;

/// A compared field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Field {
    /// Given names (order-independent, nicknames, phonetic).
    GivenName,
    /// Family names (particles, phonetic).
    FamilyName,
    /// Date of birth.
    BirthDate,
    /// National id numbers.
    IdNumber,
    /// Passport numbers.
    PassportNumber,
    /// Phone numbers.
    Phone,
    /// E-mail addresses.
    Email,
    /// House number.
    StreetNumber,
    /// Street line.
    Street,
    /// Second address line.
    Street2,
    /// City or suburb.
    City,
    /// Postal code.
    PostalCode,
    /// Region or state.
    Region,
    /// Country.
    Country,
    /// Nationality.
    Nationality,
    /// Gender.
    Gender,
}

/// All fields, in index order.
pub const FIELDS: [Field; N_FIELDS] = [
    Field::GivenName,
    Field::FamilyName,
    Field::BirthDate,
    Field::IdNumber,
    Field::PassportNumber,
    Field::Phone,
    Field::Email,
    Field::StreetNumber,
    Field::Street,
    Field::Street2,
    Field::City,
    Field::PostalCode,
    Field::Region,
    Field::Country,
    Field::Nationality,
    Field::Gender,
];

const NAME_LEVELS: &[&str] = &["exact", "variant", "close", "partial", "different"];
const DATE_LEVELS: &[&str] = &["exact", "close", "partial", "month", "year", "different"];
const ID_LEVELS: &[&str] = &["exact", "one-edit", "two-edits", "different"];
const CODE_LEVELS: &[&str] = &["exact", "one-edit", "different"];
const TEXT_LEVELS: &[&str] = &["exact", "close", "partial", "different"];
const EXACT_LEVELS: &[&str] = &["exact", "different"];

impl Field {
    /// The index of this field in comparison vectors.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The field's name as shown in explanations.
    pub fn name(self) -> &'static str {
        match self {
            Field::GivenName => "givenName",
            Field::FamilyName => "familyName",
            Field::BirthDate => "birthDate",
            Field::IdNumber => "idNumber",
            Field::PassportNumber => "passportNumber",
            Field::Phone => "phone",
            Field::Email => "email",
            Field::StreetNumber => "streetNumber",
            Field::Street => "street",
            Field::Street2 => "street2",
            Field::City => "city",
            Field::PostalCode => "postalCode",
            Field::Region => "region",
            Field::Country => "country",
            Field::Nationality => "nationality",
            Field::Gender => "gender",
        }
    }

    /// The labels of this field's levels, best first.
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Field::GivenName | Field::FamilyName => NAME_LEVELS,
            Field::BirthDate => DATE_LEVELS,
            Field::IdNumber | Field::PassportNumber => ID_LEVELS,
            Field::Phone | Field::PostalCode | Field::Email => CODE_LEVELS,
            Field::Street | Field::Street2 | Field::City => TEXT_LEVELS,
            Field::StreetNumber
            | Field::Region
            | Field::Country
            | Field::Nationality
            | Field::Gender => EXACT_LEVELS,
        }
    }

    /// The raw properties shown for this field in explanations.
    pub(crate) fn properties(self) -> &'static [Property] {
        match self {
            Field::GivenName => &[
                Property::FirstName,
                Property::MiddleName,
                Property::FatherName,
                Property::Name,
            ],
            Field::FamilyName => &[Property::LastName],
            Field::BirthDate => &[Property::BirthDate],
            Field::IdNumber => &[Property::IdNumber],
            Field::PassportNumber => &[Property::PassportNumber],
            Field::Phone => &[Property::Phone],
            Field::Email => &[Property::Email],
            Field::StreetNumber => &[Property::StreetNumber],
            Field::Street => &[Property::Street, Property::Address],
            Field::Street2 => &[Property::Street2],
            Field::City => &[Property::City],
            Field::PostalCode => &[Property::PostalCode],
            Field::Region => &[Property::Region],
            Field::Country => &[Property::Country],
            Field::Nationality => &[Property::Nationality],
            Field::Gender => &[Property::Gender],
        }
    }

    /// True if this record has a value for the field.
    pub(crate) fn present(self, r: &Record) -> bool {
        match self {
            Field::GivenName => !r.given.is_empty(),
            Field::FamilyName => !r.family.is_empty(),
            Field::BirthDate => r.birth.is_some(),
            Field::IdNumber => !r.ids.is_empty(),
            Field::PassportNumber => !r.passports.is_empty(),
            Field::Phone => !r.phones.is_empty(),
            Field::Email => !r.email.is_empty(),
            Field::StreetNumber => !r.street_number().is_empty(),
            Field::Street => !r.street().is_empty(),
            Field::Street2 => !r.street2().is_empty(),
            Field::City => !r.city.is_empty(),
            Field::PostalCode => !r.postcode().is_empty(),
            Field::Region => !r.region().is_empty(),
            Field::Country => !r.country.is_empty(),
            Field::Nationality => !r.nationality.is_empty(),
            Field::Gender => !r.gender.is_empty(),
        }
    }
}

/// The comparison of two records: one level per field ([`MISSING`] when unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Gamma {
    pub(crate) levels: [u8; N_FIELDS],
    /// Frequency of the agreeing given name (for term-frequency adjustment).
    pub(crate) given_freq: u32,
    /// Frequency of the agreeing family name.
    pub(crate) family_freq: u32,
    /// Frequency of the agreeing full name when both name parts agree exactly (0 otherwise).
    pub(crate) name_freq: u32,
    /// True when the names matched crosswise (given ↔ family).
    pub(crate) swapped: bool,
    /// True when the names matched as the same words grouped otherwise into given and
    /// family name (a full name split by a guess on one side).
    pub(crate) regrouped: bool,
}

/// Set in [`Gamma::given_freq`] or [`Gamma::family_freq`] when the names are two
/// spellings of one Thai name: `variant` with equal Thai keys (two romanisations, or the
/// script against a romanisation), or `close` by one edit in the Thai script. The
/// frequency below it ([`FREQ_MASK`]) is then the more common of the two names', and
/// scoring weighs the level by it ([`crate::model`]).
pub(crate) const THAI_SPELLING: u32 = 1 << 31;
/// The frequency bits of a name frequency (without [`THAI_SPELLING`]).
pub(crate) const FREQ_MASK: u32 = THAI_SPELLING - 1;

/// Compares two records on the active fields.
pub(crate) fn compare(a: &Record, b: &Record, active: &[bool; N_FIELDS]) -> Gamma {
    let mut levels = [MISSING; N_FIELDS];
    if !active[Field::GivenName.index()] && !active[Field::FamilyName.index()] {
        // Neither name counts (u from random pairs takes the names' from elsewhere):
        // comparing them, the larger part of the work, would be thrown away.
        rest_levels(a, b, active, &mut levels);
        return Gamma {
            levels,
            given_freq: a.given.freq.max(b.given.freq),
            family_freq: a.family.freq.max(b.family.freq),
            name_freq: 0,
            swapped: false,
            regrouped: false,
        };
    }
    // Names: straight and crossed, keep the better alignment.
    let thai = a.thai || b.thai;
    let (gs, fs) = (
        name_level(&a.given, &b.given, thai),
        name_level(&a.family, &b.family, thai),
    );
    let rank = |l: u8| if l == MISSING { 2.5 } else { f32::from(l) };
    let straight = rank(gs) + rank(fs);
    let (gc, fc) = if (gs <= 2 || gs == MISSING)
        && (fs <= 2 || fs == MISSING)
        && (gs, fs) != (MISSING, MISSING)
    {
        (MISSING, MISSING)
    } else {
        let gc = name_level(&a.given, &b.family, thai);
        // The second crosswise level is needed only if the crossing can still win.
        if rank(gc) + 0.5 >= straight {
            (gc, MISSING)
        } else {
            (gc, name_level(&a.family, &b.given, thai))
        }
    };
    let swapped = rank(gc) + rank(fc) + 0.5 < straight;
    let (mut g, mut f) = if swapped { (gc, fc) } else { (gs, fs) };
    // A full name read from one column was split by a guess (`Ng Siew Lan`: is Ng the
    // family name or a given name?). When the same words make up both records' names but
    // the guess grouped them otherwise, the names agree exactly.
    let mut regrouped = (g, f) != (0, 0)
        && a.name_bag != 0
        && a.name_bag == b.name_bag
        && (a.name_split_guessed || b.name_split_guessed);
    let mut swapped = swapped && !regrouped;
    if regrouped {
        (g, f) = (0, 0);
    } else if g > 1 || f > 1 {
        // The same words grouped otherwise but one, and that one a typo of the other's
        // (`Cheah Boon Hock` / given `Boon Hok` + family `Cheah`): the bag of words differs,
        // so the regrouping above cannot see it.
        if let Some((rg, rf)) = regroup_near(a, b, thai)
            && rank(rg) + rank(rf) < rank(g) + rank(f)
        {
            (g, f) = (rg, rf);
            regrouped = true;
            swapped = false;
        }
    }
    levels[Field::GivenName.index()] = g;
    levels[Field::FamilyName.index()] = f;
    let (given_freq, family_freq) = if regrouped {
        // The frequencies of the record whose parts were given as such: the guessed
        // split's parts (`ng siew`) are rare only because the split is wrong.
        match (a.name_split_guessed, b.name_split_guessed) {
            (true, false) => (b.given.freq, b.family.freq),
            (false, true) => (a.given.freq, a.family.freq),
            _ => (
                a.given.freq.max(b.given.freq),
                a.family.freq.max(b.family.freq),
            ),
        }
    } else if swapped {
        (
            a.given.freq.max(b.family.freq),
            a.family.freq.max(b.given.freq),
        )
    } else {
        (
            a.given.freq.max(b.given.freq),
            a.family.freq.max(b.family.freq),
        )
    };
    let name_freq = if g == 0 && f == 0 {
        a.name_freq.max(b.name_freq)
    } else {
        0
    };
    // Two spellings of one Thai name (romanisations with the same Thai key, or one letter
    // apart in the script): the name's frequency weighs them, as it does an exact name
    // (`Model::part`), marked so that they are not taken for an exact one.
    let thai_spelling = |x: &Name, y: &Name, l: u8, freq: u32| {
        let romanised = l == 1 && x.thai_key.len() > 1 && x.thai_key == y.thai_key;
        let script_typo =
            l == 2 && !x.script.is_empty() && !y.script.is_empty() && x.script != y.script;
        if thai && (romanised || script_typo) && freq > 0 {
            freq.min(FREQ_MASK) | THAI_SPELLING
        } else {
            freq
        }
    };
    let (given_freq, family_freq) = if swapped || regrouped {
        (given_freq, family_freq)
    } else {
        (
            thai_spelling(&a.given, &b.given, g, given_freq),
            thai_spelling(&a.family, &b.family, f, family_freq),
        )
    };
    rest_levels(a, b, active, &mut levels);
    if !active[0] {
        levels[0] = MISSING;
    }
    if !active[1] {
        levels[1] = MISSING;
    }
    Gamma {
        levels,
        given_freq,
        family_freq,
        name_freq,
        swapped,
        regrouped,
    }
}

/// Most words a name may have for [`regroup_near`] (longer names are left as they are).
const REGROUP_MAX_WORDS: usize = 6;

/// The name levels of two records when one record's full name was split into given and
/// family name by a guess and its words are the other record's words but one, which is
/// one edit from the word it stands for (`Cheah Boon Hock` read from a full-name column,
/// split as given `Cheah Boon` + family `Hock`, against given `Boon Hok` + family
/// `Cheah`). The guessed record's words are regrouped into the other record's given and
/// family name (the typo in the part it stands in) and each part is compared as usual.
/// `None` unless exactly one record's split was guessed, both names have the same number
/// of words (three or more) and all but one pair of them are equal.
fn regroup_near(a: &Record, b: &Record, thai: bool) -> Option<(u8, u8)> {
    let (guess, known) = match (a.name_split_guessed, b.name_split_guessed) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => return None,
    };
    let (given, family) = (&known.given.tokens, &known.family.tokens);
    let n = given.len() + family.len();
    if given.is_empty()
        || family.is_empty()
        || !(3..=REGROUP_MAX_WORDS).contains(&n)
        || guess.given.tokens.len() + guess.family.tokens.len() != n
    {
        return None;
    }
    let words: Vec<&Text> = guess
        .given
        .tokens
        .iter()
        .chain(guess.family.tokens.iter())
        .collect();
    // Each of the known record's words takes an equal unused word of the guessed name
    // (equal words are interchangeable, so taking the first is as good as any choice).
    let mut used = [false; REGROUP_MAX_WORDS];
    let mut taken = [usize::MAX; REGROUP_MAX_WORDS];
    let mut unmatched = None;
    for (j, target) in given.iter().chain(family.iter()).enumerate() {
        match (0..n).find(|&i| !used[i] && words[i] == target) {
            Some(i) => {
                used[i] = true;
                taken[j] = i;
            }
            None if unmatched.is_none() => unmatched = Some((j, target)),
            None => return None,
        }
    }
    let (j, target) = unmatched?;
    let i = (0..n).find(|&i| !used[i])?;
    if osa_bounded(words[i], target, 1) > 1 {
        return None;
    }
    taken[j] = i;
    let part = |range: std::ops::Range<usize>| {
        let tokens: Vec<String> = taken[range]
            .iter()
            .map(|&i| words[i].as_str().to_owned())
            .collect();
        Name::from_tokens(tokens.clone(), &tokens)
    };
    let (g, f) = (part(0..given.len()), part(given.len()..n));
    Some((
        name_level(&known.given, &g, thai),
        name_level(&known.family, &f, thai),
    ))
}

/// The levels of the active fields other than the names.
fn rest_levels(a: &Record, b: &Record, active: &[bool; N_FIELDS], levels: &mut [u8; N_FIELDS]) {
    for field in FIELDS.iter().skip(2) {
        if !active[field.index()] {
            continue;
        }
        levels[field.index()] = match field {
            Field::BirthDate => date_level(a.birth.as_ref(), b.birth.as_ref()),
            Field::IdNumber => best(&a.ids, &b.ids, id_level),
            Field::PassportNumber => best(&a.passports, &b.passports, id_level),
            Field::Phone => best(&a.phones, &b.phones, phone_level),
            Field::Email => email_level(&a.email, &b.email),
            Field::StreetNumber => exact_level(a.street_number(), b.street_number()),
            Field::Street => text_level(a.street(), b.street()),
            Field::Street2 => text_level(a.street2(), b.street2()),
            Field::City => text_level(&a.city, &b.city),
            Field::PostalCode => code_level(a.postcode(), b.postcode()),
            Field::Region => exact_level(a.region(), b.region()),
            Field::Country => exact_level(&a.country, &b.country),
            Field::Nationality => exact_level(&a.nationality, &b.nationality),
            Field::Gender => exact_level(&a.gender, &b.gender),
            Field::GivenName | Field::FamilyName => MISSING,
        };
    }
}

fn best(a: &[Text], b: &[Text], f: fn(&str, &str) -> u8) -> u8 {
    let mut out = MISSING;
    for x in a {
        for y in b {
            out = out.min(f(x, y));
        }
    }
    out
}

/// Fewest letters two names in Thai script must both have for two edits between them to
/// be `partial` rather than `different`.
const MIN_SCRIPT_PARTIAL: usize = 4;

/// Name levels: 0 exact, 1 variant (phonetic key or nickname), 2 close (one edit or
/// Jaro-Winkler ≥ 0.92), 3 partial (token containment, initials, JW ≥ 0.80), 4 different.
/// The thresholds do not depend on length, so "Jon"/"John" and "Jonathan"/"Jonathon" land
/// on the same level. With `thai` (either record is of Thai origin), equal Thai keys
/// (Chaiphet / Jaipet) are a variant too.
pub(crate) fn name_level(a: &Name, b: &Name, thai: bool) -> u8 {
    // One shared set of forms (both records had the same raw name): equal `joined`.
    if a.same_forms(b) {
        return if a.is_empty() { MISSING } else { 0 };
    }
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    // Both written in Thai script: the script decides, not the romanisation (ใจดี and
    // ชัยดี both romanise to `chaidi`; a typo in the script can land letters apart).
    if thai && !a.script.is_empty() && !b.script.is_empty() && a.script != b.script {
        return match osa_bounded(&a.script, &b.script, 2) {
            0 | 1 => 2,
            // Two typos (one on each side), or two names a letter or two apart.
            2 if a.script.len().min(b.script.len()) >= MIN_SCRIPT_PARTIAL => 3,
            _ if contained(a, b) || contained(b, a) => 3,
            _ => 4,
        };
    }
    if a.joined == b.joined
        || a.all_joined == b.all_joined
        || (!a.required.is_empty() && a.required == b.required)
        || (a.bag == b.bag && sorted_eq(&a.tokens, &b.tokens))
    {
        return 0;
    }
    if (a.key.len() > 1 && a.key == b.key)
        || (a.keys == b.keys && a.keys.iter().all(|k| k.len() > 1))
        || nickname_variant(a, b)
        || (thai && a.thai_key.len() > 1 && a.thai_key == b.thai_key)
    {
        return 1;
    }
    // The cheap bounded edit distance first: Jaro–Winkler only when it cannot decide.
    // With particles on one side only (`Alrasheed` / `al-Rashid`) the forms with
    // particles compare too; with particles on both sides they add only a shared prefix
    // (`binti Razak` / `binti Azlan` are `bintirazak` / `bintiazlan`, Jaro–Winkler 0.92),
    // which said nothing about the names and made namesakes' fathers close.
    let particles =
        (a.all_joined.len() != a.joined.len()) != (b.all_joined.len() != b.joined.len());
    if osa_bounded(&a.joined, &b.joined, 1) <= 1
        || (particles && osa_bounded(&a.all_joined, &b.all_joined, 1) <= 1)
    {
        return 2;
    }
    // The similarity once (below 0.80 it is only bounded): then against both thresholds.
    let jw = if particles {
        jaro_winkler_from(&a.joined, &b.joined, 0.80).max(jaro_winkler_from(
            &a.all_joined,
            &b.all_joined,
            0.80,
        ))
    } else {
        jaro_winkler_from(&a.joined, &b.joined, 0.80)
    };
    if jw < 0.80 {
        return if contained(a, b) || contained(b, a) {
            3
        } else {
            4
        };
    }
    if jw >= 0.92 { 2 } else { 3 }
}

fn sorted_eq(a: &[Text], b: &[Text]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut x: Vec<&Text> = a.iter().collect();
    let mut y: Vec<&Text> = b.iter().collect();
    x.sort_unstable();
    y.sort_unstable();
    x == y
}

fn nickname_variant(a: &Name, b: &Name) -> bool {
    !a.nick().is_empty() && nicks_meet(a.nick(), b.nick()) && a.tokens[1..] == b.tokens[1..]
}

/// Two tokens share a nickname group (their groups looked up in advance).
fn nicks_meet(a: &[u16], b: &[u16]) -> bool {
    a.iter().any(|g| b.contains(g))
}

/// Every token of `small` agrees (exactly, phonetically, by nickname, or as an initial)
/// with some token of `big`, which has more tokens.
fn contained(small: &Name, big: &Name) -> bool {
    if small.tokens.len() >= big.tokens.len() {
        return false;
    }
    small
        .tokens
        .iter()
        .zip(&small.token_keys)
        .zip(small.token_nicks.as_slice())
        .all(|((s, sk), sn)| {
            big.tokens
                .iter()
                .zip(&big.token_keys)
                .zip(big.token_nicks.as_slice())
                .any(|((t, tk), tn)| {
                    s == t
                        || (s.len() == 1 && t.starts_with(s.as_str()))
                        || (s.len() > 2 && sk == tk)
                        || nicks_meet(sn, tn)
                })
        })
}

/// Date levels: 0 exact, 1 close (day and month swapped), 2 partial (two complete dates
/// one digit or one transposition apart, with the same year and month, or one year off
/// with the same day and month), 3 month (same year and month where one side knows no
/// day), 4 year (same year where one side knows no month), 5 different.
pub(crate) fn date_level(a: Option<&Date>, b: Option<&Date>) -> u8 {
    let (Some(a), Some(b)) = (a, b) else {
        return MISSING;
    };
    if a == b && a.day.is_some() {
        return 0;
    }
    match (a.digit_bytes(), b.digit_bytes()) {
        (Some(x), Some(y)) => {
            if x == y {
                0
            } else if a.year == b.year && a.month == b.day && a.day == b.month {
                // A swap is a clerical pattern of its own (day-first against month-first
                // writing); a slip of one digit was lumped with it, so EM could not tell
                // them apart and namesakes born a digit apart took the swaps' weight. Now
                // the slip is `partial`, a near miss whose weight EM fits from the data:
                // at the pooled `palermo sim` worlds (where dates are swapped but never
                // mistyped) pairwise F1 rose at 1M from 0.8776 to 0.8829 (seed 2: 0.8766
                // to 0.8824), at 100k from 0.9185 to 0.9208 (0.9191 to 0.9213).
                1
            } else if (a.year == b.year && a.month == b.month)
                || osa_bounded(
                    std::str::from_utf8(&x).unwrap_or_default(),
                    std::str::from_utf8(&y).unwrap_or_default(),
                    1,
                ) <= 1
                || (a.month == b.month
                    && a.day == b.day
                    && a.year.zip(b.year).is_some_and(|(p, q)| p.abs_diff(q) == 1))
            {
                2
            } else {
                // Two complete dates that differ in month and day (and are no swap, slip
                // of one digit or transposition) are different dates, even in the same year: "same
                // year" is evidence only when one side knows no more than the year.
                5
            }
        }
        // At least one partial date: only the known parts can agree. Year and month
        // agreeing is a level of its own: about twelve times rarer among strangers than
        // the year alone, it was lumped with "same year", so year-only pairs of namesakes
        // borrowed its weight and year-and-month pairs of one person lacked it.
        // A year and month against a complete date also agree with the date read the
        // other way round (`1993-02` against `1993-07-02`: the day-month swap that `close`
        // scores between complete dates, written without its day).
        _ => match (a.month, b.month) {
            _ if a.year != b.year => 5,
            (Some(p), Some(q)) if p == q => 3,
            (Some(p), Some(q))
                if (a.day == Some(q) && b.day.is_none())
                    || (b.day == Some(p) && a.day.is_none()) =>
            {
                3
            }
            (Some(_), Some(_)) => 5,
            _ => 4,
        },
    }
}

fn id_level(a: &str, b: &str) -> u8 {
    match osa_bounded(a, b, 2) {
        0 => 0,
        1 => 1,
        2 => 2,
        _ => 3,
    }
}

fn code_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    match osa_bounded(a, b, 1) {
        0 => 0,
        1 => 1,
        _ => 2,
    }
}

/// Phone levels: E.164 numbers compare in full (the country code included); when either
/// side could not be read as E.164, their subscriber digits compare.
fn phone_level(a: &str, b: &str) -> u8 {
    if a.starts_with('+') && b.starts_with('+') {
        code_level(a, b)
    } else {
        code_level(&normalize::phone(a), &normalize::phone(b))
    }
}

fn email_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    if a == b {
        return 0;
    }
    // The local parts without dots, compared without building them (every candidate pair
    // with two different addresses comes here).
    fn local(s: &str) -> impl Iterator<Item = u8> + '_ {
        s.split('@')
            .next()
            .unwrap_or("")
            .bytes()
            .filter(|&c| c != b'.')
    }
    if local(a).eq(local(b)) || osa_bounded(a, b, 1) <= 1 {
        1
    } else {
        2
    }
}

fn exact_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        MISSING
    } else if a == b {
        0
    } else {
        1
    }
}

fn text_level(a: &str, b: &str) -> u8 {
    if a.is_empty() || b.is_empty() {
        return MISSING;
    }
    if a == b {
        return 0;
    }
    if osa_bounded(a, b, 1) <= 1 {
        return 1;
    }
    let jw = jaro_winkler_from(a, b, 0.80);
    if jw < 0.80 {
        return 3;
    }
    if jw >= 0.92 { 1 } else { 2 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_name(a: &str, b: &str, expect: &str) {
        check_name_as(a, b, false, expect);
    }

    fn check_name_as(a: &str, b: &str, thai: bool, expect: &str) {
        let level = name_level(&Name::parse(a), &Name::parse(b), thai);
        let label = if level == MISSING {
            "missing"
        } else {
            NAME_LEVELS[usize::from(level)]
        };
        assert_eq!(label, expect, "{a:?} vs {b:?}");
    }

    #[test]
    fn name_levels() {
        check_name("Ahmed", "AHMED", "exact");
        check_name("Al-Rashid", "al Rashid", "exact");
        check_name("Al-Rashid", "Rashid", "exact");
        check_name("Alrashid", "Al Rashid", "exact");
        check_name("Ivan Ivanovich", "Ivan", "exact");
        check_name("Mary Jane", "Jane Mary", "exact");
        check_name("Mohammed", "Muhammad", "variant");
        check_name("Jon", "John", "variant");
        check_name("Jonathan", "Jonathon", "variant");
        check_name("Bill", "William", "variant");
        check_name("Alrasheed", "Al-Rashid", "close");
        check_name("Rachael", "Rachel", "variant");
        check_name("lachlnn", "lachlan", "variant");
        check_name("Lachlan", "Lachlam", "close");
        check_name("Mary Jane", "Mary", "partial");
        check_name("J", "John", "different");
        check_name("binti Razak", "binti Azlan", "different");
        check_name("Alrasheed", "al-Rashed", "close");
        check_name("Smith", "Jones", "different");
        check_name("", "Jones", "missing");
        // Thai romanisation variants are variants only for names of Thai origin.
        check_name("ใจเพชร", "Jaipet", "partial");
        check_name_as("ใจเพชร", "Jaipet", true, "variant");
        check_name_as("Siriphon", "Siriporn", true, "variant");
        check_name_as("Somchai", "Kittee", true, "different");
    }

    #[test]
    fn thai_script_names_compare_by_the_script() {
        // Different names that romanise alike are not the same name.
        check_name_as("ใจดี", "ชัยดี", false, "exact");
        check_name_as("ใจดี", "ชัยดี", true, "different");
        check_name_as("ไชยทอง", "ชัยทอง", true, "partial");
        // Two typos, one on each side, are two edits apart: partial, not different.
        check_name_as("ศักดดิ์ไชย", "ศัักดิ์ไชย", true, "partial");
        check_name_as("ใจ", "ชัย", true, "different");
        // A typo of one letter in the script is close, however it romanises.
        check_name_as("แสงศรี", "แสฆศรี", true, "close");
        check_name_as("สมชาย", "สมขาย", true, "close");
        // The same script, or a romanisation against the script, as before.
        check_name_as("ใจดี", "ใจดี", true, "exact");
        check_name_as("ใจดี", "Chaidi", true, "exact");
        check_name_as("ใจดี", "Jaidee", true, "variant");
        // Full names split by the guess keep each part's script.
        let (g, f, _) = name_levels_of(&full("สมชาย ใจดี"), &full("สมชาย ชัยดี"));
        assert_eq!((g, f), ("exact", "different"));
        let (g, f, _) = name_levels_of(&full("สมชาย ใจดี"), &parts("สมชาย", "ใจดี"));
        assert_eq!((g, f), ("exact", "exact"));
    }

    /// Names one letter apart in the Thai script carry the more common name's frequency,
    /// marked for scoring; other close names and exact ones do not carry the mark.
    #[test]
    fn thai_script_typo_carries_the_frequency() {
        let with_freq = |given: &str, family: &str, freq: u32| {
            let mut r = parts(given, family);
            r.given.freq = freq;
            r.family.freq = freq;
            r.thai = true;
            r
        };
        let g = compare(
            &with_freq("สมชาย", "ใจดี", 40),
            &with_freq("สมขาย", "ใจดี", 1),
            &[true; N_FIELDS],
        );
        assert_eq!((g.levels[0], g.levels[1]), (2, 0));
        assert_eq!(g.given_freq, 40 | THAI_SPELLING);
        assert_eq!(g.family_freq, 40);
        let g = compare(
            &with_freq("Somchai", "Jaidee", 40),
            &with_freq("Somchak", "Jaidee", 1),
            &[true; N_FIELDS],
        );
        assert_eq!((g.levels[0], g.given_freq), (2, 40));
    }

    /// Two spellings of one Thai name (the script against a romanisation, or two
    /// romanisations with one Thai key) carry the frequency as a script typo does; other
    /// variants (nicknames, phonetic keys) and records not of Thai origin do not.
    #[test]
    fn thai_romanisations_carry_the_frequency() {
        let with_freq = |given: &str, family: &str, freq: u32, thai: bool| {
            let mut r = parts(given, family);
            r.given.freq = freq;
            r.family.freq = freq;
            r.thai = thai;
            r
        };
        let all = &[true; N_FIELDS];
        for (x, y) in [("ใจเพชร", "Jaipet"), ("Siriphon", "Siriporn")] {
            let g = compare(
                &with_freq(x, "Jaidee", 40, true),
                &with_freq(y, "Jaidee", 7, false),
                all,
            );
            assert_eq!(g.levels[0], 1, "{x} / {y}");
            assert_eq!(g.given_freq, 40 | THAI_SPELLING, "{x} / {y}");
            // Neither record of Thai origin: a variant like any other.
            let g = compare(
                &with_freq(x, "Jaidee", 40, false),
                &with_freq(y, "Jaidee", 7, false),
                all,
            );
            assert_eq!(g.given_freq & THAI_SPELLING, 0, "{x} / {y}");
        }
        let g = compare(
            &with_freq("Bill", "Jaidee", 40, true),
            &with_freq("William", "Jaidee", 7, true),
            all,
        );
        assert_eq!((g.levels[0], g.given_freq), (1, 40));
    }

    fn full(name: &str) -> Record {
        Record::new("a", vec![(Property::Name, name.to_owned())])
    }

    fn parts(given: &str, family: &str) -> Record {
        Record::new(
            "b",
            vec![
                (Property::FirstName, given.to_owned()),
                (Property::LastName, family.to_owned()),
            ],
        )
    }

    fn name_levels_of(a: &Record, b: &Record) -> (&'static str, &'static str, bool) {
        let g = compare(a, b, &[true; N_FIELDS]);
        let label = |l: u8| {
            if l == MISSING {
                "missing"
            } else {
                NAME_LEVELS[usize::from(l)]
            }
        };
        (label(g.levels[0]), label(g.levels[1]), g.regrouped)
    }

    #[test]
    fn guessed_split_with_a_typo_regroups() {
        // Split by the guess as given `cheah boon` + family `hock`: without the regrouping
        // the given names are far apart and the family names different.
        let guessed = full("Cheah Boon Hock");
        let known = parts("Boon Hok", "Cheah");
        assert!(name_levels_of(&guessed, &known).2);
        let (g, f, _) = name_levels_of(&known, &guessed);
        assert!(matches!(g, "variant" | "close"), "given {g}");
        assert_eq!(f, "exact");
        // The typo in the family name.
        let (g, f, regrouped) =
            name_levels_of(&full("Cheah Boon Hock"), &parts("Boon Hock", "Chaeh"));
        assert!(regrouped);
        assert_eq!(g, "exact");
        assert!(matches!(f, "variant" | "close"), "family {f}");
        // The same words exactly stay the exact regrouping.
        assert_eq!(
            name_levels_of(&full("Cheah Boon Hock"), &parts("Boon Hock", "Cheah")),
            ("exact", "exact", true)
        );
    }

    #[test]
    fn guessed_split_regroups_only_near_names() {
        // Two words differ: no regrouping.
        let (_, _, regrouped) =
            name_levels_of(&full("Cheah Boon Hock"), &parts("Bon Hok", "Cheah"));
        assert!(!regrouped);
        // One word more than one edit off.
        let (_, _, regrouped) =
            name_levels_of(&full("Cheah Boon Hock"), &parts("Boon Kiat", "Cheah"));
        assert!(!regrouped);
        // Different numbers of words.
        let (_, _, regrouped) =
            name_levels_of(&full("Cheah Boon Hock"), &parts("Boon Hok Lee", "Cheah"));
        assert!(!regrouped);
        // Both split as given: nothing was guessed.
        let (_, _, regrouped) =
            name_levels_of(&parts("Cheah Boon", "Hock"), &parts("Boon Hok", "Cheah"));
        assert!(!regrouped);
    }

    fn check_date(a: &str, b: &str, expect: &str) {
        let level = date_level(Date::parse(a).as_ref(), Date::parse(b).as_ref());
        let label = if level == MISSING {
            "missing"
        } else {
            DATE_LEVELS[usize::from(level)]
        };
        assert_eq!(label, expect, "{a:?} vs {b:?}");
    }

    #[test]
    fn date_levels() {
        check_date("1990-04-21", "19900421", "exact");
        check_date("1990-04-12", "1990-12-04", "close");
        check_date("1990-04-21", "1990-04-27", "partial");
        check_date("1990-04-21", "1990-04-12", "partial");
        check_date("1990-04-21", "1990-04-03", "partial");
        check_date("1990-04-21", "1991-04-21", "partial");
        check_date("1990-04-21", "1989-04-21", "partial");
        check_date("1990-04-21", "1990-09-02", "different");
        check_date("1990", "1990-04-21", "year");
        check_date("1990-05", "1990-04-21", "different");
        check_date("1990-04", "1990-04-21", "month");
        check_date("1990-04-21", "1990-04", "month");
        check_date("1990-04", "1990-04", "month");
        check_date("1990-04", "1991-04-21", "different");
        check_date("1990-02", "1990-07-02", "month");
        check_date("1990-07-02", "1990-02", "month");
        check_date("1990-03", "1990-07-02", "different");
        check_date("1990", "1990-04", "year");
        check_date("1990", "1990", "year");
        check_date("1990", "1991-04-21", "different");
        check_date("1990-04-21", "1975-01-01", "different");
        check_date("", "1975-01-01", "missing");
    }
}
