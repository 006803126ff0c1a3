//! Streaming FollowTheMoney JSON lines reader.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use palermo_model::{Entity, from_ftm_value};

use crate::{Error, Result};

/// One parsed line.
pub(crate) struct JsonRecord {
    pub(crate) entity: Entity,
    pub(crate) line: u64,
    /// Whether the line carried its own `palermo.markings`.
    pub(crate) has_markings: bool,
    pub(crate) warnings: Vec<String>,
}

/// Reads entities from FtM JSON lines; blank lines are skipped.
pub(crate) struct JsonlSource<R: BufRead> {
    input: R,
    path: PathBuf,
    line: u64,
    buf: Vec<u8>,
}

impl<R: BufRead> JsonlSource<R> {
    pub(crate) fn new(input: R, path: &Path) -> JsonlSource<R> {
        JsonlSource {
            input,
            path: path.to_owned(),
            line: 0,
            buf: Vec::new(),
        }
    }

    /// Reads the next entity; `None` at the end of the file.
    pub(crate) fn next_record(&mut self) -> Result<Option<JsonRecord>> {
        loop {
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|source| Error::Io {
                    path: self.path.clone(),
                    source,
                })?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let record_error = |column: Option<String>, reason: String| Error::Record {
                path: self.path.clone(),
                line: self.line,
                column,
                reason,
            };
            let text = std::str::from_utf8(&self.buf).map_err(|err| {
                record_error(
                    None,
                    format!("invalid UTF-8 at byte {}", err.valid_up_to() + 1),
                )
            })?;
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(text).map_err(|err| {
                record_error(
                    None,
                    format!("not valid JSON (column {}): {err}", err.column()),
                )
            })?;
            if !value.is_object() {
                return Err(record_error(
                    None,
                    "a line must be a JSON object (an FtM entity)".to_owned(),
                ));
            }
            let has_markings = value
                .get("palermo")
                .and_then(|p| p.get("markings"))
                .is_some();
            let (entity, warnings) = from_ftm_value(&value).map_err(|err| {
                let field = match &err {
                    palermo_model::Error::UnknownProperty { property, .. }
                    | palermo_model::Error::InvalidValue { property, .. } => Some(property.clone()),
                    palermo_model::Error::UnknownSchema { .. } => Some("schema".to_owned()),
                    palermo_model::Error::InvalidId { .. } => Some("id".to_owned()),
                    palermo_model::Error::InvalidMarking { .. } => {
                        Some("palermo.markings".to_owned())
                    }
                    _ => None,
                };
                record_error(field, err.to_string())
            })?;
            return Ok(Some(JsonRecord {
                entity,
                line: self.line,
                has_markings,
                warnings,
            }));
        }
    }
}
