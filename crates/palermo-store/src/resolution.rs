//! Entity resolution state in the store (`palermo resolve`; migration 0300).
//!
//! Tables: `resolution_models` (each trained model's parameters as JSON, versioned),
//! `resolution_runs` (one row per run, with the highest person `seq` it covered: the
//! watermark from which the next incremental run reads new persons),
//! `resolution_members` (person → cluster id), `resolution_keys` (the resolver's
//! blocking keys of resolved persons, for incremental candidates; incremental runs add
//! theirs to the small `resolution_keys_recent`, migration 0302, folded in later),
//! `resolution_terms` (name term counts) and `resolution_decisions` (machine merges and
//! human confirm/reject decisions).
//!
//! A run is written by [`ResolutionWrite`] in one transaction that first checks that no
//! other run moved the watermark meanwhile; a human decision and the membership changes
//! it causes are one transaction too. The matching logic is all in `palermo-resolve`;
//! this module only moves rows. Both backends share the SQL (built with `QueryBuilder`,
//! which writes each backend's placeholders) through one macro.

mod postgres;
mod sqlite;

use serde::Serialize;

use crate::{AnyStore, Result};

/// Rows per multi-row INSERT (9 bound columns at most: below both backends' limits).
pub(crate) const ROWS_PER_STATEMENT: usize = 2_000;
/// Values per `IN (...)` list.
pub(crate) const IN_CHUNK: usize = 500;

/// A stored person: its sequence number, id and properties.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonRow {
    /// The entity's position in import order.
    pub seq: i64,
    /// The entity id.
    pub id: String,
    /// `(property, value)` pairs, as stored.
    pub properties: Vec<(String, String)>,
}

/// A stored model version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModelRecord {
    /// Version (1, 2, ...).
    pub version: i64,
    /// When it was trained (RFC 3339).
    pub created: String,
    /// The run that trained it.
    pub run_id: String,
    /// The parameters (JSON written by `palermo-resolve`).
    pub params: String,
}

/// Where resolution stands.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResolutionState {
    /// The latest model, if any run trained one.
    pub model: Option<ModelRecord>,
    /// Persons with a cluster.
    pub resolved: u64,
    /// Distinct clusters.
    pub clusters: u64,
    /// The highest person `seq` any run covered (0 before the first run).
    pub watermark: i64,
    /// Runs recorded.
    pub runs: u64,
    /// Persons in the store.
    pub persons: u64,
}

/// A merge decision or a human decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DecisionRecord {
    /// One record id.
    pub left_id: String,
    /// The other record id.
    pub right_id: String,
    /// `merge` (made by a run), `confirm` or `reject` (made by a person).
    pub kind: String,
    /// Match probability, when scored.
    pub probability: Option<f64>,
    /// Per-field weights summary, when scored.
    pub weights: Option<String>,
    /// The run that made it (merges).
    pub run_id: Option<String>,
    /// Who decided (the user running the command).
    pub actor: String,
    /// The reviewer's note.
    pub note: Option<String>,
    /// When (RFC 3339).
    pub time: String,
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    /// The run id.
    pub id: String,
    /// When it ran (RFC 3339).
    pub time: String,
    /// Who ran it.
    pub actor: String,
    /// `full` or `incremental`.
    pub mode: String,
    /// The model version used (or trained).
    pub model_version: i64,
    /// The highest person `seq` the run covered.
    pub watermark: i64,
    /// The run's counts (JSON).
    pub summary: String,
}

/// Everything one run writes, in one transaction.
#[derive(Debug, Clone)]
pub struct ResolutionWrite {
    /// The run (its `model_version` is replaced by the new model's when one is given).
    pub run: RunRecord,
    /// The watermark the run started from; the write fails with [`crate::Error::Conflict`]
    /// if another run moved it meanwhile.
    pub expected_watermark: i64,
    /// A newly trained model (parameters JSON), stored as the next version.
    pub new_model: Option<String>,
    /// Replace all membership, keys and term counts (a full run) instead of adding.
    pub replace: bool,
    /// `(entity seq, cluster id)` to set.
    pub members: Vec<(i64, String)>,
    /// `(blocking key, entity seq)` of newly resolved persons.
    pub keys: Vec<(i64, i64)>,
    /// `(term hash, count)` to add (or set, when replacing).
    pub terms: Vec<(i64, i64)>,
    /// Merge decisions made by the run.
    pub merges: Vec<DecisionRecord>,
}

/// Builds a conflict error for a moved watermark.
pub(crate) fn moved(expected: i64, found: i64) -> crate::Error {
    crate::Error::Conflict {
        id: "resolution run".to_owned(),
        existing: format!(
            "another run resolved persons up to seq {found} while this one started from {expected}; run palermo resolve again"
        ),
    }
}

