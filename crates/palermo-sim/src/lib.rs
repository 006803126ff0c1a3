//! Synthetic multi-country human-trafficking scenarios with ground truth,
//! for Palermo's tests, benchmarks, demo and investigator training.
//!
//! [`write_scenario`] generates, deterministically from a seed, a world in
//! which criminal organisations recruit victims in origin countries, move
//! them through transit countries on genuine, forged or stolen passports,
//! exploit them in destinations (the Palermo Protocol Art. 3 purposes),
//! advertise with templated ads and launder the proceeds — hidden in a
//! background population of ordinary people, phones, accounts, payments,
//! trips and ads (at least 90% of every agency's records are unrelated).
//! Each country's agency sees only a partial, noisy view written in its own
//! script and romanisation; the truth is written beside the views.
//!
//! # Countries and corridors
//! Supported countries: see [`SUPPORTED_COUNTRIES`]. The order of the list is
//! the direction of the corridors: organisations recruit mostly in the first
//! countries and exploit in later ones (`TH,MY,NL`: Thailand origin, Malaysia
//! transit, the Netherlands destination).
//!
//! # Output layout
//! ```text
//! DIR/<CC>/persons.csv      person records, for `palermo import --id-column id`
//! DIR/<CC>/entities.jsonl   FollowTheMoney JSON lines: Passport, Phone, BankAccount,
//!                           Payment, Movement, Advertisement, Case, Organization,
//!                           Membership, UnknownLink (with Palermo markings)
//! DIR/truth/*.csv           the ground truth (below)
//! DIR/truth/summary.json    the configuration and counts (see [`Summary`])
//! ```
//! `persons.csv` columns: `id, first_name, last_name, fatherName, name,
//! date_of_birth, gender, nationality, passport_number, phone, email, city,
//! country, role, tlp`. Victim records carry `role=victim` and `TLP:RED`;
//! every record's markings forbid onward sharing. Names are written as each
//! agency writes them: Thai script in TH, Cyrillic in UA/RU, Arabic script in
//! AE, Latin elsewhere with the agency's romanisation (Dutch `Sjevtsjenko`,
//! German `Schewtschenko`, English `Shevchenko`), with typos, swapped name
//! order, dropped particles (`van der`, `Al-`, `bin`), patronymics, and dates
//! of birth that are partial (`1990`, `1990-04`), day/month-swapped or
//! missing. Border records copy the name from the passport in upper case.
//!
//! Record ids are `<CC>-<16 hex digits>`, unique across countries and opaque
//! (a keyed bijection of the true entity, so they reveal nothing about it).
//! Phone numbers appear in E.164, spaced international and local (trunk
//! prefix) formats. IBANs (NL, DE, UA, AE) have valid ISO 13616 check digits;
//! TH, MY and RU use domestic account numbers. Passports carry ICAO 9303 TD3
//! MRZs (`mrz` property, two lines) with valid check digits, except crude
//! forgeries, which are marked in the truth.
//!
//! # Ground truth (`DIR/truth/`)
//! All files are CSV with a header row.
//! - `records.csv`: `country, record_id, schema, true_id, related, source` —
//!   every record of every view and the true entity behind it (`P<n>` person,
//!   `D…` passport, `T<n>-<k>` phone, `A…` account, `AD-…` ad, `PAY-…` payment,
//!   `MV…` movement, `C…`/`CB…` case, `O<n>` organisation, `F<n>` front);
//!   `related` is 1 when the record belongs to the trafficking world;
//!   `source` is `register`, `border_entry`, `border_exit`, `fiu`, `case`,
//!   `victim_services`, `missing_person`, `investigation` or `ad_monitoring`.
//! - `persons.csv`: `true_id, home, nationality, culture, gender, birth_date,
//!   native_name, latin_name, status (background|victim|offender), orgs
//!   (`O3:recruiter;O7:money_mule`), exploitation, child, recruitment,
//!   recruited_by, aliases`.
//! - `memberships.csv`: `true_id, org_id, role, home` (roles: boss, recruiter,
//!   transporter, document_forger, controller, money_mule, corrupt_official).
//! - `organisations.csv`: `org_id, kind (criminal|front), name, countries,
//!   size, victims, exploitation, connected_to, front_of`.
//! - `routes.csv`: `org_id, route (main|detour), countries (TH>MY>NL), means,
//!   active_from, active_to, disrupted_on`.
//! - `documents.csv`: `true_id, kind (genuine|forged|crude_forgery|stolen),
//!   bearer, identity_of, issuer, number, surname, given_name, birth_date,
//!   mrz1, mrz2, check_digits_valid`.
//! - `accounts.csv`: `true_id, holder, country, bank, iban, account_number, iban_valid`.
//! - `phones.csv`: `true_id, owner, country, e164`.
//! - `ads.csv`: `true_id, template_id, org_id, kind (escort|job_offer|background), country`.
//! - `ad_templates.csv`: `template_id, org_id, kind, text` (`{slot}`s are filled per ad).
//! - `laundering.csv`: `chain_id, org_id, pattern (structuring|fan_in|
//!   pass_through|fan_out|cash_front|bribe), step, payment_id, from_account,
//!   to_account, amount, currency, date` — chains in order.
//!
//! [`PersonLabels`] reads the person labels back (record → true person,
//! status, recorded role) for scoring, as `palermo demo` does.
//!
//! # What is modelled
//! Organisations (several, of different sizes, some sharing a forger or a
//! money mule) have a boss, recruiters, transporters, a document forger,
//! controllers, money mules and sometimes a corrupt official, plus a front
//! business half of the time. Victims are recruited by deceptive job offers,
//! online ads or family ties, some are children (whose forged passports make
//! them adults), and cross each border of their corridor; legs between world
//! regions are flights, others go by bus, car or boat. 40% of corridors are
//! disrupted and replaced by a detour from a given day. Laundering chains
//! combine structuring below the country's reporting threshold or fan-in from
//! clients, a rapid pass-through to a second mule abroad, and fan-out to the
//! boss and recruiters; front businesses take cash-heavy deposits; officials
//! receive bribes. Ads come from one to three templates per organisation,
//! edited per ad, with members' phones in local or international format.
//!
//! # Determinism and speed
//! The same configuration gives byte-identical files. Every person and every
//! organisation is generated from its own random stream (a hand-written
//! SplitMix64, see `rng.rs` for why not `rand`), so work is split into chunks
//! that run in parallel (rayon) and are written in order, streaming:
//! memory holds only the trafficking part of the world and a few chunks.

