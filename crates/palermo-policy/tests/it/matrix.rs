//! The policy test matrix: one line per case, read as
//! `user action record [key=value ...] => allow|deny [policy-id]`.
//!
//! Keys: `req=<fixture request>`, `to=<node>`, `override=<user>`,
//! `approver=<user>`, `reveals`, `today=<YYYY-MM-DD>`. The policy id, when
//! given, must be among the decision's determining policies; `deny` without
//! one means denied by default (no policy determined it).

use palermo_law::Date;
use palermo_policy::{Action, Decider, Decision, Override, Policies, Query, decide};

use crate::fixtures::{FixedBasis, request, today, world};

const MATRIX: &str = "
# TLP 2.0 for users at the holding node and its community
anna view clear => allow tlp-clear-green
anna view green => allow tlp-clear-green
kmar2 view green => allow tlp-clear-green
anna view amber => allow tlp-amber
kmar view amber => allow tlp-amber
kmar2 view amber => deny
anna view strict => allow tlp-amber-strict
kmar view strict => deny
kmar2 search strict => deny
anna view red => allow tlp-red
anna search red => allow tlp-red
sam view red => deny
kmar view red => deny
anna view h1 => deny
sam view h1 => deny
sam view purpose => allow tlp-amber
# retention
anna view expired => deny retention-expired
anna search expired => deny retention-expired
anna export expired => deny retention-expired
anna view expired today=2019-06-01 => allow tlp-amber
anna query-hit expired => deny retention-expired
# users in another state need a legal basis
tom view clear => deny cross-border-needs-legal-basis
tom view clear req=mla-th => allow tlp-clear-green
tom view amber req=mla-th => deny
tom search amber req=mla-th => deny
tom view green req=extradition-th => deny cross-border-needs-legal-basis
tom view green override=sam => allow tlp-clear-green
tom view green override=anna => deny cross-border-needs-legal-basis
tom view green override=tsup => deny cross-border-needs-legal-basis
# victims
anna view victim => allow tlp-amber
anna view victim req=mla-th => deny victim-not-in-suspect-context
anna view victim req=mla-th-victim => allow tlp-amber
anna export victim => deny victim-release-needs-legal-officer
anna export victim approver=lea => allow tlp-amber
anna export victim approver=sam => deny victim-release-needs-legal-officer
anna disclose-to-node victim req=mla-th-victim => deny victim-release-needs-legal-officer
anna disclose-to-node victim req=mla-th-victim approver=lea => allow disclose-by-holding-node
anna disclose-to-node victim req=mla-th approver=lea => deny victim-not-in-suspect-context
anna disclose-to-node victim_red req=mla-th-victim approver=lea => deny
anna release-on-request victim req=mla-th-victim approver=lea => allow disclose-by-holding-node
anna release-on-request victim req=mla-th-victim => deny victim-release-needs-legal-officer
kmar2 query-hit victim => allow hit-no-hit
# purpose limitation
anna export purpose => allow tlp-amber
sam export purpose => deny purpose-limitation
anna export amber => allow tlp-amber
kmar2 export green => allow tlp-clear-green
anna disclose-to-node purpose to=nl2 => deny purpose-limitation
anna disclose-to-node purpose req=mla-th => allow disclose-by-holding-node
anna disclose-to-node purpose req=mla-th-c9 => deny purpose-limitation
anna disclose-to-node purpose_perm req=mla-th-c9 => allow disclose-by-holding-node
anna release-on-request purpose req=mla-th => allow disclose-by-holding-node
anna release-on-request purpose req=mla-th-c9 => deny purpose-limitation
# disclosure to nodes and the legal basis
anna disclose-to-node amber to=th req=mla-th => allow disclose-by-holding-node
anna disclose-to-node amber to=th => deny cross-border-needs-legal-basis
anna disclose-to-node amber to=th override=sam => allow disclose-by-holding-node
anna disclose-to-node amber to=th override=anna => deny cross-border-needs-legal-basis
anna disclose-to-node amber to=nl2 => allow disclose-by-holding-node
anna disclose-to-node strict to=nl2 => deny
anna disclose-to-node red to=nl2 => deny
anna disclose-to-node h1 to=nl2 => deny
anna disclose-to-node amber to=xx req=mla-xx => deny cross-border-needs-legal-basis
anna disclose-to-node amber req=extradition-th => deny cross-border-needs-legal-basis
anna disclose-to-node amber req=info-th => allow disclose-by-holding-node
adm disclose-to-node amber to=nl2 => deny
lea disclose-to-node amber to=nl2 => allow disclose-by-holding-node
sam disclose-to-node amber to=nl2 => allow disclose-by-holding-node
tom disclose-to-node amber to=nl2 => deny originator-control
anna disclose-to-node expired req=mla-th => deny retention-expired
anna disclose-to-node withheld req=mla-th => deny withheld-jurisdiction
anna disclose-to-node withheld to=nl2 => allow disclose-by-holding-node
anna disclose-to-node suspect req=mla-th => allow disclose-by-holding-node
anna disclose-to-node clear req=mla-th => allow disclose-by-holding-node
anna disclose-to-node clear to=xx => deny cross-border-needs-legal-basis
# release on request
anna release-on-request amber => deny release-needs-request
anna release-on-request amber req=mla-th => allow disclose-by-holding-node
anna release-on-request amber req=extradition-th => deny cross-border-needs-legal-basis
anna release-on-request amber req=extradition-th override=sam => allow disclose-by-holding-node
anna release-on-request amber req=local-nl2 => allow disclose-by-holding-node
anna release-on-request red req=mla-th => deny
anna release-on-request withheld req=mla-th => deny withheld-jurisdiction
# originator control and onward sharing
anna disclose-to-node received to=nl2 => deny originator-control
anna disclose-to-node received_ok to=nl2 => allow disclose-by-holding-node
anna onward-share received to=nl2 => deny originator-control
anna onward-share received_ok to=nl2 => allow onward-share-if-originator-allows
anna onward-share received_ok req=mla-th => allow onward-share-if-originator-allows
anna onward-share received_ok to=xx => deny cross-border-needs-legal-basis
anna onward-share amber to=nl2 => deny
# hit/no-hit
tom query-hit red => allow hit-no-hit
tom query-hit red reveals => deny hit-reveals-nothing
anna query-hit amber reveals => deny hit-reveals-nothing
anna query-hit amber => allow hit-no-hit
# amending markings
sam amend-marking amber => allow amend-by-originator
adm amend-marking amber => allow amend-by-originator
anna amend-marking amber => deny
sam amend-marking received => deny
tsup amend-marking received => allow amend-by-originator
sam amend-marking expired => allow amend-by-originator
";

