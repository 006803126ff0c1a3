//! Registry views: the parties of an instrument, and a coverage matrix of
//! which instruments bind each pair of states.

use serde::Serialize;

use crate::country::country;
use crate::date::Date;
use crate::error::Result;
use crate::kb::{Instrument, KbVersion, KnowledgeBase};
use crate::status::{MemberStatus, Membership, Tri, membership, urls};

/// The answer to `law parties INSTRUMENT`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartiesReport {
    /// Knowledge-base version used.
    pub kb_version: KbVersion,
    /// As-of date of the knowledge base.
    pub kb_as_of: String,
    /// The instrument.
    pub instrument: Instrument,
    /// URLs in its source.
    pub source_urls: Vec<String>,
    /// Date the statuses are for.
    pub on: Date,
    /// Counts per status.
    pub counts: Vec<(MemberStatus, usize)>,
    /// Every state with a party or non-party row, sorted by code.
    pub states: Vec<Membership>,
    /// Reminder about states without a row.
    pub note: String,
}

/// Lists every state the knowledge base records for `instrument`.
pub fn parties(kb: &KnowledgeBase, instrument: &str, on: Date) -> Result<PartiesReport> {
    let instrument = kb.instrument(instrument)?;
    let mut codes: Vec<&str> = kb
        .parties_of(&instrument.id)
        .map(|p| p.country.as_str())
        .collect();
    codes.extend(
        kb.non_parties_of(&instrument.id)
            .map(|p| p.country.as_str()),
    );
    codes.sort_unstable();
    codes.dedup();
    let states: Vec<Membership> = codes
        .iter()
        .map(|c| membership(kb, instrument, c, on))
        .collect();
    let mut counts: Vec<(MemberStatus, usize)> = Vec::new();
    for m in &states {
        match counts.iter_mut().find(|(s, _)| *s == m.status) {
            Some((_, n)) => *n += 1,
            None => counts.push((m.status, 1)),
        }
    }
    counts.sort();
    Ok(PartiesReport {
        kb_version: kb.version().clone(),
        kb_as_of: kb.as_of().to_string(),
        source_urls: urls(&instrument.source),
        instrument: instrument.clone(),
        on,
        counts,
        states,
        note: format!(
            "a state without a row here is unknown (not in the knowledge base as of {}), never 'not a party'",
            kb.as_of()
        ),
    })
}

/// One cell of the matrix: an instrument for a pair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixCell {
    /// Instrument id (or bilateral agreement id).
    pub instrument_id: String,
    /// Binds both: yes, no, unknown.
    pub binds_both: Tri,
    /// Short reason, naming each state's status.
    pub reason: String,
}

/// One pair of states.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixRow {
    /// First state (alphabetical).
    pub a: String,
    /// Second state.
    pub b: String,
    /// One cell per instrument, in knowledge-base order, then bilateral agreements.
    pub cells: Vec<MatrixCell>,
}

/// The answer to `law matrix CC,CC,...`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matrix {
    /// Knowledge-base version used.
    pub kb_version: KbVersion,
    /// As-of date of the knowledge base.
    pub kb_as_of: String,
    /// Date the statuses are for.
    pub on: Date,
    /// Instrument ids (the columns).
    pub instruments: Vec<String>,
    /// One row per unordered pair.
    pub rows: Vec<MatrixRow>,
}

/// Builds the coverage matrix for every pair of `countries` (at least two, deduplicated).
pub fn matrix(kb: &KnowledgeBase, countries: &[String], on: Date) -> Result<Matrix> {
    let mut codes: Vec<&'static str> = countries
        .iter()
        .map(|c| country(c))
        .collect::<Result<_>>()?;
    codes.sort_unstable();
    codes.dedup();
    let mut rows = Vec::new();
    for (i, a) in codes.iter().enumerate() {
        for b in &codes[i + 1..] {
            let mut cells: Vec<MatrixCell> = kb
                .instruments()
                .iter()
                .map(|inst| {
                    let ma = membership(kb, inst, a, on);
                    let mb = membership(kb, inst, b, on);
                    let binds = ma.status.binding().and(mb.status.binding());
                    MatrixCell {
                        instrument_id: inst.id.clone(),
                        binds_both: binds,
                        reason: format!("{a}: {}; {b}: {}", short(ma.status), short(mb.status)),
                    }
                })
                .collect();
            for bl in kb.bilaterals_between(a, b) {
                let binds = match bl.entry_into_force {
                    Some(d) if d.latest() <= on => Tri::Yes,
                    Some(d) if d.earliest() > on => Tri::No,
                    _ => Tri::Unknown,
                };
                cells.push(MatrixCell {
                    instrument_id: bl.id.clone(),
                    binds_both: binds,
                    reason: format!("bilateral {}", bl.title),
                });
            }
            rows.push(MatrixRow {
                a: (*a).to_owned(),
                b: (*b).to_owned(),
                cells,
            });
        }
    }
    Ok(Matrix {
        kb_version: kb.version().clone(),
        kb_as_of: kb.as_of().to_string(),
        on,
        instruments: kb.instruments().iter().map(|i| i.id.clone()).collect(),
        rows,
    })
}

fn short(status: MemberStatus) -> &'static str {
    match status {
        MemberStatus::Bound => "bound",
        MemberStatus::NotYetBound => "not yet bound",
        MemberStatus::SignatureOnly => "signature only",
        MemberStatus::NotParty => "not a party",
        MemberStatus::Unconfirmed => "unconfirmed",
        MemberStatus::Uncertain => "uncertain",
        MemberStatus::Unknown => "unknown",
    }
}

impl Matrix {
    /// The matrix as CSV: `state_a,state_b,<instrument>...,bilateral` with
    /// cells `yes`, `no` or `unknown` (bilateral: agreement ids in force).
    pub fn to_csv(&self) -> String {
        let mut out = format!(
            "state_a,state_b,{},bilateral_in_force\n",
            self.instruments.join(",")
        );
        for row in &self.rows {
            let mut cells = vec![row.a.clone(), row.b.clone()];
            for id in &self.instruments {
                let cell = row.cells.iter().find(|c| &c.instrument_id == id);
                cells.push(cell.map_or("unknown", |c| tri(c.binds_both)).to_owned());
            }
            let bilateral: Vec<&str> = row
                .cells
                .iter()
                .filter(|c| {
                    !self.instruments.contains(&c.instrument_id) && c.binds_both == Tri::Yes
                })
                .map(|c| c.instrument_id.as_str())
                .collect();
            cells.push(bilateral.join(";"));
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }
}

/// `yes`, `no` or `unknown`.
pub fn tri(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "yes",
        Tri::No => "no",
        Tri::Unknown => "unknown",
    }
}
