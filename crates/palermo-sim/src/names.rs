//! Names: pools per culture, and how each agency writes a person's name in
//! its own script or romanisation.
//!
//! A pool entry is a list of forms: the native form first, then Latin
//! variants (`[0]` RTGS/standard, `[1]` an alternative such as Thai
//! phonetic spelling, `[2]` a Dutch/German-style spelling where one exists).
//! Cyrillic names carry only the native form; Latin forms are produced by
//! [`translit_cyrillic`] under the agency's [`CyrConvention`].

use crate::country::{Profile, Script};

/// The naming culture of a person (decides pools, script and name order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Culture {
    Thai,
    Malay,
    MalaysianChinese,
    Dutch,
    Arabic,
    Ukrainian,
    Russian,
    German,
}

impl Culture {
    /// The script names of this culture are natively written in.
    pub(crate) fn script(self) -> Script {
        match self {
            Culture::Thai => Script::Thai,
            Culture::Arabic => Script::Arabic,
            Culture::Ukrainian | Culture::Russian => Script::Cyrillic,
            Culture::Malay | Culture::MalaysianChinese | Culture::Dutch | Culture::German => {
                Script::Latin
            }
        }
    }

    /// The lower-case name used in truth files.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Culture::Thai => "thai",
            Culture::Malay => "malay",
            Culture::MalaysianChinese => "malaysian_chinese",
            Culture::Dutch => "dutch",
            Culture::Arabic => "arabic",
            Culture::Ukrainian => "ukrainian",
            Culture::Russian => "russian",
            Culture::German => "german",
        }
    }
}

/// How an agency romanises Cyrillic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CyrConvention {
    /// English/BGN-style (`Shevchenko`, `Yuliya`).
    English,
    /// Dutch (`Sjevtsjenko`, `Joelija`).
    Dutch,
    /// German (`Schewtschenko`, `Julija`).
    German,
    /// Ukrainian national romanisation (`Oleh`, `Yuliia`); also used in MRZs of UA passports.
    Ukrainian,
    /// ICAO 9303 transliteration used in machine-readable zones.
    Icao,
}

use crate::name_pools::{
    ARABIC_FEMALE, ARABIC_MALE, ARABIC_SURNAME, CHINESE_GIVEN, CHINESE_SURNAME, DUTCH_FEMALE,
    DUTCH_MALE, DUTCH_PLACES, DUTCH_SURNAME, DUTCH_WORDS, Forms, GERMAN_FEMALE, GERMAN_MALE,
    GERMAN_SURNAME, MALAY_FEMALE, MALAY_MALE, RUS_FEMALE, RUS_MALE, RUS_PATRONYMIC, RUS_SURNAME,
    THAI_FEMALE, THAI_MALE, THAI_MORPHEMES, THAI_SURNAME, UKR_FEMALE, UKR_MALE, UKR_PATRONYMIC,
    UKR_SURNAME,
};

/// A person's true name, as indexes into the pools of their culture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NameKey {
    pub(crate) culture: Culture,
    pub(crate) female: bool,
    pub(crate) given: u16,
    pub(crate) surname: u16,
    /// Patronymic (Cyrillic cultures) or the father's given name (Malay `bin`/`binti`).
    pub(crate) father: u16,
    /// A first element of compound Malay given names (`Muhammad`, `Nur`); 0 = none.
    pub(crate) prefix: u8,
}

/// A name as one agency writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct WrittenName {
    pub(crate) given: String,
    /// The surname particle (`van der`, `Al`, `bin`), possibly empty.
    pub(crate) particle: String,
    pub(crate) surname: String,
    /// The patronymic, written only by agencies that record one.
    pub(crate) patronymic: String,
    /// Whether the culture writes the surname first (`Tan Wei Ming`).
    pub(crate) surname_first: bool,
}

impl WrittenName {
    /// The surname with its particle (`van der Meer`, `Al-Rashid`, `bin Ahmad`).
    pub(crate) fn full_surname(&self) -> String {
        join_particle(&self.particle, &self.surname)
    }

