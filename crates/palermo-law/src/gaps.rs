//! Gap report: a state's national offence against the Palermo standard
//! (Protocol Art. 3 and 5, and CETS 197 Art. 26 where the state is a party).

use serde::Serialize;

use crate::basis::Citation;
use crate::country::country;
use crate::date::Date;
use crate::elements::{ELEMENTS, Group, Reading, means_not_required, read, read_child_rule};
use crate::error::Result;
use crate::kb::{KbVersion, KnowledgeBase};
use crate::status::{MemberStatus, membership, urls};

/// How the national law stands on one element of the standard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Finding {
    /// The law covers it (per the text read).
    Covered,
    /// The text read does not cover it: a gap.
    Gap,
    /// The knowledge base does not tell.
    Unknown,
    /// The standard does not apply to this state (e.g. not a CETS 197 party).
    NotApplicable,
    /// The law goes beyond the Palermo minimum here.
    Broader,
}

/// One element of the standard and how the law stands on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElementFinding {
    /// `act`, `means`, `purpose`, `child_rule`, `consent`, `ancillary`, `non_punishment`, `penalty`.
    pub area: &'static str,
    /// The element.
    pub element: String,
    /// The provision of the standard.
    pub standard: String,
    /// Finding.
    pub finding: Finding,
    /// Why.
    pub reason: String,
    /// The section(s) and cell(s) read, quoted.
    pub evidence: Vec<String>,
}

/// The answer to `law gaps CC`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapReport {
    /// Knowledge-base version used.
    pub kb_version: KbVersion,
    /// As-of date of the knowledge base.
    pub kb_as_of: String,
    /// ISO code.
    pub country: String,
    /// The national offence rows read: statute, section, source, as-of.
    pub offences: Vec<OffenceRef>,
    /// Element by element.
    pub elements: Vec<ElementFinding>,
    /// Elements found to be gaps.
    pub gaps: Vec<String>,
    /// Elements the knowledge base does not determine.
    pub unknowns: Vec<String>,
    /// Provisions of the standard cited (with S/K flags).
    pub standard: Vec<Citation>,
}

/// A national offence row cited by a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffenceRef {
    /// Statute.
    pub statute: String,
    /// Section.
    pub section: String,
    /// Source citation.
    pub source: String,
    /// URLs in it.
    pub source_urls: Vec<String>,
    /// Edition or date of the text read.
    pub as_of_year: String,
    /// Notes as recorded.
    pub notes: String,
}

