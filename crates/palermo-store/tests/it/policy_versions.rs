//! The policy version history on both backends: empty at first, versions
//! counted up in activation order, the active set is the latest, and a
//! writer that read an old history is refused with nothing written.

use palermo_store::{AnyStore, Error, NewPolicyVersion, PgStore, SqliteStore};

fn set(name: &str, text: &str) -> NewPolicyVersion {
    NewPolicyVersion {
        source_name: name.to_owned(),
        digest: format!("sha256:{}", text.len()),
        text: text.to_owned(),
        allow_empty: text.is_empty(),
        author: "ops".to_owned(),
    }
}

async fn history(store: AnyStore) {
    assert!(store.policy_versions().await.unwrap().is_empty());
    assert!(store.active_policy_version().await.unwrap().is_none());

    let first = store
        .activate_policy_version(&set("a.cedar", "permit (principal, action, resource);"), 0)
        .await
        .unwrap();
    assert_eq!(first.version, 1);
    assert_eq!(first.author, "ops");
    assert!(!first.allow_empty);
    let second = store
        .activate_policy_version(&set("b.cedar", ""), 1)
        .await
        .unwrap();
    assert_eq!(second.version, 2);
    assert!(second.allow_empty);
    assert_eq!(
        store.active_policy_version().await.unwrap().as_ref(),
        Some(&second)
    );

    // A writer that saw one version only is refused; the history is unchanged.
    let err = store
        .activate_policy_version(&set("c.cedar", "forbid (principal, action, resource);"), 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    let err = store
        .activate_policy_version(&set("", "x"), 2)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    let all = store.policy_versions().await.unwrap();
    assert_eq!(all, vec![first.clone(), second]);
    assert_eq!(all[0].text, "permit (principal, action, resource);");

    // Re-activating an older text is a new version.
    let again = store
        .activate_policy_version(&set("a.cedar", &first.text), 2)
        .await
        .unwrap();
    assert_eq!(again.version, 3);
    assert_eq!(again.digest, first.digest);
    assert_eq!(
        store
            .active_policy_version()
            .await
            .unwrap()
            .map(|v| v.version),
        Some(3)
    );
}

#[tokio::test]
async fn policy_versions_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let store = AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap());
    history(store).await;
}

#[tokio::test]
async fn policy_versions_postgres() {
    let store = AnyStore::Postgres(PgStore::connect(&crate::util::pg_url()).await.unwrap());
    history(store).await;
}