    /// The full name in the culture's usual order.
    pub(crate) fn full(&self) -> String {
        let surname = self.full_surname();
        let parts: Vec<&str> = if self.surname_first {
            vec![&surname, &self.given]
        } else {
            vec![&self.given, &self.patronymic, &surname]
        };
        parts
            .into_iter()
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn join_particle(particle: &str, surname: &str) -> String {
    match particle {
        "" => surname.to_owned(),
        // Arabic articles attach with a hyphen in most romanisations.
        "Al" | "El" | "At" | "Az" => format!("{particle}-{surname}"),
        _ => format!("{particle} {surname}"),
    }
}

struct Pools {
    male: &'static [Forms],
    female: &'static [Forms],
    /// Listed surnames; some cultures add generated ones (see [`surname_forms`]).
    surname: &'static [Forms],
    patronymic: &'static [(&'static str, &'static str)],
}

fn pools(culture: Culture) -> Pools {
    const NONE: &[(&str, &str)] = &[];
    let (male, female, surname, patronymic) = match culture {
        Culture::Thai => (THAI_MALE, THAI_FEMALE, THAI_SURNAME, NONE),
        Culture::Malay => (MALAY_MALE, MALAY_FEMALE, MALAY_MALE, NONE),
        Culture::MalaysianChinese => (CHINESE_GIVEN, CHINESE_GIVEN, CHINESE_SURNAME, NONE),
        Culture::Dutch => (DUTCH_MALE, DUTCH_FEMALE, DUTCH_SURNAME, NONE),
        Culture::German => (GERMAN_MALE, GERMAN_FEMALE, GERMAN_SURNAME, NONE),
        Culture::Arabic => (ARABIC_MALE, ARABIC_FEMALE, ARABIC_SURNAME, NONE),
        Culture::Ukrainian => (UKR_MALE, UKR_FEMALE, UKR_SURNAME, UKR_PATRONYMIC),
        Culture::Russian => (RUS_MALE, RUS_FEMALE, RUS_SURNAME, RUS_PATRONYMIC),
    };
    Pools {
        male,
        female,
        surname,
        patronymic,
    }
}

/// Draws a random true name of `culture`.
pub(crate) fn draw(rng: &mut crate::rng::Rng, culture: Culture, female: bool) -> NameKey {
    let p = pools(culture);
    let given_pool = if female { p.female } else { p.male };
    let father_len = if p.patronymic.is_empty() {
        MALAY_MALE.len()
    } else {
        p.patronymic.len()
    };
    NameKey {
        culture,
        female,
        given: rng.index(given_pool.len()) as u16,
        surname: rng.index(surname_count(culture)) as u16,
        father: rng.index(father_len) as u16,
        prefix: if culture == Culture::Malay {
            rng.below(4) as u8
        } else {
            0
        },
    }
}

/// The name as written in its own culture's script (the truth files' `native_name`).
pub(crate) fn native(key: &NameKey) -> WrittenName {
    write(
        key,
        key.culture.script(),
        CyrConvention::Ukrainian,
        0,
        false,
    )
}

/// The name as the agency of `profile` writes it; with `respell` the agency
/// uses a less usual spelling (another romanisation, a spelling variant).
pub(crate) fn for_agency(key: &NameKey, profile: &Profile, respell: bool) -> WrittenName {
    let latin = match (respell, profile.latin_variant) {
        (false, usual) => usual,
        (true, 0) => 1,
        (true, _) => 0,
    };
    write(key, profile.script, profile.cyr, latin, respell)
}

/// The name as printed in a passport's MRZ: ICAO transliteration, upper case.
pub(crate) fn for_mrz(key: &NameKey) -> WrittenName {
    let conv = if key.culture == Culture::Ukrainian {
        CyrConvention::Ukrainian
    } else {
        CyrConvention::Icao
    };
    write(key, Script::Latin, conv, 0, false)
}

/// Writes `key` in `script`: the native form when the culture uses that
/// script, otherwise Latin form number `latin` (or a transliteration).
fn write(
    key: &NameKey,
    script: Script,
    cyr: CyrConvention,
    latin: usize,
    respell: bool,
) -> WrittenName {
    let p = pools(key.culture);
    let given_pool = if key.female { p.female } else { p.male };
    let given_forms = given_pool[usize::from(key.given) % given_pool.len()];
    let mut surname_owned = surname_forms(key.culture, usize::from(key.surname));
    if key.female && key.culture == Culture::Ukrainian {
        // Ukrainian adjectival surnames agree in gender: Ковальський, Ковальська.
        for form in &mut surname_owned {
            if let Some(stem) = form.strip_suffix("ський") {
                *form = format!("{stem}ська");
            }
        }
    }
    let surname_forms: Vec<&str> = surname_owned.iter().map(String::as_str).collect();
    let ukrainian = key.culture == Culture::Ukrainian;
    let native = script == key.culture.script();
    let form = |forms: &[&str]| -> String {
        match key.culture.script() {
            Script::Cyrillic if !native => translit_cyrillic(forms[0], cyr, ukrainian),
            Script::Latin => forms[usize::from(respell).min(forms.len() - 1)].to_owned(),
            _ if native => forms[0].to_owned(),
            _ => forms[1 + latin.min(forms.len() - 2)].to_owned(),
        }
    };
    let mut given = form(given_forms);
    if key.culture == Culture::Malay && key.prefix > 0 {
        let prefixes = if key.female {
            ["Nur", "Siti", "Nurul"]
        } else {
            ["Muhammad", "Mohd", "Ahmad"]
        };
        given = format!("{} {given}", prefixes[usize::from(key.prefix - 1) % 3]);
    }
    let (particle, surname) = match key.culture {
        Culture::Malay => {
            let father = MALAY_MALE[usize::from(key.father) % MALAY_MALE.len()][0];
            (
                if key.female { "binti" } else { "bin" }.to_owned(),
                father.to_owned(),
            )
        }
        _ => split_particle(&form(&surname_forms)),
    };
    let surname = if key.female && key.culture == Culture::Russian {
        feminine_russian(&surname)
    } else {
        surname
    };
    let patronymic = if p.patronymic.is_empty() {
        String::new()
    } else {
        let (m, f) = p.patronymic[usize::from(key.father) % p.patronymic.len()];
        let native_form = if key.female { f } else { m };
        if native {
            native_form.to_owned()
        } else {
            translit_cyrillic(native_form, cyr, ukrainian)
        }
    };
    WrittenName {
        given,
        particle,
        surname,
        patronymic,
        surname_first: key.culture == Culture::MalaysianChinese,
    }
}

/// How many surnames a culture has.
fn surname_count(culture: Culture) -> usize {
    let p = pools(culture);
    match culture {
        Culture::Thai => p.surname.len() + THAI_MORPHEMES.len() * (THAI_MORPHEMES.len() - 1),
        Culture::Dutch => {
            p.surname.len() + DUTCH_PLACES.len() + DUTCH_WORDS.len() + 2 * DUTCH_MALE.len()
        }
        _ => p.surname.len(),
    }
}

/// The forms of surname `idx` of `culture` (see the module docs for the order).
fn surname_forms(culture: Culture, idx: usize) -> Vec<String> {
    let p = pools(culture);
    let idx = idx % surname_count(culture);
    match culture {
        Culture::Thai if idx >= p.surname.len() => {
            let idx = idx - p.surname.len();
            let n = THAI_MORPHEMES.len() - 1;
            let (a, b) = (idx / n, idx % n);
            let b = if b >= a { b + 1 } else { b };
            let (x, y) = (THAI_MORPHEMES[a], THAI_MORPHEMES[b]);
            vec![
                format!("{}{}", x.0, y.0),
                capitalise(&format!("{}{}", x.1, y.1)),
                capitalise(&format!("{}{}", x.2, y.2)),
            ]
        }
        Culture::Dutch if idx >= p.surname.len() => {
            let mut k = idx - p.surname.len();
            if k < DUTCH_PLACES.len() {
                return vec![format!("van|{}", DUTCH_PLACES[k])];
            }
            k -= DUTCH_PLACES.len();
            if k < DUTCH_WORDS.len() {
                return vec![format!("de|{}", DUTCH_WORDS[k])];
            }
            k -= DUTCH_WORDS.len();
            // Patronymic surnames: Jansen, Pieters.
            let given = DUTCH_MALE[k / 2][0];
            let suffix = if k.is_multiple_of(2) { "sen" } else { "s" };
            vec![format!("|{given}{suffix}")]
        }
        _ => p.surname[idx].iter().map(|f| (*f).to_owned()).collect(),
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn split_particle(text: &str) -> (String, String) {
    match text.split_once('|') {
        Some((particle, core)) => (particle.to_owned(), core.to_owned()),
        None => (String::new(), text.to_owned()),
    }
}

/// Russian surnames in -ов/-ев/-ин (and their romanisations) take -а for women.
fn feminine_russian(surname: &str) -> String {
    let lower = surname.to_lowercase();
    let masculine = [
        "ов", "ев", "ёв", "ин", "ov", "ev", "yov", "in", "jov", "ow", "ew", "jow",
    ];
    if masculine.iter().any(|end| lower.ends_with(end)) {
        let cyrillic = surname
            .chars()
            .any(|c| ('а'..='я').contains(&c) || ('А'..='Я').contains(&c));
        let upper = surname.chars().all(|c| !c.is_lowercase());
        let a = match (cyrillic, upper) {
            (true, false) => "а",
            (true, true) => "А",
            (false, false) => "a",
            (false, true) => "A",
        };
        format!("{surname}{a}")
    } else {
        surname.to_owned()
    }
}

/// Romanises Cyrillic text under a convention; `ukrainian` selects Ukrainian
/// letter values (`г` = h, `и` = y) where the convention distinguishes them.
pub(crate) fn translit_cyrillic(text: &str, conv: CyrConvention, ukrainian: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut word_start = true;
    for c in text.chars() {
        let lower: char = c.to_lowercase().next().unwrap_or(c);
        let upper = c != lower;
        let latin = letter(lower, conv, ukrainian, word_start);
        match latin {
            Some(l) if upper => {
                let mut chars = l.chars();
                if let Some(first) = chars.next() {
                    out.extend(first.to_uppercase());
                    out.push_str(chars.as_str());
                }
            }
            Some(l) => out.push_str(l),
            None => out.push(c),
        }
        word_start = !c.is_alphabetic();
    }
    if conv == CyrConvention::Icao {
        out.to_uppercase()
    } else {
        out
    }
}

fn letter(c: char, conv: CyrConvention, ukrainian: bool, word_start: bool) -> Option<&'static str> {
    use CyrConvention as C;
    let s = match (c, conv) {
        ('а', _) => "a",
        ('б', _) => "b",
        ('в', C::German) => "w",
        ('в', _) => "v",
        ('г', C::Ukrainian | C::Icao) if ukrainian => "h",
        ('г', C::English | C::Dutch | C::German) if ukrainian => "h",
        ('г', _) => "g",
        ('ґ', _) => "g",
        ('д', _) => "d",
        ('е', C::Dutch | C::German) if word_start && !ukrainian => "je",
        ('е', C::English) if word_start && !ukrainian => "ye",
        ('е' | 'э', _) => "e",
        ('ё', C::Icao) => "e",
        ('ё', C::English) => "yo",
        ('ё', _) => "jo",
        ('є', C::Dutch | C::German) => "je",
        ('є', C::Icao) => "ie",
        ('є', _) if word_start => "ye",
        ('є', _) => "ie",
        ('ж', C::Dutch) => "zj",
        ('ж', C::German) => "sh",
        ('ж', _) => "zh",
        ('з', C::German) => "s",
        ('з', _) => "z",
        ('и', _) if ukrainian => "y",
        ('и', _) => "i",
        ('і', _) => "i",
        ('ї', C::Dutch | C::German) => "ji",
        ('ї', C::Icao) => "i",
        ('ї', _) if word_start => "yi",
        ('ї', _) => "i",
        ('й', C::Dutch | C::German) => "j",
        ('й', C::Icao) => "i",
        ('й', _) if word_start => "y",
        ('й', C::Ukrainian) => "i",
        ('й', _) => "y",
        ('к', _) => "k",
        ('л', _) => "l",
        ('м', _) => "m",
        ('н', _) => "n",
        ('о', _) => "o",
        ('п', _) => "p",
        ('р', _) => "r",
        ('с', C::German) => "s",
        ('с', _) => "s",
        ('т', _) => "t",
        ('у', C::Dutch) => "oe",
        ('у', _) => "u",
        ('ф', _) => "f",
        ('х', C::Dutch | C::German) => "ch",
        ('х', _) => "kh",
        ('ц', C::German) => "z",
        ('ц', _) => "ts",
        ('ч', C::Dutch) => "tsj",
        ('ч', C::German) => "tsch",
        ('ч', _) => "ch",
        ('ш', C::Dutch) => "sj",
        ('ш', C::German) => "sch",
        ('ш', _) => "sh",
        ('щ', C::Dutch) => "sjtsj",
        ('щ', C::German) => "schtsch",
        ('щ', _) => "shch",
        ('ъ', C::Icao) => "ie",
        ('ъ' | 'ь', _) => "",
        ('ы', _) => "y",
        ('ю', C::Dutch) => "joe",
        ('ю', C::German) => "ju",
        ('ю', C::Icao) => "iu",
        ('ю', _) if word_start => "yu",
        ('ю', C::Ukrainian) => "iu",
        ('ю', _) => "yu",
        ('я', C::Dutch | C::German) => "ja",
        ('я', C::Icao) => "ia",
        ('я', _) if word_start => "ya",
        ('я', C::Ukrainian) => "ia",
        ('я', _) => "ya",
        ('\'' | 'ʼ', _) => "",
        _ => return None,
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, conv: CyrConvention, ukrainian: bool, expect: &str) {
        assert_eq!(
            translit_cyrillic(text, conv, ukrainian),
            expect,
            "{text} {conv:?}"
        );
    }

    #[test]
    fn romanises_cyrillic_per_convention() {
        check("Шевченко", CyrConvention::English, true, "Shevchenko");
        check("Шевченко", CyrConvention::Dutch, true, "Sjevtsjenko");
        check("Шевченко", CyrConvention::German, true, "Schewtschenko");
        check("Олег", CyrConvention::Ukrainian, true, "Oleh");
        check("Олег", CyrConvention::English, false, "Oleg");
        check("Юлія", CyrConvention::Ukrainian, true, "Yuliia");
        check("Юлия", CyrConvention::Dutch, false, "Joelija");
        check("Соловьёв", CyrConvention::English, false, "Solovyov");
        check("Соловьёв", CyrConvention::Icao, false, "SOLOVEV");
        check("Сергей", CyrConvention::Icao, false, "SERGEI");
        check("Евгений", CyrConvention::English, false, "Yevgeniy");
        assert_eq!(feminine_russian("KUZNETSOV"), "KUZNETSOVA");
        assert_eq!(feminine_russian("Кузнецов"), "Кузнецова");
        assert_eq!(feminine_russian("Kuznetsov"), "Kuznetsova");
    }

    #[test]
    fn agencies_write_names_in_their_own_script() {
        let key = NameKey {
            culture: Culture::Thai,
            female: false,
            given: 0,
            surname: 0,
            father: 0,
            prefix: 0,
        };
        let th = crate::country::profile("TH").unwrap();
        let my = crate::country::profile("MY").unwrap();
        assert_eq!(for_agency(&key, th, false).full(), "สมชาย แสงทอง");
        assert_eq!(for_agency(&key, my, false).full(), "Somchay Sangthong");
        assert_eq!(for_agency(&key, my, true).full(), "Somchai Saengthong");
        assert_eq!(for_mrz(&key).full(), "Somchai Saengthong");
        let malay = NameKey {
            culture: Culture::Malay,
            female: true,
            given: 0,
            surname: 0,
            father: 0,
            prefix: 0,
        };
        assert_eq!(for_agency(&malay, my, false).full(), "Siti binti Ahmad");
        let arab = NameKey {
            culture: Culture::Arabic,
            female: false,
            given: 0,
            surname: 0,
            father: 0,
            prefix: 0,
        };
        let ae = crate::country::profile("AE").unwrap();
        let nl = crate::country::profile("NL").unwrap();
        assert_eq!(for_agency(&arab, ae, false).full(), "أحمد الراشد");
        assert_eq!(for_agency(&arab, nl, false).full(), "Achmed El-Rashid");
        let ru = NameKey {
            culture: Culture::Russian,
            female: true,
            given: 0,
            surname: 0,
            father: 0,
            prefix: 0,
        };
        let ru_agency = crate::country::profile("RU").unwrap();
        assert_eq!(
            for_agency(&ru, ru_agency, false).full(),
            "Елена Ивановна Иванова"
        );
        assert_eq!(for_agency(&ru, nl, false).full(), "Jelena Ivanovna Ivanova");
        let chinese = NameKey {
            culture: Culture::MalaysianChinese,
            female: false,
            given: 0,
            surname: 0,
            father: 0,
            prefix: 0,
        };
        assert_eq!(for_agency(&chinese, my, false).full(), "Tan Wei Ming");
    }
}
