//! The node's policy versions through `install_policies` / `active_policies`
//! on both backends: the shipped set until one is loaded, a bad set refused
//! with Cedar's error and the active set unchanged, versions in order; and
//! the store's law updates in the legal basis decisions rest on.

use palermo_law::{Cooperation, Date, Update, UpdateAction};
use palermo_node::{Error, active_policies, install_policies, law_basis};
use palermo_policy::{BasisSource, DEFAULT_POLICIES, LoadOptions, NODE_POLICIES, Policies};
use palermo_store::{AnyStore, LawUpdateRecord};

const STRICT: LoadOptions = LoadOptions { allow_empty: false };

async fn versions(store: AnyStore) {
    let (policies, version) = active_policies(&store).await.unwrap();
    assert!(version.is_none());
    assert_eq!(policies.digest(), Policies::embedded().digest());

    // A syntax error, a schema violation and an empty set: refused, nothing stored.
    let bad = [
        ("syntax.cedar", "permit (principal, action, resource", false),
        (
            "unknown.cedar",
            "@id(\"x\")\npermit (principal, action, resource) when { resource.colour == \"red\" };",
            false,
        ),
        ("empty.cedar", "", false),
    ];
    for (name, text, allow_empty) in bad {
        let err = install_policies(&store, name, text, LoadOptions { allow_empty }, "ops")
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Policy(_)), "{name}: {err}");
        assert!(err.is_bad_input(), "{name}: {err}");
        assert!(err.to_string().contains(name), "{name}: {err}");
    }
    assert!(store.policy_versions().await.unwrap().is_empty());
    assert!(active_policies(&store).await.unwrap().1.is_none());

    // A good set becomes version 1 and is what the node runs.
    let text = format!("{DEFAULT_POLICIES}\n{NODE_POLICIES}");
    let first = install_policies(&store, "node.cedar", &text, STRICT, "ops")
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    let only_views = "@id(\"clear-only\")\npermit (principal, action == Palermo::Action::\"view\", resource) when { resource.tlp == \"CLEAR\" };";
    let second = install_policies(&store, "views.cedar", only_views, STRICT, "boss")
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    let (active, stored) = active_policies(&store).await.unwrap();
    assert_eq!(stored.unwrap().version, 2);
    assert_eq!(active.summaries().len(), 1);
    assert_eq!(active.source_name(), "views.cedar");

    // A bad set after good ones leaves version 2 active.
    let err = install_policies(&store, "typo.cedar", "permit (", STRICT, "ops")
        .await
        .unwrap_err();
    assert!(err.is_bad_input());
    let (active, stored) = active_policies(&store).await.unwrap();
    assert_eq!(stored.unwrap().version, 2);
    assert_eq!(active.digest(), second.digest);
    let history: Vec<(u64, String)> = store
        .policy_versions()
        .await
        .unwrap()
        .into_iter()
        .map(|v| (v.version, v.author))
        .collect();
    assert_eq!(history, [(1, "ops".to_owned()), (2, "boss".to_owned())]);

    // The legal basis loads with the (empty) law update log, and a corrupt
    // stored update is an error, not a silently older knowledge base.
    law_basis(&store).await.unwrap();
    store
        .append_law_update(&LawUpdateRecord {
            version: 1,
            author: "ops".to_owned(),
            created: "2026-01-01T00:00:00Z".to_owned(),
            body: "{\"not\": \"an update\"}".to_owned(),
        })
        .await
        .unwrap();
    let err = law_basis(&store).await.unwrap_err();
    assert!(
        matches!(err, Error::Corrupt { .. }) && !err.is_bad_input(),
        "{err}"
    );
    assert!(err.to_string().contains("version 1"), "{err}");
}

/// A bilateral treaty the embedded knowledge base does not know.
const BILATERAL: &str = "agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes\n\
NL-TH-MLAT,mlat,NL,TH,Treaty on mutual legal assistance,2019-03-01,2020-01-01,,all offences punishable in both states,https://example.org/trb,\n";

/// An operator's law update in the store changes the legal basis that
/// policy decisions rest on: the treaty is a basis from its entry into force.
async fn law_update_reaches_the_basis(store: AnyStore) {
    let on = Date::new(2021, 6, 1).unwrap();
    let before = law_basis(&store)
        .await
        .unwrap()
        .instruments("NL", "TH", Cooperation::Mla, on);
    assert!(!before.contains(&"NL-TH-MLAT".to_owned()), "{before:?}");
    let update = Update {
        version: 1,
        author: "ops".to_owned(),
        created: "2026-01-01T00:00:00Z".to_owned(),
        note: "signed copy checked".to_owned(),
        action: UpdateAction::Import {
            file_name: "bilateral.csv".to_owned(),
            content: BILATERAL.to_owned(),
        },
    };
    store
        .append_law_update(&LawUpdateRecord {
            version: 1,
            author: update.author.clone(),
            created: update.created.clone(),
            body: serde_json::to_string(&update).unwrap(),
        })
        .await
        .unwrap();
    let basis = law_basis(&store).await.unwrap();
    let after = basis.instruments("NL", "TH", Cooperation::Mla, on);
    assert!(after.contains(&"NL-TH-MLAT".to_owned()), "{after:?}");
    let earlier = basis.instruments("NL", "TH", Cooperation::Mla, Date::new(2019, 6, 1).unwrap());
    assert!(!earlier.contains(&"NL-TH-MLAT".to_owned()), "{earlier:?}");
}

#[tokio::test]
async fn law_update_reaches_the_basis_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    law_update_reaches_the_basis(crate::util::sqlite(&dir).await).await;
}

#[tokio::test]
async fn law_update_reaches_the_basis_postgres() {
    law_update_reaches_the_basis(crate::util::postgres().await).await;
}

#[tokio::test]
async fn policy_versions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    versions(crate::util::sqlite(&dir).await).await;
}

#[tokio::test]
async fn policy_versions_postgres() {
    versions(crate::util::postgres().await).await;
}
