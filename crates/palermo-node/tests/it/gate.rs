//! The policy gate over stored records: the local operator and stored
//! users, denied records left out and counted, one ledger entry per
//! decision, unknown and revoked users refused.

use palermo_ledger::EntryBody;
use palermo_model::Entity;
use palermo_node::{Error, Gate, LOCAL_OPERATOR, principal, today};
use palermo_policy::{Action, LawBasis, NodeInfo, Policies};
use palermo_store::{AnyStore, NewUser, Store};

use crate::util::{import, person, victim};

fn node() -> NodeInfo {
    NodeInfo {
        id: "palermo".to_owned(),
        jurisdiction: "ZZ".to_owned(),
        agency: "palermo".to_owned(),
    }
}

async fn gate(store: AnyStore) {
    import(
        &store,
        vec![
            person("p1", "Ahmed Al-Rashid", "1984-03-02", "P1234567", "iq"),
            victim("v1"),
        ],
    )
    .await;
    let mut entities: Vec<Entity> = Vec::new();
    for id in ["p1", "v1"] {
        entities.push(store.get(id).await.unwrap().unwrap());
    }
    let policies = Policies::embedded();
    let basis = LawBasis::new(palermo_node::knowledge_base(&store).await.unwrap());

    // The local operator sees the AMBER record of its agency, not the RED victim.
    let operator = principal(&store, &node(), None).await.unwrap();
    assert_eq!(operator.id, LOCAL_OPERATOR);
    let mut gate = Gate::new(node(), operator, today());
    let kept = gate
        .filter(&policies, &basis, Action::Export, &entities)
        .unwrap();
    let ids: Vec<&str> = kept.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids, ["p1"]);
    assert_eq!((gate.allowed(), gate.denied()), (1, 1));
    assert!(gate.decide_node(&policies, "metrics").unwrap());
    let entries = gate.take_entries();
    let requests: Vec<(String, String)> = entries
        .iter()
        .map(|e| match &e.body {
            EntryBody::PolicyDecision {
                request, decision, ..
            } => (request.clone(), decision.clone()),
            other => panic!("unexpected entry {other:?}"),
        })
        .collect();
    assert_eq!(
        requests,
        [
            ("export record:p1".to_owned(), "allow".to_owned()),
            ("export record:v1".to_owned(), "deny".to_owned()),
            (
                "operate node:palermo (metrics)".to_owned(),
                "allow".to_owned()
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.actor == LOCAL_OPERATOR));

    // A stored user of another agency sees neither; an analyst may not read metrics.
    let user = NewUser {
        name: "ana".to_owned(),
        agency: Some("KMar".to_owned()),
        roles: vec!["analyst".to_owned()],
        cases: Vec::new(),
    };
    store.add_user(&user, &"ab".repeat(32)).await.unwrap();
    let ana = principal(&store, &node(), Some("ana")).await.unwrap();
    let mut gate = Gate::new(node(), ana, today());
    assert!(
        gate.filter(&policies, &basis, Action::View, &entities)
            .unwrap()
            .is_empty()
    );
    assert_eq!(gate.denied(), 2);
    assert!(!gate.decide_node(&policies, "metrics").unwrap());
    assert_eq!(gate.take_entries().len(), 3);

    // Unknown and revoked users are bad input.
    let err = principal(&store, &node(), Some("nobody"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadInput(_)) && err.to_string().contains("unknown user"));
    store.revoke_user("ana").await.unwrap();
    let err = principal(&store, &node(), Some("ana")).await.unwrap_err();
    assert!(
        err.is_bad_input() && err.to_string().contains("revoked"),
        "{err}"
    );
}

#[tokio::test]
async fn gate_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    gate(crate::util::sqlite(&dir).await).await;
}

#[tokio::test]
async fn gate_postgres() {
    gate(crate::util::postgres().await).await;
}
