//! Legal basis for cooperation between two states: every instrument binding
//! both on a date that provides the kind of cooperation asked for, with its
//! articles, consent dates, scope and conditions; what is unknown; and a
//! clearly labelled fallback when nothing binds both.

use serde::Serialize;

use crate::country::country;
use crate::date::Date;
use crate::error::Result;
use crate::kb::{Bilateral, BilateralKind, Cooperation, KbVersion, KnowledgeBase};
use crate::provisions::Provision;
use crate::status::{MemberStatus, Membership, Tri, membership, urls};

/// A hand-written rule: which articles of an instrument provide a kind of cooperation.
struct Rule {
    kind: Cooperation,
    instrument: &'static str,
    articles: &'static [&'static str],
    /// Trafficking offences fall under UNTOC via Protocol Art. 1 only between Protocol parties.
    protocol_link: bool,
    scope: &'static str,
    conditions: &'static [&'static str],
}

const UNTOC_SCOPE: &str = "the offence must fall within UNTOC (Art. 3): transnational in nature (Art. 3(2)) and involving an organized criminal group (Art. 2(a): 3+ persons acting together for material benefit); trafficking offences count as Convention offences between states party to both UNTOC and the Palermo Protocol (Protocol Art. 1(2)-(3), applied mutatis mutandis); otherwise only as a 'serious crime' (Art. 2(b): maximum of at least 4 years)";
const PROTOCOL_SCOPE: &str = "the offence must be a Protocol Art. 5 offence that is transnational in nature and involves an organized criminal group (Protocol Art. 4), or concern the protection of its victims";
const CETS_SCOPE: &str = "all forms of trafficking in human beings, national or transnational, whether or not linked to organized crime (CETS 197 Art. 2)";

const RULES: &[Rule] = &[
    Rule {
        kind: Cooperation::Mla,
        instrument: "UNTOC",
        articles: &["Art. 18"],
        protocol_link: true,
        scope: UNTOC_SCOPE,
        conditions: &[
            "Art. 18(7): paragraphs 9-29 (the 'mini-MLA treaty') apply only where no MLA treaty binds both states; an MLA treaty between them prevails unless they agree otherwise",
            "Art. 18(9): the requested state may refuse for absence of dual criminality (see `palermo law dual-criminality`)",
            "Art. 18(13): requests go to the central authority each state notified to the UN Secretary-General; the designations are not in the knowledge base",
            "Art. 18(21): grounds for refusal (non-conforming request; sovereignty, security, ordre public; domestic-law bar); bank secrecy (18(8)) and fiscal matters (18(22)) are not grounds",
        ],
    },
    Rule {
        kind: Cooperation::Mla,
        instrument: "CETS197",
        articles: &["Art. 32"],
        protocol_link: false,
        scope: CETS_SCOPE,
        conditions: &[
            "Art. 32 is a general duty to cooperate 'to the widest extent possible' through applicable instruments, reciprocal arrangements and domestic law; it is not a self-standing MLA procedure",
        ],
    },
    Rule {
        kind: Cooperation::Extradition,
        instrument: "UNTOC",
        articles: &["Art. 16"],
        protocol_link: true,
        scope: UNTOC_SCOPE,
        conditions: &[
            "Art. 16(1): the person sought must be in the requested state, and dual criminality must hold (see `palermo law dual-criminality`)",
            "Art. 16(4)-(5): a requested state that makes extradition conditional on a treaty may use UNTOC as the legal basis only if it notified the UN Secretary-General that it will; these notifications are NOT in the knowledge base, so this is unknown for both states",
            "Art. 16(10): a state that does not extradite its nationals must submit the case for prosecution (aut dedere aut judicare)",
            "Art. 16(14): no obligation to extradite where the request is made to punish a person on account of sex, race, religion, nationality, ethnic origin or political opinions",
            "conditions and grounds for refusal otherwise come from domestic law or applicable treaties, including a minimum penalty",
        ],
    },
    Rule {
        kind: Cooperation::Information,
        instrument: "PALERMO_TIP",
        articles: &["Art. 10"],
        protocol_link: false,
        scope: PROTOCOL_SCOPE,
        conditions: &[
            "Art. 10: exchange is 'in accordance with domestic law'; a receiving state must comply with any restriction the sending state places on use of the information",
        ],
    },
    Rule {
        kind: Cooperation::Information,
        instrument: "UNTOC",
        articles: &["Art. 27", "Art. 28–29"],
        protocol_link: true,
        scope: UNTOC_SCOPE,
        conditions: &[
            "Art. 27: law-enforcement channels and cooperation 'consistent with their respective domestic legal and administrative systems'",
        ],
    },
    Rule {
        kind: Cooperation::Information,
        instrument: "CETS197",
        articles: &["Art. 34", "Art. 33"],
        protocol_link: false,
        scope: CETS_SCOPE,
        conditions: &[
            "Art. 34: spontaneous information may carry confidentiality conditions; victim-related communications go through designated channels with data protection",
        ],
    },
    Rule {
        kind: Cooperation::Jit,
        instrument: "UNTOC",
        articles: &["Art. 19"],
        protocol_link: true,
        scope: UNTOC_SCOPE,
        conditions: &[
            "Art. 19: a joint investigative body needs a bilateral or multilateral agreement, or a case-by-case agreement, with full respect for the sovereignty of the state where it operates",
        ],
    },
    Rule {
        kind: Cooperation::AssetFreeze,
        instrument: "UNTOC",
        articles: &["Art. 13", "Art. 12", "Art. 14"],
        protocol_link: true,
        scope: UNTOC_SCOPE,
        conditions: &[
            "Art. 13: the requested state identifies, traces, freezes or seizes proceeds and instrumentalities, and submits or gives effect to confiscation orders; the Convention can serve as the treaty basis where one is required",
            "Art. 12: bank secrecy may not be invoked",
            "Art. 14: on request, priority to returning confiscated assets so that victims can be compensated",
        ],
    },
];

