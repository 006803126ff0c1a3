//! Whether a state is bound by an instrument on a date, read from its party
//! row, its non-party row, or the absence of both (which means unknown).

use serde::Serialize;

use crate::date::{Date, PartialDate, leading_date};
use crate::kb::{ConsentClass, Instrument, KnowledgeBase, Origin};

/// A three-valued answer: unknown is never folded into "no".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tri {
    /// Yes.
    Yes,
    /// No.
    No,
    /// Not determined by the knowledge base.
    Unknown,
}

impl Tri {
    /// Cumulative conditions: any No gives No, else any Unknown gives Unknown.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::Yes,
        }
    }
}

/// A state's standing under an instrument on the date asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// Consent given and the instrument in force for the state on the date.
    Bound,
    /// Consent given, but only after the date (or not yet in force for it then).
    NotYetBound,
    /// Signed only: signature alone does not bind.
    SignatureOnly,
    /// Recorded as not a party at a date that covers the question.
    NotParty,
    /// A consent was reported but its deposit was not verified.
    Unconfirmed,
    /// A consent is recorded, but its date is too imprecise to tell for this date.
    Uncertain,
    /// Not in the knowledge base (or the row says unknown).
    Unknown,
}

impl MemberStatus {
    /// Whether this status binds the state.
    pub fn binding(self) -> Tri {
        match self {
            MemberStatus::Bound => Tri::Yes,
            MemberStatus::NotYetBound | MemberStatus::SignatureOnly | MemberStatus::NotParty => {
                Tri::No
            }
            MemberStatus::Unconfirmed | MemberStatus::Uncertain | MemberStatus::Unknown => {
                Tri::Unknown
            }
        }
    }
}

/// One state's membership of one instrument on one date, with its evidence.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Membership {
    /// Instrument id.
    pub instrument_id: String,
    /// ISO code.
    pub country: String,
    /// Status on the date.
    pub status: MemberStatus,
    /// Why, in one sentence.
    pub explanation: String,
    /// Signature date, if recorded.
    pub signature_date: Option<String>,
    /// Consent date, if recorded (possibly partial).
    pub consent_date: Option<String>,
    /// Consent type as recorded.
    pub consent_type: Option<String>,
    /// Entry into force for this state, where it can be computed.
    pub in_force_for_party: Option<String>,
    /// Source citation of the row (empty when there is no row).
    pub source: String,
    /// URLs found in the source citation.
    pub source_urls: Vec<String>,
    /// The date the fact is known as of.
    pub as_of: String,
    /// Knowledge-base version that contributed the row (0 = base; absent when no row).
    pub origin: Option<Origin>,
}

/// How an instrument enters into force for a state after its consent.
pub(crate) fn party_delay(instrument: &str) -> (&'static str, fn(Date) -> Date) {
    match instrument {
        "UNTOC" => ("30th day after deposit (UNTOC Art. 38(2), K)", |d| {
            d.add_days(30)
        }),
        "PALERMO_TIP" => ("30th day after deposit (Protocol Art. 17(2), K)", |d| {
            d.add_days(30)
        }),
        "CETS197" => (
            "first day of the month after 3 months from deposit (CETS 197 Art. 42, K)",
            |d| d.add_months(3).first_of_next_month(),
        ),
        "ILO_P029" => ("12 months after ratification (P029 Art. 8, S)", |d| {
            d.add_months(12)
        }),
        "EU_DIR_2011_36" => ("from the date of EU membership", |d| d),
        _ => (
            "per-party rule not in the knowledge base; consent date used",
            |d| d,
        ),
    }
}

fn general_entry(instrument: &Instrument) -> Option<PartialDate> {
    instrument
        .entry_into_force
        .or_else(|| leading_date(&instrument.adopted))
}

/// URLs inside a source citation.
pub(crate) fn urls(source: &str) -> Vec<String> {
    source
        .split(|c: char| c.is_whitespace() || c == ';' || c == '"')
        .filter(|t| t.starts_with("http://") || t.starts_with("https://"))
        .map(|t| t.trim_end_matches([')', ',', '.', ';', ']']).to_owned())
        .collect()
}

