//! palermo-resolve: person entity resolution.
//!
//! Pure logic, no I/O of its own (callers hand in readers and writers):
//! - [`normalize`]: Unicode folding, transliteration, name tokens, particles, a
//!   cross-language phonetic key and the nickname table;
//! - [`schema`]: person properties and the header → property table;
//! - [`read_csv`]: records from CSV text ([`read_csv_sized`] when its length is known);
//! - blocking with several OR-ed keys, per-field comparison levels, Fellegi–Sunter with
//!   EM-estimated m/u and term-frequency adjustment, chaining-resistant clustering, and
//!   per-field explanations, all driven by [`Resolution`];
//! - [`incremental`]: resolution inside a node's store (full and incremental runs, human
//!   confirm/reject decisions, stable cluster ids), with the model stored as JSON;
//! - [`metrics`]: pairwise and B-cubed precision/recall on labelled data.

mod blocking;
mod cluster;
mod compare;
mod e164;
mod engine;
mod error;
pub mod incremental;
mod memo;
pub mod metrics;
mod model;
pub mod normalize;
mod prefetch;
mod read;
mod record;
pub mod schema;
mod similarity;
mod store_model;
mod text;
mod thai;

pub use blocking::{BlockingStats, KEY_KINDS, SUB_BLOCK_AT, WEAK_MAX_BLOCK};
pub use compare::{FIELDS, Field, N_FIELDS};
pub use engine::{
    Config, Evaluation, Explanation, FieldExplanation, Resolution, ScoredPair, Stats,
    explain_records, format_probability,
};
pub use error::{Error, Result};
pub use model::{FieldParams, LINEAR_BITS, MAX_BITS, Model, probability, squash};
pub use read::{
    CsvHeader, Dataset, csv_error_parts, open_csv, read_csv, read_csv_sized, read_csv_with_raw,
};
pub use record::Record;
pub use schema::{Mapping, Property};
pub use store_model::{MODEL_FORMAT, StoredField, StoredModel};
