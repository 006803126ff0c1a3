//! The typed knowledge base: instruments, parties, non-parties, provisions,
//! national offences and bilateral agreements, each row with its source and
//! the version of the knowledge base that contributed it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::country::country;
use crate::date::{Date, PartialDate, leading_date};
use crate::error::{Error, Result};
use crate::provisions::{Provision, parse_provisions};
use crate::table::{Record, TableKind, parse_table};

/// Name of the embedded base data set.
pub const BASE_NAME: &str =
    "legal knowledge base draft v0 (completion and national-offences passes)";

/// The as-of date of the embedded base: the newest source it cites
/// (AllAfrica, 25 Nov 2024). Facts without their own date are known "as of" this.
pub const BASE_AS_OF: &str = "2024-11-25";

const INSTRUMENTS_CSV: &str = include_str!("../../../data/legal/instruments.csv");
const PARTIES_CSV: &str = include_str!("../../../data/legal/parties.csv");
const NON_PARTIES_CSV: &str = include_str!("../../../data/legal/non_parties.csv");
const OFFENCES_CSV: &str = include_str!("../../../data/legal/national_offences.csv");
const PROVISIONS_MD: &str = include_str!("../../../data/legal/provisions.md");

/// Which version of the knowledge base contributed a row: 0 is the embedded base.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Origin(pub u32);

impl Origin {
    /// The embedded base.
    pub const BASE: Origin = Origin(0);
}

/// A treaty or other instrument.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Instrument {
    /// Stable id, e.g. `UNTOC`.
    pub id: String,
    /// Short name.
    pub short_name: String,
    /// Full title.
    pub full_name: String,
    /// Adoption, as written in the source.
    pub adopted: String,
    /// General entry into force, as written in the source.
    pub entry_into_force_text: String,
    /// General entry into force, where the text starts with a date.
    pub entry_into_force: Option<PartialDate>,
    /// Depositary.
    pub depositary: String,
    /// Source citation (URLs and description).
    pub source: String,
    /// Version that contributed the row.
    pub origin: Origin,
}

/// How a party row's `consent_type` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentClass {
    /// Ratification, accession, acceptance, approval, succession, stated party
    /// status, or EU membership (for the EU directive): consent to be bound.
    Consent,
    /// Signed, not ratified: signature alone does not bind.
    SignatureOnly,
    /// A domestic ratification or accession was reported but its deposit was not verified.
    Reported,
    /// The row exists but says the status is unknown.
    Unknown,
}

/// One (instrument, state) row of `parties.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartyRow {
    /// Instrument id.
    pub instrument_id: String,
    /// ISO 3166-1 alpha-2 (or `EU`).
    pub country: String,
    /// Name as the source writes it.
    pub country_name: String,
    /// Signature date, if any.
    pub signature_date: Option<PartialDate>,
    /// Consent date (ratification etc.), if known; possibly partial.
    pub consent_date: Option<PartialDate>,
    /// `consent_type` as written.
    pub consent_type: String,
    /// How `consent_type` reads.
    pub class: ConsentClass,
    /// Earliest and latest possible consent date from phrases such as
    /// "on or before 2016-01-25" or "between X and Y" when `consent_date` is blank.
    pub consent_window: (Option<Date>, Option<Date>),
    /// Source citation.
    pub source: String,
    /// Notes.
    pub notes: String,
    /// Version that contributed the row.
    pub origin: Origin,
}

/// One row of `non_parties.csv`: recorded non-party status at a date.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NonPartyRow {
    /// Instrument id.
    pub instrument_id: String,
    /// ISO code.
    pub country: String,
    /// Name as the source writes it.
    pub country_name: String,
    /// `status_as_of` as written.
    pub status_as_of: String,
    /// True when the row only reflects the Jan 2014 UNTC table (`STALE`).
    pub stale: bool,
    /// Source citation.
    pub source: String,
    /// Version that contributed the row.
    pub origin: Origin,
}

