//! The elements of the Palermo definition (Art. 3(a)) and how the free-text
//! cells of `national_offences.csv` are read against them.
//!
//! The reading is deliberately conservative and always quotes the cell:
//! a cell that is `unknown` (or says its list was not read in full) never
//! yields "not covered", only "unknown".

use serde::Serialize;

/// Which part of the definition an element belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Group {
    /// The act (recruitment, transportation, ...).
    Act,
    /// The means (force, deception, ...).
    Means,
    /// The exploitative purpose.
    Purpose,
}

/// One element, its canonical name and the words that show it in a cell.
pub(crate) struct Element {
    pub(crate) group: Group,
    pub(crate) name: &'static str,
    pub(crate) label: &'static str,
    /// Part of the Palermo minimum (Art. 3(a)); extra purposes are not.
    pub(crate) palermo: bool,
    keywords: &'static [&'static str],
}

pub(crate) const ELEMENTS: &[Element] = &[
    // Acts (Art. 3(a)), plus sale, which several laws use instead.
    el(
        Group::Act,
        "recruitment",
        "recruitment",
        true,
        &[
            "recruit",
            "anwerb",
            "captar",
            "captur",
            "enganch",
            "recrut",
            "alicia",
            "agencia",
            "entic",
            "hiring",
            "attracting",
            "procuring",
            "enlist",
        ],
    ),
    el(
        Group::Act,
        "transportation",
        "transportation",
        true,
        &[
            "transport",
            "beförder",
            "bringing from",
            "sending",
            "convey",
            "travel",
            "moving",
        ],
    ),
    el(
        Group::Act,
        "transfer",
        "transfer",
        true,
        &[
            "transfer",
            "weitergeb",
            "pass on",
            "passing on",
            "deliver",
            "entreg",
            "hand over",
            "handing over",
            "exchanging control",
        ],
    ),
    el(
        Group::Act,
        "harbouring",
        "harbouring",
        true,
        &[
            "harbo",
            "beherberg",
            "alojar",
            "lodging",
            "hosting",
            "detain",
            "confin",
            "retener",
            "holds",
            "conceal",
            "maintain",
            "hiding",
            "sheltering",
        ],
    ),
    el(
        Group::Act,
        "receipt",
        "receipt",
        true,
        &[
            "receiv", "receipt", "aufnehm", "recibir", "acolher", "obtain",
        ],
    ),
    el(
        Group::Act,
        "sale",
        "buying or selling a person (not a Palermo act)",
        false,
        &[
            "sell",
            "selling",
            "buy",
            "purchas",
            "sale",
            "vending",
            "comprar",
            "bartering",
            "trading",
        ],
    ),
    // Means (Art. 3(a)).
    el(
        Group::Means,
        "force",
        "threat or use of force",
        true,
        &[
            "force",
            "violen",
            "violência",
            "threat",
            "ameaça",
            "intimidat",
            "blackmail",
            "physical restraint",
            "serious harm",
        ],
    ),
    el(
        Group::Means,
        "coercion",
        "other forms of coercion",
        true,
        &["coerc", "coação", "extortion", "compel"],
    ),
    el(
        Group::Means,
        "abduction",
        "abduction",
        true,
        &["abduct", "kidnap", "seizure"],
    ),
    el(
        Group::Means,
        "fraud",
        "fraud",
        true,
        &["fraud", "fraude", "scheme"],
    ),
    el(
        Group::Means,
        "deception",
        "deception",
        true,
        &["decept", "deceit", "deceiv", "mislead", "trick", "list)"],
    ),
    el(
        Group::Means,
        "abuse_of_power",
        "abuse of power",
        true,
        &[
            "abuse of power",
            "abuse of authority",
            "abuse of de facto authority",
            "misuse of position",
            "abuse of position",
            "superiorit",
            "abuse of power or position",
            "abuso",
        ],
    ),
    el(
        Group::Means,
        "abuse_of_vulnerability",
        "abuse of a position of vulnerability",
        true,
        &[
            "vulnerab",
            "predicament",
            "helplessness",
            "taking advantage",
        ],
    ),
    el(
        Group::Means,
        "payments",
        "giving or receiving payments or benefits to a person in control",
        true,
        &["payment", "benefit", "giving money", "inducement"],
    ),
    // Purposes (Art. 3(a) minimum), then further forms some laws add.
    el(
        Group::Purpose,
        "sexual_exploitation",
        "exploitation of the prostitution of others or other sexual exploitation",
        true,
        &["sex", "prostitut", "pornograph", "indecen"],
    ),
    el(
        Group::Purpose,
        "forced_labour",
        "forced labour or services",
        true,
        &[
            "forced labour",
            "forced or compulsory labour",
            "forced labor",
            "labour trafficking",
            "labor trafficking",
            "labour exploitation",
            "labor or services",
            "labour or services",
            "forced service",
            "exploitative employment",
            "bonded labour",
            "work",
            "labour in conditions",
            "involuntary servitude",
        ],
    ),
    el(
        Group::Purpose,
        "slavery",
        "slavery or practices similar to slavery",
        true,
        &["slave", "peonage", "debt bondage", "bonded"],
    ),
    el(
        Group::Purpose,
        "servitude",
        "servitude",
        true,
        &["servitude", "servidão"],
    ),
    el(
        Group::Purpose,
        "organ_removal",
        "removal of organs",
        true,
        &["organ", "body parts", "tissue"],
    ),
    el(
        Group::Purpose,
        "begging",
        "forced begging (beyond the Palermo minimum)",
        false,
        &["begg", "beggar"],
    ),
    el(
        Group::Purpose,
        "forced_criminality",
        "forced criminal activities (beyond the Palermo minimum)",
        false,
        &[
            "criminal offences",
            "commission of crimes",
            "criminal activities",
        ],
    ),
    el(
        Group::Purpose,
        "forced_marriage",
        "forced or servile marriage (beyond the Palermo minimum)",
        false,
        &["marriage"],
    ),
    el(
        Group::Purpose,
        "illegal_adoption",
        "illegal adoption (beyond the Palermo minimum)",
        false,
        &["adoption"],
    ),
];

