//! Batch filtering gives the same decisions as deciding one record at a time.

use palermo_policy::{
    Action, Decider, Decision, LoadOptions, Policies, Query, World, WorldInfo, decide, filter,
};

use crate::fixtures::{FixedBasis, WORLD, request, today};

fn template<'a>(
    principal: &'a str,
    action: Action,
    req: Option<&'a palermo_policy::RequestInfo>,
) -> Query<'a> {
    Query {
        principal,
        action,
        record: "",
        target_node: None,
        request: req,
        override_: None,
        approver: None,
        reveals_attributes: false,
        today: today(),
    }
}

/// The fixture world with each record twice (ids `x` and `x-copy`).
fn doubled() -> World {
    let mut info = WorldInfo::from_json(WORLD).unwrap();
    let copies: Vec<_> = info
        .records
        .iter()
        .map(|r| {
            let mut copy = r.clone();
            copy.id = format!("{}-copy", r.id);
            copy
        })
        .collect();
    info.records.extend(copies);
    World::new(info).unwrap()
}

fn check_same(policies: &Policies, world: &World) {
    let ids: Vec<String> = world.info().records.iter().map(|r| r.id.clone()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let decider = Decider {
        policies,
        world,
        basis: &FixedBasis,
    };
    let req = request("mla-th");
    for user in ["anna", "sam", "kmar", "tom"] {
        for action in Action::ALL {
            for r in [None, Some(&req)] {
                let t = template(user, action, r);
                let mut batch: Vec<Decision> = Vec::new();
                let allowed = filter(&decider, &t, &ids, &mut batch).unwrap();
                let mut single: Vec<Decision> = Vec::new();
                for &id in &ids {
                    decide(&decider, &Query { record: id, ..t }, &mut single).unwrap();
                }
                assert_eq!(batch, single, "{user} {action}");
                let expect: Vec<&str> = single
                    .iter()
                    .filter(|d| d.allowed)
                    .map(|d| d.resource.as_str())
                    .collect();
                assert_eq!(allowed, expect);
            }
        }
    }
}

#[test]
fn filter_equals_one_decision_per_record() {
    check_same(&Policies::embedded(), &doubled());
}

#[test]
fn a_policy_naming_a_record_is_honoured_in_batches() {
    let text = format!(
        "{}\n@id(\"hide-amber\")\n@reason(\"test\")\nforbid (principal, action, resource == Palermo::Record::\"amber\");",
        palermo_policy::DEFAULT_POLICIES
    );
    let policies = Policies::parse("p", &text, LoadOptions { allow_empty: false }).unwrap();
    assert!(policies.names_records());
    let world = doubled();
    check_same(&policies, &world);
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &FixedBasis,
    };
    let mut sink = Vec::new();
    let allowed = filter(
        &decider,
        &template("anna", Action::View, None),
        &["amber", "amber-copy"],
        &mut sink,
    )
    .unwrap();
    assert_eq!(allowed, vec!["amber-copy"]);
}
