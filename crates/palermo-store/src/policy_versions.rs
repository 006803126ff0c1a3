//! The node's sharing policy sets and their version history
//! (`palermo policy load|show`, migration 0600).
//!
//! The store keeps each set's Cedar text with its version, source name,
//! digest, author and time; `palermo-policy` gives the text its meaning and
//! must have validated it before it is stored. The history is append-only:
//! the active set is the highest version, and activating a set (a new one or
//! an older text again) is one insert that refuses to proceed if another
//! writer activated a set since the caller read the history.

use sqlx::Row;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::{AnyStore, Error, PgStore, Result, SqliteStore};

/// A policy set to activate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPolicyVersion {
    /// Where the text came from (a file name, or `default`).
    pub source_name: String,
    /// The digest palermo-policy computed over the text.
    pub digest: String,
    /// The Cedar policy text.
    pub text: String,
    /// Whether an empty set was accepted on purpose (`--allow-empty`).
    pub allow_empty: bool,
    /// Who activated it.
    pub author: String,
}

/// One stored version of the node's policy set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PolicyVersionRecord {
    /// Version number: 1, 2, ... in activation order.
    pub version: u64,
    /// Where the text came from.
    pub source_name: String,
    /// Digest of the text.
    pub digest: String,
    /// The Cedar policy text.
    #[serde(skip)]
    pub text: String,
    /// Whether an empty set was accepted on purpose.
    pub allow_empty: bool,
    /// Who activated it.
    pub author: String,
    /// When (RFC 3339).
    pub created: String,
}

/// `SELECT` of a version's columns from `policy_versions`, followed by `$rest`.
macro_rules! select_versions {
    ($rest:literal) => {
        concat!(
            "SELECT version, source_name, digest, body, allow_empty, author, created \
             FROM policy_versions ",
            $rest
        )
    };
}

const SELECT: &str = select_versions!("ORDER BY version");

fn conflict(expected: u64, found: i64) -> Error {
    Error::Conflict {
        id: format!("policy version {}", expected + 1),
        existing: format!(
            "another policy set was activated meanwhile (the history now holds {found} versions); reload and retry"
        ),
    }
}

fn check_new(new: &NewPolicyVersion) -> Result<()> {
    if new.source_name.trim().is_empty() || new.digest.trim().is_empty() {
        return Err(Error::Conflict {
            id: "policy version".to_owned(),
            existing: "a policy version needs a source name and a digest".to_owned(),
        });
    }
    Ok(())
}

fn record(row: &impl RowLike) -> Result<PolicyVersionRecord> {
    let version: i64 = row.int("version")?;
    let version = u64::try_from(version).map_err(|_| Error::Corrupt {
        what: "policy_versions".to_owned(),
        reason: format!("version {version}"),
    })?;
    Ok(PolicyVersionRecord {
        version,
        source_name: row.text("source_name")?,
        digest: row.text("digest")?,
        text: row.text("body")?,
        allow_empty: row.flag("allow_empty")?,
        author: row.text("author")?,
        created: row.text("created")?,
    })
}

/// Column access shared by both backends' rows.
trait RowLike {
    fn int(&self, column: &str) -> Result<i64>;
    fn text(&self, column: &str) -> Result<String>;
    fn flag(&self, column: &str) -> Result<bool>;
}

impl RowLike for sqlx::sqlite::SqliteRow {
    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.try_get::<i64, _>(column)? != 0)
    }
}

impl RowLike for sqlx::postgres::PgRow {
    fn int(&self, column: &str) -> Result<i64> {
        Ok(self.try_get(column)?)
    }
    fn text(&self, column: &str) -> Result<String> {
        Ok(self.try_get(column)?)
    }
    fn flag(&self, column: &str) -> Result<bool> {
        Ok(self.try_get(column)?)
    }
}

fn now() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// The reads and the activation, written once for both backends: only how a
/// transaction takes its lock ([`SqliteStore::policy_begin`],
/// [`PgStore::policy_begin`]) and how a row reads its flag ([`RowLike`])
/// differ.
macro_rules! policy_versions_impl {
    ($store:ty, $db:ty) => {
        impl $store {
            /// Every stored policy version, oldest first.
            pub async fn policy_versions(&self) -> Result<Vec<PolicyVersionRecord>> {
                let rows = sqlx::query(SELECT).fetch_all(self.pool()).await?;
                rows.iter().map(record).collect()
            }

            /// Activates `new` as version `expected + 1`, in one transaction; a
            /// history that no longer holds `expected` versions is a conflict.
            pub async fn activate_policy_version(
                &self,
                new: &NewPolicyVersion,
                expected: u64,
            ) -> Result<PolicyVersionRecord> {
                check_new(new)?;
                let mut tx = self.policy_begin().await?;
                let count: i64 = sqlx::query_scalar("SELECT count(*) FROM policy_versions")
                    .fetch_one(&mut *tx)
                    .await?;
                if u64::try_from(count).ok() != Some(expected) {
                    return Err(conflict(expected, count));
                }
                let version = i64::try_from(expected + 1).map_err(|_| conflict(expected, count))?;
                let mut insert = sqlx::QueryBuilder::<$db>::new(
                    "INSERT INTO policy_versions \
                     (version, source_name, digest, body, allow_empty, author, created) ",
                );
                insert.push_values([new], |mut row, new| {
                    row.push_bind(version)
                        .push_bind(&new.source_name)
                        .push_bind(&new.digest)
                        .push_bind(&new.text)
                        .push_bind(new.allow_empty)
                        .push_bind(&new.author)
                        .push_bind(now());
                });
                insert.build().execute(&mut *tx).await?;
                let mut select =
                    sqlx::QueryBuilder::<$db>::new(select_versions!("WHERE version = "));
                select.push_bind(version);
                let row = select.build().fetch_one(&mut *tx).await?;
                let stored = record(&row)?;
                tx.commit().await?;
                Ok(stored)
            }
        }
    };
}

policy_versions_impl!(SqliteStore, sqlx::Sqlite);
policy_versions_impl!(PgStore, sqlx::Postgres);

impl SqliteStore {
    /// A write transaction that holds SQLite's write lock from the start, so
    /// the count it reads is still true when it inserts.
    async fn policy_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>> {
        Ok(self.pool().begin_with("BEGIN IMMEDIATE").await?)
    }
}

impl PgStore {
    /// A transaction that serialises activations: it holds an exclusive lock
    /// on `policy_versions` until it ends.
    async fn policy_begin(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("LOCK TABLE policy_versions IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await?;
        Ok(tx)
    }
}

impl AnyStore {
    /// Every stored policy version, oldest first (empty: the node runs the
    /// shipped default set).
    pub async fn policy_versions(&self) -> Result<Vec<PolicyVersionRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.policy_versions().await,
            AnyStore::Postgres(s) => s.policy_versions().await,
        }
    }

    /// The active policy version: the highest stored, if any.
    pub async fn active_policy_version(&self) -> Result<Option<PolicyVersionRecord>> {
        Ok(self.policy_versions().await?.pop())
    }

    /// Activates `new` (already validated by the caller) as version
    /// `expected + 1` in one transaction; [`Error::Conflict`] when the history
    /// no longer holds `expected` versions, and nothing is written then.
    pub async fn activate_policy_version(
        &self,
        new: &NewPolicyVersion,
        expected: u64,
    ) -> Result<PolicyVersionRecord> {
        match self {
            AnyStore::Sqlite(s) => s.activate_policy_version(new, expected).await,
            AnyStore::Postgres(s) => s.activate_policy_version(new, expected).await,
        }
    }
}
