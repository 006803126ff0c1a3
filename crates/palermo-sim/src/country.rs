//! Country profiles: the agency, its script and romanisation conventions,
//! phone plan, bank account format, cities, border points and thresholds.

use crate::names::{Culture, CyrConvention};

/// The writing system an agency records names in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Script {
    Latin,
    Thai,
    Cyrillic,
    Arabic,
}

/// How a country's bank accounts look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountFormat {
    /// An IBAN: bank identifiers from `banks`, then `digits` account digits.
    Iban { bank_digits: usize, digits: usize },
    /// A domestic account number of `digits` digits, written in `groups`.
    Domestic { groups: &'static [usize] },
}

/// Everything the simulator knows about one country.
#[derive(Debug)]
pub(crate) struct Profile {
    /// ISO 3166-1 alpha-2 code.
    pub(crate) code: &'static str,
    /// ICAO 9303 three-letter code (passports, MRZ).
    pub(crate) icao: &'static str,
    /// The agency whose records the country's view holds.
    pub(crate) agency: &'static str,
    /// The agency's short name, used in markings (written on every record).
    pub(crate) short: &'static str,
    /// The script that agency writes names in.
    pub(crate) script: Script,
    /// How that agency romanises Cyrillic names.
    pub(crate) cyr: CyrConvention,
    /// Which Latin variant (index into a name's Latin forms) the agency prefers.
    pub(crate) latin_variant: usize,
    /// Name cultures of the population with relative weights.
    pub(crate) cultures: &'static [(Culture, u32)],
    /// Country calling code without `+`.
    pub(crate) calling_code: &'static str,
    /// Mobile number prefixes after the calling code.
    pub(crate) mobile_prefixes: &'static [&'static str],
    /// Digits after the mobile prefix.
    pub(crate) mobile_digits: usize,
    /// The national trunk prefix written before local numbers (`0`, `8`).
    pub(crate) trunk: &'static str,
    /// Bank account format.
    pub(crate) account: AccountFormat,
    /// Bank names with their bank codes (IBAN bank identifier or BIC prefix).
    pub(crate) banks: &'static [(&'static str, &'static str)],
    /// Currency (ISO 4217).
    pub(crate) currency: &'static str,
    /// Cash transaction reporting threshold in the currency (structuring stays below it).
    pub(crate) threshold: u64,
    /// Typical ordinary payment size in the currency.
    pub(crate) typical_payment: u64,
    /// Cities.
    pub(crate) cities: &'static [&'static str],
    /// International airports.
    pub(crate) airports: &'static [&'static str],
    /// Land border points or ports.
    pub(crate) land_borders: &'static [&'static str],
    /// E-mail domains.
    pub(crate) mail_domains: &'static [&'static str],
    /// World region; crossings between regions are flights.
    pub(crate) region: u8,
}

/// Country codes the simulator has profiles for.
pub const SUPPORTED: [&str; 7] = ["AE", "DE", "MY", "NL", "RU", "TH", "UA"];

/// Looks up the profile of a supported country (upper-case alpha-2 code).
pub(crate) fn profile(code: &str) -> Option<&'static Profile> {
    PROFILES.iter().find(|p| p.code == code)
}

