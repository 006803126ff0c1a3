//! Property tests over random records and requests: deny by default, forbid
//! beats permit, no cross-border allow without a legal basis, and hit answers
//! that carry no attribute values.

use palermo_law::Date;
use palermo_model::{HandlingCode, Markings, Originator, Purpose, Role, Tlp};
use palermo_policy::{
    Action, Decider, Decision, HitAnswer, LoadOptions, Override, Policies, Query, RecordInfo,
    RequestInfo, World, WorldInfo, decide, hit_answer,
};
use proptest::prelude::*;
use std::sync::LazyLock;

use crate::fixtures::{FixedBasis, NoBasis, WORLD, today};

const USERS: [&str; 8] = ["anna", "sam", "lea", "adm", "kmar", "kmar2", "tom", "tsup"];
const NODES: [&str; 4] = ["nl", "nl2", "th", "xx"];
const KINDS: [&str; 5] = ["mla", "extradition", "information", "jit", "asset-freeze"];

fn arb_markings() -> impl Strategy<Value = Markings> {
    (
        prop::sample::select(Tlp::ALL.to_vec()),
        prop::option::of(prop::sample::select(vec!["C1", "C2"])),
        prop::option::of(0i32..4000),
        prop::option::of(prop::sample::select(NODES.to_vec())),
        any::<bool>(),
        prop::option::of(prop::sample::select(vec![
            HandlingCode::H0,
            HandlingCode::H1,
            HandlingCode::H2,
            HandlingCode::H3,
        ])),
    )
        .prop_map(
            |(tlp, purpose, retain, originator, onward_sharing, handling)| Markings {
                tlp,
                purpose: purpose.map(|c| Purpose::Case(c.to_owned())),
                retain_until: retain
                    .map(|days| time::Date::from_julian_day(2_440_588 + 20_000 + days).unwrap()),
                originator: originator.map(|node| Originator {
                    node: node.to_owned(),
                    agency: "Some Agency".to_owned(),
                }),
                onward_sharing,
                handling,
            },
        )
}

fn arb_record() -> impl Strategy<Value = RecordInfo> {
    (
        arb_markings(),
        prop::sample::select(NODES.to_vec()),
        prop::option::of(prop::sample::select(Role::ALL.to_vec())),
        prop::option::of(prop::sample::select(vec!["C1", "C2"])),
        prop::sample::subsequence(USERS.to_vec(), 0..3),
        prop::sample::subsequence(vec!["TH", "NL", "BR"], 0..2),
    )
        .prop_map(
            |(markings, node, role, case, recipients, withhold)| RecordInfo {
                id: "rec".to_owned(),
                schema: "Person".to_owned(),
                node: node.to_owned(),
                role,
                case: case.map(str::to_owned),
                markings,
                recipients: recipients.into_iter().map(str::to_owned).collect(),
                permitted_purposes: Vec::new(),
                withhold_from: withhold.into_iter().map(str::to_owned).collect(),
            },
        )
}

fn arb_request() -> impl Strategy<Value = Option<RequestInfo>> {
    prop::option::of(
        (
            prop::sample::select(KINDS.to_vec()),
            prop::sample::select(vec!["C1", "C2"]),
            prop::sample::select(Role::ALL.to_vec()),
            prop::sample::select(NODES.to_vec()),
        )
            .prop_map(|(kind, case, subject_role, node)| RequestInfo {
                kind: kind.to_owned(),
                purpose: Purpose::Case(case.to_owned()),
                subject_role,
                node: node.to_owned(),
                date: None,
            }),
    )
}

/// One random question about one random record in the fixture world.
#[derive(Debug, Clone)]
struct Scenario {
    record: RecordInfo,
    user: &'static str,
    action: Action,
    target: Option<&'static str>,
    request: Option<RequestInfo>,
    override_by: Option<&'static str>,
    approver: Option<&'static str>,
    reveals: bool,
    today_offset: i64,
}

fn arb_scenario() -> impl Strategy<Value = Scenario> {
    (
        arb_record(),
        prop::sample::select(USERS.to_vec()),
        prop::sample::select(Action::ALL.to_vec()),
        prop::option::of(prop::sample::select(NODES.to_vec())),
        arb_request(),
        prop::option::of(prop::sample::select(USERS.to_vec())),
        prop::option::of(prop::sample::select(USERS.to_vec())),
        any::<bool>(),
        0i64..6000,
    )
        .prop_map(
            |(
                record,
                user,
                action,
                target,
                request,
                override_by,
                approver,
                reveals,
                today_offset,
            )| {
                Scenario {
                    record,
                    user,
                    action,
                    target,
                    request,
                    override_by,
                    approver,
                    reveals,
                    today_offset,
                }
            },
        )
}

fn world_with(record: &RecordInfo) -> World {
    let mut info = WorldInfo::from_json(WORLD).unwrap();
    info.records = vec![record.clone()];
    World::new(info).unwrap()
}

fn run(policies: &Policies, basis: &dyn palermo_policy::BasisSource, s: &Scenario) -> Decision {
    let world = world_with(&s.record);
    let decider = Decider {
        policies,
        world: &world,
        basis,
    };
    let override_ = s.override_by.map(|by| Override {
        by: by.to_owned(),
        reason: "reason given".to_owned(),
    });
    let query = Query {
        principal: s.user,
        action: s.action,
        record: "rec",
        target_node: s.target,
        request: s.request.as_ref(),
        override_: override_.as_ref(),
        approver: s.approver,
        reveals_attributes: s.reveals,
        today: Date::from_unix_days(20_000 + s.today_offset),
    };
    let mut sink = Vec::new();
    let decision = decide(&decider, &query, &mut sink).unwrap();
    assert_eq!(sink.len(), 1);
    decision
}

