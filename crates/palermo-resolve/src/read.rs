//! Reading person records from CSV text (any `Read`; the caller opens files).

use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::Hasher;
use std::io::Read;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::memo::{Fnv, FnvHasher, Memo};
use crate::record::Record;
use crate::schema::{ColumnUse, Mapping, Property};

/// Records read from one source.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The name used in messages (usually the file path).
    pub source_name: String,
    /// The records, in input order.
    pub records: Vec<Record>,
    /// Which column feeds which property, as `(column, property)`.
    pub columns: Vec<(String, Property)>,
}

impl Dataset {
    /// Builds a data set from records already in memory.
    pub fn from_records(source_name: impl Into<String>, records: Vec<Record>) -> Dataset {
        Dataset {
            source_name: source_name.into(),
            records,
            columns: Vec::new(),
        }
    }
}

/// Rows read before they are normalised into records together.
const READ_CHUNK: usize = 16_384;

/// Up to [`READ_CHUNK`] rows as read: the raw fields of each and its checked id. The
/// row buffers are kept for the next chunk.
#[derive(Default)]
struct Chunk {
    rows: Vec<csv::ByteRecord>,
    ids: Vec<String>,
    /// Rows of `rows` that hold this chunk's rows (the others are spare buffers).
    len: usize,
}

/// Why reading a chunk stopped early.
enum ReadError {
    Csv(csv::Error),
    Row(Error),
}

impl Chunk {
    /// Reads up to [`READ_CHUNK`] rows (fewer at the end of the input); `check` returns a
    /// row's id or the error that ends reading.
    fn read<R: Read>(
        &mut self,
        csv: &mut csv::Reader<R>,
        mut check: impl FnMut(&csv::ByteRecord) -> Result<String>,
    ) -> std::result::Result<(), ReadError> {
        self.len = 0;
        self.ids.clear();
        while self.len < READ_CHUNK {
            if self.rows.len() == self.len {
                self.rows.push(csv::ByteRecord::new());
            }
            let record = &mut self.rows[self.len];
            match csv.read_byte_record(record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => return Err(ReadError::Csv(e)),
            }
            self.ids.push(check(record).map_err(ReadError::Row)?);
            self.len += 1;
        }
        Ok(())
    }

    /// Normalises the chunk's rows into records appended to `records`, in parallel, in
    /// row order; the ids are moved into the records. The records are written in place
    /// (a chunk's own list, then copied, touched every record's memory twice).
    fn build(
        &mut self,
        uses: &[(usize, Property)],
        memo: &Memo,
        raw: bool,
        records: &mut Vec<Record>,
    ) {
        let ids = std::mem::take(&mut self.ids);
        // Each thread keeps one list of a row's values for all its rows (two lists a row
        // were two heap blocks per record); a row with invalid UTF-8 takes the lossy path.
        let rows = self.rows[..self.len].par_iter().zip(ids).map_init(
            Vec::new,
            |values: &mut Vec<(Property, &str)>, (row, id)| {
                values.clear();
                for &(i, p) in uses {
                    match std::str::from_utf8(row.get(i).unwrap_or_default()) {
                        Ok(text) => values.push((p, text)),
                        Err(_) => return build_lossy(row, uses, id, memo, raw),
                    }
                }
                Record::build(id, values, Some(memo), raw)
            },
        );
        records.par_extend(rows);
    }
}

