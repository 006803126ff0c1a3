//! Where a record came from.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The origin of one record: which file and line, which import batch, when and by whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
///
/// Fields are in alphabetical order so that JSON output does not depend on
/// serde_json's `preserve_order` feature (see [`Markings`](crate::Markings)).
pub struct Provenance {
    /// The import batch this record arrived in.
    pub batch_id: Uuid,
    /// When the batch was imported.
    #[serde(with = "time::serde::rfc3339")]
    pub imported_at: OffsetDateTime,
    /// The user who ran the import.
    pub imported_by: String,
    /// The 1-based line (CSV: physical line of the record; JSONL: line number).
    pub record: u64,
    /// The file name the record was read from, as given to the importer.
    pub source_file: String,
}
