//! Users and API tokens on both backends: add, list, look up by token hash,
//! revoke (tokens stop working at once), and refusals.

use palermo_store::{AnyStore, Error, NewUser, PgStore, SqliteStore};

fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn user(name: &str, roles: &[&str], cases: &[&str]) -> NewUser {
    NewUser {
        name: name.to_owned(),
        agency: Some("KMar".to_owned()),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        cases: cases.iter().map(|c| (*c).to_owned()).collect(),
    }
}

async fn users_and_tokens(store: AnyStore) {
    assert!(store.users().await.unwrap().is_empty());
    assert!(store.user_by_token(&hash(1)).await.unwrap().is_none());

    let ana = store
        .add_user(&user("ana", &["analyst"], &["C-1", "C-2"]), &hash(1))
        .await
        .unwrap();
    assert_eq!(ana.roles, vec!["analyst".to_owned()]);
    assert_eq!(ana.cases, vec!["C-1".to_owned(), "C-2".to_owned()]);
    assert_eq!(ana.agency.as_deref(), Some("KMar"));
    assert!(ana.revoked_at.is_none());
    let mut boss = user("boss", &["supervisor", "administrator"], &[]);
    boss.agency = None;
    store.add_user(&boss, &hash(2)).await.unwrap();

    // Listed by name; found by token hash (case-insensitive hex).
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["ana", "boss"]);
    assert_eq!(
        store.user_by_token(&hash(1)).await.unwrap(),
        Some(ana.clone())
    );
    let found = store
        .user_by_token(&hash(2).to_ascii_uppercase())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.name, "boss");
    assert_eq!(found.agency, None);
    assert!(store.user_by_token(&hash(3)).await.unwrap().is_none());

    // A taken name and a reused token are refused; nothing half-written.
    let err = store
        .add_user(&user("ana", &["analyst"], &[]), &hash(4))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(store.user_by_token(&hash(4)).await.unwrap().is_none());
    assert!(
        store
            .add_user(&user("carl", &["analyst"], &[]), &hash(1))
            .await
            .is_err()
    );
    assert!(store.user("carl").await.unwrap().is_none());
    for (name, token) in [("", hash(5)), (" ana ", hash(5)), ("dan", "abc".to_owned())] {
        assert!(
            store
                .add_user(&user(name, &["analyst"], &[]), &token)
                .await
                .is_err(),
            "{name:?} {token:?}"
        );
    }

    // Revocation stops the token at once and is kept on a second revoke.
    let revoked = store.revoke_user("ana").await.unwrap().unwrap();
    let at = revoked.revoked_at.unwrap();
    assert!(store.user_by_token(&hash(1)).await.unwrap().is_none());
    let again = store.revoke_user("ana").await.unwrap().unwrap();
    assert_eq!(again.revoked_at, Some(at));
    assert!(store.revoke_user("nobody").await.unwrap().is_none());
    assert_eq!(store.users().await.unwrap().len(), 2);
    // A revoked name is not reused.
    assert!(
        store
            .add_user(&user("ana", &["analyst"], &[]), &hash(6))
            .await
            .is_err()
    );
    assert!(store.user_by_token(&hash(2)).await.unwrap().is_some());
}

#[tokio::test]
async fn users_and_tokens_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("node.db").display());
    let store = AnyStore::Sqlite(SqliteStore::connect(&url).await.unwrap());
    users_and_tokens(store).await;
}

#[tokio::test]
async fn users_and_tokens_postgres() {
    let store = AnyStore::Postgres(PgStore::connect(&crate::util::pg_url()).await.unwrap());
    users_and_tokens(store).await;
}