/// [`Record::build`] of a row with a field that is not valid UTF-8 (U+FFFD for the
/// invalid bytes, as [`utf8`] reads it).
fn build_lossy(
    row: &csv::ByteRecord,
    uses: &[(usize, Property)],
    id: String,
    memo: &Memo,
    raw: bool,
) -> Record {
    let fields: Vec<(Property, Cow<'_, str>)> = uses
        .iter()
        .map(|&(i, p)| (p, utf8(row.get(i).unwrap_or_default())))
        .collect();
    let values: Vec<(Property, &str)> = fields.iter().map(|(p, v)| (*p, &**v)).collect();
    Record::build(id, &values, Some(memo), raw)
}

/// A field's text: borrowed when it is valid UTF-8 (checked a word at a time over ASCII),
/// otherwise with U+FFFD for the invalid bytes. `String::from_utf8_lossy` answers the
/// same but checks byte by byte (about 0.9% of the CPU samples of a 1M pooled dedupe).
fn utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

/// The ids read so far and the line of each, so that a duplicate is refused when it is
/// read. Keyed by a 64-bit hash of the id, the ids themselves one after another in one
/// string: a map of `String`s cost a copy of every id in a heap block of its own, and
/// each probe of the map a second cache miss to compare the text (at 1M pooled records
/// the map was about 2.5% of the CPU, on the thread that reads the input).
#[derive(Default)]
struct SeenIds {
    /// Hash of an id → its index in `ends` and `lines`.
    by_hash: HashMap<u64, u32, Fnv>,
    /// The ids of `by_hash`, concatenated.
    text: String,
    /// Where each id of `text` ends (it starts where the one before ends).
    ends: Vec<usize>,
    /// The line of each id of `text`.
    lines: Vec<u64>,
    /// Ids whose hash another id had first (about one in 10^8 pairs of ids), by text.
    collided: HashMap<String, u64, Fnv>,
}

impl SeenIds {
    /// Notes `id`, read on `line`; returns the line it was first read on if it was.
    fn insert(&mut self, id: &str, line: u64) -> Option<u64> {
        let mut h = FnvHasher::default();
        h.write(id.as_bytes());
        let SeenIds {
            by_hash,
            text,
            ends,
            lines,
            collided,
        } = self;
        let index = u32::try_from(ends.len()).ok();
        match (by_hash.entry(h.finish()), index) {
            (Entry::Vacant(slot), Some(index)) => {
                slot.insert(index);
                text.push_str(id);
                ends.push(text.len());
                lines.push(line);
                None
            }
            (Entry::Occupied(first), _) if id_at(text, ends, *first.get() as usize) == id => {
                Some(lines[*first.get() as usize])
            }
            // Another id with this hash (or over 2^32 ids): compared by text.
            _ => match collided.entry(id.to_owned()) {
                Entry::Occupied(first) => Some(*first.get()),
                Entry::Vacant(slot) => {
                    slot.insert(line);
                    None
                }
            },
        }
    }

    /// Makes room for `rows` ids in all (a refused reservation is left to growth).
    fn reserve(&mut self, rows: usize) {
        let more = rows.saturating_sub(self.ends.len());
        let _ = self.by_hash.try_reserve(more);
        let _ = self.ends.try_reserve(more);
        let _ = self.lines.try_reserve(more);
    }
}

/// Id `index` of [`SeenIds`].
fn id_at<'a>(text: &'a str, ends: &[usize], index: usize) -> &'a str {
    let start = index.checked_sub(1).map_or(0, |i| ends[i]);
    &text[start..ends[index]]
}

/// The columns of a CSV input as the readers use them.
#[derive(Debug, Clone)]
pub struct CsvHeader {
    /// The id column's index.
    pub id: usize,
    /// `(column index, property)` of the columns that map to a property, in column order.
    pub uses: Vec<(usize, Property)>,
    /// `(column name, property)` of the same columns.
    pub columns: Vec<(String, Property)>,
}

/// Opens `reader` as a CSV with a header row (strict field counts) and finds its id
/// column and the columns that `mapping` or the header table maps to a property; the
/// one header check of every CSV reader of persons (this crate's and `palermo-pprl`'s).
///
/// Errors: an empty input, a missing id column, a mapped column that does not exist, no
/// name column, an unreadable header.
pub fn open_csv<R: Read>(
    reader: R,
    source_name: &str,
    id_column: &str,
    mapping: &Mapping,
) -> Result<(csv::Reader<R>, CsvHeader)> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let headers: Vec<String> = csv
        .byte_headers()
        .map_err(|e| {
            let (line, reason) = csv_error_parts(&e);
            Error::Csv {
                source_name: source_name.to_owned(),
                line,
                reason,
            }
        })?
        .iter()
        .map(|h| {
            String::from_utf8_lossy(h)
                .trim()
                .trim_start_matches('\u{feff}')
                .to_owned()
        })
        .collect();
    if headers.is_empty() || headers.iter().all(String::is_empty) {
        return Err(Error::Empty {
            source_name: source_name.to_owned(),
        });
    }
    let available = headers.join(", ");
    let id = headers
        .iter()
        .position(|h| h == id_column.trim())
        .ok_or_else(|| Error::MissingIdColumn {
            source_name: source_name.to_owned(),
            column: id_column.to_owned(),
            available: available.clone(),
        })?;
    for column in mapping.columns() {
        if !headers.iter().any(|h| h == column) {
            return Err(Error::InvalidMapping {
                mapping: column.to_owned(),
                reason: format!("{source_name} has no column {column:?} (columns: {available})"),
            });
        }
    }
    let mut uses: Vec<(usize, Property)> = Vec::new();
    let mut columns = Vec::new();
    for (i, h) in headers.iter().enumerate() {
        if i == id {
            continue;
        }
        if let Some(ColumnUse::Property(p)) = mapping.resolve(h) {
            uses.push((i, p));
            columns.push((h.clone(), p));
        }
    }
    if !uses.iter().any(|(_, p)| p.is_name()) {
        return Err(Error::NoNameField {
            source_name: source_name.to_owned(),
            available,
        });
    }
    Ok((csv, CsvHeader { id, uses, columns }))
}

