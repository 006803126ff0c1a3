//! The stored form of an entity, shared by both backends.

use std::collections::HashMap;
use std::sync::Arc;

use palermo_model::{Entity, EntityId, Markings, Properties, Provenance, Role, Schema};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::keys::entity_key_hashes;
use crate::{Error, InsertCounts, Result};

/// An entity flattened into the columns of the `entities` table (the
/// batch id is the import's, bound once per statement by the backend).
///
/// The id, markings and content hash are shared strings: SQLite's driver
/// binds an `Arc<str>` by taking a reference, where a `&str` is copied into
/// two fresh allocations per bound value, and the markings text is the same
/// for most rows of a file.
pub(crate) struct EntityRow {
    pub(crate) id: Arc<str>,
    pub(crate) schema: &'static str,
    pub(crate) caption: String,
    pub(crate) properties: String,
    pub(crate) markings: Arc<str>,
    pub(crate) tlp: &'static str,
    pub(crate) role: Option<&'static str>,
    pub(crate) record: i64,
    pub(crate) content_hash: Arc<str>,
    pub(crate) keys: Vec<i64>,
}

/// Flattens entities into rows, reusing what repeats from row to row: the
/// markings of the previous record (most records of a file share them) and
/// the scratch space of key hashing.
#[derive(Default)]
pub(crate) struct RowEncoder {
    last_markings: Option<(Markings, Arc<str>)>,
    key_buf: String,
}

impl RowEncoder {
    /// Flattens one entity.
    pub(crate) fn row(&mut self, entity: &Entity) -> EntityRow {
        let properties = serde_json::to_string(&entity.properties)
            .expect("invariant: a map of strings serializes to JSON");
        let markings = match &self.last_markings {
            Some((last, json)) if *last == entity.markings => Arc::clone(json),
            _ => {
                let json: Arc<str> = serde_json::to_string(&entity.markings)
                    .expect("invariant: markings serialize to JSON")
                    .into();
                self.last_markings = Some((entity.markings.clone(), Arc::clone(&json)));
                json
            }
        };
        let role = entity.role.map(Role::as_str);
        // The content hash covers what the record says, not where it came
        // from: re-importing the same record from another file is a no-op.
        let mut hasher = blake3::Hasher::new();
        for part in [
            entity.schema.as_str(),
            &properties,
            &markings,
            role.unwrap_or(""),
        ] {
            hasher.update(&(part.len() as u64).to_le_bytes());
            hasher.update(part.as_bytes());
        }
        let mut keys = Vec::new();
        entity_key_hashes(entity, &mut self.key_buf, &mut keys);
        EntityRow {
            id: Arc::from(entity.id.as_str()),
            schema: entity.schema.as_str(),
            caption: entity.caption(),
            properties,
            markings,
            tlp: entity.markings.tlp.as_str(),
            role,
            record: entity.provenance.as_ref().map_or(0, |p| p.record as i64),
            content_hash: Arc::from(hasher.finalize().to_hex().as_str()),
            keys,
        }
    }
}

/// The columns read back for one entity, plus its batch's provenance.
pub(crate) struct StoredRow {
    pub(crate) id: String,
    pub(crate) schema: String,
    pub(crate) properties: String,
    pub(crate) markings: String,
    pub(crate) role: Option<String>,
    pub(crate) batch_id: String,
    pub(crate) record: i64,
    pub(crate) source_file: String,
    pub(crate) imported_by: String,
    pub(crate) imported_at: OffsetDateTime,
}

impl StoredRow {
    /// Rebuilds the entity; stored data that no longer parses is reported as
    /// [`Error::Corrupt`] rather than trusted.
    pub(crate) fn into_entity(self) -> Result<Entity> {
        self.into_entity_cached(&mut MarkingsCache::default())
    }

    /// As [`StoredRow::into_entity`], parsing markings through `markings`
    /// (an export reads the same few markings for millions of rows).
    pub(crate) fn into_entity_cached(self, markings: &mut MarkingsCache) -> Result<Entity> {
        let batch_id = Uuid::parse_str(&self.batch_id).map_err(|e| Error::Corrupt {
            what: format!("entity `{}`", self.id),
            reason: e.to_string(),
        })?;
        let batch = BatchInfo {
            id: batch_id,
            source_file: self.source_file,
            imported_by: self.imported_by,
            imported_at: self.imported_at,
        };
        let columns = EntityColumns {
            id: &self.id,
            schema: &self.schema,
            properties: &self.properties,
            markings: &self.markings,
            role: self.role.as_deref(),
            record: self.record,
        };
        columns.into_entity(&batch, markings)
    }
}

