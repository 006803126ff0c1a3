//! Dual criminality: does each state's national offence cover a described
//! conduct, element by element? Unknown elements give "undetermined", never "yes".

use serde::{Deserialize, Serialize};

use crate::country::country;
use crate::elements::{Group, Reading, element, means_not_required, names, read, read_child_rule};
use crate::error::{Error, Result};
use crate::kb::{KbVersion, KnowledgeBase, NationalOffence};
use crate::status::{Tri, urls};

/// A structured description of the conduct to test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conduct {
    /// Acts (canonical names: recruitment, transportation, transfer, harbouring, receipt, sale).
    pub acts: Vec<String>,
    /// Means used (force, coercion, abduction, fraud, deception, abuse_of_power,
    /// abuse_of_vulnerability, payments); empty when none was used.
    pub means: Vec<String>,
    /// Purposes (sexual_exploitation, forced_labour, slavery, servitude, organ_removal,
    /// begging, forced_criminality, forced_marriage, illegal_adoption).
    pub purpose: Vec<String>,
    /// Victim's age in years, if known.
    pub victim_age: Option<u32>,
    /// Whether the conduct crossed a border (relevant to treaty scope, not to most national offences).
    pub transnational: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConductJson {
    acts: OneOrMany,
    #[serde(default)]
    means: Option<OneOrMany>,
    #[serde(alias = "purposes")]
    purpose: OneOrMany,
    #[serde(default)]
    victim_age: Option<u32>,
    #[serde(default)]
    transnational: Option<bool>,
    #[serde(default)]
    #[allow(dead_code)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

impl Conduct {
    /// Parses the conduct JSON: `{"acts": [...], "means": [...], "purpose": [...],
    /// "victim_age": 16, "transnational": true}`.
    pub fn from_json(text: &str) -> Result<Conduct> {
        let raw: ConductJson = serde_json::from_str(text).map_err(|e| Error::InvalidConduct {
            field: "json".to_owned(),
            reason: e.to_string(),
        })?;
        let check = |field: &str,
                     group: Group,
                     values: Vec<String>,
                     non_empty: bool|
         -> Result<Vec<String>> {
            if non_empty && values.is_empty() {
                return Err(Error::InvalidConduct {
                    field: field.to_owned(),
                    reason: "must name at least one".to_owned(),
                });
            }
            let mut out = Vec::new();
            for v in values {
                let canon = v.trim().to_lowercase().replace([' ', '-'], "_");
                let canon = match canon.as_str() {
                    "labour_exploitation" | "forced_labor" | "labour" => "forced_labour".to_owned(),
                    "sexual" | "prostitution" => "sexual_exploitation".to_owned(),
                    "harboring" => "harbouring".to_owned(),
                    "transport" => "transportation".to_owned(),
                    "organ" | "organs" => "organ_removal".to_owned(),
                    _ => canon,
                };
                if canon == "none" && group == Group::Means {
                    continue;
                }
                if element(group, &canon).is_none() {
                    return Err(Error::InvalidConduct {
                        field: field.to_owned(),
                        reason: format!(
                            "unknown value '{v}'; expected one of: {}",
                            names(group).join(", ")
                        ),
                    });
                }
                if !out.contains(&canon) {
                    out.push(canon);
                }
            }
            Ok(out)
        };
        if raw.victim_age.is_some_and(|a| a > 130) {
            return Err(Error::InvalidConduct {
                field: "victim_age".to_owned(),
                reason: "must be an age in years".to_owned(),
            });
        }
        Ok(Conduct {
            acts: check("acts", Group::Act, raw.acts.into_vec(), true)?,
            means: check(
                "means",
                Group::Means,
                raw.means.map(OneOrMany::into_vec).unwrap_or_default(),
                false,
            )?,
            purpose: check("purpose", Group::Purpose, raw.purpose.into_vec(), true)?,
            victim_age: raw.victim_age,
            transnational: raw.transnational,
        })
    }
}

/// The verdict for one element of one national offence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElementCheck {
    /// `act`, `means` or `purpose`.
    pub element: Group,
    /// Covered: yes, no, or unknown ("undetermined").
    pub covered: Tri,
    /// Why, naming the conduct values and the rule used.
    pub reason: String,
    /// The knowledge-base cell that was read, quoted.
    pub evidence: String,
}

/// One national offence row tested against the conduct.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OffenceCheck {
    /// Statute.
    pub statute: String,
    /// Section cited.
    pub section: String,
    /// Covers the conduct: yes, no, or unknown ("undetermined").
    pub covers: Tri,
    /// Element by element.
    pub elements: Vec<ElementCheck>,
    /// Maximum penalty as recorded.
    pub max_penalty: String,
    /// Source citation.
    pub source: String,
    /// URLs in it.
    pub source_urls: Vec<String>,
    /// Edition or date of the text read.
    pub as_of_year: String,
}