/// One row of `national_offences.csv`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NationalOffence {
    /// ISO code.
    pub country: String,
    /// Statute.
    pub statute: String,
    /// Section(s).
    pub section: String,
    /// Acts covered (free text; "unknown..." when not read).
    pub acts: String,
    /// Means covered.
    pub means: String,
    /// Purposes covered.
    pub purposes: String,
    /// Child-without-means rule.
    pub child_rule: String,
    /// Maximum penalty (free text).
    pub max_penalty: String,
    /// Source citation.
    pub source: String,
    /// TIP edition or date of the text read.
    pub as_of_year: String,
    /// Notes.
    pub notes: String,
    /// Version that contributed the row.
    pub origin: Origin,
}

/// Kind of a bilateral agreement added by operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BilateralKind {
    /// Mutual legal assistance treaty.
    Mlat,
    /// Extradition treaty.
    ExtraditionTreaty,
    /// Police cooperation agreement.
    PoliceCooperation,
    /// Memorandum of understanding (usually not legally binding).
    Mou,
}

impl BilateralKind {
    fn parse(text: &str) -> Option<BilateralKind> {
        match text
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "mlat" | "mla_treaty" => Some(BilateralKind::Mlat),
            "extradition_treaty" | "extradition" => Some(BilateralKind::ExtraditionTreaty),
            "police_cooperation" | "police_cooperation_agreement" => {
                Some(BilateralKind::PoliceCooperation)
            }
            "mou" | "memorandum_of_understanding" => Some(BilateralKind::Mou),
            _ => None,
        }
    }

    /// The cooperation an agreement of this kind provides when the row does not list it.
    pub fn default_cooperation(self) -> &'static [Cooperation] {
        match self {
            BilateralKind::Mlat => &[Cooperation::Mla, Cooperation::AssetFreeze],
            BilateralKind::ExtraditionTreaty => &[Cooperation::Extradition],
            BilateralKind::PoliceCooperation => &[Cooperation::Information, Cooperation::Jit],
            BilateralKind::Mou => &[Cooperation::Information],
        }
    }
}

/// A kind of cross-border cooperation an investigator asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cooperation {
    /// Mutual legal assistance (evidence, records, searches).
    Mla,
    /// Extradition.
    Extradition,
    /// Information exchange between law-enforcement and other authorities.
    Information,
    /// Joint investigation teams.
    Jit,
    /// Identification, tracing, freezing, seizure and confiscation of assets.
    AssetFreeze,
}

impl Cooperation {
    /// All kinds.
    pub const ALL: [Cooperation; 5] = [
        Cooperation::Mla,
        Cooperation::Extradition,
        Cooperation::Information,
        Cooperation::Jit,
        Cooperation::AssetFreeze,
    ];

    /// Parses the CLI spelling (`mla`, `extradition`, `information`, `jit`, `asset-freeze`).
    pub fn parse(text: &str) -> Option<Cooperation> {
        match text.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "mla" => Some(Cooperation::Mla),
            "extradition" => Some(Cooperation::Extradition),
            "information" | "info" => Some(Cooperation::Information),
            "jit" => Some(Cooperation::Jit),
            "asset-freeze" | "confiscation" => Some(Cooperation::AssetFreeze),
            _ => None,
        }
    }

    /// The CLI spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cooperation::Mla => "mla",
            Cooperation::Extradition => "extradition",
            Cooperation::Information => "information",
            Cooperation::Jit => "jit",
            Cooperation::AssetFreeze => "asset-freeze",
        }
    }
}

/// A bilateral agreement between two states, added by an operator import.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bilateral {
    /// Operator-chosen id, unique in the knowledge base.
    pub id: String,
    /// Kind.
    pub kind: BilateralKind,
    /// The two states, sorted.
    pub states: [String; 2],
    /// Title.
    pub title: String,
    /// Signature date.
    pub signature_date: Option<PartialDate>,
    /// Entry into force (blank: not known to be in force).
    pub entry_into_force: Option<PartialDate>,
    /// Cooperation it provides.
    pub cooperation: Vec<Cooperation>,
    /// Scope as written (offences covered, limits).
    pub scope: String,
    /// Source citation.
    pub source: String,
    /// Notes.
    pub notes: String,
    /// Version that contributed the row.
    pub origin: Origin,
}

/// Which version of the knowledge base an answer used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KbVersion {
    /// Number of updates in the log (0 = the embedded base only).
    pub version: u32,
    /// The embedded base.
    pub base: &'static str,
    /// As-of date of the embedded base.
    pub base_as_of: &'static str,
    /// Import versions whose rows are in effect (reverted ones excluded).
    pub applied_updates: Vec<u32>,
}

