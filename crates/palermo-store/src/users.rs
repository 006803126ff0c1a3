//! Users of the node's API and their bearer tokens (`palermo user`).
//!
//! A user has a name, an agency, roles (`analyst`, `supervisor`,
//! `legal-officer`, `administrator`; the policy crate gives them meaning),
//! assigned cases, a creation time and, once revoked, a revocation time.
//! Tokens are stored only as the SHA-256 hash of their text (the caller
//! hashes); [`AnyStore::user_by_token`] finds active users only, so a
//! revoked user's tokens stop working at once.

mod postgres;
mod sqlite;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{AnyStore, Error, Result};

/// A user to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    /// Unique name (also the principal id in policy decisions and on the ledger).
    pub name: String,
    /// The user's agency; `None` means the node's agency.
    pub agency: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Assigned case ids.
    pub cases: Vec<String>,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRecord {
    /// Unique name.
    pub name: String,
    /// The user's agency, if not the node's.
    pub agency: Option<String>,
    /// Role names.
    pub roles: Vec<String>,
    /// Assigned case ids.
    pub cases: Vec<String>,
    /// When the user was created.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the user was revoked, if they were.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A user row as both backends read it.
pub(crate) type UserRow = (
    String,
    Option<String>,
    String,
    String,
    String,
    Option<String>,
);

/// `SELECT` of the [`UserRow`] columns from `users`, followed by `$rest`.
macro_rules! select_users {
    ($rest:literal) => {
        concat!(
            "SELECT name, agency, roles, cases, created_at, revoked_at FROM users ",
            $rest
        )
    };
}
pub(crate) use select_users;

/// The user and token queries, written once for both backends: `$store` is the
/// store type and `$db` its sqlx database. Each backend module invokes it and
/// adds `users_begin`, a write transaction under which a name's "is it taken?"
/// check and its insert cannot interleave with another add.
macro_rules! users_impl {
    ($store:ty, $db:ty) => {
        use sqlx::QueryBuilder;
        use time::OffsetDateTime;

        use crate::Result;
        use crate::users::{
            NewUser, UserRecord, UserRow, from_row, list_text, select_users, taken, time_text,
        };

        pub(super) async fn add_user(
            store: &$store,
            user: &NewUser,
            token_hash: &str,
        ) -> Result<UserRecord> {
            let now = time_text(OffsetDateTime::now_utc());
            let mut tx = users_begin(store).await?;
            let mut q = QueryBuilder::<$db>::new("SELECT count(*) FROM users WHERE name = ");
            q.push_bind(user.name.clone());
            let exists: i64 = q.build_query_scalar().fetch_one(&mut *tx).await?;
            if exists > 0 {
                return Err(taken(&user.name));
            }
            let mut q = QueryBuilder::<$db>::new(
                "INSERT INTO users (name, agency, roles, cases, created_at) ",
            );
            q.push_values([user], |mut b, u| {
                b.push_bind(u.name.clone())
                    .push_bind(u.agency.clone())
                    .push_bind(list_text(&u.roles))
                    .push_bind(list_text(&u.cases))
                    .push_bind(now.clone());
            });
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<$db>::new(
                "INSERT INTO api_tokens (token_hash, user_name, created_at) ",
            );
            q.push_values([token_hash], |mut b, hash| {
                b.push_bind(hash.to_ascii_lowercase())
                    .push_bind(user.name.clone())
                    .push_bind(now.clone());
            });
            q.build().execute(&mut *tx).await?;
            let mut q = QueryBuilder::<$db>::new(select_users!("WHERE name = "));
            q.push_bind(user.name.clone());
            let row: UserRow = q.build_query_as().fetch_one(&mut *tx).await?;
            tx.commit().await?;
            from_row(row)
        }

        pub(super) async fn users(store: &$store) -> Result<Vec<UserRecord>> {
            let rows: Vec<UserRow> = sqlx::query_as(select_users!("ORDER BY name"))
                .fetch_all(store.pool())
                .await?;
            rows.into_iter().map(from_row).collect()
        }

        pub(super) async fn user_by_token(
            store: &$store,
            token_hash: &str,
        ) -> Result<Option<UserRecord>> {
            let mut q = QueryBuilder::<$db>::new(select_users!(
                "WHERE revoked_at IS NULL AND name = \
                 (SELECT user_name FROM api_tokens WHERE token_hash = "
            ));
            q.push_bind(token_hash.to_ascii_lowercase()).push(")");
            let row: Option<UserRow> = q.build_query_as().fetch_optional(store.pool()).await?;
            row.map(from_row).transpose()
        }

        pub(super) async fn revoke(store: &$store, name: &str, now: &str) -> Result<()> {
            let mut q = QueryBuilder::<$db>::new("UPDATE users SET revoked_at = ");
            q.push_bind(now.to_owned())
                .push(" WHERE name = ")
                .push_bind(name.to_owned())
                .push(" AND revoked_at IS NULL");
            q.build().execute(store.pool()).await?;
            Ok(())
        }
    };
}
pub(crate) use users_impl;

/// Checks a new user and its token hash before writing.
pub(crate) fn check_new(user: &NewUser, token_hash: &str) -> Result<()> {
    let bad = |reason: String| Error::Conflict {
        id: user.name.clone(),
        existing: reason,
    };
    let name = user.name.trim();
    if name.is_empty() || name != user.name || name.chars().any(char::is_control) {
        return Err(bad(
            "a user name must be non-empty, without surrounding spaces or control characters"
                .to_owned(),
        ));
    }
    if token_hash.len() != 64 || !token_hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad(
            "the token hash must be 64 hex digits (SHA-256)".to_owned()
        ));
    }
    Ok(())
}

