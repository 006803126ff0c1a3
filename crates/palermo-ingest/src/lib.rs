//! Getting records into and out of a node.
//!
//! - [`import_file`] streams a CSV file (header auto-detection, `--map`
//!   column mappings, markings) or a FollowTheMoney JSON lines file into a
//!   [`Store`] in **one transaction per file**: any bad record aborts the
//!   whole file and the store is left exactly as it was.
//! - [`export_ftm`] writes every entity as FtM JSON lines ([`export_ftm_filtered`]:
//!   those an [`ExportFilter`] keeps), reading and writing on two threads.
//!
//! Readers work on any `Read` and never hold more than one chunk of records
//! in memory, so memory use does not grow with the file size.

mod csv_reader;
mod error;
mod export;
mod header;
mod import;
mod jsonl_reader;

pub use crate::error::{Error, Result};
pub use crate::export::{
    AHEAD, CHUNK, ExportError, ExportFilter, KeepAll, export_ftm, export_ftm_filtered,
};
pub use crate::header::{detect_property, id_column_candidates};
pub use crate::import::{
    ImportConfig, ImportSummary, InputFormat, MarkingConfig, import_file, read_entities,
};