/// The provenance an entity takes from its import batch.
pub(crate) struct BatchInfo {
    pub(crate) id: Uuid,
    pub(crate) source_file: String,
    pub(crate) imported_by: String,
    pub(crate) imported_at: OffsetDateTime,
}

/// An entity's own stored columns, borrowed from the row that holds them
/// (an export decodes millions without copying each text first).
pub(crate) struct EntityColumns<'r> {
    pub(crate) id: &'r str,
    pub(crate) schema: &'r str,
    pub(crate) properties: &'r str,
    pub(crate) markings: &'r str,
    pub(crate) role: Option<&'r str>,
    pub(crate) record: i64,
}

impl EntityColumns<'_> {
    /// Rebuilds the entity imported in `batch`; stored data that no longer
    /// parses is reported as [`Error::Corrupt`] rather than trusted.
    pub(crate) fn into_entity(
        self,
        batch: &BatchInfo,
        markings: &mut MarkingsCache,
    ) -> Result<Entity> {
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("entity `{}`", self.id),
            reason,
        };
        let id = EntityId::new(self.id).map_err(|e| corrupt(e.to_string()))?;
        let schema: Schema = self
            .schema
            .parse()
            .map_err(|e: palermo_model::Error| corrupt(e.to_string()))?;
        let properties: Properties =
            serde_json::from_str(self.properties).map_err(|e| corrupt(e.to_string()))?;
        let markings = markings
            .parse(self.markings)
            .map_err(|e| corrupt(e.to_string()))?;
        let role = self
            .role
            .map(str::parse::<Role>)
            .transpose()
            .map_err(|e| corrupt(e.to_string()))?;
        // Values were validated when they entered the store; here it is
        // enough that every property belongs to the schema. Tampering with
        // stored values is the ledger's to detect.
        if let Some(name) = properties
            .keys()
            .find(|name| schema.property(name).is_none())
        {
            return Err(corrupt(format!(
                "unknown property `{name}` for schema {schema}"
            )));
        }
        let mut entity = Entity::new(id, schema);
        entity.properties = properties;
        entity.markings = markings;
        entity.role = role;
        entity.provenance = Some(Provenance {
            source_file: batch.source_file.clone(),
            record: u64::try_from(self.record).unwrap_or(0),
            batch_id: batch.id,
            imported_at: batch.imported_at,
            imported_by: batch.imported_by.clone(),
        });
        Ok(entity)
    }
}

/// The markings texts parsed most recently, with what they parsed to.
#[derive(Default)]
pub(crate) struct MarkingsCache {
    recent: Vec<(String, Markings)>,
    /// The slot the next new text replaces once `recent` is full.
    next: usize,
}

/// Markings texts remembered by [`MarkingsCache`].
const RECENT_MARKINGS: usize = 8;

impl MarkingsCache {
    /// Parses stored markings JSON, or clones the result of an earlier
    /// parse of the same text.
    pub(crate) fn parse(&mut self, text: &str) -> serde_json::Result<Markings> {
        if let Some((_, markings)) = self.recent.iter().find(|(seen, _)| seen == text) {
            return Ok(markings.clone());
        }
        let markings: Markings = serde_json::from_str(text)?;
        let entry = (text.to_owned(), markings.clone());
        if self.recent.len() < RECENT_MARKINGS {
            self.recent.push(entry);
        } else {
            self.recent[self.next] = entry;
            self.next = (self.next + 1) % RECENT_MARKINGS;
        }
        Ok(markings)
    }
}

/// Describes where a stored record came from, for conflict messages.
pub(crate) fn origin(source_file: &str, record: i64) -> String {
    format!("{source_file} line {record}")
}

/// Drops repeated ids within one chunk (counted as unchanged when
/// identical; a conflict when not), keeping the first occurrence.
pub(crate) fn dedupe_chunk(
    rows: Vec<EntityRow>,
    counts: &mut InsertCounts,
) -> Result<Vec<EntityRow>> {
    let mut first: HashMap<&str, (&str, i64)> = HashMap::with_capacity(rows.len());
    let mut keep = vec![true; rows.len()];
    for (idx, row) in rows.iter().enumerate() {
        match first.get(&*row.id) {
            None => {
                first.insert(&row.id, (&row.content_hash, row.record));
            }
            Some((hash, _)) if **hash == *row.content_hash => {
                keep[idx] = false;
                counts.unchanged += 1;
            }
            Some((_, record)) => {
                return Err(Error::Conflict {
                    id: row.id.to_string(),
                    existing: format!("line {record} of the same import"),
                });
            }
        }
    }
    Ok(rows
        .into_iter()
        .zip(keep)
        .filter_map(|(row, keep)| keep.then_some(row))
        .collect())
}