/// The error for a name that is already taken.
pub(crate) fn taken(name: &str) -> Error {
    Error::Conflict {
        id: name.to_owned(),
        existing: "a user with this name already exists (revoked names are not reused)".to_owned(),
    }
}

/// RFC 3339 text of `time`.
pub(crate) fn time_text(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_default()
}

/// JSON text of a list of names.
pub(crate) fn list_text(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// Builds a [`UserRecord`] from a stored row.
pub(crate) fn from_row(row: UserRow) -> Result<UserRecord> {
    let (name, agency, roles, cases, created_at, revoked_at) = row;
    let corrupt = |field: &str, reason: String| Error::Corrupt {
        what: format!("user {name:?} {field}"),
        reason,
    };
    let list = |field: &str, text: &str| -> Result<Vec<String>> {
        serde_json::from_str(text).map_err(|err| corrupt(field, err.to_string()))
    };
    let time = |field: &str, text: &str| -> Result<OffsetDateTime> {
        OffsetDateTime::parse(text, &Rfc3339).map_err(|err| corrupt(field, err.to_string()))
    };
    Ok(UserRecord {
        roles: list("roles", &roles)?,
        cases: list("cases", &cases)?,
        created_at: time("created_at", &created_at)?,
        revoked_at: revoked_at
            .as_deref()
            .map(|t| time("revoked_at", t))
            .transpose()?,
        name,
        agency,
    })
}

impl AnyStore {
    /// Creates `user` with one token (given as its SHA-256 hash, 64 hex
    /// digits). A name that exists, even revoked, is a [`Error::Conflict`].
    pub async fn add_user(&self, user: &NewUser, token_hash: &str) -> Result<UserRecord> {
        check_new(user, token_hash)?;
        match self {
            AnyStore::Sqlite(s) => sqlite::add_user(s, user, token_hash).await,
            AnyStore::Postgres(s) => postgres::add_user(s, user, token_hash).await,
        }
    }

    /// Every user, revoked ones included, by name.
    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        match self {
            AnyStore::Sqlite(s) => sqlite::users(s).await,
            AnyStore::Postgres(s) => postgres::users(s).await,
        }
    }

    /// The user named `name`, revoked or not.
    pub async fn user(&self, name: &str) -> Result<Option<UserRecord>> {
        Ok(self.users().await?.into_iter().find(|u| u.name == name))
    }

    /// The active (not revoked) user holding the token with this hash.
    pub async fn user_by_token(&self, token_hash: &str) -> Result<Option<UserRecord>> {
        match self {
            AnyStore::Sqlite(s) => sqlite::user_by_token(s, token_hash).await,
            AnyStore::Postgres(s) => postgres::user_by_token(s, token_hash).await,
        }
    }

    /// Revokes `name`: its tokens stop working at once. Returns the user as
    /// revoked, or `None` when there is no such user; revoking twice keeps
    /// the first revocation time.
    pub async fn revoke_user(&self, name: &str) -> Result<Option<UserRecord>> {
        let now = time_text(OffsetDateTime::now_utc());
        match self {
            AnyStore::Sqlite(s) => sqlite::revoke(s, name, &now).await?,
            AnyStore::Postgres(s) => postgres::revoke(s, name, &now).await?,
        }
        self.user(name).await
    }
}