/// A provision cited in an answer, with its check flag carried through.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Citation {
    /// Instrument id.
    pub instrument_id: String,
    /// Article label.
    pub article: String,
    /// Article heading.
    pub title: String,
    /// Summary from `provisions.md`.
    pub summary: String,
    /// `S` (seen in a cited source) or `K` (not verified against the official text), as written.
    pub check: String,
    /// False when any part is K: verify against the official text before relying on it.
    pub verified: bool,
}

impl From<&Provision> for Citation {
    fn from(p: &Provision) -> Citation {
        Citation {
            instrument_id: p.instrument_id.clone(),
            article: p.article.clone(),
            title: p.title.clone(),
            summary: p.summary.clone(),
            check: p.check.clone(),
            verified: p.verified,
        }
    }
}

/// How trafficking offences reach UNTOC's machinery between the two states.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ProtocolLink {
    /// Whether both states are bound by the Palermo Protocol on the date.
    pub both_parties: Tri,
    /// The two memberships of the Protocol (sorted by country code).
    pub memberships: Vec<Membership>,
    /// What follows.
    pub note: String,
}

/// One instrument (or bilateral agreement) and what it says for the pair.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Candidate {
    /// Instrument id, or the bilateral agreement id.
    pub instrument_id: String,
    /// Short name or title.
    pub name: String,
    /// `multilateral` or the bilateral kind.
    pub kind: String,
    /// Whether the instrument binds both states on the date.
    pub binds_both: Tri,
    /// Articles providing the cooperation (empty for bilateral agreements and
    /// for instruments with no such article in the knowledge base).
    pub articles: Vec<Citation>,
    /// Each state's membership (sorted by country code).
    pub memberships: Vec<Membership>,
    /// The scope requirement the offence must meet.
    pub scope_requirement: String,
    /// Conditions known to apply.
    pub conditions: Vec<String>,
    /// For UNTOC articles: whether trafficking offences are Convention offences between the pair.
    pub protocol_link: Option<ProtocolLink>,
    /// Source citation of the instrument.
    pub source: String,
    /// URLs in it.
    pub source_urls: Vec<String>,
}

