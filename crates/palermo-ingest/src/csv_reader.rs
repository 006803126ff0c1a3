//! Streaming CSV reader: header → column plan → one entity per record.

use std::io::Read;
use std::path::{Path, PathBuf};

use palermo_model::{Entity, EntityId, Role, Schema, Tlp};

use crate::header::{detect_property, id_column_candidates};
use crate::{Error, Result};

/// Columns with a meaning of their own rather than a property.
const ROLE_COLUMN: &str = "role";
const TLP_COLUMNS: &[&str] = &["tlp", "marking"];

/// One parsed CSV record.
pub(crate) struct CsvRecord {
    pub(crate) entity: Entity,
    pub(crate) line: u64,
    /// A per-record TLP level from a `tlp`/`marking` column.
    pub(crate) tlp: Option<Tlp>,
}

/// How each column is read.
struct ColumnPlan {
    id: Option<usize>,
    role: Option<usize>,
    tlp: Option<usize>,
    properties: Vec<(usize, &'static str)>,
}

/// Reads entities of one schema from CSV.
pub(crate) struct CsvSource<R: Read> {
    reader: csv::Reader<R>,
    path: PathBuf,
    schema: Schema,
    plan: ColumnPlan,
    headers: Vec<String>,
    record: csv::ByteRecord,
    id_prefix: String,
    /// Columns nobody asked for and Palermo does not recognise.
    pub(crate) ignored: Vec<String>,
}

impl<R: Read> CsvSource<R> {
    /// Reads the header and plans the columns. `maps` are `COLUMN=property`
    /// pairs (`-` as the property ignores the column).
    pub(crate) fn new(
        input: R,
        path: &Path,
        schema: Schema,
        delimiter: u8,
        id_column: Option<&str>,
        maps: &[(String, String)],
    ) -> Result<CsvSource<R>> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(true)
            .flexible(false)
            .from_reader(input);
        let byte_headers = reader
            .byte_headers()
            .map_err(|err| csv_error(path, err))?
            .clone();
        let mut headers = Vec::with_capacity(byte_headers.len());
        for (idx, field) in byte_headers.iter().enumerate() {
            let text = std::str::from_utf8(field).map_err(|_| Error::Record {
                path: path.to_owned(),
                line: 1,
                column: Some(format!("#{}", idx + 1)),
                reason: "header is not valid UTF-8".to_owned(),
            })?;
            headers.push(text.trim().trim_start_matches('\u{feff}').to_owned());
        }
        if headers.iter().all(String::is_empty) {
            return Err(Error::Empty {
                path: path.to_owned(),
                reason: "the file is empty".to_owned(),
            });
        }
        let plan_error = |reason: String| Error::Config {
            path: path.to_owned(),
            reason,
        };
        let find = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));

        let id = match id_column {
            Some(name) => Some(find(name).ok_or_else(|| {
                plan_error(format!(
                    "--id-column `{name}` is not a column (columns: {})",
                    headers.join(", ")
                ))
            })?),
            None => id_column_candidates().iter().find_map(|name| find(name)),
        };
        let mut mapped: Vec<Option<&'static str>> = vec![None; headers.len()];
        let mut explicit = vec![false; headers.len()];
        for (column, property) in maps {
            let idx = find(column).ok_or_else(|| {
                plan_error(format!(
                    "--map {column}={property}: no column `{column}` (columns: {})",
                    headers.join(", ")
                ))
            })?;
            explicit[idx] = true;
            if property == "-" {
                continue;
            }
            let def = schema.property(property).ok_or_else(|| {
                let known: Vec<&str> = schema.properties().map(|def| def.name).collect();
                plan_error(format!(
                    "--map {column}={property}: unknown property `{property}` for schema {schema} (known: {})",
                    known.join(", ")
                ))
            })?;
            mapped[idx] = Some(def.name);
        }
        let role = find(ROLE_COLUMN).filter(|idx| !explicit[*idx]);
        let tlp = TLP_COLUMNS
            .iter()
            .find_map(|name| find(name))
            .filter(|idx| !explicit[*idx]);
        let mut properties = Vec::new();
        let mut ignored = Vec::new();
        for (idx, header) in headers.iter().enumerate() {
            if Some(idx) == id || Some(idx) == role || Some(idx) == tlp {
                continue;
            }
            let property = if explicit[idx] {
                mapped[idx]
            } else {
                detect_property(schema, header)
            };
            match property {
                Some(property) => properties.push((idx, property)),
                None if !explicit[idx] => ignored.push(header.clone()),
                None => {}
            }
        }
        if properties.is_empty() {
            return Err(plan_error(format!(
                "no column maps to a {schema} property (columns: {}); use --map COLUMN=property",
                headers.join(", ")
            )));
        }
        let id_prefix = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(CsvSource {
            reader,
            path: path.to_owned(),
            schema,
            plan: ColumnPlan {
                id,
                role,
                tlp,
                properties,
            },
            headers,
            record: csv::ByteRecord::new(),
            id_prefix,
            ignored,
        })
    }

    /// Reads the next record; `None` at the end of the file.
    pub(crate) fn next_record(&mut self) -> Result<Option<CsvRecord>> {
        let more = self
            .reader
            .read_byte_record(&mut self.record)
            .map_err(|err| csv_error(&self.path, err))?;
        if !more {
            return Ok(None);
        }
        let line = self.record.position().map_or(0, |p| p.line());
        let field = |idx: usize| -> Result<&str> {
            let bytes = self.record.get(idx).unwrap_or_default();
            std::str::from_utf8(bytes).map_err(|_| Error::Record {
                path: self.path.clone(),
                line,
                column: Some(self.headers[idx].clone()),
                reason: "invalid UTF-8".to_owned(),
            })
        };
        let record_error = |idx: usize, reason: String| Error::Record {
            path: self.path.clone(),
            line,
            column: Some(self.headers[idx].clone()),
            reason,
        };
        let id = match self.plan.id {
            Some(idx) => {
                EntityId::new(field(idx)?).map_err(|err| record_error(idx, err.to_string()))?
            }
            None => EntityId::new(&format!("{}-{line}", self.id_prefix))
                .map_err(|err| record_error(0, err.to_string()))?,
        };
        let mut entity = Entity::new(id, self.schema);
        for &(idx, property) in &self.plan.properties {
            let value = field(idx)?;
            entity
                .add(property, value)
                .map_err(|err| record_error(idx, err.to_string()))?;
        }
        if let Some(idx) = self.plan.role {
            let value = field(idx)?.trim();
            if !value.is_empty() {
                let role: Role = value
                    .parse()
                    .map_err(|err: palermo_model::Error| record_error(idx, err.to_string()))?;
                entity
                    .set_role(role)
                    .map_err(|err| record_error(idx, err.to_string()))?;
            }
        }
        let tlp = match self.plan.tlp {
            Some(idx) => {
                let value = field(idx)?.trim();
                if value.is_empty() {
                    None
                } else {
                    Some(
                        value
                            .parse::<Tlp>()
                            .map_err(|err| record_error(idx, err.to_string()))?,
                    )
                }
            }
            None => None,
        };
        Ok(Some(CsvRecord { entity, line, tlp }))
    }
}

fn csv_error(path: &Path, err: csv::Error) -> Error {
    let line = err.position().map_or(0, csv::Position::line);
    match err.into_kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => Error::Record {
            path: path.to_owned(),
            line,
            column: None,
            reason: format!("wrong number of columns: expected {expected_len}, found {len}"),
        },
        csv::ErrorKind::Io(source) => Error::Io {
            path: path.to_owned(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => Error::Record {
            path: path.to_owned(),
            line,
            column: Some(format!("#{}", err.field() + 1)),
            reason: "invalid UTF-8".to_owned(),
        },
        other => Error::Record {
            path: path.to_owned(),
            line,
            column: None,
            reason: format!("{other:?}"),
        },
    }
}