/// The 1-based line and the reason of a CSV error, worded for a person fixing the file.
pub fn csv_error_parts(e: &csv::Error) -> (u64, String) {
    let line = e.position().map_or(1, csv::Position::line);
    let reason = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("expected {expected_len} fields, found {len}"),
        _ => e.to_string(),
    };
    (line, reason)
}

/// Reads a CSV with a header row: the id column, and every column that `mapping` or the
/// header table maps to a property (other columns are ignored).
///
/// Errors: an empty input, a missing id column, a mapped column that does not exist, no
/// name column, a malformed row, an empty or repeated id. A header with no rows gives an
/// empty data set.
pub fn read_csv<R: Read>(
    reader: R,
    source_name: &str,
    id_column: &str,
    mapping: &Mapping,
) -> Result<Dataset> {
    read_csv_sized(reader, source_name, id_column, mapping, None)
}

/// [`read_csv`] of an input of about `size` bytes (a file's length): the records list is
/// sized once from the first rows' bytes, so it does not grow by doubling. A doubling
/// copies the list (hundreds of megabytes at a million records) and holds old and new
/// at once; a wrong `size` only costs that doubling again, never a wrong result.
pub fn read_csv_sized<R: Read>(
    reader: R,
    source_name: &str,
    id_column: &str,
    mapping: &Mapping,
    size: Option<u64>,
) -> Result<Dataset> {
    read_csv_with_raw(reader, source_name, id_column, mapping, size, true)
}

/// [`read_csv_sized`], keeping the records' raw values only when `raw`. The raw values
/// are shown by explanations alone; runs that write clusters or pairs and explain nothing
/// (`palermo dedupe`, `palermo link`) pass `false`. An explanation of records read without
/// them shows the names as parsed and the other fields' values empty; every level, score,
/// pair and cluster is the same.
///
/// The raw values are a heap block per record, written into fresh memory that the kernel
/// zeroes first: at 1M pooled `palermo sim` records about 45 MB of the run's peak.
pub fn read_csv_with_raw<R: Read>(
    reader: R,
    source_name: &str,
    id_column: &str,
    mapping: &Mapping,
    size: Option<u64>,
    raw: bool,
) -> Result<Dataset> {
    let (mut csv, header) = open_csv(reader, source_name, id_column, mapping)?;
    let CsvHeader {
        id: id_idx,
        uses,
        columns,
    } = header;
    let csv_err = |e: csv::Error| {
        let (line, reason) = csv_error_parts(&e);
        Error::Csv {
            source_name: source_name.to_owned(),
            line,
            reason,
        }
    };
    // Rows are normalised into records a chunk at a time (in parallel), so the raw rows
    // of the whole file are never held beside all of its records; while one chunk is
    // normalised (on rayon's threads), this thread reads the next, and the two chunks'
    // row buffers take turns, so reading allocates no row after the first two chunks.
    let memo = Memo::default();
    let mut seen = SeenIds::default();
    let mut records: Vec<Record> = Vec::new();
    let mut pending = Chunk::default();
    let mut next = Chunk::default();
    loop {
        let read = rayon::in_place_scope(|scope| {
            if pending.len > 0 {
                let (chunk, memo, uses, records) = (&mut pending, &memo, &uses, &mut records);
                scope.spawn(move |_| chunk.build(uses, memo, raw, records));
            }
            next.read(&mut csv, |record| {
                let line = record.position().map_or(0, csv::Position::line);
                let id = String::from_utf8_lossy(record.get(id_idx).unwrap_or_default())
                    .trim()
                    .to_owned();
                if id.is_empty() {
                    return Err(Error::EmptyId {
                        source_name: source_name.to_owned(),
                        line,
                        column: id_column.to_owned(),
                    });
                }
                if let Some(first_line) = seen.insert(&id, line) {
                    return Err(Error::DuplicateId {
                        source_name: source_name.to_owned(),
                        line,
                        first_line,
                        id,
                    });
                }
                Ok(id)
            })
            .map_err(|e| match e {
                ReadError::Csv(e) => csv_err(e),
                ReadError::Row(e) => e,
            })
        });
        read?;
        if next.len == 0 {
            break;
        }
        if records.capacity() == 0 {
            // A reservation the allocator refuses (a bogus size) is left to growth. The
            // ids' table too: grown by doubling it rehashed into a fresh table each time.
            let expected = expected_rows(size, csv.position().byte(), next.len);
            let _ = records.try_reserve(expected);
            seen.reserve(expected);
        }
        std::mem::swap(&mut pending, &mut next);
    }
    Ok(Dataset {
        source_name: source_name.to_owned(),
        records,
        columns,
    })
}