fn embedded() -> &'static Policies {
    static P: LazyLock<Policies> = LazyLock::new(Policies::embedded);
    &P
}

fn empty() -> &'static Policies {
    static P: LazyLock<Policies> =
        LazyLock::new(|| Policies::parse("empty", "", LoadOptions { allow_empty: true }).unwrap());
    &P
}

/// The default set plus a forbid that matches everything.
fn locked() -> &'static Policies {
    static P: LazyLock<Policies> = LazyLock::new(|| {
        let text = format!(
            "{}\n@id(\"lockdown\")\n@reason(\"test\")\nforbid (principal, action, resource) when {{ resource.tlp_rank >= 0 }};",
            palermo_policy::DEFAULT_POLICIES
        );
        Policies::parse("locked", &text, LoadOptions { allow_empty: false }).unwrap()
    });
    &P
}

/// The default set plus a permit that matches everything.
fn open() -> &'static Policies {
    static P: LazyLock<Policies> = LazyLock::new(|| {
        let text = format!(
            "{}\n@id(\"open\")\n@reason(\"test\")\npermit (principal, action, resource);",
            palermo_policy::DEFAULT_POLICIES
        );
        Policies::parse("open", &text, LoadOptions { allow_empty: false }).unwrap()
    });
    &P
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn deny_by_default(s in arb_scenario()) {
        let decision = run(empty(), &FixedBasis, &s);
        prop_assert!(!decision.allowed);
        prop_assert!(decision.determining.is_empty());
    }

    #[test]
    fn forbid_beats_permit(s in arb_scenario()) {
        let decision = run(locked(), &FixedBasis, &s);
        prop_assert!(!decision.allowed);
        prop_assert!(decision.determining.contains(&"lockdown".to_owned()));
        // A permit-everything policy does not beat the default forbids either.
        let with_open = run(open(), &NoBasis, &s);
        let default = run(embedded(), &NoBasis, &s);
        let forbidden = default.determining.iter().any(|id| {
            embedded().summary(id).is_some_and(|p| p.effect == "forbid")
        });
        if forbidden {
            prop_assert!(!with_open.allowed, "a forbid fired, yet an extra permit allowed it");
        }
    }

    #[test]
    fn no_cross_border_allow_without_basis(s in arb_scenario()) {
        let policies = embedded();
        let decision = run(policies, &NoBasis, &s);
        if decision.allowed && decision.cross_border && s.action.discloses() {
            // Only a reasoned override by a supervisor of the holding node may allow it.
            let by = s.override_by.unwrap_or_default();
            let world = world_with(&s.record);
            let user = world.user(by);
            prop_assert!(user.is_some_and(|u| u.node == s.record.node
                && u.roles.contains(&palermo_policy::UserRole::Supervisor)), "{decision:?}");
        }
        let with_basis = run(policies, &FixedBasis, &s);
        if with_basis.allowed && with_basis.cross_border && s.action.discloses() && s.override_by.is_none() {
            prop_assert!(!with_basis.legal_basis.is_empty());
        }
    }

    #[test]
    fn safety_invariants(s in arb_scenario()) {
        let d = run(embedded(), &FixedBasis, &s);
        let today = 20_000 + s.today_offset;
        let expired = s.record.markings.retain_until
            .is_some_and(|date| i64::from(date.to_julian_day()) - 2_440_588 < today);
        if expired && s.action != Action::AmendMarking {
            prop_assert!(!d.allowed, "expired record: {d:?}");
        }
        if s.action == Action::QueryHit && s.reveals {
            prop_assert!(!d.allowed);
        }
        let effective = palermo_policy::effective_tlp(&s.record.markings);
        if matches!(s.action, Action::DiscloseToNode | Action::ReleaseOnRequest | Action::OnwardShare)
            && effective >= Tlp::AmberStrict
        {
            prop_assert!(!d.allowed, "AMBER+STRICT/RED left the node: {d:?}");
        }
        let victim = s.record.role == Some(Role::Victim);
        if victim && d.allowed && matches!(s.action, Action::Export | Action::DiscloseToNode | Action::ReleaseOnRequest | Action::OnwardShare) {
            prop_assert!(s.approver.is_some_and(|a| a == "lea"), "victim released without a legal officer: {d:?}");
        }
        if victim && d.allowed && s.action.discloses() {
            prop_assert!(s.request.as_ref().is_none_or(|r| r.subject_role != Role::Suspect));
        }
    }

    #[test]
    fn hit_answers_carry_no_attribute_values(s in arb_scenario()) {
        let world = world_with(&s.record);
        let decider = Decider { policies: embedded(), world: &world, basis: &FixedBasis };
        let mut sink = Vec::new();
        let answer = hit_answer(&decider, s.user, &["rec"], today(), &mut sink).unwrap();
        let json = serde_json::to_value(answer).unwrap();
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        prop_assert_eq!(keys, vec!["hit"]);
        prop_assert!(json["hit"].is_boolean());
        prop_assert_eq!(sink.len(), 1);
        let _: HitAnswer = answer;
    }
}