/// One state's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StateCheck {
    /// ISO code.
    pub country: String,
    /// `covered`, `not_covered` or `undetermined`.
    pub verdict: &'static str,
    /// Per offence row.
    pub offences: Vec<OffenceCheck>,
    /// One-line explanation.
    pub explanation: String,
}

/// The answer to `law dual-criminality`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DualAnswer {
    /// Knowledge-base version used.
    pub kb_version: KbVersion,
    /// As-of date of the knowledge base.
    pub kb_as_of: String,
    /// The conduct tested.
    pub conduct: Conduct,
    /// `yes` when both states cover it, `no` when one does not, else `undetermined`.
    pub dual_criminality: &'static str,
    /// Per state, in the order asked.
    pub states: Vec<StateCheck>,
    /// Notes.
    pub notes: Vec<String>,
}

fn verdict(t: Tri) -> &'static str {
    match t {
        Tri::Yes => "covered",
        Tri::No => "not_covered",
        Tri::Unknown => "undetermined",
    }
}

/// Tests the conduct against the national offences of `a` and `b`.
pub fn dual_criminality(
    kb: &KnowledgeBase,
    conduct: &Conduct,
    a: &str,
    b: &str,
) -> Result<DualAnswer> {
    let a = country(a)?;
    let b = country(b)?;
    let states: Vec<StateCheck> = [a, b].iter().map(|c| check_state(kb, conduct, c)).collect();
    let both = states
        .iter()
        .map(|s| match s.verdict {
            "covered" => Tri::Yes,
            "not_covered" => Tri::No,
            _ => Tri::Unknown,
        })
        .fold(Tri::Yes, Tri::and);
    let mut notes = vec![
        "transnationality and an organized criminal group are not elements of the national offence (UNTOC Art. 34(2)); they matter for the scope of UNTOC cooperation (see `palermo law basis`)".to_owned(),
        "cells are read by keyword from the knowledge base and quoted as evidence; an unknown or incomplete cell gives 'undetermined'".to_owned(),
    ];
    if conduct.victim_age.is_none() {
        notes.push("victim age not given: the child-without-means rule was not applied".to_owned());
    }
    Ok(DualAnswer {
        kb_version: kb.version().clone(),
        kb_as_of: kb.as_of().to_string(),
        conduct: conduct.clone(),
        dual_criminality: match both {
            Tri::Yes => "yes",
            Tri::No => "no",
            Tri::Unknown => "undetermined",
        },
        states,
        notes,
    })
}

fn check_state(kb: &KnowledgeBase, conduct: &Conduct, code: &str) -> StateCheck {
    let rows = kb.offences(code);
    if rows.is_empty() {
        return StateCheck {
            country: code.to_owned(),
            verdict: "undetermined",
            offences: Vec::new(),
            explanation: format!(
                "undetermined: no national offence for {code} in the knowledge base as of {}",
                kb.as_of()
            ),
        };
    }
    let offences: Vec<OffenceCheck> = rows.iter().map(|r| check_offence(conduct, r)).collect();
    let covers = if offences.iter().any(|o| o.covers == Tri::Yes) {
        Tri::Yes
    } else if offences.iter().any(|o| o.covers == Tri::Unknown) {
        Tri::Unknown
    } else {
        Tri::No
    };
    let explanation = match covers {
        Tri::Yes => {
            let which: Vec<&str> = offences
                .iter()
                .filter(|o| o.covers == Tri::Yes)
                .map(|o| o.section.as_str())
                .collect();
            format!("covered by {}", which.join("; "))
        }
        Tri::No => {
            "not covered: at least one element is missing from every offence read".to_owned()
        }
        Tri::Unknown => {
            "undetermined: at least one element is unknown in the knowledge base".to_owned()
        }
    };
    StateCheck {
        country: code.to_owned(),
        verdict: verdict(covers),
        offences,
        explanation,
    }
}

fn any_of(cell: &str, group: Group, values: &[String]) -> (Tri, Vec<String>) {
    let mut named = Vec::new();
    let mut unknown = Vec::new();
    let mut missing = Vec::new();
    for v in values {
        let Some(el) = element(group, v) else {
            continue;
        };
        match read(cell, el) {
            Reading::Named | Reading::NotRequired => named.push(v.clone()),
            Reading::Unknown => unknown.push(v.clone()),
            Reading::NotNamed => missing.push(v.clone()),
        }
    }
    let tri = if !named.is_empty() {
        Tri::Yes
    } else if !unknown.is_empty() {
        Tri::Unknown
    } else {
        Tri::No
    };
    let mut parts = Vec::new();
    if !named.is_empty() {
        parts.push(format!("named: {}", named.join(", ")));
    }
    if !unknown.is_empty() {
        parts.push(format!("unknown: {}", unknown.join(", ")));
    }
    if !missing.is_empty() {
        parts.push(format!("not in the text read: {}", missing.join(", ")));
    }
    (tri, parts)
}

