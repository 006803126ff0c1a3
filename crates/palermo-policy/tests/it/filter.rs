//! Batch filtering gives the same decisions as deciding one record at a time.

use palermo_policy::{
    Action, Decider, Decision, Filter, LoadOptions, Policies, Query, World, WorldInfo, decide,
    filter,
};

use crate::fixtures::{FixedBasis, WORLD, request, today};

fn template<'a>(
    principal: &'a str,
    action: Action,
    req: Option<&'a palermo_policy::RequestInfo>,
) -> Query<'a> {
    Query {
        request: req,
        ..Query::plain(principal, action, today())
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

/// `world` with only the records of `ids`.
fn only(world: &World, ids: &[&str]) -> World {
    let mut info = world.info().clone();
    info.records.retain(|r| ids.contains(&r.id.as_str()));
    World::new(info).unwrap()
}

#[test]
fn one_filter_over_several_lists_decides_as_a_world_per_list() {
    // A node answering a batch of hit queries filters each query's
    // candidates in a world of all the batch's candidates, asking Cedar
    // once per class over the batch: each list must get what a world of
    // its own records gives it.
    let policies = Policies::embedded();
    let world = doubled();
    let ids: Vec<String> = world.info().records.iter().map(|r| r.id.clone()).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let lists: Vec<Vec<&str>> = ids
        .chunks(3)
        .chain(ids.iter().rev().step_by(2).map(std::slice::from_ref))
        .map(<[&str]>::to_vec)
        .collect();
    let decider = Decider {
        policies: &policies,
        world: &world,
        basis: &FixedBasis,
    };
    for user in ["anna", "sam", "kmar", "tom"] {
        for action in Action::ALL {
            let t = template(user, action, None);
            let mut shared = Filter::new(decider, t);
            for list in &lists {
                let mut batch: Vec<Decision> = Vec::new();
                let allowed = shared.records(list, &mut batch).unwrap();
                let own = only(&world, list);
                let own_decider = Decider {
                    world: &own,
                    ..decider
                };
                let mut single: Vec<Decision> = Vec::new();
                let expect = filter(&own_decider, &t, list, &mut single).unwrap();
                assert_eq!(batch, single, "{user} {action} {list:?}");
                assert_eq!(allowed, expect, "{user} {action} {list:?}");
            }
        }
    }
}