impl std::fmt::Display for KbVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{} (base as of {}", self.version, self.base_as_of)?;
        if self.applied_updates.is_empty() {
            write!(f, ", no operator updates)")
        } else {
            let list: Vec<String> = self.applied_updates.iter().map(u32::to_string).collect();
            write!(f, " + updates {})", list.join(", "))
        }
    }
}

/// The knowledge base at one version.
#[derive(Debug, Clone)]
pub struct KnowledgeBase {
    pub(crate) instruments: Vec<Instrument>,
    pub(crate) parties: BTreeMap<(String, String), PartyRow>,
    pub(crate) non_parties: BTreeMap<(String, String), NonPartyRow>,
    pub(crate) provisions: Vec<Provision>,
    pub(crate) offences: BTreeMap<String, Vec<NationalOffence>>,
    pub(crate) bilaterals: BTreeMap<String, Bilateral>,
    pub(crate) version: KbVersion,
    pub(crate) as_of: Date,
}

impl KnowledgeBase {
    /// The embedded base data (version 0).
    pub fn embedded() -> Result<KnowledgeBase> {
        let corrupt = |e: Error| Error::Corrupt(e.to_string());
        let as_of = Date::parse(BASE_AS_OF).map_err(corrupt)?;
        let mut kb = KnowledgeBase {
            instruments: Vec::new(),
            parties: BTreeMap::new(),
            non_parties: BTreeMap::new(),
            provisions: parse_provisions("provisions.md", PROVISIONS_MD).map_err(corrupt)?,
            offences: BTreeMap::new(),
            bilaterals: BTreeMap::new(),
            version: KbVersion {
                version: 0,
                base: BASE_NAME,
                base_as_of: BASE_AS_OF,
                applied_updates: Vec::new(),
            },
            as_of,
        };
        for (file, text) in [
            ("instruments.csv", INSTRUMENTS_CSV),
            ("parties.csv", PARTIES_CSV),
            ("non_parties.csv", NON_PARTIES_CSV),
            ("national_offences.csv", OFFENCES_CSV),
        ] {
            let (kind, records) = parse_table(file, text).map_err(corrupt)?;
            kb.apply_records(file, kind, &records, Origin::BASE, None)
                .map_err(corrupt)?;
        }
        Ok(kb)
    }

    /// Which version this is.
    pub fn version(&self) -> &KbVersion {
        &self.version
    }