/// Decodes stored properties JSON into pairs.
pub(crate) fn properties(seq: i64, json: &str) -> Result<Vec<(String, String)>> {
    let map: std::collections::BTreeMap<String, Vec<String>> =
        serde_json::from_str(json).map_err(|err| crate::Error::Corrupt {
            what: format!("entity seq {seq}"),
            reason: format!("properties: {err}"),
        })?;
    Ok(map
        .into_iter()
        .flat_map(|(k, vs)| vs.into_iter().map(move |v| (k.clone(), v)))
        .collect())
}

/// The tables of resolved persons' blocking keys: all of a full run's, and the
/// incremental runs' since the last fold (migration 0302).
pub(crate) const KEY_TABLES: [&str; 2] = ["resolution_keys", "resolution_keys_recent"];

/// Keys in `resolution_keys_recent` at which a run folds all of them into
/// `resolution_keys` at once (a run of more than about 27,000 new persons at once;
/// smaller runs never get there, see [`FOLD_SLICES`]).
pub(crate) const RECENT_KEYS_FOLD_AT: i64 = 262_144;

/// Every incremental run folds one slice of the key-hash range of
/// `resolution_keys_recent` into `resolution_keys`, the slices in turn, so a key waits
/// at most this many runs there. Folding a slice writes only the pages of
/// `resolution_keys` in that slice's range (a sixteenth), so every run pays a small,
/// bounded share, where folding everything at once made one run in about 27 pay for
/// all of them (1.3 s at 1M persons, on top of the run's own 0.7-0.9 s).
pub(crate) const FOLD_SLICES: i64 = 16;

/// The inclusive bounds of key-hash slice `slice` (`0..FOLD_SLICES`): the hashes whose
/// top four bits, read as unsigned after moving `i64::MIN` to 0, are `slice`.
pub(crate) fn fold_slice(slice: i64) -> (i64, i64) {
    let width = (1i128 << 64) / i128::from(FOLD_SLICES);
    let low = i128::from(i64::MIN) + i128::from(slice.rem_euclid(FOLD_SLICES)) * width;
    // Both bounds lie within i64: `low` from i64::MIN, the last slice's end at i64::MAX.
    (low as i64, (low + width - 1) as i64)
}

/// [`crate::SqliteStore::resolution_neighbours`] packs the persons of this many
/// consecutive seqs into one text row (at most 123 rows at 1M persons, a few MB each at
/// most). Grouping by a running number instead needs a sort of all rows by seq first:
/// 0.1 CPU s more for 48k neighbours.
pub(crate) const NEIGHBOUR_SEQS_PER_ROW: i64 = 8_192;

/// Reads persons packed as `seq,len,cluster id` `len,id` `len,properties` (lengths in
/// bytes, no separator between persons) and appends them to `out` with their clusters.
pub(crate) fn unpack_neighbours(text: &str, out: &mut Vec<(PersonRow, String)>) -> Result<()> {
    let mut rest = text;
    while !rest.is_empty() {
        let seq;
        (seq, rest) = packed_number(rest)?;
        let (cluster, id, json);
        (cluster, rest) = packed_text(rest)?;
        (id, rest) = packed_text(rest)?;
        (json, rest) = packed_text(rest)?;
        let person = PersonRow {
            seq,
            id: id.to_owned(),
            properties: properties(seq, json)?,
        };
        out.push((person, cluster.to_owned()));
    }
    Ok(())
}

fn packed_corrupt() -> crate::Error {
    crate::Error::Corrupt {
        what: "resolution neighbours".to_owned(),
        reason: "a packed person row does not parse".to_owned(),
    }
}

/// The number before the next comma, and what follows the comma.
fn packed_number(text: &str) -> Result<(i64, &str)> {
    let (n, rest) = text.split_once(',').ok_or_else(packed_corrupt)?;
    Ok((n.parse().map_err(|_| packed_corrupt())?, rest))
}

/// A length-prefixed text (`len,text`), and what follows it.
fn packed_text(text: &str) -> Result<(&str, &str)> {
    let (len, rest) = packed_number(text)?;
    let len = usize::try_from(len).map_err(|_| packed_corrupt())?;
    if !rest.is_char_boundary(len.min(rest.len())) || len > rest.len() {
        return Err(packed_corrupt());
    }
    Ok(rest.split_at(len))
}

