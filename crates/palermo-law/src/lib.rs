//! palermo-law: the legal engine.
//!
//! A typed knowledge base of international trafficking law (instruments,
//! parties with consent dates, recorded non-parties, article summaries with
//! their S/K check flags, national offences), embedded at build time from
//! `data/legal/`, plus operator updates ([`Update`]) layered on top in a
//! versioned, reversible log. On it, four kinds of question:
//!
//! - [`basis`]: which instruments bind two states on a date and provide a
//!   kind of [`Cooperation`], with articles, consent dates, scope and
//!   conditions, what is unknown, and a labelled fallback;
//! - [`dual_criminality`]: whether each state's national offence covers a
//!   [`Conduct`], element by element;
//! - [`gaps`]: a national offence against the Palermo standard;
//! - [`parties`] and [`matrix`]: the registry views.
//!
//! A state without a row is **unknown**, never "not a party". The crate is
//! pure: callers pass file contents as strings and today's date as a value.

mod basis;
mod country;
mod country_table;
mod date;
mod dual;
mod elements;
mod error;
mod gaps;
mod kb;
mod overlay;
mod provisions;
mod report;
mod status;
mod table;

pub use crate::basis::{BasisAnswer, Candidate, Citation, Fallback, ProtocolLink, basis};
pub use crate::country::{all_codes, country, country_name};
pub use crate::date::{Date, PartialDate};
pub use crate::dual::{
    Conduct, DualAnswer, ElementCheck, OffenceCheck, StateCheck, dual_criminality,
};
pub use crate::elements::Group;
pub use crate::error::{Error, Result};
pub use crate::gaps::{ElementFinding, Finding, GapReport, OffenceRef, gaps};
pub use crate::kb::{
    BASE_AS_OF, BASE_NAME, Bilateral, BilateralKind, ConsentClass, Cooperation, Instrument,
    KbVersion, KnowledgeBase, NationalOffence, NonPartyRow, Origin, PartyRow,
};
pub use crate::overlay::{ImportSummary, Update, UpdateAction, check_revert};
pub use crate::provisions::Provision;
pub use crate::report::{Matrix, MatrixCell, MatrixRow, PartiesReport, matrix, parties, tri};
pub use crate::status::{MemberStatus, Membership, Tri, membership};
pub use crate::table::TableKind;

/// Checks that `date` is not after `today` (answers about the future are refused).
pub fn not_future(what: &str, date: Date, today: Date) -> Result<()> {
    if date > today {
        return Err(Error::FutureDate {
            what: what.to_owned(),
            date: date.to_string(),
            today: today.to_string(),
        });
    }
    Ok(())
}