fn check_offence(conduct: &Conduct, row: &NationalOffence) -> OffenceCheck {
    let (act, act_parts) = any_of(&row.acts, Group::Act, &conduct.acts);
    let act_check = ElementCheck {
        element: Group::Act,
        covered: act,
        reason: format!("conduct acts {:?}: {}", conduct.acts, act_parts.join("; ")),
        evidence: row.acts.clone(),
    };
    let child = conduct.victim_age.map(|a| a < 18);
    let child_rule = read_child_rule(&row.child_rule);
    let means_check = if child == Some(true) && child_rule == Reading::Named {
        ElementCheck {
            element: Group::Means,
            covered: Tri::Yes,
            reason: format!(
                "victim aged {} is a child and the law needs no means for children",
                conduct.victim_age.unwrap_or_default()
            ),
            evidence: row.child_rule.clone(),
        }
    } else if means_not_required(&row.means) {
        ElementCheck {
            element: Group::Means,
            covered: Tri::Yes,
            reason: "the offence has no means element".to_owned(),
            evidence: row.means.clone(),
        }
    } else {
        let (mut tri, mut parts) = if conduct.means.is_empty() {
            let tri = if row.means.trim().to_lowercase().starts_with("unknown") {
                Tri::Unknown
            } else {
                Tri::No
            };
            (
                tri,
                vec![
                    "the conduct used no means, and the offence requires (or may require) one"
                        .to_owned(),
                ],
            )
        } else {
            any_of(&row.means, Group::Means, &conduct.means)
        };
        if tri == Tri::No && child == Some(true) && child_rule == Reading::Unknown {
            tri = Tri::Unknown;
            parts.push(format!(
                "child victim, but whether the law needs means for children is unknown: {}",
                row.child_rule
            ));
        }
        if tri == Tri::No && child.is_none() && child_rule == Reading::Named {
            tri = Tri::Unknown;
            parts.push(
                "victim age unknown, and the law needs no means for a child victim".to_owned(),
            );
        }
        ElementCheck {
            element: Group::Means,
            covered: tri,
            reason: format!("conduct means {:?}: {}", conduct.means, parts.join("; ")),
            evidence: row.means.clone(),
        }
    };
    let (purpose, purpose_parts) = any_of(&row.purposes, Group::Purpose, &conduct.purpose);
    let purpose_check = ElementCheck {
        element: Group::Purpose,
        covered: purpose,
        reason: format!(
            "conduct purpose {:?}: {}",
            conduct.purpose,
            purpose_parts.join("; ")
        ),
        evidence: row.purposes.clone(),
    };
    let covers = act_check
        .covered
        .and(means_check.covered)
        .and(purpose_check.covered);
    OffenceCheck {
        statute: row.statute.clone(),
        section: row.section.clone(),
        covers,
        elements: vec![act_check, means_check, purpose_check],
        max_penalty: row.max_penalty.clone(),
        source: row.source.clone(),
        source_urls: urls(&row.source),
        as_of_year: row.as_of_year.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_conduct_and_rejects_bad_values() {
        let check = |json: &str, expect: Result<(usize, usize, usize), &str>| {
            let got = Conduct::from_json(json)
                .map(|c| (c.acts.len(), c.means.len(), c.purpose.len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, expect.map_err(str::to_owned), "{json}");
        };
        check(
            r#"{"acts":["recruitment","transport"],"means":["deception"],"purpose":"sexual exploitation","victim_age":16,"transnational":true}"#,
            Ok((2, 1, 1)),
        );
        check(
            r#"{"acts":"receipt","means":"none","purpose":["forced_labour"]}"#,
            Ok((1, 0, 1)),
        );
        check(
            r#"{"acts":[],"purpose":["forced_labour"]}"#,
            Err("conduct field 'acts': must name at least one"),
        );
        check(
            r#"{"acts":["kidnap"],"purpose":["forced_labour"]}"#,
            Err(
                "conduct field 'acts': unknown value 'kidnap'; expected one of: recruitment, transportation, transfer, harbouring, receipt, sale",
            ),
        );
        check(
            r#"{"acts":["receipt"],"purpose":["x"],"colour":1}"#,
            Err(
                "conduct field 'json': unknown field `colour`, expected one of `acts`, `means`, `purpose`, `purposes`, `victim_age`, `transnational`, `description` at line 1 column 44",
            ),
        );
    }
}
