//! The user and token tables on PostgreSQL.

use time::OffsetDateTime;

use super::{NewUser, UserRecord, UserRow, from_row, list_text, select_users, taken, time_text};
use crate::{PgStore, Result};

pub(super) async fn add_user(
    store: &PgStore,
    user: &NewUser,
    token_hash: &str,
) -> Result<UserRecord> {
    let now = time_text(OffsetDateTime::now_utc());
    let mut tx = store.pool().begin().await?;
    // Serialise user creation so that two adds of one name cannot both pass the check.
    sqlx::query("LOCK TABLE users IN EXCLUSIVE MODE")
        .execute(&mut *tx)
        .await?;
    let exists: i64 = sqlx::query_scalar("SELECT count(*) FROM users WHERE name = $1")
        .bind(&user.name)
        .fetch_one(&mut *tx)
        .await?;
    if exists > 0 {
        return Err(taken(&user.name));
    }
    sqlx::query(
        "INSERT INTO users (name, agency, roles, cases, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&user.name)
    .bind(&user.agency)
    .bind(list_text(&user.roles))
    .bind(list_text(&user.cases))
    .bind(&now)
    .execute(&mut *tx)
    .await?;
    sqlx::query("INSERT INTO api_tokens (token_hash, user_name, created_at) VALUES ($1, $2, $3)")
        .bind(token_hash.to_ascii_lowercase())
        .bind(&user.name)
        .bind(&now)
        .execute(&mut *tx)
        .await?;
    let row: UserRow = sqlx::query_as(select_users!("WHERE name = $1"))
        .bind(&user.name)
        .fetch_one(&mut *tx)
        .await?;
    tx.commit().await?;
    from_row(row)
}

pub(super) async fn users(store: &PgStore) -> Result<Vec<UserRecord>> {
    let rows: Vec<UserRow> = sqlx::query_as(select_users!("ORDER BY name"))
        .fetch_all(store.pool())
        .await?;
    rows.into_iter().map(from_row).collect()
}

pub(super) async fn user_by_token(store: &PgStore, token_hash: &str) -> Result<Option<UserRecord>> {
    let row: Option<UserRow> = sqlx::query_as(select_users!(
        "WHERE revoked_at IS NULL AND name = \
         (SELECT user_name FROM api_tokens WHERE token_hash = $1)"
    ))
    .bind(token_hash.to_ascii_lowercase())
    .fetch_optional(store.pool())
    .await?;
    row.map(from_row).transpose()
}

pub(super) async fn revoke(store: &PgStore, name: &str, now: &str) -> Result<()> {
    sqlx::query("UPDATE users SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(name)
        .execute(store.pool())
        .await?;
    Ok(())
}