/// A state's membership of `instrument` on `on`.
pub fn membership(
    kb: &KnowledgeBase,
    instrument: &Instrument,
    country: &str,
    on: Date,
) -> Membership {
    let as_of = kb.as_of();
    let mut m = Membership {
        instrument_id: instrument.id.clone(),
        country: country.to_owned(),
        status: MemberStatus::Unknown,
        explanation: String::new(),
        signature_date: None,
        consent_date: None,
        consent_type: None,
        in_force_for_party: None,
        source: String::new(),
        source_urls: Vec::new(),
        as_of: as_of.to_string(),
        origin: None,
    };
    if let Some(row) = kb.party(&instrument.id, country) {
        m.signature_date = row.signature_date.map(|d| d.to_string());
        m.consent_date = row.consent_date.map(|d| d.to_string());
        m.consent_type = Some(row.consent_type.clone());
        m.source = row.source.clone();
        m.source_urls = urls(&row.source);
        m.origin = Some(row.origin);
        match row.class {
            ConsentClass::Consent => consent_status(
                &mut m,
                kb,
                instrument,
                row.consent_date,
                row.consent_window,
                on,
            ),
            ConsentClass::SignatureOnly => {
                m.status = MemberStatus::SignatureOnly;
                m.explanation = format!(
                    "signature only ({}): signature alone does not bind; no later consent is recorded",
                    row.consent_type
                );
                if let Some(np) = kb.non_party(&instrument.id, country) {
                    m.explanation.push_str(&format!(
                        "; also recorded as not a party as of {}",
                        np.status_as_of
                    ));
                }
            }
            ConsentClass::Reported => {
                m.status = MemberStatus::Unconfirmed;
                m.explanation = format!("consent reported but not confirmed: {}", row.consent_type);
            }
            ConsentClass::Unknown => {
                m.status = MemberStatus::Unknown;
                m.explanation = format!("the knowledge base row says: {}", row.consent_type);
            }
        }
        return m;
    }
    if let Some(np) = kb.non_party(&instrument.id, country) {
        m.source = np.source.clone();
        m.source_urls = urls(&np.source);
        m.origin = Some(np.origin);
        m.as_of = np.status_as_of.clone();
        let recorded_year = np.status_as_of.get(..4).and_then(|y| y.parse::<i32>().ok());
        let covers = !np.stale || recorded_year.is_some_and(|y| on.year() <= y);
        if covers {
            m.status = MemberStatus::NotParty;
            m.explanation = format!("recorded as not a party as of {}", np.status_as_of);
        } else {
            m.status = MemberStatus::Unknown;
            m.explanation = format!(
                "unknown: recorded as not a party only as of {} (not verified since)",
                np.status_as_of
            );
        }
        return m;
    }
    if instrument.id == "EU_DIR_2011_36" {
        // The europa.eu list of 27 member states is complete; the EU itself is the author.
        m.as_of = as_of.to_string();
        if let Some(row) = kb.parties_of(&instrument.id).next() {
            m.source = row.source.clone();
            m.source_urls = urls(&row.source);
        }
        if country == "EU" {
            m.status = MemberStatus::NotParty;
            m.explanation =
                "the EU adopted the directive; it binds EU member states, not the EU as a party"
                    .to_owned();
        } else if country == "GB" && Date::new(2020, 1, 31).is_ok_and(|left| on <= left) {
            m.status = MemberStatus::Unknown;
            m.explanation = "unknown: the United Kingdom was an EU member until its withdrawal on 2020-01-31 (europa.eu); its participation in the Directive is not in the knowledge base".to_owned();
        } else {
            m.status = MemberStatus::NotParty;
            m.explanation =
                format!("not one of the 27 EU member states listed by europa.eu (as of {as_of})");
        }
        return m;
    }
    m.explanation = format!("unknown (not in the knowledge base as of {as_of})");
    m
}

fn consent_status(
    m: &mut Membership,
    kb: &KnowledgeBase,
    instrument: &Instrument,
    consent: Option<PartialDate>,
    window: (Option<Date>, Option<Date>),
    on: Date,
) {
    let (rule, delay) = party_delay(&instrument.id);
    let general = general_entry(instrument);
    let (consent_earliest, consent_latest, dated) = match consent {
        Some(d) => (Some(d.earliest()), Some(d.latest()), true),
        None => (window.0, window.1, window.1.is_some()),
    };
    let later = |a: Option<Date>, b: Option<Date>| match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let eif_earliest = later(
        consent_earliest.map(delay),
        general.map(PartialDate::earliest),
    );
    // Without any consent date, party status is known only as of the knowledge base's date.
    let eif_latest = later(
        Some(consent_latest.map_or(kb.as_of(), delay)),
        general.map(PartialDate::latest),
    );
    m.in_force_for_party = match (eif_earliest, eif_latest) {
        (Some(a), Some(b)) if a == b && dated => Some(format!("{a} ({rule})")),
        (a, Some(b)) if dated => Some(format!(
            "between {} and {b} ({rule})",
            a.map_or_else(|| "an unknown date".to_owned(), |d| d.to_string())
        )),
        _ => None,
    };
    let consent_text = match consent {
        Some(d) => format!("{} {d}", m.consent_type.as_deref().unwrap_or("consent")),
        None => format!(
            "{} (date not in the knowledge base)",
            m.consent_type.as_deref().unwrap_or("consent")
        ),
    };
    if eif_latest.is_some_and(|d| d <= on) {
        m.status = MemberStatus::Bound;
        m.explanation = match (dated, &m.in_force_for_party) {
            (true, Some(eif)) => format!("bound: {consent_text}; in force for it {eif}"),
            _ => format!("bound: {consent_text}; party as of {}", kb.as_of()),
        };
    } else if eif_earliest.is_some_and(|d| d > on) {
        m.status = MemberStatus::NotYetBound;
        m.explanation = if consent_earliest.is_some_and(|d| d > on) {
            format!("not yet bound on {on}: {consent_text} is after that date")
        } else {
            format!(
                "not yet bound on {on}: {consent_text}, but in force for it only {}",
                m.in_force_for_party.as_deref().unwrap_or("later")
            )
        };
    } else {
        m.status = MemberStatus::Uncertain;
        m.explanation = if dated {
            format!(
                "uncertain on {on}: {consent_text}; in force for it {}",
                m.in_force_for_party
                    .as_deref()
                    .unwrap_or("at an unknown date")
            )
        } else {
            format!(
                "uncertain on {on}: {consent_text}; known as a party only as of {}",
                kb.as_of()
            )
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_urls_in_sources() {
        let got = urls(
            "http://a.org/x (status as at 2024); https://b.org/y, see notes \"https://c.org/z\"",
        );
        assert_eq!(
            got,
            ["http://a.org/x", "https://b.org/y", "https://c.org/z"]
        );
    }

    #[test]
    fn tri_and_is_cumulative() {
        assert_eq!(Tri::Yes.and(Tri::Yes), Tri::Yes);
        assert_eq!(Tri::Yes.and(Tri::Unknown), Tri::Unknown);
        assert_eq!(Tri::Unknown.and(Tri::No), Tri::No);
    }
}