    /// The as-of date of the base data (facts without their own date are known as of it).
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// All instruments.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// The instrument with `id` (case-insensitive), or [`Error::UnknownInstrument`].
    pub fn instrument(&self, id: &str) -> Result<&Instrument> {
        let wanted = id.trim().to_ascii_uppercase().replace([' ', '-'], "_");
        self.instruments
            .iter()
            .find(|i| i.id == wanted)
            .ok_or_else(|| Error::UnknownInstrument {
                id: id.to_owned(),
                known: self
                    .instruments
                    .iter()
                    .map(|i| i.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The party row for (instrument, country), if the knowledge base has one.
    pub fn party(&self, instrument: &str, country: &str) -> Option<&PartyRow> {
        self.parties
            .get(&(instrument.to_owned(), country.to_owned()))
    }

    /// All party rows of an instrument, sorted by country code.
    pub fn parties_of(&self, instrument: &str) -> impl Iterator<Item = &PartyRow> {
        self.parties
            .values()
            .filter(move |p| p.instrument_id == instrument)
    }

    /// The recorded non-party row for (instrument, country), if any.
    pub fn non_party(&self, instrument: &str, country: &str) -> Option<&NonPartyRow> {
        self.non_parties
            .get(&(instrument.to_owned(), country.to_owned()))
    }

    /// All non-party rows of an instrument.
    pub fn non_parties_of(&self, instrument: &str) -> impl Iterator<Item = &NonPartyRow> {
        self.non_parties
            .values()
            .filter(move |p| p.instrument_id == instrument)
    }

    /// The provision summaries.
    pub fn provisions(&self) -> &[Provision] {
        &self.provisions
    }

    /// The provision of `instrument` whose article label is `article` (e.g. "Art. 18").
    pub fn provision(&self, instrument: &str, article: &str) -> Option<&Provision> {
        self.provisions
            .iter()
            .find(|p| p.instrument_id == instrument && p.article == article)
    }

    /// National offence rows of a country (empty when the knowledge base has none).
    pub fn offences(&self, country: &str) -> &[NationalOffence] {
        self.offences
            .get(country)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// Countries with national offence rows.
    pub fn offence_countries(&self) -> impl Iterator<Item = &str> {
        self.offences.keys().map(String::as_str)
    }

    /// Bilateral agreements between `a` and `b` (either order).
    pub fn bilaterals_between(&self, a: &str, b: &str) -> impl Iterator<Item = &Bilateral> {
        let mut pair = [a.to_owned(), b.to_owned()];
        pair.sort();
        self.bilaterals.values().filter(move |bl| bl.states == pair)
    }

    /// All bilateral agreements.
    pub fn bilaterals(&self) -> impl Iterator<Item = &Bilateral> {
        self.bilaterals.values()
    }

    /// Applies parsed rows. `today` (when given) rejects dates in the future.
    /// Returns (added, replaced) counts.
    pub(crate) fn apply_records(
        &mut self,
        file: &str,
        kind: TableKind,
        records: &[Record],
        origin: Origin,
        today: Option<Date>,
    ) -> Result<(usize, usize)> {
        let mut added = 0;
        let mut replaced = 0;
        let mut count = |was_there: bool| {
            if was_there {
                replaced += 1;
            } else {
                added += 1;
            }
        };
        for rec in records {
            let ctx = RowCtx { file, rec, today };
            match kind {
                TableKind::Instruments => {
                    let row = Instrument {
                        id: ctx.id("id")?,
                        short_name: ctx.required("short_name")?,
                        full_name: ctx.get("full_name").to_owned(),
                        adopted: ctx.get("adopted_date").to_owned(),
                        entry_into_force_text: ctx.get("entry_into_force").to_owned(),
                        entry_into_force: leading_date(ctx.get("entry_into_force")),
                        depositary: ctx.get("depositary").to_owned(),
                        source: ctx.required("source")?,
                        origin,
                    };
                    if let Some(eif) = row.entry_into_force {
                        ctx.not_future("entry_into_force", eif)?;
                    }
                    match self.instruments.iter_mut().find(|i| i.id == row.id) {
                        Some(slot) => {
                            *slot = row;
                            count(true);
                        }
                        None => {
                            self.instruments.push(row);
                            count(false);
                        }
                    }
                }
                TableKind::Parties => {
                    let instrument_id = ctx.instrument(self, "instrument_id")?;
                    let country = ctx.country("country_iso2")?;
                    let signature_date = ctx.date("signature_date")?;
                    let consent_date = ctx.date("consent_date")?;
                    let consent_type = ctx.required("consent_type")?;
                    let notes = ctx.get("notes").to_owned();
                    let class = classify_consent(&consent_type, &notes);
                    let consent_window = consent_window(&consent_type);
                    let row = PartyRow {
                        instrument_id: instrument_id.clone(),
                        country: country.to_owned(),
                        country_name: ctx.get("country_name").to_owned(),
                        signature_date,
                        consent_date,
                        consent_type,
                        class,
                        consent_window,
                        source: ctx.required("source")?,
                        notes,
                        origin,
                    };
                    count(
                        self.parties
                            .insert((instrument_id, country.to_owned()), row)
                            .is_some(),
                    );
                }
                TableKind::NonParties => {
                    let instrument_id = ctx.instrument(self, "instrument_id")?;
                    let country = ctx.country("country_iso2")?;
                    let status_as_of = ctx.required("status_as_of")?;
                    let row = NonPartyRow {
                        instrument_id: instrument_id.clone(),
                        country: country.to_owned(),
                        country_name: ctx.get("country_name").to_owned(),
                        stale: status_as_of.contains("STALE"),
                        status_as_of,
                        source: ctx.required("source")?,
                        origin,
                    };
                    count(
                        self.non_parties
                            .insert((instrument_id, country.to_owned()), row)
                            .is_some(),
                    );
                }
                TableKind::NationalOffences => {
                    let country = ctx.country("country_iso2")?;
                    let row = NationalOffence {
                        country: country.to_owned(),
                        statute: ctx.required("statute")?,
                        section: ctx.required("section")?,
                        acts: ctx.get("acts_covered").to_owned(),
                        means: ctx.get("means_covered").to_owned(),
                        purposes: ctx.get("purposes_covered").to_owned(),
                        child_rule: ctx.get("child_without_means_rule").to_owned(),
                        max_penalty: ctx.get("max_penalty_years").to_owned(),
                        source: ctx.required("source")?,
                        as_of_year: ctx.required("as_of_year")?,
                        notes: ctx.get("notes").to_owned(),
                        origin,
                    };
                    let rows = self.offences.entry(country.to_owned()).or_default();
                    match rows.iter_mut().find(|r| r.section == row.section) {
                        Some(slot) => {
                            *slot = row;
                            count(true);
                        }
                        None => {
                            rows.push(row);
                            count(false);
                        }
                    }
                }
                TableKind::Bilateral => {
                    let id = ctx.id("agreement_id")?;
                    let kind_text = ctx.required("kind")?;
                    let kind = BilateralKind::parse(&kind_text).ok_or_else(|| {
                        ctx.bad(
                            "kind",
                            "expected mlat, extradition_treaty, police_cooperation or mou",
                        )
                    })?;
                    let a = ctx.country("state_a")?;
                    let b = ctx.country("state_b")?;
                    if a == b {
                        return Err(ctx.bad(
                            "state_b",
                            "a bilateral agreement needs two different states",
                        ));
                    }
                    let mut states = [a.to_owned(), b.to_owned()];
                    states.sort();
                    let cooperation = match ctx.get("cooperation").trim() {
                        "" => kind.default_cooperation().to_vec(),
                        list => list
                            .split([';', ','])
                            .filter(|s| !s.trim().is_empty())
                            .map(|s| {
                                Cooperation::parse(s).ok_or_else(|| {
                                    ctx.bad(
                                        "cooperation",
                                        &format!("'{}': expected mla, extradition, information, jit or asset-freeze", s.trim()),
                                    )
                                })
                            })
                            .collect::<Result<Vec<_>>>()?,
                    };
                    let row = Bilateral {
                        id: id.clone(),
                        kind,
                        states,
                        title: ctx.required("title")?,
                        signature_date: ctx.date("signature_date")?,
                        entry_into_force: ctx.date("entry_into_force")?,
                        cooperation,
                        scope: ctx.get("scope").to_owned(),
                        source: ctx.required("source")?,
                        notes: ctx.get("notes").to_owned(),
                        origin,
                    };
                    count(self.bilaterals.insert(id, row).is_some());
                }
            }
        }
        Ok((added, replaced))
    }
}

/// Reads one record's fields with file:line:field errors.
struct RowCtx<'a> {
    file: &'a str,
    rec: &'a Record,
    today: Option<Date>,
}

impl RowCtx<'_> {
    fn get(&self, field: &str) -> &str {
        self.rec.get(field)
    }

    fn bad(&self, field: &str, reason: &str) -> Error {
        Error::Malformed {
            file: self.file.to_owned(),
            line: self.rec.line,
            field: field.to_owned(),
            reason: reason.to_owned(),
        }
    }

    fn required(&self, field: &str) -> Result<String> {
        let value = self.get(field).trim();
        if value.is_empty() {
            return Err(self.bad(field, "must not be empty"));
        }
        Ok(value.to_owned())
    }

    fn id(&self, field: &str) -> Result<String> {
        let value = self.required(field)?;
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(self.bad(field, "ids use letters, digits, '_' and '-' only"));
        }
        Ok(value)
    }

    fn instrument(&self, kb: &KnowledgeBase, field: &str) -> Result<String> {
        let id = self.required(field)?;
        kb.instrument(&id)
            .map(|i| i.id.clone())
            .map_err(|e| self.bad(field, &e.to_string()))
    }

    fn country(&self, field: &str) -> Result<&'static str> {
        country(self.get(field)).map_err(|e| self.bad(field, &e.to_string()))
    }

    fn date(&self, field: &str) -> Result<Option<PartialDate>> {
        let text = self.get(field).trim();
        if text.is_empty() {
            return Ok(None);
        }
        let date = PartialDate::parse(text).map_err(|e| self.bad(field, &e.to_string()))?;
        self.not_future(field, date)?;
        Ok(Some(date))
    }

    fn not_future(&self, field: &str, date: PartialDate) -> Result<()> {
        match self.today {
            Some(today) if date.earliest() > today => Err(self.bad(
                field,
                &format!("date {date} is in the future (today is {today})"),
            )),
            _ => Ok(()),
        }
    }
}

/// Reads `consent_type` (and, for "unknown" rows, the notes).
pub(crate) fn classify_consent(consent_type: &str, notes: &str) -> ConsentClass {
    let t = consent_type.trim().to_ascii_lowercase();
    if t.starts_with("signature only") {
        ConsentClass::SignatureOnly
    } else if t.contains("reported") || t.contains("domestic") {
        ConsentClass::Reported
    } else if t.starts_with("unknown") {
        if notes.to_ascii_lowercase().contains("named as a party") {
            ConsentClass::Consent
        } else {
            ConsentClass::Unknown
        }
    } else if [
        "ratification",
        "accession",
        "acceptance",
        "approval",
        "succession",
        "party",
        "eu membership",
    ]
    .iter()
    .any(|w| t.starts_with(w))
    {
        ConsentClass::Consent
    } else {
        ConsentClass::Unknown
    }
}

/// "on or before X" → (None, X); "between X and Y" → (X, Y).
fn consent_window(consent_type: &str) -> (Option<Date>, Option<Date>) {
    let t = consent_type.to_ascii_lowercase();
    let dates = crate::date::dates_in(&t);
    if t.contains("between") && dates.len() >= 2 {
        (Some(dates[0]), Some(dates[1]))
    } else if t.contains("on or before") && !dates.is_empty() {
        (None, Some(dates[0]))
    } else {
        (None, None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_consent_types() {
        let check = |consent_type: &str, notes: &str, expect: ConsentClass| {
            assert_eq!(
                classify_consent(consent_type, notes),
                expect,
                "{consent_type}"
            );
        };
        check("ratification", "", ConsentClass::Consent);
        check("accession (no signature)", "", ConsentClass::Consent);
        check(
            "party (consent type and date not in source)",
            "",
            ConsentClass::Consent,
        );
        check("EU membership", "", ConsentClass::Consent);
        check(
            "signature only as at 2014-01 (UNTC scrape)",
            "",
            ConsentClass::SignatureOnly,
        );
        check(
            "domestic ratification reported (deposit with the UN not verified)",
            "",
            ConsentClass::Reported,
        );
        check(
            "accession reported Nov 2024 (deposit with the UN not verified)",
            "",
            ConsentClass::Reported,
        );
        check(
            "ratification (domestic Law No. 12 of 2017; deposit date not in source)",
            "",
            ConsentClass::Reported,
        );
        check(
            "unknown (signed; ratification not found in stored sources)",
            "",
            ConsentClass::Unknown,
        );
        check(
            "unknown",
            "named as a party as of June 2016 (Wikipedia)",
            ConsentClass::Consent,
        );
        check("", "", ConsentClass::Unknown);
    }

    #[test]
    fn reads_consent_windows() {
        let show = |t: &str| {
            let (a, b) = consent_window(t);
            (a.map(|d| d.to_string()), b.map(|d| d.to_string()))
        };
        assert_eq!(
            show("ratification (deposited on or before 2016-01-25)"),
            (None, Some("2016-01-25".into()))
        );
        assert_eq!(
            show("ratification (3rd ratifier; between 2016-01-25 and 2017-01-05)"),
            (Some("2016-01-25".into()), Some("2017-01-05".into()))
        );
        assert_eq!(show("ratification"), (None, None));
    }

    #[test]
    fn embedded_base_loads() {
        let kb = KnowledgeBase::embedded().expect("embedded base parses");
        assert_eq!(kb.instruments().len(), 6);
        assert_eq!(kb.parties.len(), 476);
        assert_eq!(kb.non_parties.len(), 26);
        assert_eq!(kb.offences.values().map(Vec::len).sum::<usize>(), 58);
        assert_eq!(kb.offences.len(), 57);
        assert_eq!(kb.version().version, 0);
    }
}