/// Compares `code`'s national offence(s) with the Palermo standard on date `on`
/// (used for CETS 197 membership).
pub fn gaps(kb: &KnowledgeBase, code: &str, on: Date) -> Result<GapReport> {
    let code = country(code)?;
    let rows = kb.offences(code);
    let mut elements = Vec::new();
    let ev = |section: &str, cell: &str| format!("{section}: \"{cell}\"");
    for el in ELEMENTS {
        let area = match el.group {
            Group::Act => "act",
            Group::Means => "means",
            Group::Purpose => "purpose",
        };
        let mut evidence = Vec::new();
        let mut readings = Vec::new();
        for row in rows {
            let cell = match el.group {
                Group::Act => &row.acts,
                Group::Means => &row.means,
                Group::Purpose => &row.purposes,
            };
            readings.push(read(cell, el));
            evidence.push(ev(&row.section, cell));
        }
        evidence.dedup();
        let (finding, reason) = if rows.is_empty() {
            (
                Finding::Unknown,
                "no national offence in the knowledge base".to_owned(),
            )
        } else if readings.contains(&Reading::NotRequired) {
            (
                Finding::Broader,
                "no means element: the offence is made out without any means".to_owned(),
            )
        } else if readings.contains(&Reading::Named) {
            if el.palermo {
                (Finding::Covered, "named in the text read".to_owned())
            } else {
                (
                    Finding::Broader,
                    "beyond the Palermo minimum, named in the text read".to_owned(),
                )
            }
        } else if readings.contains(&Reading::Unknown) {
            (
                Finding::Unknown,
                "the knowledge base does not state it (unknown or incomplete text)".to_owned(),
            )
        } else if el.palermo {
            (Finding::Gap, "not named in the text read".to_owned())
        } else {
            continue;
        };
        if !el.palermo && finding != Finding::Broader {
            continue;
        }
        elements.push(ElementFinding {
            area,
            element: el.name.to_owned(),
            standard: format!("Palermo Art. 3(a): {}", el.label),
            finding,
            reason,
            evidence,
        });
    }
    elements.push(child_rule(rows));
    elements.push(consent(rows));
    elements.push(ElementFinding {
        area: "ancillary",
        element: "attempt, participation as an accomplice, organizing or directing".to_owned(),
        standard: "Palermo Art. 5(2)".to_owned(),
        finding: Finding::Unknown,
        reason: "the knowledge base does not record attempt, complicity or organizing provisions"
            .to_owned(),
        evidence: Vec::new(),
    });
    elements.push(non_punishment(kb, code, on));
    elements.push(penalty(rows));
    let gaps = elements
        .iter()
        .filter(|e| e.finding == Finding::Gap)
        .map(|e| format!("{}: {}", e.area, e.element))
        .collect();
    let unknowns = elements
        .iter()
        .filter(|e| e.finding == Finding::Unknown)
        .map(|e| format!("{}: {}", e.area, e.element))
        .collect();
    let standard = [
        ("PALERMO_TIP", "Art. 3(a)"),
        ("PALERMO_TIP", "Art. 3(b)"),
        ("PALERMO_TIP", "Art. 3(c)–(d)"),
        ("PALERMO_TIP", "Art. 5"),
        ("CETS197", "Art. 26"),
        ("UNTOC", "Art. 2"),
    ]
    .iter()
    .filter_map(|(i, a)| kb.provision(i, a))
    .map(Citation::from)
    .collect();
    Ok(GapReport {
        kb_version: kb.version().clone(),
        kb_as_of: kb.as_of().to_string(),
        country: code.to_owned(),
        offences: rows
            .iter()
            .map(|r| OffenceRef {
                statute: r.statute.clone(),
                section: r.section.clone(),
                source: r.source.clone(),
                source_urls: urls(&r.source),
                as_of_year: r.as_of_year.clone(),
                notes: r.notes.clone(),
            })
            .collect(),
        elements,
        gaps,
        unknowns,
        standard,
    })
}

fn child_rule(rows: &[crate::kb::NationalOffence]) -> ElementFinding {
    let readings: Vec<Reading> = rows
        .iter()
        .map(|r| read_child_rule(&r.child_rule))
        .collect();
    let no_means = rows.iter().any(|r| means_not_required(&r.means));
    let (finding, reason) = if rows.is_empty() {
        (
            Finding::Unknown,
            "no national offence in the knowledge base",
        )
    } else if readings.contains(&Reading::Named) {
        (
            Finding::Covered,
            "the law needs no means where the victim is a child",
        )
    } else if no_means {
        (
            Finding::Covered,
            "the offence has no means element for any victim",
        )
    } else if readings.contains(&Reading::Unknown) {
        (Finding::Unknown, "not stated in the knowledge base")
    } else {
        (
            Finding::Gap,
            "the law requires means also for child victims",
        )
    };
    ElementFinding {
        area: "child_rule",
        element: "child victim: act + purpose suffice, no means".to_owned(),
        standard: "Palermo Art. 3(c)-(d)".to_owned(),
        finding,
        reason: reason.to_owned(),
        evidence: rows
            .iter()
            .map(|r| format!("{}: \"{}\"", r.section, r.child_rule))
            .collect(),
    }
}