mod country;
mod emit;
mod ids;
mod name_pools;
mod names;
mod network;
mod noise;
mod out;
mod population;
mod rng;
mod text;
mod truth;
mod world;
mod write;

pub use crate::country::SUPPORTED as SUPPORTED_COUNTRIES;
pub use crate::ids::{iban_check_digits, iban_valid, mrz_check_digit, td3_line2_valid};
pub use crate::truth::PersonLabels;
pub use crate::write::{CountrySummary, Summary, TruthSummary, prepare_output, write_scenario};

use std::path::PathBuf;

/// The largest population a scenario may have.
pub const MAX_PERSONS: u64 = 100_000_000;

/// Errors of scenario configuration and writing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A country code that is not ISO 3166-1 alpha-2.
    #[error("unknown country code `{code}`: not an ISO 3166-1 alpha-2 code{hint}")]
    UnknownCountry {
        /// The code as given.
        code: String,
        /// A suggestion such as ` (did you mean TH?)`, or empty.
        hint: String,
    },
    /// A valid country the simulator has no profile for.
    #[error("country {code} is not supported by the simulator (supported: {supported})")]
    UnsupportedCountry {
        /// The code.
        code: String,
        /// The supported codes, comma-separated.
        supported: String,
    },
    /// The same country given twice.
    #[error("country {code} is listed twice")]
    DuplicateCountry {
        /// The code.
        code: String,
    },
    /// Fewer than two countries.
    #[error("a scenario needs at least 2 countries, got {count}")]
    TooFewCountries {
        /// How many were given.
        count: usize,
    },
    /// A population of zero.
    #[error("the number of persons must be at least 1, got 0")]
    NoPersons,
    /// A population larger than [`MAX_PERSONS`].
    #[error("the number of persons must be at most {MAX_PERSONS}, got {persons}")]
    TooManyPersons {
        /// How many were asked for.
        persons: u64,
    },
    /// The output directory holds files and overwriting was not allowed.
    #[error("output directory {} exists and is not empty", path.display())]
    OutputNotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the error is the caller's input (bad configuration or output
    /// directory) rather than a failure of the work.
    pub fn is_bad_input(&self) -> bool {
        !matches!(self, Error::Io { .. })
    }
}

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A validated scenario configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    countries: Vec<&'static str>,
    persons: u64,
    seed: u64,
}

