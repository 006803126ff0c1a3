//! [`import_file`]: one file into one all-or-nothing import batch.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use palermo_model::{
    Entity, HandlingCode, Markings, Originator, Provenance, Purpose, Role, Schema, Tlp,
};
use palermo_store::{BatchMeta, ImportTx, InsertCounts, Store};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::csv_reader::CsvSource;
use crate::jsonl_reader::JsonlSource;
use crate::{Error, Result};

/// Records sent to the store per insert call (two chunks are in memory
/// while the next is read: see `import_file`).
const CHUNK: usize = 5_000;

/// The kind of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// Comma-, semicolon- or tab-separated values with a header row.
    Csv,
    /// FollowTheMoney JSON lines.
    Ftm,
}

impl InputFormat {
    /// Guesses the format from the extension: `.jsonl`, `.ndjson`, `.json`,
    /// `.ftm` are FtM; everything else is CSV.
    pub fn from_path(path: &Path) -> InputFormat {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("jsonl" | "ndjson" | "json" | "ftm") => InputFormat::Ftm,
            _ => InputFormat::Csv,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            InputFormat::Csv => "csv",
            InputFormat::Ftm => "ftm",
        }
    }
}

/// Markings given on the command line.
///
/// A record's TLP level is, in order of precedence: its own (a `tlp` CSV
/// column or `palermo.markings` in FtM), then `victim_tlp` for victims or
/// `tlp` for everyone else, then the default ([`Markings::default_for`]:
/// TLP:RED for victims, TLP:AMBER otherwise). Victims never get onward
/// sharing unless `victim_tlp` was given explicitly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkingConfig {
    /// TLP level for records that are not victims.
    pub tlp: Option<Tlp>,
    /// TLP level for victims.
    pub victim_tlp: Option<Tlp>,
    /// Purpose limitation.
    pub purpose: Option<Purpose>,
    /// Retention end date.
    pub retain_until: Option<Date>,
    /// The originating node and agency.
    pub originator: Option<Originator>,
    /// Whether onward sharing is allowed.
    pub onward_sharing: bool,
    /// Handling code.
    pub handling: Option<HandlingCode>,
}

/// How to read one file.
#[derive(Debug, Clone)]
pub struct ImportConfig {
    /// The format; `None` guesses from the extension.
    pub format: Option<InputFormat>,
    /// The schema of CSV records.
    pub schema: Schema,
    /// The CSV id column; `None` tries `id`, `record_id`, `rec_id`, then
    /// numbers records `<file stem>-<line>`.
    pub id_column: Option<String>,
    /// `COLUMN=property` mappings on top of header auto-detection.
    pub maps: Vec<(String, String)>,
    /// Markings to apply.
    pub markings: MarkingConfig,
    /// Who runs the import (recorded in provenance).
    pub imported_by: String,
}

/// What an import did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ImportSummary {
    /// The batch id.
    pub batch_id: Uuid,
    /// The file.
    pub file: String,
    /// `csv` or `ftm`.
    pub format: &'static str,
    /// Records read.
    pub records: u64,
    /// Records new to the store.
    pub new: u64,
    /// Records already stored with identical content.
    pub unchanged: u64,
    /// Things skipped that the user should know about.
    pub warnings: Vec<String>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// Imports `path` into `store` in one transaction. `progress` is told the