/// Implements the resolution methods on a backend store. `$db` is the sqlx database,
/// `$props` the SQL expression that reads `e.properties` as text.
macro_rules! resolution_impl {
    ($store:ty, $db:ty, $props:literal) => {
        use sqlx::{QueryBuilder, Row};

        use crate::resolution::{
            DecisionRecord, IN_CHUNK, KEY_TABLES, ModelRecord, NEIGHBOUR_SEQS_PER_ROW, PersonRow,
            RECENT_KEYS_FOLD_AT, ROWS_PER_STATEMENT, ResolutionState, ResolutionWrite, RunRecord, fold_slice, moved, properties,
            unpack_neighbours,
        };
        use crate::Result;

        type Tx = sqlx::Transaction<'static, $db>;

        const PERSONS: &str = concat!("SELECT e.seq, e.id, ", $props, " AS properties FROM entities e WHERE e.schema = 'Person' AND ");

        fn person_rows(rows: Vec<<$db as sqlx::Database>::Row>) -> Result<Vec<PersonRow>> {
            rows.iter()
                .map(|row| {
                    let seq: i64 = row.try_get("seq")?;
                    let json: String = row.try_get("properties")?;
                    Ok(PersonRow {
                        seq,
                        id: row.try_get("id")?,
                        properties: properties(seq, &json)?,
                    })
                })
                .collect()
        }

        fn decision_rows(rows: Vec<<$db as sqlx::Database>::Row>) -> Result<Vec<DecisionRecord>> {
            rows.iter()
                .map(|row| {
                    Ok(DecisionRecord {
                        left_id: row.try_get("left_id")?,
                        right_id: row.try_get("right_id")?,
                        kind: row.try_get("kind")?,
                        probability: row.try_get("probability")?,
                        weights: row.try_get("weights")?,
                        run_id: row.try_get("run_id")?,
                        actor: row.try_get("actor")?,
                        note: row.try_get("note")?,
                        time: row.try_get("time")?,
                    })
                })
                .collect()
        }

        const DECISION_COLUMNS: &str =
            "SELECT left_id, right_id, kind, probability, weights, run_id, actor, note, time FROM resolution_decisions ";

        /// Appends `(v1, v2, …)` with every value bound.
        fn push_list<T>(q: &mut QueryBuilder<$db>, values: &[T])
        where
            T: Clone + Send + for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + 'static,
        {
            q.push("(");
            let mut s = q.separated(", ");
            for v in values {
                s.push_bind(v.clone());
            }
            q.push(")");
        }

        /// `head`, the bound list of `values`, then `tail`.
        fn in_list<T>(head: &str, values: &[T], tail: &str) -> QueryBuilder<$db>
        where
            T: Clone + Send + for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + 'static,
        {
            let mut q = QueryBuilder::<$db>::new(head);
            push_list(&mut q, values);
            q.push(tail);
            q
        }

        /// The rows of `head (…) tail` for all of `values`, `IN_CHUNK` values per
        /// statement. Every chunk runs on the one connection given: each pooled SQLite
        /// connection has a page cache of its own, and chunks spread over several
        /// connections read the same pages into each of them.
        async fn fetch_in<T, R>(
            conn: &mut <$db as sqlx::Database>::Connection,
            head: &str,
            values: &[T],
            tail: &str,
        ) -> Result<Vec<R>>
        where
            T: Clone + Send + Sync + for<'q> sqlx::Encode<'q, $db> + sqlx::Type<$db> + 'static,
            R: for<'r> sqlx::FromRow<'r, <$db as sqlx::Database>::Row> + Send + Unpin,
        {
            let mut out = Vec::new();
            for chunk in values.chunks(IN_CHUNK) {
                out.extend(
                    in_list(head, chunk, tail)
                        .build_query_as::<R>()
                        .fetch_all(&mut *conn)
                        .await?,
                );
            }
            Ok(out)
        }

        async fn insert_decisions(tx: &mut Tx, decisions: &[DecisionRecord]) -> Result<()> {
            for chunk in decisions.chunks(ROWS_PER_STATEMENT) {
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO resolution_decisions (left_id, right_id, kind, probability, weights, run_id, actor, note, time) ",
                );
                q.push_values(chunk, |mut b, d| {
                    b.push_bind(d.left_id.clone())
                        .push_bind(d.right_id.clone())
                        .push_bind(d.kind.clone())
                        .push_bind(d.probability)
                        .push_bind(d.weights.clone())
                        .push_bind(d.run_id.clone())
                        .push_bind(d.actor.clone())
                        .push_bind(d.note.clone())
                        .push_bind(d.time.clone());
                });
                q.build().execute(&mut **tx).await?;
            }
            Ok(())
        }

        /// Sets the cluster of each `(seq, cluster id)` and keeps `resolution_counts`
        /// true. `replace`: membership was emptied first, so `members` is all of it.
        async fn set_members(
            tx: &mut Tx,
            members: &[(i64, String)],
            run_id: &str,
            replace: bool,
        ) -> Result<()> {
            // The clusters whose existence can change: those the members join, and
            // those they leave; and how many of the members were resolved before.
            let mut touched: Vec<String> = members.iter().map(|(_, c)| c.clone()).collect();
            let mut seqs: Vec<i64> = members.iter().map(|(s, _)| *s).collect();
            seqs.sort_unstable();
            seqs.dedup();
            let mut already = 0;
            if !replace {
                let old: Vec<(String,)> = fetch_in(
                    &mut **tx,
                    "SELECT cluster_id FROM resolution_members WHERE entity_seq IN ",
                    &seqs,
                    "",
                )
                .await?;
                already = old.len();
                touched.extend(old.into_iter().map(|(c,)| c));
            }
            touched.sort_unstable();
            touched.dedup();
            let before = if replace { 0 } else { existing_clusters(tx, &touched).await? };
            for chunk in members.chunks(ROWS_PER_STATEMENT) {
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO resolution_members (entity_seq, cluster_id, run_id) ",
                );
                q.push_values(chunk, |mut b, (seq, cluster)| {
                    b.push_bind(*seq)
                        .push_bind(cluster.clone())
                        .push_bind(run_id.to_owned());
                });
                q.push(
                    " ON CONFLICT (entity_seq) DO UPDATE SET cluster_id = excluded.cluster_id, run_id = excluded.run_id",
                );
                q.build().execute(&mut **tx).await?;
            }
            let after = if replace {
                i64::try_from(touched.len()).unwrap_or(i64::MAX)
            } else {
                existing_clusters(tx, &touched).await?
            };
            let added = i64::try_from(seqs.len().saturating_sub(already)).unwrap_or(i64::MAX);
            let mut q = QueryBuilder::<$db>::new("UPDATE resolution_counts SET ");
            if replace {
                q.push("resolved = ").push_bind(added);
                q.push(", clusters = ").push_bind(after);
            } else {
                q.push("resolved = resolved + ").push_bind(added);
                q.push(", clusters = clusters + ").push_bind(after - before);
            }
            q.push(" WHERE id = 1");
            q.build().execute(&mut **tx).await?;
            Ok(())
        }

        /// How many of these distinct cluster ids have a member.
        async fn existing_clusters(tx: &mut Tx, clusters: &[String]) -> Result<i64> {
            let counts: Vec<(i64,)> = fetch_in(
                &mut **tx,
                "SELECT count(DISTINCT cluster_id) FROM resolution_members WHERE cluster_id IN ",
                clusters,
                "",
            )
            .await?;
            Ok(counts.into_iter().map(|(n,)| n).sum())
        }

        async fn watermark(tx: &mut Tx) -> Result<i64> {
            let w: Option<i64> = sqlx::query_scalar("SELECT max(watermark) FROM resolution_runs")
                .fetch_one(&mut **tx)
                .await?;
            Ok(w.unwrap_or(0))
        }

        impl $store {
            /// Where resolution stands: latest model, counts and watermark.
            pub async fn resolution_state(&self) -> Result<ResolutionState> {
                let mut conn = self.pool().acquire().await?;
                let model = sqlx::query(
                    "SELECT version, created, run_id, params FROM resolution_models ORDER BY version DESC LIMIT 1",
                )
                .fetch_optional(&mut *conn)
                .await?
                .map(|row| -> Result<ModelRecord> {
                    Ok(ModelRecord {
                        version: row.try_get("version")?,
                        created: row.try_get("created")?,
                        run_id: row.try_get("run_id")?,
                        params: row.try_get("params")?,
                    })
                })
                .transpose()?;
                let (resolved, clusters): (i64, i64) =
                    sqlx::query_as("SELECT resolved, clusters FROM resolution_counts WHERE id = 1")
                        .fetch_optional(&mut *conn)
                        .await?
                        .unwrap_or((0, 0));
                let (runs, watermark): (i64, Option<i64>) =
                    sqlx::query_as("SELECT count(*), max(watermark) FROM resolution_runs")
                        .fetch_one(&mut *conn)
                        .await?;
                let persons: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM entities WHERE schema = 'Person'")
                        .fetch_one(&mut *conn)
                        .await?;
                Ok(ResolutionState {
                    model,
                    resolved: u64::try_from(resolved).unwrap_or(0),
                    clusters: u64::try_from(clusters).unwrap_or(0),
                    watermark: watermark.unwrap_or(0),
                    runs: u64::try_from(runs).unwrap_or(0),
                    persons: u64::try_from(persons).unwrap_or(0),
                })
            }

            /// Persons with `seq` above `watermark`, in import order.
            pub async fn resolution_persons_after(&self, watermark: i64) -> Result<Vec<PersonRow>> {
                let mut q = QueryBuilder::<$db>::new(PERSONS);
                q.push("e.seq > ").push_bind(watermark).push(" ORDER BY e.seq");
                person_rows(q.build().fetch_all(self.pool()).await?)
            }

            /// Persons with these sequence numbers (unknown ones are left out), by seq.
            pub async fn resolution_persons_by_seq(&self, seqs: &[i64]) -> Result<Vec<PersonRow>> {
                // One connection for every chunk, as in `fetch_in`.
                let mut conn = self.pool().acquire().await?;
                let head = format!("{PERSONS}e.seq IN ");
                let mut out = Vec::new();
                for chunk in seqs.chunks(IN_CHUNK) {
                    let rows = in_list(&head, chunk, "").build().fetch_all(&mut *conn).await?;
                    out.extend(person_rows(rows)?);
                }
                out.sort_by_key(|p| p.seq);
                Ok(out)
            }

            /// Persons with these ids (unknown ids and other schemas are left out), by seq.
            pub async fn resolution_persons_by_id(&self, ids: &[String]) -> Result<Vec<PersonRow>> {
                // One connection for every chunk, as in `fetch_in`.
                let mut conn = self.pool().acquire().await?;
                let head = format!("{PERSONS}e.id IN ");
                let mut out = Vec::new();
                for chunk in ids.chunks(IN_CHUNK) {
                    let rows = in_list(&head, chunk, "").build().fetch_all(&mut *conn).await?;
                    out.extend(person_rows(rows)?);
                }
                out.sort_by_key(|p| p.seq);
                Ok(out)
            }

            /// `(key, seq)` of resolved persons sharing a blocking key in `keys`, leaving
            /// out keys held by more than `max_block` persons (too common to bound work).
            pub async fn resolution_key_hits(
                &self,
                keys: &[i64],
                max_block: i64,
            ) -> Result<Vec<(i64, i64)>> {
                let mut conn = self.pool().acquire().await?;
                let mut counts: std::collections::HashMap<i64, i64> = std::collections::HashMap::new();
                let mut hits: Vec<(i64, i64)> = Vec::new();
                for table in KEY_TABLES {
                    let head = format!("SELECT key_hash, entity_seq FROM {table} WHERE key_hash IN ");
                    let rows: Vec<(i64, i64)> = fetch_in(&mut conn, &head, keys, "").await?;
                    for (k, _) in &rows {
                        *counts.entry(*k).or_default() += 1;
                    }
                    hits.extend(rows);
                }
                hits.retain(|(k, _)| counts.get(k).is_some_and(|n| *n <= max_block));
                Ok(hits)
            }

            /// The persons an incremental run loads, each with its cluster id, by seq:
            /// every member of the clusters of the resolved persons that share a key in
            /// `keys` held by at most `max_block` resolved persons, or whose seq is in
            /// `seqs` (the partners of human decisions). Persons that are not resolved
            /// are left out.
            ///
            /// One statement does it all and returns the persons packed into a few
            /// long texts (see [`unpack_neighbours`]): one row per person, and one
            /// statement per chunk of 500 keys, seqs or clusters, cost an incremental
            /// run at 1M persons more in sqlx's row handling and in wake-ups between
            /// SQLite's thread and the runtime than SQLite spent reading the rows.
            /// `CROSS JOIN` keeps SQLite's join order (members by cluster, then their
            /// entities): with a plain join it read every person through the schema
            /// index instead.
            pub async fn resolution_neighbours(
                &self,
                keys: &[i64],
                max_block: i64,
                seqs: &[i64],
            ) -> Result<Vec<(PersonRow, String)>> {
                let mut q = QueryBuilder::<$db>::new("WITH wanted (k) AS ");
                push_int_set(&mut q, keys);
                q.push(
                    ", small (k) AS (SELECT key_hash FROM ( \
                     SELECT key_hash FROM resolution_keys WHERE key_hash IN (SELECT k FROM wanted) UNION ALL \
                     SELECT key_hash FROM resolution_keys_recent WHERE key_hash IN (SELECT k FROM wanted)) AS u \
                     GROUP BY key_hash HAVING count(*) <= ",
                )
                .push_bind(max_block);
                q.push(
                    "), hit (s) AS (SELECT entity_seq FROM resolution_keys WHERE key_hash IN (SELECT k FROM small) \
                     UNION SELECT entity_seq FROM resolution_keys_recent WHERE key_hash IN (SELECT k FROM small) \
                     UNION SELECT entity_seq FROM resolution_members WHERE entity_seq IN ",
                );
                push_int_set(&mut q, seqs);
                q.push(concat!(
                    "), cl (c) AS (SELECT DISTINCT cluster_id FROM resolution_members WHERE entity_seq IN (SELECT s FROM hit)), \
                     n AS (SELECT m.entity_seq AS seq, m.cluster_id AS c, e.id AS id, ", $props, " AS p \
                     FROM resolution_members m CROSS JOIN entities e \
                     WHERE e.seq = m.entity_seq AND m.cluster_id IN (SELECT c FROM cl) AND e.schema = 'Person') \
                     SELECT string_agg(seq || ',' || octet_length(c) || ',' || c || octet_length(id) || ',' || id \
                     || octet_length(p) || ',' || p, '') AS packed FROM n GROUP BY seq / ",
                ));
                q.push(NEIGHBOUR_SEQS_PER_ROW.to_string());
                let packed: Vec<(String,)> = q.build_query_as().fetch_all(self.pool()).await?;
                let mut out = Vec::new();
                for (text,) in &packed {
                    unpack_neighbours(text, &mut out)?;
                }
                out.sort_unstable_by_key(|(p, _)| p.seq);
                Ok(out)
            }

            /// Stored term counts of these term hashes (absent ones are left out).
            ///
            /// One statement with the hashes bound as one value, however many (an
            /// incremental run at 1M persons asks for about 16,000).
            pub async fn resolution_terms(&self, hashes: &[i64]) -> Result<Vec<(i64, i64)>> {
                let mut q = QueryBuilder::<$db>::new("SELECT term_hash, n FROM resolution_terms WHERE term_hash IN ");
                push_int_set(&mut q, hashes);
                Ok(q.build_query_as().fetch_all(self.pool()).await?)
            }

            /// `(seq, cluster id)` of these persons (unresolved ones are left out).
            pub async fn resolution_members_of(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
                let mut conn = self.pool().acquire().await?;
                fetch_in(&mut conn, "SELECT entity_seq, cluster_id FROM resolution_members WHERE entity_seq IN ", seqs, "").await
            }

            /// `(seq, cluster id)` of every member of these clusters, by seq.
            pub async fn resolution_cluster_members(
                &self,
                clusters: &[String],
            ) -> Result<Vec<(i64, String)>> {
                let mut conn = self.pool().acquire().await?;
                let mut out = fetch_in(&mut conn, "SELECT entity_seq, cluster_id FROM resolution_members WHERE cluster_id IN ", clusters, "").await?;
                out.sort_unstable();
                Ok(out)
            }

            /// `(seq, cluster id)` of every resolved person, by seq.
            pub async fn resolution_all_members(&self) -> Result<Vec<(i64, String)>> {
                Ok(sqlx::query_as(
                    "SELECT entity_seq, cluster_id FROM resolution_members ORDER BY entity_seq",
                )
                .fetch_all(self.pool())
                .await?)
            }

            /// Human decisions (`confirm`, `reject`), oldest first.
            pub async fn resolution_human_decisions(&self) -> Result<Vec<DecisionRecord>> {
                let mut q = QueryBuilder::<$db>::new(DECISION_COLUMNS);
                // `IN`, not `<> 'merge'`: the kind index then finds the few human decisions
                // among a run's hundreds of thousands of merges without reading them.
                q.push("WHERE kind IN ('confirm', 'reject') ORDER BY id");
                decision_rows(q.build().fetch_all(self.pool()).await?)
            }

            /// Every decision about any of these record ids, oldest first.
            pub async fn resolution_decisions_about(
                &self,
                ids: &[String],
            ) -> Result<Vec<DecisionRecord>> {
                let mut conn = self.pool().acquire().await?;
                let mut out: Vec<(i64, DecisionRecord)> = Vec::new();
                for chunk in ids.chunks(IN_CHUNK) {
                    let mut q = in_list(
                        "SELECT id, left_id, right_id, kind, probability, weights, run_id, actor, note, time FROM resolution_decisions WHERE left_id IN ",
                        chunk,
                        " OR right_id IN ",
                    );
                    push_list(&mut q, chunk);
                    let rows = q.build().fetch_all(&mut *conn).await?;
                    let ids: Vec<i64> = rows
                        .iter()
                        .map(|r| r.try_get::<i64, _>("id"))
                        .collect::<std::result::Result<_, _>>()?;
                    out.extend(ids.into_iter().zip(decision_rows(rows)?));
                }
                out.sort_by_key(|(id, _)| *id);
                out.dedup_by_key(|(id, _)| *id);
                Ok(out.into_iter().map(|(_, d)| d).collect())
            }

            /// Every recorded run, oldest first.
            pub async fn resolution_runs(&self) -> Result<Vec<RunRecord>> {
                let rows = sqlx::query(
                    "SELECT id, time, actor, mode, model_version, watermark, summary FROM resolution_runs ORDER BY time, id",
                )
                .fetch_all(self.pool())
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(RunRecord {
                            id: row.try_get("id")?,
                            time: row.try_get("time")?,
                            actor: row.try_get("actor")?,
                            mode: row.try_get("mode")?,
                            model_version: row.try_get("model_version")?,
                            watermark: row.try_get("watermark")?,
                            summary: row.try_get("summary")?,
                        })
                    })
                    .collect()
            }

            /// Writes a run in one transaction; returns the model version it used.
            pub async fn resolution_commit(&self, write: ResolutionWrite) -> Result<i64> {
                let mut tx = self.resolution_begin().await?;
                let found = watermark(&mut tx).await?;
                if found != write.expected_watermark {
                    return Err(moved(write.expected_watermark, found));
                }
                let mut run = write.run;
                if let Some(params) = &write.new_model {
                    let latest: Option<i64> =
                        sqlx::query_scalar("SELECT max(version) FROM resolution_models")
                            .fetch_one(&mut *tx)
                            .await?;
                    run.model_version = latest.unwrap_or(0) + 1;
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO resolution_models (version, created, run_id, params) VALUES (",
                    );
                    let mut s = q.separated(", ");
                    s.push_bind(run.model_version)
                        .push_bind(run.time.clone())
                        .push_bind(run.id.clone())
                        .push_bind(params.clone());
                    q.push(")");
                    q.build().execute(&mut *tx).await?;
                }
                if write.replace {
                    for statement in [
                        "DELETE FROM resolution_members",
                        "DELETE FROM resolution_keys",
                        "DELETE FROM resolution_keys_recent",
                        "DELETE FROM resolution_terms",
                    ] {
                        sqlx::query(statement).execute(&mut *tx).await?;
                    }
                }
                let mut q = QueryBuilder::<$db>::new(
                    "INSERT INTO resolution_runs (id, time, actor, mode, model_version, watermark, summary) VALUES (",
                );
                let mut s = q.separated(", ");
                s.push_bind(run.id.clone())
                    .push_bind(run.time.clone())
                    .push_bind(run.actor.clone())
                    .push_bind(run.mode.clone())
                    .push_bind(run.model_version)
                    .push_bind(run.watermark)
                    .push_bind(run.summary.clone());
                q.push(")");
                q.build().execute(&mut *tx).await?;
                set_members(&mut tx, &write.members, &run.id, write.replace).await?;
                let mut keys = write.keys;
                keys.sort_unstable();
                keys.dedup();
                // A full run writes all keys in key order into `resolution_keys`; an
                // incremental run's few keys go to the small `resolution_keys_recent`
                // (migration 0302), folded into `resolution_keys` once it holds
                // `RECENT_KEYS_FOLD_AT` keys.
                let table = if write.replace { "resolution_keys" } else { "resolution_keys_recent" };
                let insert = format!("INSERT INTO {table} (key_hash, entity_seq) ");
                for chunk in keys.chunks(ROWS_PER_STATEMENT * 4) {
                    let mut q = QueryBuilder::<$db>::new(&insert);
                    q.push_values(chunk, |mut b, (k, seq)| {
                        b.push_bind(*k).push_bind(*seq);
                    });
                    q.push(" ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                }
                if !write.replace {
                    let recent: i64 = sqlx::query_scalar("SELECT count(*) FROM resolution_keys_recent")
                        .fetch_one(&mut *tx)
                        .await?;
                    // All at once after a very large run; otherwise the slice whose turn
                    // it is (the runs recorded so far, this one included, in turn).
                    let (low, high) = if recent >= RECENT_KEYS_FOLD_AT {
                        (i64::MIN, i64::MAX)
                    } else {
                        let runs: i64 = sqlx::query_scalar("SELECT count(*) FROM resolution_runs")
                            .fetch_one(&mut *tx)
                            .await?;
                        fold_slice(runs)
                    };
                    let mut q = QueryBuilder::<$db>::new(
                        "INSERT INTO resolution_keys (key_hash, entity_seq) \
                         SELECT key_hash, entity_seq FROM resolution_keys_recent WHERE key_hash BETWEEN ",
                    );
                    q.push_bind(low).push(" AND ").push_bind(high);
                    q.push(" ORDER BY key_hash, entity_seq ON CONFLICT DO NOTHING");
                    q.build().execute(&mut *tx).await?;
                    let mut q =
                        QueryBuilder::<$db>::new("DELETE FROM resolution_keys_recent WHERE key_hash BETWEEN ");
                    q.push_bind(low).push(" AND ").push_bind(high);
                    q.build().execute(&mut *tx).await?;
                }
                for chunk in write.terms.chunks(ROWS_PER_STATEMENT * 4) {
                    let mut q = QueryBuilder::<$db>::new("INSERT INTO resolution_terms (term_hash, n) ");
                    q.push_values(chunk, |mut b, (h, n)| {
                        b.push_bind(*h).push_bind(*n);
                    });
                    q.push(" ON CONFLICT (term_hash) DO UPDATE SET n = resolution_terms.n + excluded.n");
                    q.build().execute(&mut *tx).await?;
                }
                insert_decisions(&mut tx, &write.merges).await?;
                tx.commit().await?;
                Ok(run.model_version)
            }

            /// Records a human decision and the membership changes it causes, in one
            /// transaction.
            pub async fn resolution_decide(
                &self,
                decision: &DecisionRecord,
                members: &[(i64, String)],
            ) -> Result<()> {
                let mut tx = self.resolution_begin().await?;
                insert_decisions(&mut tx, std::slice::from_ref(decision)).await?;
                set_members(&mut tx, members, &format!("decision by {}", decision.actor), false).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(crate) use resolution_impl;

impl AnyStore {
    /// See [`crate::SqliteStore::resolution_state`].
    pub async fn resolution_state(&self) -> Result<ResolutionState> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_state().await,
            AnyStore::Postgres(s) => s.resolution_state().await,
        }
    }

    /// Persons with `seq` above `watermark`, in import order.
    pub async fn resolution_persons_after(&self, watermark: i64) -> Result<Vec<PersonRow>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_persons_after(watermark).await,
            AnyStore::Postgres(s) => s.resolution_persons_after(watermark).await,
        }
    }

    /// Persons with these sequence numbers, by seq.
    pub async fn resolution_persons_by_seq(&self, seqs: &[i64]) -> Result<Vec<PersonRow>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_persons_by_seq(seqs).await,
            AnyStore::Postgres(s) => s.resolution_persons_by_seq(seqs).await,
        }
    }

    /// Persons with these ids, by seq.
    pub async fn resolution_persons_by_id(&self, ids: &[String]) -> Result<Vec<PersonRow>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_persons_by_id(ids).await,
            AnyStore::Postgres(s) => s.resolution_persons_by_id(ids).await,
        }
    }

    /// `(key, seq)` of resolved persons sharing a blocking key, small blocks only.
    pub async fn resolution_key_hits(
        &self,
        keys: &[i64],
        max_block: i64,
    ) -> Result<Vec<(i64, i64)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_key_hits(keys, max_block).await,
            AnyStore::Postgres(s) => s.resolution_key_hits(keys, max_block).await,
        }
    }

    /// The persons an incremental run loads, with their cluster ids, by seq: see
    /// [`crate::SqliteStore::resolution_neighbours`].
    pub async fn resolution_neighbours(
        &self,
        keys: &[i64],
        max_block: i64,
        seqs: &[i64],
    ) -> Result<Vec<(PersonRow, String)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_neighbours(keys, max_block, seqs).await,
            AnyStore::Postgres(s) => s.resolution_neighbours(keys, max_block, seqs).await,
        }
    }

    /// Stored term counts.
    pub async fn resolution_terms(&self, hashes: &[i64]) -> Result<Vec<(i64, i64)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_terms(hashes).await,
            AnyStore::Postgres(s) => s.resolution_terms(hashes).await,
        }
    }

    /// `(seq, cluster id)` of these persons.
    pub async fn resolution_members_of(&self, seqs: &[i64]) -> Result<Vec<(i64, String)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_members_of(seqs).await,
            AnyStore::Postgres(s) => s.resolution_members_of(seqs).await,
        }
    }

    /// `(seq, cluster id)` of every member of these clusters.
    pub async fn resolution_cluster_members(
        &self,
        clusters: &[String],
    ) -> Result<Vec<(i64, String)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_cluster_members(clusters).await,
            AnyStore::Postgres(s) => s.resolution_cluster_members(clusters).await,
        }
    }

    /// `(seq, cluster id)` of every resolved person.
    pub async fn resolution_all_members(&self) -> Result<Vec<(i64, String)>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_all_members().await,
            AnyStore::Postgres(s) => s.resolution_all_members().await,
        }
    }

    /// Human decisions, oldest first.
    pub async fn resolution_human_decisions(&self) -> Result<Vec<DecisionRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_human_decisions().await,
            AnyStore::Postgres(s) => s.resolution_human_decisions().await,
        }
    }

    /// Every decision about these record ids, oldest first.
    pub async fn resolution_decisions_about(&self, ids: &[String]) -> Result<Vec<DecisionRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_decisions_about(ids).await,
            AnyStore::Postgres(s) => s.resolution_decisions_about(ids).await,
        }
    }

    /// Every recorded run, oldest first.
    pub async fn resolution_runs(&self) -> Result<Vec<RunRecord>> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_runs().await,
            AnyStore::Postgres(s) => s.resolution_runs().await,
        }
    }

    /// Writes a run in one transaction; returns the model version it used.
    pub async fn resolution_commit(&self, write: ResolutionWrite) -> Result<i64> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_commit(write).await,
            AnyStore::Postgres(s) => s.resolution_commit(write).await,
        }
    }

    /// Records a human decision and its membership changes in one transaction.
    pub async fn resolution_decide(
        &self,
        decision: &DecisionRecord,
        members: &[(i64, String)],
    ) -> Result<()> {
        match self {
            AnyStore::Sqlite(s) => s.resolution_decide(decision, members).await,
            AnyStore::Postgres(s) => s.resolution_decide(decision, members).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: Option<Vec<(i64, &str, &str, usize)>>) {
        let mut out = Vec::new();
        let got = unpack_neighbours(text, &mut out).ok().map(|()| {
            out.iter()
                .map(|(p, c)| (p.seq, c.as_str(), p.id.as_str(), p.properties.len()))
                .collect::<Vec<_>>()
        });
        assert_eq!(got, expect, "{text:?}");
    }

    #[test]
    fn fold_slices_cover_every_key_hash_once() {
        assert_eq!(fold_slice(0).0, i64::MIN);
        assert_eq!(fold_slice(FOLD_SLICES - 1).1, i64::MAX);
        for slice in 1..FOLD_SLICES {
            assert_eq!(
                fold_slice(slice - 1).1.checked_add(1),
                Some(fold_slice(slice).0)
            );
        }
        // Turns wrap around; 0 is in the ninth slice.
        assert_eq!(fold_slice(FOLD_SLICES + 3), fold_slice(3));
        let (low, high) = fold_slice(8);
        assert!(low <= 0 && 0 < high);
    }

    #[test]
    fn packed_neighbours() {
        check("", Some(Vec::new()));
        check(
            r#"7,1,A3,p,123,{"name":["Ann, \"B\""]}12,2,pc4,é,x2,{}"#,
            Some(vec![(7, "A", "p,1", 1), (12, "pc", "é,x", 0)]),
        );
        // Truncated, too long, inside a character, negative or not numbers: errors.
        for bad in [
            "7",
            "7,",
            "7,1,A3,p,1",
            "7,1,A3,p,13,{}",
            "7,9,A",
            "7,1,é0,2,{}",
            "7,-1,A",
            "x,1,A1,p2,{}",
            "7,1,A1,p2,{x",
        ] {
            check(bad, None);
        }
    }
}