static PROFILES: [Profile; 7] = [
    Profile {
        code: "TH",
        icao: "THA",
        agency: "Royal Thai Police, Anti-Trafficking in Persons Division",
        short: "RTP ATPD",
        script: Script::Thai,
        cyr: CyrConvention::English,
        latin_variant: 0,
        cultures: &[(Culture::Thai, 100)],
        calling_code: "66",
        mobile_prefixes: &["81", "82", "86", "89", "91", "95", "61", "63"],
        mobile_digits: 7,
        trunk: "0",
        account: AccountFormat::Domestic {
            groups: &[3, 1, 5, 1],
        },
        banks: &[
            ("Bangkok Bank", "BKKB"),
            ("Kasikornbank", "KASI"),
            ("Siam Commercial Bank", "SICO"),
            ("Krungthai Bank", "KRTH"),
        ],
        currency: "THB",
        threshold: 2_000_000,
        typical_payment: 3_000,
        cities: &[
            "Bangkok",
            "Chiang Mai",
            "Pattaya",
            "Udon Thani",
            "Khon Kaen",
            "Hat Yai",
            "Phuket",
            "Nakhon Ratchasima",
        ],
        airports: &[
            "Suvarnabhumi Airport",
            "Don Mueang Airport",
            "Phuket Airport",
            "Chiang Mai Airport",
        ],
        land_borders: &[
            "Sadao",
            "Padang Besar",
            "Sungai Kolok",
            "Mae Sot",
            "Aranyaprathet",
        ],
        mail_domains: &["hotmail.com", "gmail.com", "yahoo.co.th"],
        region: 1,
    },
    Profile {
        code: "MY",
        icao: "MYS",
        agency: "Royal Malaysia Police, D3 Anti-Trafficking Unit",
        short: "PDRM D3",
        script: Script::Latin,
        cyr: CyrConvention::English,
        latin_variant: 1,
        cultures: &[(Culture::Malay, 70), (Culture::MalaysianChinese, 30)],
        calling_code: "60",
        mobile_prefixes: &["12", "13", "16", "17", "19", "11"],
        mobile_digits: 7,
        trunk: "0",
        account: AccountFormat::Domestic { groups: &[4, 4, 4] },
        banks: &[
            ("Maybank", "MBBE"),
            ("CIMB Bank", "CIBB"),
            ("Public Bank", "PBBE"),
            ("RHB Bank", "RHBB"),
        ],
        currency: "MYR",
        threshold: 25_000,
        typical_payment: 150,
        cities: &[
            "Kuala Lumpur",
            "Johor Bahru",
            "Penang",
            "Ipoh",
            "Kota Kinabalu",
            "Kuching",
            "Malacca",
            "Shah Alam",
        ],
        airports: &["KLIA", "KLIA2", "Penang International Airport"],
        land_borders: &[
            "Bukit Kayu Hitam",
            "Padang Besar",
            "Rantau Panjang",
            "Johor Causeway",
        ],
        mail_domains: &["gmail.com", "yahoo.com.my", "outlook.com"],
        region: 1,
    },
    Profile {
        code: "NL",
        icao: "NLD",
        agency: "Nationale Politie, Expertisecentrum Mensenhandel en Mensensmokkel",
        short: "Politie EMM",
        script: Script::Latin,
        cyr: CyrConvention::Dutch,
        latin_variant: 2,
        cultures: &[(Culture::Dutch, 85), (Culture::Arabic, 15)],
        calling_code: "31",
        mobile_prefixes: &["6"],
        mobile_digits: 8,
        trunk: "0",
        account: AccountFormat::Iban {
            bank_digits: 0,
            digits: 10,
        },
        banks: &[
            ("ABN AMRO", "ABNA"),
            ("ING", "INGB"),
            ("Rabobank", "RABO"),
            ("Triodos", "TRIO"),
        ],
        currency: "EUR",
        threshold: 10_000,
        typical_payment: 60,
        cities: &[
            "Amsterdam",
            "Rotterdam",
            "Den Haag",
            "Utrecht",
            "Eindhoven",
            "Groningen",
            "Tilburg",
            "Almere",
        ],
        airports: &[
            "Schiphol",
            "Eindhoven Airport",
            "Rotterdam The Hague Airport",
        ],
        land_borders: &["Venlo", "Oldenzaal", "Hazeldonk", "Hoek van Holland"],
        mail_domains: &["gmail.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl"],
        region: 2,
    },
    Profile {
        code: "UA",
        icao: "UKR",
        agency: "National Police of Ukraine, Department for Combating Human Trafficking",
        short: "NPU DCHT",
        script: Script::Cyrillic,
        cyr: CyrConvention::Ukrainian,
        latin_variant: 0,
        cultures: &[(Culture::Ukrainian, 85), (Culture::Russian, 15)],
        calling_code: "380",
        mobile_prefixes: &["50", "63", "66", "67", "68", "93", "97"],
        mobile_digits: 7,
        trunk: "0",
        account: AccountFormat::Iban {
            bank_digits: 6,
            digits: 19,
        },
        banks: &[
            ("PrivatBank", "305299"),
            ("Oschadbank", "300465"),
            ("Monobank", "322001"),
            ("Raiffeisen Bank", "380805"),
        ],
        currency: "UAH",
        threshold: 400_000,
        typical_payment: 900,
        cities: &[
            "Kyiv",
            "Kharkiv",
            "Odesa",
            "Dnipro",
            "Lviv",
            "Zaporizhzhia",
            "Vinnytsia",
            "Chernivtsi",
        ],
        airports: &["Boryspil Airport", "Lviv Airport"],
        land_borders: &["Shehyni", "Krakovets", "Chop", "Porubne", "Palanca"],
        mail_domains: &["ukr.net", "gmail.com", "i.ua"],
        region: 2,
    },
    Profile {
        code: "RU",
        icao: "RUS",
        agency: "Ministry of Internal Affairs, Main Directorate for Migration Affairs",
        short: "MVD GUVM",
        script: Script::Cyrillic,
        cyr: CyrConvention::English,
        latin_variant: 0,
        cultures: &[(Culture::Russian, 100)],
        calling_code: "7",
        mobile_prefixes: &["903", "915", "916", "926", "985", "999"],
        mobile_digits: 7,
        trunk: "8",
        account: AccountFormat::Domestic {
            groups: &[5, 3, 1, 11],
        },
        banks: &[
            ("Sberbank", "SABR"),
            ("VTB", "VTBR"),
            ("Alfa-Bank", "ALFA"),
            ("Tinkoff", "TICS"),
        ],
        currency: "RUB",
        threshold: 600_000,
        typical_payment: 2_500,
        cities: &[
            "Moscow",
            "Saint Petersburg",
            "Novosibirsk",
            "Yekaterinburg",
            "Kazan",
            "Rostov-on-Don",
            "Samara",
            "Krasnodar",
        ],
        airports: &["Sheremetyevo", "Domodedovo", "Pulkovo"],
        land_borders: &["Brusnichnoye", "Ivangorod", "Verkhny Lars", "Torfyanovka"],
        mail_domains: &["mail.ru", "yandex.ru", "gmail.com"],
        region: 2,
    },
    Profile {
        code: "AE",
        icao: "ARE",
        agency: "Dubai Police, Human Trafficking Crimes Control Centre",
        short: "Dubai Police HTCCC",
        script: Script::Arabic,
        cyr: CyrConvention::English,
        latin_variant: 0,
        cultures: &[(Culture::Arabic, 100)],
        calling_code: "971",
        mobile_prefixes: &["50", "52", "54", "55", "56", "58"],
        mobile_digits: 7,
        trunk: "0",
        account: AccountFormat::Iban {
            bank_digits: 3,
            digits: 16,
        },
        banks: &[
            ("Emirates NBD", "260"),
            ("First Abu Dhabi Bank", "035"),
            ("Dubai Islamic Bank", "024"),
            ("Mashreq", "033"),
        ],
        currency: "AED",
        threshold: 55_000,
        typical_payment: 250,
        cities: &[
            "Dubai",
            "Abu Dhabi",
            "Sharjah",
            "Ajman",
            "Al Ain",
            "Ras Al Khaimah",
        ],
        airports: &[
            "Dubai International Airport",
            "Abu Dhabi International Airport",
            "Sharjah Airport",
        ],
        land_borders: &["Hatta", "Ghuwaifat", "Port Rashid"],
        mail_domains: &["gmail.com", "hotmail.com", "eim.ae"],
        region: 3,
    },
    Profile {
        code: "DE",
        icao: "D<<",
        agency: "Bundeskriminalamt, Referat Menschenhandel",
        short: "BKA SO",
        script: Script::Latin,
        cyr: CyrConvention::German,
        latin_variant: 2,
        cultures: &[
            (Culture::German, 85),
            (Culture::Arabic, 8),
            (Culture::Russian, 7),
        ],
        calling_code: "49",
        mobile_prefixes: &["151", "152", "160", "170", "171", "176"],
        mobile_digits: 7,
        trunk: "0",
        account: AccountFormat::Iban {
            bank_digits: 8,
            digits: 10,
        },
        banks: &[
            ("Deutsche Bank", "10070000"),
            ("Commerzbank", "20040000"),
            ("Sparkasse Berlin", "10050000"),
            ("Postbank", "10010010"),
        ],
        currency: "EUR",
        threshold: 10_000,
        typical_payment: 60,
        cities: &[
            "Berlin",
            "Hamburg",
            "Frankfurt am Main",
            "Köln",
            "München",
            "Düsseldorf",
            "Leipzig",
            "Dortmund",
        ],
        airports: &[
            "Frankfurt Airport",
            "München Airport",
            "Berlin Brandenburg Airport",
        ],
        land_borders: &["Frankfurt (Oder)", "Görlitz", "Bad Bentheim", "Kehl"],
        mail_domains: &["gmx.de", "web.de", "t-online.de", "gmail.com"],
        region: 2,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_code_has_a_sound_profile() {
        for code in SUPPORTED {
            let p = profile(code).unwrap();
            assert_eq!(p.code, code);
            assert_eq!(p.icao.len(), 3);
            assert!(palermo_model::is_country(code));
            assert!(!p.cities.is_empty() && !p.airports.is_empty() && !p.land_borders.is_empty());
            assert!(!p.banks.is_empty() && !p.cultures.is_empty() && !p.mobile_prefixes.is_empty());
            if let AccountFormat::Iban { bank_digits, .. } = p.account {
                for (_, code) in p.banks {
                    assert!(bank_digits == 0 || code.len() == bank_digits, "{code}");
                }
            }
        }
        assert!(profile("FR").is_none());
    }
}