const fn el(
    group: Group,
    name: &'static str,
    label: &'static str,
    palermo: bool,
    keywords: &'static [&'static str],
) -> Element {
    Element {
        group,
        name,
        label,
        palermo,
        keywords,
    }
}

/// Looks an element up by group and canonical name.
pub(crate) fn element(group: Group, name: &str) -> Option<&'static Element> {
    ELEMENTS.iter().find(|e| e.group == group && e.name == name)
}

/// The canonical names of a group (for error messages).
pub(crate) fn names(group: Group) -> Vec<&'static str> {
    ELEMENTS
        .iter()
        .filter(|e| e.group == group)
        .map(|e| e.name)
        .collect()
}

/// How one cell reads for one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reading {
    /// The cell names the element.
    Named,
    /// The element is not required at all (e.g. "none required" for means).
    NotRequired,
    /// The cell is a stated list that does not name the element.
    NotNamed,
    /// The cell is unknown, or admits its list is incomplete.
    Unknown,
}

/// Words that mark a cell as unknown or incomplete for elements it does not name.
const INCOMPLETE: &[&str] = &[
    "unknown",
    "not read",
    "partial",
    "incomplete",
    "secondary summary",
    "per tip",
    "per us tip",
    "as quoted",
    "news summary",
    "news report",
    "not named",
    "at a minimum",
    "(definition",
    "list not read",
    "other subsections",
    "exploitation (",
    "exploitation as defined",
    "any other exploitation",
    "all forms",
];

/// Words that turn a clause naming an element into a statement of its absence.
const NEGATIONS: &[&str] = &["not listed", "not named", "not an element", "not tied to"];