/// The labelled fallback when no instrument in the knowledge base binds both states.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Fallback {
    /// Always starts with "FALLBACK".
    pub label: String,
    /// Routes that remain open.
    pub routes: Vec<String>,
}

/// The answer to `law basis A B --for KIND [--on DATE]`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BasisAnswer {
    /// Knowledge-base version used.
    pub kb_version: KbVersion,
    /// As-of date of the knowledge base.
    pub kb_as_of: String,
    /// First state as asked.
    pub a: String,
    /// Second state as asked.
    pub b: String,
    /// Kind of cooperation.
    pub cooperation: Cooperation,
    /// The date asked about.
    pub on: Date,
    /// Instruments binding both that provide the cooperation.
    pub bases: Vec<Candidate>,
    /// Instruments providing it where at least one membership is unknown and none excludes it.
    pub unknown: Vec<Candidate>,
    /// Instruments providing it that do not bind both (with the reason in the memberships).
    pub not_binding: Vec<Candidate>,
    /// Instruments binding both that have no article for this cooperation in the knowledge base.
    pub also_binding_both: Vec<Candidate>,
    /// Present only when `bases` is empty.
    pub fallback: Option<Fallback>,
    /// Further notes (EU, caveats).
    pub notes: Vec<String>,
}

/// Answers the legal-basis question. `a` and `b` are validated country codes;
/// the answer lists memberships sorted by country code, so `basis(a, b)` and
/// `basis(b, a)` differ only in the `a`/`b` fields.
pub fn basis(
    kb: &KnowledgeBase,
    a: &str,
    b: &str,
    kind: Cooperation,
    on: Date,
) -> Result<BasisAnswer> {
    let a = country(a)?;
    let b = country(b)?;
    let mut pair = [a, b];
    pair.sort_unstable();
    let mut answer = BasisAnswer {
        kb_version: kb.version().clone(),
        kb_as_of: kb.as_of().to_string(),
        a: a.to_owned(),
        b: b.to_owned(),
        cooperation: kind,
        on,
        bases: Vec::new(),
        unknown: Vec::new(),
        not_binding: Vec::new(),
        also_binding_both: Vec::new(),
        fallback: None,
        notes: Vec::new(),
    };
    let mut covered: Vec<&str> = Vec::new();
    for rule in RULES.iter().filter(|r| r.kind == kind) {
        let Ok(instrument) = kb.instrument(rule.instrument) else {
            continue;
        };
        covered.push(rule.instrument);
        let memberships: Vec<Membership> = pair
            .iter()
            .map(|c| membership(kb, instrument, c, on))
            .collect();
        let binds = pair_binding(&memberships);
        let protocol_link = rule.protocol_link.then(|| protocol_link(kb, &pair, on));
        let candidate = Candidate {
            instrument_id: instrument.id.clone(),
            name: instrument.short_name.clone(),
            kind: "multilateral".to_owned(),
            binds_both: binds,
            articles: rule
                .articles
                .iter()
                .filter_map(|art| kb.provision(rule.instrument, art))
                .map(Citation::from)
                .collect(),
            memberships,
            scope_requirement: rule.scope.to_owned(),
            conditions: rule.conditions.iter().map(|c| (*c).to_owned()).collect(),
            protocol_link,
            source: instrument.source.clone(),
            source_urls: urls(&instrument.source),
        };
        push(&mut answer, candidate);
    }
    for bl in kb.bilaterals_between(a, b) {
        if !bl.cooperation.contains(&kind) {
            continue;
        }
        push(&mut answer, bilateral_candidate(bl, on));
    }
    // Instruments binding both that provide no article for this kind in the knowledge base.
    for instrument in kb.instruments() {
        if covered.contains(&instrument.id.as_str()) {
            continue;
        }
        let memberships: Vec<Membership> = pair
            .iter()
            .map(|c| membership(kb, instrument, c, on))
            .collect();
        if pair_binding(&memberships) != Tri::Yes {
            continue;
        }
        let general: Vec<Citation> = kb
            .provisions()
            .iter()
            .filter(|p| p.instrument_id == instrument.id && p.article == "general")
            .map(Citation::from)
            .collect();
        answer.also_binding_both.push(Candidate {
            instrument_id: instrument.id.clone(),
            name: instrument.short_name.clone(),
            kind: "multilateral".to_owned(),
            binds_both: Tri::Yes,
            articles: general,
            memberships,
            scope_requirement: String::new(),
            conditions: vec![format!(
                "binds both, but the knowledge base has no article of it providing {}",
                kind.as_str()
            )],
            protocol_link: None,
            source: instrument.source.clone(),
            source_urls: urls(&instrument.source),
        });
    }
    if answer.bases.is_empty() {
        answer.fallback = Some(fallback(kind, !answer.unknown.is_empty()));
    }
    eu_notes(kb, &pair, on, &mut answer.notes);
    answer.notes.push(
        "not legal advice: treaty status changes; re-check the depositary (treaties.un.org, coe.int, normlex.ilo.org, asean.org) before operational use".to_owned(),
    );
    Ok(answer)
}