/// number of bytes read so far after each chunk.
///
/// On any error nothing is written: the transaction is dropped.
pub async fn import_file<S: Store>(
    store: &S,
    path: &Path,
    config: &ImportConfig,
    progress: &mut (dyn FnMut(u64) + Send),
) -> Result<ImportSummary> {
    let started = Instant::now();
    let file = File::open(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => Error::NotFound {
            path: path.to_owned(),
        },
        _ => Error::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    let len = file
        .metadata()
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?
        .len();
    if len == 0 {
        return Err(Error::Empty {
            path: path.to_owned(),
            reason: "the file is empty".to_owned(),
        });
    }
    let bytes_read = Arc::new(AtomicU64::new(0));
    let input = BufReader::with_capacity(
        1 << 16,
        Counting {
            inner: file,
            count: Arc::clone(&bytes_read),
        },
    );
    let format = config
        .format
        .unwrap_or_else(|| InputFormat::from_path(path));
    let meta = BatchMeta {
        id: Uuid::now_v7(),
        source_file: path.display().to_string(),
        input_format: format.as_str().to_owned(),
        imported_by: config.imported_by.clone(),
        started_at: OffsetDateTime::now_utc(),
    };
    let mut records = Records::open(input, path, format, config)?;
    let mut warnings = std::mem::take(&mut records.warnings);

    let mut tx = store.begin_import(&meta).await?;
    let mut counts = InsertCounts::default();
    let mut n_records = 0u64;
    // The next chunk is read and validated on a blocking thread while the
    // store writes the current one, so parsing overlaps the database's
    // work; at most two chunks are in memory.
    let reader = ChunkReader {
        records,
        markings: config.markings.clone(),
        path: path.to_owned(),
        provenance: Provenance {
            source_file: meta.source_file.clone(),
            record: 0,
            batch_id: meta.id,
            imported_at: meta.started_at,
            imported_by: meta.imported_by.clone(),
        },
    };
    let mut next = Some(tokio::task::spawn_blocking(move || reader.read()));
    while let Some(reading) = next.take() {
        let (reader, chunk) = reading.await.map_err(|err| Error::Io {
            path: path.to_owned(),
            source: std::io::Error::other(format!("reader thread failed: {err}")),
        })??;
        let done = chunk.entities.len() < CHUNK;
        warnings.extend(chunk.warnings);
        if !done {
            next = Some(tokio::task::spawn_blocking(move || reader.read()));
        }
        if !chunk.entities.is_empty() {
            n_records += chunk.entities.len() as u64;
            let inserted = tx
                .insert(&chunk.entities)
                .await
                .map_err(|err| conflict_at(err, path, &chunk.entities, &chunk.lines))?;
            counts.new += inserted.new;
            counts.unchanged += inserted.unchanged;
            progress(bytes_read.load(Ordering::Relaxed));
        }
    }
    if n_records == 0 {
        return Err(Error::Empty {
            path: path.to_owned(),
            reason: "no records in the file".to_owned(),
        });
    }
    tx.commit(n_records, counts).await?;
    progress(len);
    Ok(ImportSummary {
        batch_id: meta.id,
        file: meta.source_file,
        format: format.as_str(),
        records: n_records,
        new: counts.new,
        unchanged: counts.unchanged,
        warnings,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Reads and validates every record of `input` without a store, calling
/// `on_entity` for each (markings applied, no provenance). `path` names the
/// input in errors. Returns how many records there were and the warnings.
///
/// This is the importer's own parsing, so a file that passes here fails in
/// [`import_file`] only on conflicts with stored records. Used by
/// `palermo import --dry-run` and the fuzz targets.
pub fn read_entities<R: BufRead>(
    input: R,
    path: &Path,
    config: &ImportConfig,
    on_entity: &mut dyn FnMut(Entity),
) -> Result<(u64, Vec<String>)> {
    let format = config
        .format
        .unwrap_or_else(|| InputFormat::from_path(path));
    let mut records = Records::open(input, path, format, config)?;
    let mut warnings = std::mem::take(&mut records.warnings);
    let mut n = 0;
    while let Some((entity, line, record_warnings)) = records.next(&config.markings)? {
        warnings.extend(
            record_warnings
                .into_iter()
                .map(|w| format!("{}:{line}: {w}", path.display())),
        );
        on_entity(entity);
        n += 1;
    }
    if n == 0 {
        return Err(Error::Empty {
            path: path.to_owned(),
            reason: "no records in the file".to_owned(),
        });
    }
    Ok((n, warnings))
}

/// Up to [`CHUNK`] records with their lines and warnings; fewer only at the
/// end of the file.
struct Chunk {
    entities: Vec<Entity>,
    lines: Vec<u64>,
    warnings: Vec<String>,
}

/// A reader that moves to a blocking thread for each chunk and back.
struct ChunkReader<R: BufRead> {
    records: Records<R>,
    markings: MarkingConfig,
    path: std::path::PathBuf,
    /// The provenance every record gets, with its line filled in.
    provenance: Provenance,
}

impl<R: BufRead> ChunkReader<R> {
    /// Reads the next chunk; returns the reader for the one after.
    fn read(mut self) -> Result<(ChunkReader<R>, Chunk)> {
        let mut chunk = Chunk {
            entities: Vec::with_capacity(CHUNK),
            lines: Vec::with_capacity(CHUNK),
            warnings: Vec::new(),
        };
        while chunk.entities.len() < CHUNK {
            let Some((mut entity, line, record_warnings)) = self.records.next(&self.markings)?
            else {
                break;
            };
            chunk.warnings.extend(
                record_warnings
                    .into_iter()
                    .map(|w| format!("{}:{line}: {w}", self.path.display())),
            );
            let mut provenance = self.provenance.clone();
            provenance.record = line;
            entity.provenance = Some(provenance);
            chunk.entities.push(entity);
            chunk.lines.push(line);
        }
        Ok((self, chunk))
    }
}

/// Turns a store conflict into an error naming the line in this file.
fn conflict_at(err: palermo_store::Error, path: &Path, chunk: &[Entity], lines: &[u64]) -> Error {
    match err {
        palermo_store::Error::Conflict { id, existing } => {
            // The last record with the id is the one that clashed.
            let line = chunk
                .iter()
                .zip(lines)
                .rev()
                .find(|(entity, _)| entity.id.as_str() == id)
                .map_or(0, |(_, line)| *line);
            Error::Conflict {
                path: path.to_owned(),
                line,
                id,
                existing,
            }
        }
        other => Error::Store(other),
    }
}

/// Either reader, behind one `next`.
struct Records<R: BufRead> {
    source: Source<R>,
    warnings: Vec<String>,
}

enum Source<R: BufRead> {
    Csv(Box<CsvSource<R>>),
    Ftm(JsonlSource<R>),
}

impl<R: BufRead> Records<R> {
    fn open(
        mut input: R,
        path: &Path,
        format: InputFormat,
        config: &ImportConfig,
    ) -> Result<Records<R>> {
        match format {
            InputFormat::Csv => {
                let delimiter = sniff_delimiter(&mut input, path)?;
                let source = CsvSource::new(
                    input,
                    path,
                    config.schema,
                    delimiter,
                    config.id_column.as_deref(),
                    &config.maps,
                )?;
                let warnings = source
                    .ignored
                    .iter()
                    .map(|c| format!("{}: column `{c}` ignored (no matching property; use --map {c}=PROPERTY)", path.display()))
                    .collect();
                Ok(Records {
                    source: Source::Csv(Box::new(source)),
                    warnings,
                })
            }
            InputFormat::Ftm => {
                if config.id_column.is_some() || !config.maps.is_empty() {
                    return Err(Error::Config {
                        path: path.to_owned(),
                        reason: "--id-column and --map apply to CSV input only".to_owned(),
                    });
                }
                Ok(Records {
                    source: Source::Ftm(JsonlSource::new(input, path)),
                    warnings: Vec::new(),
                })
            }
        }
    }

    /// The next entity with markings applied, its line and its warnings.
    fn next(&mut self, markings: &MarkingConfig) -> Result<Option<(Entity, u64, Vec<String>)>> {
        match &mut self.source {
            Source::Csv(source) => Ok(source.next_record()?.map(|mut record| {
                apply_markings(&mut record.entity, record.tlp, markings);
                (record.entity, record.line, Vec::new())
            })),
            Source::Ftm(source) => Ok(source.next_record()?.map(|mut record| {
                if !record.has_markings {
                    apply_markings(&mut record.entity, None, markings);
                }
                (record.entity, record.line, record.warnings)
            })),
        }
    }
}

/// Sets the markings of a record that did not carry its own.
fn apply_markings(entity: &mut Entity, own_tlp: Option<Tlp>, config: &MarkingConfig) {
    let victim = entity.role == Some(Role::Victim);
    let mut markings = Markings::default_for(entity.role);
    let configured = if victim {
        config.victim_tlp
    } else {
        config.tlp
    };
    if let Some(tlp) = own_tlp.or(configured) {
        markings.tlp = tlp;
    }
    markings.purpose = config.purpose.clone();
    markings.retain_until = config.retain_until;
    markings.originator = config.originator.clone();
    markings.handling = config.handling;
    // Victim data is never shared onward unless the importer explicitly
    // marked victims (non-punishment and victim protection by default).
    markings.onward_sharing = config.onward_sharing && (!victim || config.victim_tlp.is_some());
    entity.markings = markings;
}

/// Picks `,`, `;` or tab from the header line.
fn sniff_delimiter<R: BufRead>(input: &mut R, path: &Path) -> Result<u8> {
    let buf = input.fill_buf().map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    let header = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    let count = |d: u8| header.iter().filter(|b| **b == d).count();
    let (commas, semicolons, tabs) = (count(b','), count(b';'), count(b'\t'));
    Ok(if tabs > commas && tabs >= semicolons {
        b'\t'
    } else if semicolons > commas {
        b';'
    } else {
        b','
    })
}

/// A reader that counts the bytes read through it, for progress reports.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use palermo_model::EntityId;

    use super::*;

    fn config() -> MarkingConfig {
        MarkingConfig {
            tlp: Some(Tlp::Green),
            victim_tlp: None,
            purpose: None,
            retain_until: None,
            originator: None,
            onward_sharing: true,
            handling: None,
        }
    }

    fn marked(role: Option<Role>, own: Option<Tlp>, config: &MarkingConfig) -> Markings {
        let mut entity = Entity::new(EntityId::new("x").unwrap(), Schema::Person);
        entity.role = role;
        apply_markings(&mut entity, own, config);
        entity.markings
    }

    #[test]
    fn victims_keep_the_strictest_defaults() {
        let m = marked(Some(Role::Victim), None, &config());
        assert_eq!((m.tlp, m.onward_sharing), (Tlp::Red, false));
        let m = marked(Some(Role::Suspect), None, &config());
        assert_eq!((m.tlp, m.onward_sharing), (Tlp::Green, true));
    }

    #[test]
    fn explicit_markings_win() {
        let m = marked(Some(Role::Victim), Some(Tlp::AmberStrict), &config());
        assert_eq!((m.tlp, m.onward_sharing), (Tlp::AmberStrict, false));
        let mut victims = config();
        victims.victim_tlp = Some(Tlp::Amber);
        let m = marked(Some(Role::Victim), None, &victims);
        assert_eq!((m.tlp, m.onward_sharing), (Tlp::Amber, true));
    }

    #[test]
    fn sniffs_delimiters() {
        let check = |text: &str, expect: u8| {
            let mut input = text.as_bytes();
            assert_eq!(sniff_delimiter(&mut input, Path::new("x")).unwrap(), expect);
        };
        check("a,b,c\n1,2,3", b',');
        check("a;b;c\n", b';');
        check("a\tb\tc\n", b'\t');
        check("single\n", b',');
    }

    #[test]
    fn guesses_formats_from_extensions() {
        assert_eq!(
            InputFormat::from_path(Path::new("a.JSONL")),
            InputFormat::Ftm
        );
        assert_eq!(InputFormat::from_path(Path::new("a.csv")), InputFormat::Csv);
        assert_eq!(InputFormat::from_path(Path::new("a")), InputFormat::Csv);
    }
}
