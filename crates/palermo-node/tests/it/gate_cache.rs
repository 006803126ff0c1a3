//! The gate's decision cache: deciding once per record class (schema, role,
//! markings) and reusing the decision under each record's id gives the same
//! decisions as asking Cedar for every record, and a policy that names a
//! specific record turns the cache off.

use palermo_law::{Date, KnowledgeBase};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_model::{
    Entity, EntityId, HandlingCode, Markings, Originator, Purpose, Role, Schema, Tlp,
};
use palermo_node::{Gate, local_operator, record_info};
use palermo_policy::{
    Action, Decider, LawBasis, LoadOptions, NodeInfo, Policies, Query, UserInfo, UserRole, World,
    WorldInfo, decide,
};
use proptest::prelude::*;

fn node() -> NodeInfo {
    NodeInfo {
        id: "palermo".to_owned(),
        jurisdiction: "ZZ".to_owned(),
        agency: "palermo".to_owned(),
    }
}

fn today() -> Date {
    Date::parse("2026-06-01").unwrap()
}

/// Principals that the shipped policies treat differently: the local
/// operator, an analyst of the node's agency on case c1, and a supervisor of
/// another agency on case c2.
fn principals() -> Vec<UserInfo> {
    vec![
        local_operator(&node()),
        UserInfo {
            id: "ana".to_owned(),
            node: "palermo".to_owned(),
            agency: None,
            roles: vec![UserRole::Analyst],
            cases: vec!["c1".to_owned()],
        },
        UserInfo {
            id: "sam".to_owned(),
            node: "palermo".to_owned(),
            agency: Some("KMar".to_owned()),
            roles: vec![UserRole::Supervisor, UserRole::LegalOfficer],
            cases: vec!["c2".to_owned()],
        },
    ]
}

/// A record with every policy-visible attribute drawn from a few values.
fn record() -> impl Strategy<Value = (Schema, Option<Role>, Markings)> {
    let schema = prop::sample::select(vec![Schema::Person, Schema::Organization, Schema::Passport]);
    let role = prop::sample::select(vec![
        None,
        Some(Role::Suspect),
        Some(Role::Victim),
        Some(Role::Witness),
        Some(Role::Other),
    ]);
    let tlp = prop::sample::select(vec![
        Tlp::Clear,
        Tlp::Green,
        Tlp::Amber,
        Tlp::AmberStrict,
        Tlp::Red,
    ]);
    let purpose = prop::sample::select(vec![
        None,
        Some(Purpose::Case("c1".to_owned())),
        Some(Purpose::Case("c2".to_owned())),
        Some(Purpose::Text("border screening".to_owned())),
    ]);
    // Before and after `today()`.
    let retain = prop::sample::select(vec![None, Some(2020), Some(2030)]);
    let originator = prop::sample::select(vec![
        None,
        Some(("palermo", "palermo")),
        Some(("de-bka", "BKA")),
    ]);
    let handling = prop::sample::select(vec![None, Some(HandlingCode::H0), Some(HandlingCode::H3)]);
    (
        schema,
        role,
        (tlp, purpose, retain, originator, any::<bool>(), handling),
    )
        .prop_map(
            |(schema, role, (tlp, purpose, retain, originator, onward, handling))| {
                let markings = Markings {
                    handling,
                    onward_sharing: onward,
                    originator: originator.map(|(node, agency)| Originator {
                        agency: agency.to_owned(),
                        node: node.to_owned(),
                    }),
                    purpose,
                    retain_until: retain.map(|year| {
                        time::Date::from_calendar_date(year, time::Month::January, 1).unwrap()
                    }),
                    tlp,
                };
                (schema, role, markings)
            },
        )
}

fn entities(records: &[(Schema, Option<Role>, Markings)]) -> Vec<Entity> {
    records
        .iter()
        .enumerate()
        .map(|(i, (schema, role, markings))| {
            let mut entity = Entity::new(EntityId::new(&format!("r{i}")).unwrap(), *schema);
            entity.role = *role;
            entity.markings = markings.clone();
            entity
        })
        .collect()
}

/// (request, decision, determining policies) of each ledger entry.
fn decisions(entries: &[NewEntry]) -> Vec<(String, String, Vec<String>)> {
    entries
        .iter()
        .map(|e| match &e.body {
            EntryBody::PolicyDecision {
                request,
                decision,
                policies,
            } => (request.clone(), decision.clone(), policies.clone()),
            other => panic!("unexpected entry {other:?}"),
        })
        .collect()
}