fn push(answer: &mut BasisAnswer, candidate: Candidate) {
    match candidate.binds_both {
        Tri::Yes => answer.bases.push(candidate),
        Tri::Unknown => answer.unknown.push(candidate),
        Tri::No => answer.not_binding.push(candidate),
    }
}

fn pair_binding(memberships: &[Membership]) -> Tri {
    memberships
        .iter()
        .map(|m| m.status.binding())
        .fold(Tri::Yes, Tri::and)
}

fn protocol_link(kb: &KnowledgeBase, pair: &[&str; 2], on: Date) -> ProtocolLink {
    let Ok(protocol) = kb.instrument("PALERMO_TIP") else {
        return ProtocolLink {
            both_parties: Tri::Unknown,
            memberships: Vec::new(),
            note: "the Palermo Protocol is not in the knowledge base".to_owned(),
        };
    };
    let memberships: Vec<Membership> = pair
        .iter()
        .map(|c| membership(kb, protocol, c, on))
        .collect();
    let both = pair_binding(&memberships);
    let note = match both {
        Tri::Yes => {
            "both states are bound by the Palermo Protocol: trafficking offences are Convention offences between them (Protocol Art. 1(3))"
        }
        Tri::No => {
            "the Palermo Protocol does not bind both: UNTOC reaches trafficking only as a 'serious crime' (Art. 2(b), maximum of at least 4 years) committed by an organized criminal group"
        }
        Tri::Unknown => {
            "whether the Palermo Protocol binds both is unknown: if it does not, UNTOC reaches trafficking only as a 'serious crime' (Art. 2(b))"
        }
    };
    ProtocolLink {
        both_parties: both,
        memberships,
        note: note.to_owned(),
    }
}