/// Reads `cell` for `element`.
pub(crate) fn read(cell: &str, element: &Element) -> Reading {
    let text = cell.trim().to_lowercase();
    if text.is_empty() || text.starts_with("unknown") {
        return Reading::Unknown;
    }
    if element.group == Group::Means && means_not_required(&text) {
        return Reading::NotRequired;
    }
    // Read clause by clause so that "(abuse of vulnerability not listed ...)"
    // counts as an explicit absence, not as a mention.
    let mut negated = false;
    for clause in text.split([';', '(', ')']) {
        if element.keywords.iter().any(|k| clause.contains(k)) {
            if NEGATIONS.iter().any(|n| clause.contains(n)) {
                negated = true;
            } else {
                return Reading::Named;
            }
        }
    }
    if negated {
        return Reading::NotNamed;
    }
    if INCOMPLETE.iter().any(|w| text.contains(w)) {
        Reading::Unknown
    } else {
        Reading::NotNamed
    }
}

/// True when the means cell says no means element is needed for any victim.
pub(crate) fn means_not_required(text: &str) -> bool {
    let t = text.to_lowercase();
    t.starts_with("none required")
        || t.starts_with("no separate means")
        || t.starts_with("none stated")
}

/// How the child-without-means cell reads.
pub(crate) fn read_child_rule(cell: &str) -> Reading {
    let t = cell.trim().to_lowercase();
    if t.starts_with("yes") {
        Reading::Named
    } else if t.starts_with("no ")
        || t == "no"
        || t.starts_with("no (")
        || t.starts_with("no under")
    {
        Reading::NotNamed
    } else {
        Reading::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(group: Group, name: &str, cell: &str) -> Reading {
        read(cell, element(group, name).expect("element exists"))
    }

    #[test]
    fn reads_cells_conservatively() {
        use Reading::*;
        let check = |group: Group, name: &str, cell: &str, expect: Reading| {
            assert_eq!(reading(group, name, cell), expect, "{name} in {cell:?}");
        };
        check(
            Group::Act,
            "recruitment",
            "recruits; entices; harbors",
            Named,
        );
        check(
            Group::Act,
            "recruitment",
            "anwerben, befördern (recruit, transport)",
            Named,
        );
        check(
            Group::Act,
            "receipt",
            "recruits, transports, transfers, harbours",
            NotNamed,
        );
        check(
            Group::Act,
            "receipt",
            "recruitment, transfer, receipt (secondary summary); full list not read",
            Named,
        );
        check(
            Group::Act,
            "harbouring",
            "recruitment, transfer, receipt (secondary summary); full list not read",
            Unknown,
        );
        check(Group::Act, "recruitment", "unknown", Unknown);
        check(
            Group::Act,
            "recruitment",
            "unknown for the 2022 law (2005 law: recruitment)",
            Unknown,
        );
        check(
            Group::Means,
            "fraud",
            "none required (consent of V irrelevant)",
            NotRequired,
        );
        check(
            Group::Means,
            "abuse_of_vulnerability",
            "threat or use of force, abduction, fraud",
            NotNamed,
        );
        check(
            Group::Purpose,
            "organ_removal",
            "commercial sex act only",
            NotNamed,
        );
        check(
            Group::Purpose,
            "forced_labour",
            "sex trafficking and labour trafficking (per US TIP 2023); full list unknown",
            Named,
        );
        check(
            Group::Purpose,
            "organ_removal",
            "sex trafficking and labour trafficking (per US TIP 2023); full list unknown",
            Unknown,
        );
        check(
            Group::Purpose,
            "slavery",
            "exploitation (definition not read)",
            Unknown,
        );
        check(
            Group::Means,
            "abuse_of_vulnerability",
            "threat, abuse of power (abuse of vulnerability not listed in the 2008 text)",
            NotNamed,
        );
        check(
            Group::Purpose,
            "forced_labour",
            "servitude; beggary (forced labour not named expressly - noted)",
            NotNamed,
        );
    }

    #[test]
    fn reads_child_rules() {
        use Reading::*;
        let check =
            |cell: &str, expect: Reading| assert_eq!(read_child_rule(cell), expect, "{cell}");
        check("yes (victim under 18: no means required)", Named);
        check(
            "no (means required; child victim is an aggravating factor)",
            NotNamed,
        );
        check("no specific child rule in § 1590", NotNamed);
        check("no under Law 137-03 (TIP 2023)", NotNamed);
        check("unclear (para. 2 aggravates)", Unknown);
        check("unknown", Unknown);
    }
}
