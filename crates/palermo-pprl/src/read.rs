//! Reading people from CSV text (any `Read`; the caller opens files).
//!
//! Columns are found by `palermo_resolve::open_csv`, the header check `palermo link`
//! uses too: `--map COLUMN=property` first, then the header table of `palermo-resolve`
//! (`given_name`, `surname`, `dob`, `passport`, `nationality`, `sex`, ...). Columns that
//! are not encoded are ignored.

use std::collections::HashMap;
use std::io::Read;

use palermo_resolve::Mapping;

use crate::error::{Error, Result};
use crate::person::Person;

/// Reads a CSV with a header row into `(ids, people)`, in input order.
///
/// Errors: a missing id column, a mapped column that does not exist, no name column, a
/// malformed row, an empty or repeated id (with the line).
pub fn read_csv<R: Read>(
    reader: R,
    source_name: &str,
    id_column: &str,
    mapping: &Mapping,
) -> Result<(Vec<String>, Vec<Person>)> {
    let (mut csv, header) = palermo_resolve::open_csv(reader, source_name, id_column, mapping)
        .map_err(|e| Error::from_reader(e, source_name))?;
    let (id_idx, uses) = (header.id, header.uses);
    let csv_err = |e: csv::Error| {
        let (line, reason) = palermo_resolve::csv_error_parts(&e);
        Error::Csv {
            source_name: source_name.to_owned(),
            line,
            reason,
        }
    };
    let mut ids = Vec::new();
    let mut people = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut record = csv::ByteRecord::new();
    while csv.read_byte_record(&mut record).map_err(csv_err)? {
        let line = record.position().map_or(0, csv::Position::line);
        let field =
            |i: usize| String::from_utf8_lossy(record.get(i).unwrap_or_default()).into_owned();
        let id = field(id_idx).trim().to_owned();
        let bad = |reason: String| Error::BadId {
            source_name: source_name.to_owned(),
            line,
            reason,
        };
        if id.is_empty() {
            return Err(bad(format!("empty id in column {id_column:?}")));
        }
        if let Some(first) = seen.insert(id.clone(), line) {
            return Err(bad(format!("duplicate id {id:?} (first on line {first})")));
        }
        let values: Vec<(palermo_resolve::Property, String)> =
            uses.iter().map(|(i, p)| (*p, field(*i))).collect();
        people.push(Person::from_values(&values));
        ids.push(id);
    }
    Ok((ids, people))
}

/// Reads a truth CSV `record_id,entity_id` (other columns ignored) into record id →
/// entity id; records with equal entity ids are the same person.
///
/// Errors: a missing column, a malformed row (with the line).
pub fn read_truth<R: Read>(reader: R, source_name: &str) -> Result<HashMap<String, String>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let err = |e: csv::Error| Error::Csv {
        source_name: source_name.to_owned(),
        line: e.position().map_or(1, csv::Position::line),
        reason: e.to_string(),
    };
    let headers = csv.headers().map_err(err)?.clone();
    let col = |c: &str| {
        headers
            .iter()
            .position(|h| h.trim() == c)
            .ok_or_else(|| Error::MissingIdColumn {
                source_name: source_name.to_owned(),
                column: c.to_owned(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let (rid, eid) = (col("record_id")?, col("entity_id")?);
    let mut truth = HashMap::new();
    for row in csv.records() {
        let row = row.map_err(err)?;
        let get = |i: usize| row.get(i).unwrap_or_default().trim().to_owned();
        truth.insert(get(rid), get(eid));
    }
    Ok(truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str, maps: &[&str]) -> Result<(Vec<String>, Vec<Person>)> {
        let mapping = Mapping::parse(maps).map_err(|e| Error::InvalidMapping {
            mapping: String::new(),
            reason: e.to_string(),
        })?;
        read_csv(text.as_bytes(), "t.csv", "id", &mapping)
    }

    fn check_err(text: &str, maps: &[&str], expect: &str) {
        match read(text, maps) {
            Ok((ids, _)) => panic!("expected error {expect:?}, got {} records", ids.len()),
            Err(e) => assert!(
                e.to_string().contains(expect),
                "{e} does not contain {expect:?}"
            ),
        }
    }

    #[test]
    fn reads_and_rejects() {
        let (ids, people) = read(
            "id,first_name,surname,dob,passport\n1,Ann,Lee,1990,X1\n2,Bo,Kim,,\n",
            &[],
        )
        .unwrap();
        assert_eq!(ids, ["1", "2"]);
        assert_eq!(people[0].name_tokens, ["ann", "lee"]);
        assert_eq!(people[0].identifiers, ["X1"]);
        let (_, people) = read("\u{feff}id,nom\n1,Ann Lee\n", &["nom=name"]).unwrap();
        assert_eq!(people[0].name_tokens, ["ann", "lee"]);
        assert!(read("id,name\n", &[]).unwrap().0.is_empty());
        check_err("rec,name\n1,a\n", &[], "t.csv: no id column \"id\"");
        check_err(
            "id,name\n1,a\n1,b\n",
            &[],
            "t.csv: line 3: duplicate id \"1\" (first on line 2)",
        );
        check_err("id,name\n,a\n", &[], "line 2: empty id");
        check_err("id,dob\n1,1990\n", &[], "no column maps to a name field");
        check_err(
            "id,name\n1,a,b\n",
            &[],
            "line 2: expected 2 fields, found 3",
        );
        check_err("id,name\n1,a\n", &["nom=lastName"], "no column \"nom\"");
        check_err("", &[], "t.csv: the file is empty (no header row)");
    }

    #[test]
    fn reads_truth() {
        let t = read_truth("record_id,entity_id\na,P1\nb,P1\n".as_bytes(), "t.csv").unwrap();
        assert_eq!(t.get("b").map(String::as_str), Some("P1"));
        let err = read_truth("id,entity_id\n".as_bytes(), "t.csv").unwrap_err();
        assert!(
            err.to_string().contains("no id column \"record_id\""),
            "{err}"
        );
    }
}