fn consent(rows: &[crate::kb::NationalOffence]) -> ElementFinding {
    const PHRASES: &[&str] = &[
        "consent of v irrelevant",
        "consent is not a defence",
        "consent immaterial",
        "consent is immaterial",
        "consent is never valid",
        "consent is no defence",
        "with or without consent",
        "with or without the consent",
        "irrespective of consent",
        "consent does not",
        "does not remove liability",
        "consent irrelevant",
    ];
    let mut evidence = Vec::new();
    for r in rows {
        for cell in [&r.means, &r.acts, &r.child_rule, &r.notes] {
            let lower = cell.to_lowercase();
            if PHRASES.iter().any(|p| lower.contains(p)) {
                evidence.push(format!("{}: \"{}\"", r.section, cell));
            }
        }
    }
    let (finding, reason) = if !evidence.is_empty() {
        (
            Finding::Covered,
            "the knowledge base records that the victim's consent is no defence",
        )
    } else {
        (
            Finding::Unknown,
            "the knowledge base does not record whether consent is a defence",
        )
    };
    ElementFinding {
        area: "consent",
        element: "consent irrelevant once a means is used".to_owned(),
        standard: "Palermo Art. 3(b)".to_owned(),
        finding,
        reason: reason.to_owned(),
        evidence,
    }
}

fn non_punishment(kb: &KnowledgeBase, code: &str, on: Date) -> ElementFinding {
    let (finding, reason, evidence) = match kb.instrument("CETS197") {
        Err(_) => (
            Finding::Unknown,
            "CETS 197 is not in the knowledge base".to_owned(),
            Vec::new(),
        ),
        Ok(cets) => {
            let m = membership(kb, cets, code, on);
            match m.status {
                MemberStatus::Bound => (
                    Finding::Unknown,
                    "the state is bound by CETS 197, so Art. 26 requires the possibility of not punishing victims compelled to offend; its national implementation is not in the knowledge base".to_owned(),
                    vec![m.explanation],
                ),
                s if s.binding() == crate::status::Tri::No => (
                    Finding::NotApplicable,
                    "CETS 197 does not bind the state; the Palermo Protocol has no binding non-punishment clause".to_owned(),
                    vec![m.explanation],
                ),
                _ => (Finding::Unknown, "whether CETS 197 binds the state is unknown".to_owned(), vec![m.explanation]),
            }
        }
    };
    ElementFinding {
        area: "non_punishment",
        element: "non-punishment of victims for unlawful acts they were compelled to commit"
            .to_owned(),
        standard: "CETS 197 Art. 26".to_owned(),
        finding,
        reason,
        evidence,
    }
}

/// The largest number of years in a penalty cell, or life.
pub(crate) fn max_years(cell: &str) -> Option<u32> {
    let t = cell.to_lowercase();
    if t.starts_with("unknown") {
        return None;
    }
    if t.starts_with("life") {
        return Some(u32::MAX);
    }
    let head: String = t.chars().take_while(|c| c.is_ascii_digit()).collect();
    head.parse().ok()
}

fn penalty(rows: &[crate::kb::NationalOffence]) -> ElementFinding {
    let best = rows.iter().filter_map(|r| max_years(&r.max_penalty)).max();
    let (finding, reason) = match best {
        Some(y) if y >= 4 => (
            Finding::Covered,
            "maximum of at least 4 years: a 'serious crime' under UNTOC Art. 2(b)".to_owned(),
        ),
        Some(y) => (
            Finding::Gap,
            format!(
                "maximum of {y} years is below the 4 years of a 'serious crime' (UNTOC Art. 2(b))"
            ),
        ),
        None => (
            Finding::Unknown,
            "maximum penalty not in the knowledge base".to_owned(),
        ),
    };
    ElementFinding {
        area: "penalty",
        element: "maximum penalty of at least 4 years".to_owned(),
        standard: "UNTOC Art. 2(b)".to_owned(),
        finding,
        reason,
        evidence: rows
            .iter()
            .map(|r| format!("{}: \"{}\"", r.section, r.max_penalty))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_penalties() {
        let check = |cell: &str, expect: Option<u32>| assert_eq!(max_years(cell), expect, "{cell}");
        check("life", Some(u32::MAX));
        check("20; life if death", Some(20));
        check("15 (victim under 15); 12", Some(15));
        check("unknown (no maximum stated)", None);
        check("8 basic; up to 12", Some(8));
    }
}