/// Checks, for every principal and action, that the gate (in chunks of
/// `chunk`, so remembered decisions cross chunks) decides each record as
/// Cedar does when asked about that record alone in a world of all records.
fn check_same(policies: &Policies, entities: &[Entity], chunk: usize) {
    let basis = LawBasis::new(KnowledgeBase::embedded().unwrap());
    for user in principals() {
        let world = World::new(WorldInfo {
            nodes: vec![node()],
            users: vec![user.clone()],
            records: entities.iter().map(|e| record_info(&node(), e)).collect(),
        })
        .unwrap();
        let decider = Decider {
            policies,
            world: &world,
            basis: &basis,
        };
        for action in Action::ALL {
            let mut gate = Gate::new(node(), user.clone(), today());
            let mut kept = Vec::new();
            for part in entities.chunks(chunk) {
                let allowed = gate.filter(policies, &basis, action, part).unwrap();
                kept.extend(allowed.iter().map(|e| e.id.as_str().to_owned()));
            }
            let mut single = Vec::new();
            for entity in entities {
                let query = Query {
                    principal: &user.id,
                    action,
                    record: entity.id.as_str(),
                    target_node: None,
                    request: None,
                    override_: None,
                    approver: None,
                    reveals_attributes: false,
                    today: today(),
                };
                decide(&decider, &query, &mut single).unwrap();
            }
            let want: Vec<(String, String, Vec<String>)> = single
                .iter()
                .map(|d| {
                    (
                        palermo_node::sink::request_text(d),
                        if d.allowed { "allow" } else { "deny" }.to_owned(),
                        d.determining.clone(),
                    )
                })
                .collect();
            assert_eq!(
                decisions(&gate.take_entries()),
                want,
                "{} {action}",
                user.id
            );
            let want_kept: Vec<String> = single
                .iter()
                .filter(|d| d.allowed)
                .map(|d| d.resource.clone())
                .collect();
            assert_eq!(kept, want_kept, "{} {action}", user.id);
            assert_eq!(gate.allowed() as usize, want_kept.len());
            assert_eq!(gate.denied() as usize, entities.len() - want_kept.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Cached decisions equal per-record decisions under the shipped policies.
    #[test]
    fn cached_decisions_equal_per_record_decisions(
        records in prop::collection::vec(record(), 1..24),
        chunk in 1usize..16,
    ) {
        let policies = Policies::embedded();
        prop_assert!(!policies.names_records());
        check_same(&policies, &entities(&records), chunk);
    }
}

/// Policies with `extra` appended to the shipped ones.
fn with(extra: &str) -> Policies {
    let text = format!("{}\n{extra}", palermo_policy::DEFAULT_POLICIES);
    Policies::parse("test.cedar", &text, LoadOptions { allow_empty: false }).unwrap()
}

#[test]
fn a_policy_naming_a_record_turns_the_cache_off() {
    // Two records alike in everything but the id: the operator may export both.
    let same = (
        Schema::Person,
        Some(Role::Suspect),
        Markings {
            handling: None,
            onward_sharing: false,
            originator: None,
            purpose: None,
            retain_until: None,
            tlp: Tlp::Green,
        },
    );
    let records = entities(&[same.clone(), same.clone(), same]);
    for extra in [
        "@id(\"hide-r1\")\n@reason(\"test\")\nforbid (principal, action, resource == Palermo::Record::\"r1\");",
        "@id(\"hide-r1\")\n@reason(\"test\")\nforbid (principal, action, resource)\nwhen { resource == Palermo::Record::\"r1\" };",
        "@id(\"hide-r1\")\n@reason(\"test\")\nforbid (principal, action, resource in Palermo::Record::\"r1\");",
    ] {
        let policies = with(extra);
        assert!(policies.names_records(), "{extra}");
        let basis = LawBasis::new(KnowledgeBase::embedded().unwrap());
        // One chunk and one record per chunk: r0 decided first either way.
        for chunk in [1, 3] {
            let mut gate = Gate::bulk(node(), local_operator(&node()), today());
            let mut kept = Vec::new();
            for part in records.chunks(chunk) {
                let allowed = gate
                    .filter(&policies, &basis, Action::Export, part)
                    .unwrap();
                kept.extend(allowed.iter().map(|e| e.id.as_str().to_owned()));
            }
            assert_eq!(kept, ["r0", "r2"], "{extra}");
            let got = decisions(&gate.take_entries());
            assert!(
                got.contains(&(
                    "export records:r1".to_owned(),
                    "deny".to_owned(),
                    vec!["hide-r1".to_owned()]
                )),
                "{got:?}"
            );
        }
        check_same(&policies, &records, 2);
    }
    // A record named only inside a string is not a record literal: the cache stays on.
    let policies = with(
        "@id(\"odd\")\n@reason(\"test\")\nforbid (principal, action, resource)\nwhen { resource.schema == \"Palermo::Record::r1\" };",
    );
    assert!(!policies.names_records());
}
