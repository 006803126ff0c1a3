//! The federation tables on SQLite.

use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    COUNTS_SQL, FED_ROWS_PER_STATEMENT, FederationCounts, FederationStore, INBOX_COLUMNS,
    InboxColumns, InboxEffect, InboxRow, IncomingMessage, OUTBOX_COLUMNS, OutboxColumns, OutboxRow,
    OutgoingMessage, PeerHead, PeerHeadColumns, Unledgered, counts, first_of_each_id, inbox_row,
    outbox_row, peer_head_row, to_ms,
};
use crate::ledger::to_i64;
use crate::{Result, SqliteStore};

impl SqliteStore {
    /// Enqueues `messages` inside the caller's open transaction, so that the
    /// change that caused them and the messages commit (or roll back) together.
    /// An id already in the outbox is left as it is.
    pub async fn outbox_enqueue_in(
        conn: &mut SqliteConnection,
        messages: &[OutgoingMessage],
    ) -> Result<()> {
        for chunk in messages.chunks(FED_ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO fed_outbox (id, recipient, kind, envelope, created_at, next_attempt_at) ",
            );
            insert.push_values(chunk, |mut b, m| {
                b.push_bind(m.id.to_string())
                    .push_bind(m.recipient.clone())
                    .push_bind(m.kind.clone())
                    .push_bind(m.envelope.clone())
                    .push_bind(to_ms(m.created_at))
                    .push_bind(to_ms(m.created_at));
            });
            insert.push(" ON CONFLICT (id) DO NOTHING");
            insert.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

impl FederationStore for SqliteStore {
    async fn outbox_enqueue(&self, messages: &[OutgoingMessage]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        SqliteStore::outbox_enqueue_in(&mut tx, messages).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_due(&self, now: OffsetDateTime, per_recipient: u32) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM (SELECT *, row_number() OVER \
             (PARTITION BY recipient ORDER BY created_at, id) AS rank FROM fed_outbox \
             WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ?) AS due \
             WHERE rank <= ? ORDER BY recipient, created_at, id"
        );
        let rows: Vec<OutboxColumns> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(to_ms(now))
            .bind(i64::from(per_recipient))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(outbox_row).collect()
    }

    async fn outbox_next_due(&self) -> Result<Option<OffsetDateTime>> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT min(next_attempt_at) FROM fed_outbox WHERE delivered_at IS NULL AND failed_at IS NULL",
        )
        .fetch_one(self.pool())
        .await?;
        next.map(|ms| super::from_ms(ms, "fed_outbox")).transpose()
    }

    async fn outbox_ack(&self, ids: &[Uuid], at: OffsetDateTime) -> Result<u64> {
        let mut n_acked = 0;
        for chunk in ids.chunks(FED_ROWS_PER_STATEMENT) {
            let mut update = QueryBuilder::<Sqlite>::new("UPDATE fed_outbox SET delivered_at = ");
            update.push_bind(to_ms(at)).push(
                ", last_error = NULL WHERE delivered_at IS NULL AND failed_at IS NULL AND id IN (",
            );
            let mut list = update.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            update.push(")");
            n_acked += update.build().execute(self.pool()).await?.rows_affected();
        }
        Ok(n_acked)
    }

    async fn outbox_retry(
        &self,
        id: Uuid,
        next_attempt_at: OffsetDateTime,
        error: &str,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE fed_outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? \
             WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(to_ms(next_attempt_at))
        .bind(error)
        .bind(id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn outbox_fail(&self, id: Uuid, error: &str, at: OffsetDateTime) -> Result<()> {
        sqlx::query(
            "UPDATE fed_outbox SET attempts = attempts + 1, failed_at = ?, last_error = ? \
             WHERE id = ? AND delivered_at IS NULL AND failed_at IS NULL",
        )
        .bind(to_ms(at))
        .bind(error)
        .bind(id.to_string())
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn outbox_list(&self, limit: u32) -> Result<Vec<OutboxRow>> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM fed_outbox ORDER BY created_at DESC, id DESC LIMIT ?"
        );
        let rows: Vec<OutboxColumns> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(outbox_row).collect()
    }

    async fn inbox_accept(&self, batch: Vec<(IncomingMessage, InboxEffect)>) -> Result<Vec<Uuid>> {
        let batch = first_of_each_id(batch);
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        // IMMEDIATE takes the write lock first: the "is it new?" answer and
        // the effect are decided under the same lock.
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        let mut new_ids = std::collections::HashSet::new();
        for chunk in batch.chunks(FED_ROWS_PER_STATEMENT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO fed_inbox (id, sender, kind, envelope, received_at, result) ",
            );
            insert.push_values(chunk, |mut b, (m, effect)| {
                b.push_bind(m.id.to_string())
                    .push_bind(m.sender.clone())
                    .push_bind(m.kind.clone())
                    .push_bind(m.envelope.clone())
                    .push_bind(to_ms(m.received_at))
                    .push_bind(effect.result.to_string());
            });
            insert.push(" ON CONFLICT (id) DO NOTHING RETURNING id");
            let ids: Vec<String> = insert.build_query_scalar().fetch_all(&mut *tx).await?;
            new_ids.extend(ids);
        }
        let mut accepted = Vec::with_capacity(new_ids.len());
        let mut replies = Vec::new();
        let mut heads = Vec::new();
        for (message, effect) in batch {
            if new_ids.contains(&message.id.to_string()) {
                accepted.push(message.id);
                replies.extend(effect.replies);
                heads.extend(effect.peer_head);
            }
        }
        SqliteStore::outbox_enqueue_in(&mut tx, &replies).await?;
        insert_heads(&mut tx, &heads).await?;
        tx.commit().await?;
        Ok(accepted)
    }

    async fn inbox_list(&self, limit: u32) -> Result<Vec<InboxRow>> {
        let sql = format!(
            "SELECT {INBOX_COLUMNS} FROM fed_inbox ORDER BY received_at DESC, id DESC LIMIT ?"
        );
        let rows: Vec<InboxColumns> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        rows.into_iter().map(inbox_row).collect()
    }

    async fn peer_heads(&self, peer: &str) -> Result<Vec<PeerHead>> {
        let rows: Vec<PeerHeadColumns> = sqlx::query_as(
            "SELECT peer, size, root, head, cosignature, received_at FROM fed_peer_heads \
             WHERE peer = ? ORDER BY size",
        )
        .bind(peer)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(peer_head_row).collect()
    }

    async fn fed_unledgered(&self, limit: u32) -> Result<Unledgered> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM fed_outbox WHERE ledgered = 0 AND \
             (delivered_at IS NOT NULL OR failed_at IS NOT NULL) ORDER BY created_at, id LIMIT ?"
        );
        let sent: Vec<OutboxColumns> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        let sql = format!(
            "SELECT {INBOX_COLUMNS} FROM fed_inbox WHERE ledgered = 0 ORDER BY received_at, id LIMIT ?"
        );
        let received: Vec<InboxColumns> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?;
        Ok(Unledgered {
            sent: sent.into_iter().map(outbox_row).collect::<Result<_>>()?,
            received: received.into_iter().map(inbox_row).collect::<Result<_>>()?,
        })
    }

    async fn fed_mark_ledgered(&self, sent: &[Uuid], received: &[Uuid]) -> Result<()> {
        let mut tx = self.pool().begin_with("BEGIN IMMEDIATE").await?;
        for (table, ids) in [("fed_outbox", sent), ("fed_inbox", received)] {
            for chunk in ids.chunks(FED_ROWS_PER_STATEMENT) {
                let mut update = QueryBuilder::<Sqlite>::new(format!(
                    "UPDATE {table} SET ledgered = 1 WHERE id IN ("
                ));
                let mut list = update.separated(", ");
                for id in chunk {
                    list.push_bind(id.to_string());
                }
                update.push(")");
                update.build().execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    async fn fed_counts(&self) -> Result<FederationCounts> {
        let row: (i64, i64, i64, i64, i64) =
            sqlx::query_as(COUNTS_SQL).fetch_one(self.pool()).await?;
        Ok(counts(row))
    }
}

async fn insert_heads(conn: &mut SqliteConnection, heads: &[PeerHead]) -> Result<()> {
    for chunk in heads.chunks(FED_ROWS_PER_STATEMENT) {
        let mut insert = QueryBuilder::<Sqlite>::new(
            "INSERT INTO fed_peer_heads (peer, size, root, head, cosignature, received_at) ",
        );
        insert.push_values(chunk, |mut b, h| {
            b.push_bind(h.peer.clone())
                .push_bind(to_i64(h.size))
                .push_bind(h.root.clone())
                .push_bind(h.head.clone())
                .push_bind(h.cosignature.clone())
                .push_bind(to_ms(h.received_at));
        });
        // A head seen again (same peer and size) keeps its first cosignature.
        insert.push(" ON CONFLICT (peer, size) DO NOTHING");
        insert.build().execute(&mut *conn).await?;
    }
    Ok(())
}