struct Case {
    line: String,
    user: String,
    action: Action,
    record: String,
    request: Option<String>,
    to: Option<String>,
    override_by: Option<String>,
    approver: Option<String>,
    reveals: bool,
    today: Date,
    allow: bool,
    policy: Option<String>,
}

fn parse(line: &str) -> Case {
    let (lhs, rhs) = line.split_once("=>").unwrap();
    let mut words = lhs.split_whitespace();
    let mut case = Case {
        line: line.to_owned(),
        user: words.next().unwrap().to_owned(),
        action: words.next().unwrap().parse().unwrap(),
        record: words.next().unwrap().to_owned(),
        request: None,
        to: None,
        override_by: None,
        approver: None,
        reveals: false,
        today: today(),
        allow: false,
        policy: None,
    };
    for word in words {
        match word.split_once('=') {
            Some(("req", v)) => case.request = Some(v.to_owned()),
            Some(("to", v)) => case.to = Some(v.to_owned()),
            Some(("override", v)) => case.override_by = Some(v.to_owned()),
            Some(("approver", v)) => case.approver = Some(v.to_owned()),
            Some(("today", v)) => case.today = Date::parse(v).unwrap(),
            None if word == "reveals" => case.reveals = true,
            _ => panic!("bad matrix word {word:?} in {line:?}"),
        }
    }
    let mut rhs = rhs.split_whitespace();
    case.allow = match rhs.next().unwrap() {
        "allow" => true,
        "deny" => false,
        other => panic!("bad expectation {other:?}"),
    };
    case.policy = rhs.next().map(str::to_owned);
    case
}

fn run(case: &Case, decider: &Decider<'_>) -> Decision {
    let request = case.request.as_deref().map(request);
    let override_ = case.override_by.as_ref().map(|by| Override {
        by: by.clone(),
        reason: "urgent: victim in danger, MLA under way".to_owned(),
    });
    let query = Query {
        principal: &case.user,
        action: case.action,
        record: &case.record,
        target_node: case.to.as_deref(),
        request: request.as_ref(),
        override_: override_.as_ref(),
        approver: case.approver.as_deref(),
        reveals_attributes: case.reveals,
        today: case.today,
    };
    let mut sink = Vec::new();
    let decision = decide(decider, &query, &mut sink).unwrap();
    assert_eq!(
        sink,
        vec![decision.clone()],
        "the decision reaches the sink"
    );
    decision
}

#[test]
fn matrix() {
    let policies = Policies::embedded();
    let world = world();
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &FixedBasis,
    };
    let cases: Vec<Case> = MATRIX
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(parse)
        .collect();
    assert!(cases.len() >= 80, "the matrix has {} cases", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let decision = run(case, &decider);
        let policy_ok = match &case.policy {
            Some(id) => decision.determining.contains(id),
            None => case.allow || decision.determining.is_empty(),
        };
        if decision.allowed != case.allow || !policy_ok || !decision.errors.is_empty() {
            failures.push(format!(
                "{}\n    got allowed={} determining={:?} errors={:?}",
                case.line, decision.allowed, decision.determining, decision.errors
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn decisions_carry_the_legal_basis_and_override() {
    let policies = Policies::embedded();
    let world = world();
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &FixedBasis,
    };
    let with_basis = run(
        &parse("anna disclose-to-node amber req=mla-th => allow"),
        &decider,
    );
    assert_eq!(with_basis.legal_basis, vec!["UNTOC".to_owned()]);
    assert!(with_basis.cross_border);
    let overridden = run(
        &parse("anna disclose-to-node amber to=th override=sam => allow"),
        &decider,
    );
    assert!(overridden.legal_basis.is_empty());
    assert_eq!(overridden.override_.unwrap().by, "sam");
}

#[test]
fn legal_basis_from_the_legal_engine() {
    let kb = palermo_law::KnowledgeBase::embedded().unwrap();
    let law = palermo_policy::LawBasis::new(kb);
    let policies = Policies::embedded();
    let world = world();
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &law,
    };
    let decision = run(
        &parse("anna disclose-to-node amber req=mla-th => allow"),
        &decider,
    );
    assert!(decision.allowed, "{decision:?}");
    assert!(
        decision.legal_basis.contains(&"UNTOC".to_owned()),
        "{decision:?}"
    );
    // Asked again, the answer comes from the cache and is the same.
    let again = run(
        &parse("anna disclose-to-node amber req=mla-th => allow"),
        &decider,
    );
    assert_eq!(again.legal_basis, decision.legal_basis);
}