/// Rows expected in an input of `size` bytes whose first `bytes` held `rows` rows (and
/// the header), with a margin of a twentieth and one chunk; 0 without a size. At most
/// [`MAX_RESERVED_ROWS`]: a bogus size must not ask for absurd memory.
fn expected_rows(size: Option<u64>, bytes: u64, rows: usize) -> usize {
    let Some(size) = size.filter(|_| bytes > 0) else {
        return 0;
    };
    let rows = u128::try_from(rows).unwrap_or(u128::MAX);
    let estimate = u128::from(size).saturating_mul(rows) / u128::from(bytes);
    let with_margin = estimate.saturating_add(estimate / 20);
    usize::try_from(with_margin)
        .unwrap_or(usize::MAX)
        .saturating_add(READ_CHUNK)
        .min(MAX_RESERVED_ROWS)
}

/// The most rows reserved ahead from a size (2^27, about 134 million records).
const MAX_RESERVED_ROWS: usize = 1 << 27;

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, maps: &[&str]) -> Result<Dataset> {
        read_csv(text.as_bytes(), "t.csv", "id", &Mapping::parse(maps)?)
    }

    fn check_err(text: &str, maps: &[&str], expect: &str) {
        match read(text, maps) {
            Ok(d) => panic!("expected error {expect:?}, got {} records", d.records.len()),
            Err(e) => assert!(
                e.to_string().contains(expect),
                "{e} does not contain {expect:?}"
            ),
        }
    }

    #[test]
    fn rows_with_invalid_bytes_read_as_their_lossy_text() {
        let input = b"id,first_name,last_name,email\n\
            a,Som\xffchai,Jaidee,S.J@X.ORG\n\
            b,Somchai,Jai\xe0\xb8,s.j@x.org\n";
        let mapping = Mapping::parse::<&str>(&[]).unwrap();
        let data = read_csv(&input[..], "t.csv", "id", &mapping).unwrap();
        let expect = [
            ("a", "Som\u{FFFD}chai", "Jaidee"),
            ("b", "Somchai", "Jai\u{FFFD}"),
        ];
        for (r, (id, given, family)) in data.records.iter().zip(expect) {
            let built = Record::new(
                id,
                vec![
                    (Property::FirstName, given.to_owned()),
                    (Property::LastName, family.to_owned()),
                    (Property::Email, "s.j@x.org".to_owned()),
                ],
            );
            assert_eq!(r.id, id);
            assert_eq!(*r.given, *built.given);
            assert_eq!(*r.family, *built.family);
            assert_eq!(r.email, built.email);
        }
    }

    #[test]
    fn fields_read_as_lossy_utf8() {
        for bytes in [
            &b"Somchai"[..],
            "ใจเพชร".as_bytes(),
            b"",
            b"bad \xff byte",
            b"cut \xe0\xb8",
        ] {
            assert_eq!(utf8(bytes), String::from_utf8_lossy(bytes), "{bytes:?}");
        }
        assert!(matches!(utf8(b"Somchai"), Cow::Borrowed(_)));
    }

    #[test]
    fn seen_ids_tell_duplicates_from_hash_collisions() {
        let hash = |id: &str| {
            let mut h = FnvHasher::default();
            h.write(id.as_bytes());
            h.finish()
        };
        let mut seen = SeenIds::default();
        assert_eq!(seen.insert("a1", 2), None);
        assert_eq!(seen.insert("b22", 3), None);
        assert_eq!(seen.insert("a1", 4), Some(2));
        assert_eq!(seen.insert("b22", 5), Some(3));
        // "c" as if its hash were "a1"'s: a different id, then its own duplicate.
        seen.by_hash.insert(hash("c"), 0);
        assert_eq!(seen.insert("c", 6), None);
        assert_eq!(seen.insert("c", 7), Some(6));
        assert_eq!(seen.insert("a1", 8), Some(2));
        assert_eq!(seen.insert("", 9), None);
        assert_eq!(seen.insert("", 10), Some(9));
    }

    #[test]
    fn reads_and_rejects() {
        let d = read(
            "id,first_name,surname,dob\n1,Ann,Lee,1990\n2,Bo,Kim,\n",
            &[],
        )
        .unwrap();
        assert_eq!(d.records.len(), 2);
        assert_eq!(d.records[0].family.joined, "lee");
        let d = read("\u{feff}id,nom\n1,Ann Lee\n", &["nom=name"]).unwrap();
        assert_eq!(d.records[0].given.joined, "ann");
        assert_eq!(read("id,name\n", &[]).unwrap().records.len(), 0);
        check_err("", &[], "empty");
        check_err("rec,name\n1,a\n", &[], "no id column \"id\"");
        check_err(
            "id,name\n1,a\n1,b\n",
            &[],
            "line 3: duplicate id \"1\" (first on line 2)",
        );
        check_err("id,name\n,a\n", &[], "line 2: empty id");
        check_err("id,dob\n1,1990\n", &[], "no column maps to a name field");
        check_err(
            "id,name\n1,a,b\n",
            &[],
            "line 2: expected 2 fields, found 3",
        );
        check_err("id,name\n1,a\n", &["nom=lastName"], "no column \"nom\"");
    }

    #[test]
    fn unexplained_records_lack_only_the_raw_values() {
        let text = "id,first_name,surname,dob,phone,city,country\n\
                    1,Ann,Lee,1990-02-03,+66 81 234 5678,Bangkok,TH\n\
                    2,Somchai,Jaidee,,081-234-5678,,TH\n";
        let mapping = Mapping::default();
        let full = read_csv_sized(text.as_bytes(), "t.csv", "id", &mapping, None).unwrap();
        let lean =
            read_csv_with_raw(text.as_bytes(), "t.csv", "id", &mapping, None, false).unwrap();
        assert_eq!(full.columns, lean.columns);
        for (a, b) in full.records.iter().zip(&lean.records) {
            assert!(a.raw.iter().count() > 0 && b.raw.iter().count() == 0);
            let (mut a, mut b) = (format!("{a:?}"), format!("{b:?}"));
            a.truncate(a.find("raw:").unwrap());
            b.truncate(b.find("raw:").unwrap());
            assert_eq!(a, b);
        }
        assert_eq!(full.records.len(), lean.records.len());
    }

    #[test]
    fn a_known_size_reserves_the_records_once() {
        let text: String = std::iter::once("id,name\n".to_owned())
            .chain((0..1000).map(|i| format!("{i},Person Number{i}\n")))
            .collect();
        let size = u64::try_from(text.len()).unwrap();
        let sized = read_csv_sized(
            text.as_bytes(),
            "t.csv",
            "id",
            &Mapping::default(),
            Some(size),
        )
        .unwrap();
        let plain = read(&text, &[]).unwrap();
        assert_eq!(sized.records.len(), 1000);
        let debug = |d: &Dataset| format!("{:?}", d.records);
        assert_eq!(debug(&sized), debug(&plain));
        assert!(sized.records.capacity() >= 1000);
        // A wrong size only changes the reservation, never what is read.
        for wrong in [Some(0), Some(1), Some(u64::MAX), None] {
            let d =
                read_csv_sized(text.as_bytes(), "t.csv", "id", &Mapping::default(), wrong).unwrap();
            assert_eq!(debug(&d), debug(&plain));
        }
    }

    #[test]
    fn expected_rows_scales_the_first_chunk() {
        assert_eq!(expected_rows(None, 100, 10), 0);
        assert_eq!(expected_rows(Some(1000), 0, 10), 0);
        // 10 rows in 100 bytes of 1,000: about 100 rows, plus a twentieth and a chunk.
        assert_eq!(expected_rows(Some(1000), 100, 10), 105 + READ_CHUNK);
        assert_eq!(expected_rows(Some(u64::MAX), 1, 10), MAX_RESERVED_ROWS);
    }
}