impl Config {
    /// Validates a configuration: at least two distinct supported countries
    /// (ISO 3166-1 alpha-2, any case) and 1 to [`MAX_PERSONS`] persons.
    pub fn new<S: AsRef<str>>(countries: &[S], persons: u64, seed: u64) -> Result<Config> {
        let mut codes: Vec<&'static str> = Vec::new();
        for given in countries {
            let given = given.as_ref().trim();
            let upper = given.to_ascii_uppercase();
            let Some(code) = palermo_model::normalize_country(&upper).filter(|_| upper.len() == 2)
            else {
                let hint = palermo_model::suggest_country(given)
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                return Err(Error::UnknownCountry {
                    code: given.to_owned(),
                    hint,
                });
            };
            let Some(profile) = country::profile(code) else {
                return Err(Error::UnsupportedCountry {
                    code: code.to_owned(),
                    supported: SUPPORTED_COUNTRIES.join(", "),
                });
            };
            if codes.contains(&profile.code) {
                return Err(Error::DuplicateCountry {
                    code: code.to_owned(),
                });
            }
            codes.push(profile.code);
        }
        if codes.len() < 2 {
            return Err(Error::TooFewCountries { count: codes.len() });
        }
        if persons == 0 {
            return Err(Error::NoPersons);
        }
        if persons > MAX_PERSONS {
            return Err(Error::TooManyPersons { persons });
        }
        Ok(Config {
            countries: codes,
            persons,
            seed,
        })
    }

    /// Parses a comma-separated country list (`TH,MY,NL`) and validates as [`Config::new`].
    pub fn parse(countries: &str, persons: u64, seed: u64) -> Result<Config> {
        let list: Vec<&str> = countries
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .collect();
        Config::new(&list, persons, seed)
    }

    /// The country codes, in corridor order.
    pub fn countries(&self) -> &[&'static str] {
        &self.countries
    }

    /// The number of persons in the world (all countries together).
    pub fn persons(&self) -> u64 {
        self.persons
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    fn profiles(&self) -> Vec<&'static country::Profile> {
        self.countries
            .iter()
            .filter_map(|c| country::profile(c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(countries: &str, persons: u64, expect: std::result::Result<&[&str], &str>) {
        match (Config::parse(countries, persons, 1), expect) {
            (Ok(config), Ok(codes)) => assert_eq!(config.countries(), codes),
            (Err(err), Err(fragment)) => {
                assert!(err.to_string().contains(fragment), "{countries}: {err}")
            }
            (got, want) => panic!("{countries}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn validates_configurations() {
        check("TH,MY,NL", 10, Ok(&["TH", "MY", "NL"]));
        check(" th , nl ", 10, Ok(&["TH", "NL"]));
        check("TH", 10, Err("at least 2 countries, got 1"));
        check("", 10, Err("at least 2 countries, got 0"));
        check("TH,XX", 10, Err("unknown country code `XX`"));
        check("TH,Thailand", 10, Err("unknown country code `Thailand`"));
        check("TH,FR", 10, Err("FR is not supported"));
        check("TH,NL,th", 10, Err("TH is listed twice"));
        check("TH,NL", 0, Err("at least 1, got 0"));
        check("TH,NL", MAX_PERSONS + 1, Err("at most"));
    }
}