fn bilateral_candidate(bl: &Bilateral, on: Date) -> Candidate {
    let in_force = match bl.entry_into_force {
        Some(d) if d.latest() <= on => Tri::Yes,
        Some(d) if d.earliest() > on => Tri::No,
        _ => Tri::Unknown,
    };
    let status = match in_force {
        Tri::Yes => MemberStatus::Bound,
        Tri::No => MemberStatus::NotYetBound,
        Tri::Unknown => MemberStatus::Uncertain,
    };
    let explanation = match (in_force, bl.entry_into_force) {
        (Tri::Yes, Some(d)) => format!("in force since {d}"),
        (Tri::No, Some(d)) => format!("not yet in force on {on}: enters into force {d}"),
        (_, Some(d)) => format!("uncertain on {on}: entry into force {d} (partial date)"),
        (_, None) => "entry into force not recorded".to_owned(),
    };
    let memberships = bl
        .states
        .iter()
        .map(|c| Membership {
            instrument_id: bl.id.clone(),
            country: c.clone(),
            status,
            explanation: explanation.clone(),
            signature_date: bl.signature_date.map(|d| d.to_string()),
            consent_date: None,
            consent_type: Some(format!("bilateral {:?}", bl.kind).to_ascii_lowercase()),
            in_force_for_party: bl.entry_into_force.map(|d| d.to_string()),
            source: bl.source.clone(),
            source_urls: urls(&bl.source),
            as_of: format!("knowledge-base update {}", bl.origin.0),
            origin: Some(bl.origin),
        })
        .collect();
    let mut conditions = Vec::new();
    if bl.kind == BilateralKind::Mou {
        conditions.push("a memorandum of understanding is usually not legally binding: it organises cooperation but is not a treaty basis".to_owned());
    }
    if !bl.notes.is_empty() {
        conditions.push(bl.notes.clone());
    }
    Candidate {
        instrument_id: bl.id.clone(),
        name: bl.title.clone(),
        kind: format!(
            "bilateral {}",
            serde_json::to_value(bl.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ),
        binds_both: in_force,
        articles: Vec::new(),
        memberships,
        scope_requirement: if bl.scope.is_empty() {
            "scope not recorded".to_owned()
        } else {
            bl.scope.clone()
        },
        conditions,
        protocol_link: None,
        source: bl.source.clone(),
        source_urls: urls(&bl.source),
    }
}

fn fallback(kind: Cooperation, unknowns: bool) -> Fallback {
    let routes: &[&str] = match kind {
        Cooperation::Mla => &[
            "letters rogatory through diplomatic channels, executed under the requested state's domestic law",
            "assistance on the basis of reciprocity or international comity, if the requested state's domestic law allows it without a treaty",
        ],
        Cooperation::Extradition => &[
            "extradition on the basis of reciprocity or comity, where the requested state's domestic law allows extradition without a treaty",
            "prosecution in the state where the person is, where its law gives it jurisdiction",
        ],
        Cooperation::Information => &[
            "police-to-police exchange under each state's domestic law (e.g. through INTERPOL channels; not in the knowledge base)",
            "spontaneous information on the basis of reciprocity",
        ],
        Cooperation::Jit => &["a case-by-case arrangement, if both states' domestic laws allow it"],
        Cooperation::AssetFreeze => &[
            "a request by letters rogatory for freezing or seizure under the requested state's domestic law, on reciprocity",
        ],
    };
    let mut routes: Vec<String> = routes.iter().map(|r| (*r).to_owned()).collect();
    if unknowns {
        routes.push(
            "a treaty basis may still exist: see the instruments whose membership is unknown"
                .to_owned(),
        );
    }
    Fallback {
        label: "FALLBACK: no instrument in the knowledge base binds both states for this cooperation; these routes are not treaty obligations".to_owned(),
        routes,
    }
}

fn eu_notes(kb: &KnowledgeBase, pair: &[&str; 2], on: Date, notes: &mut Vec<String>) {
    let Ok(directive) = kb.instrument("EU_DIR_2011_36") else {
        return;
    };
    let member = |c: &str| membership(kb, directive, c, on).status == MemberStatus::Bound;
    if pair.contains(&"EU") {
        notes.push("the EU takes part in UNTOC and the Protocol as a regional economic integration organisation, within the limits of its competence (its declaration of competence is not in the knowledge base); operational requests are executed by member states' authorities".to_owned());
        let other = if pair[0] == "EU" { pair[1] } else { pair[0] };
        if member(other) {
            notes.push(format!("{other} is an EU member state on {on}: relations between the EU and its member states are governed by EU law, not by these treaties"));
        }
    } else if member(pair[0]) && member(pair[1]) {
        notes.push(format!("both {} and {} are EU member states on {on} (EU_DIR_2011_36 rows): EU instruments for judicial and police cooperation (European Investigation Order, European Arrest Warrant, Eurojust joint investigation teams) normally govern between them; they are not in the knowledge base", pair[0], pair[1]));
    }
    for c in pair {
        if *c != "EU" && member(c) {
            for id in ["UNTOC", "PALERMO_TIP"] {
                let Ok(instrument) = kb.instrument(id) else {
                    continue;
                };
                let own = membership(kb, instrument, c, on);
                let eu = membership(kb, instrument, "EU", on);
                if own.status != MemberStatus::Bound && eu.status == MemberStatus::Bound {
                    notes.push(format!("{c} is an EU member state and the EU is bound by {id}, but the EU's participation does not make {c} a party: {c}'s own status is {}", own.explanation));
                }
            }
        }
    }
}
