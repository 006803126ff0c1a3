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
    let csv_err = |e: csv::Error| csv_error(source_name, &e);
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

/// Reads a clusters CSV `record_id,cluster_id` (what `palermo dedupe` writes; other
/// columns ignored) for the records `ids` of an encodings file, and returns each record's
/// person: a number per cluster, counted from 0 in the order the clusters first appear
/// along `ids`, so the numbers say which records are one person and nothing else (not the
/// cluster ids, which may be record ids or other names). A record the file does not list
/// is a person of its own.
///
/// Errors (with the file and line): a missing `record_id` or `cluster_id` column, a
/// malformed row, an empty id, a record id listed twice or not among `ids`.
pub fn read_clusters<R: Read>(reader: R, source_name: &str, ids: &[String]) -> Result<Vec<u32>> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(reader);
    let csv_err = |e: csv::Error| csv_error(source_name, &e);
    let headers = csv.headers().map_err(csv_err)?.clone();
    if headers.is_empty() || (headers.len() == 1 && headers.get(0) == Some("")) {
        return Err(Error::Empty {
            source_name: source_name.to_owned(),
        });
    }
    let col = |c: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').trim() == c)
            .ok_or_else(|| Error::MissingColumn {
                source_name: source_name.to_owned(),
                column: c.to_owned(),
                available: headers.iter().collect::<Vec<_>>().join(", "),
            })
    };
    let (rid, cid) = (col("record_id")?, col("cluster_id")?);
    let position: HashMap<&str, usize> = ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    // The cluster of each record, by the cluster's first line in the file.
    let mut cluster_of: Vec<Option<u32>> = vec![None; ids.len()];
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut clusters: HashMap<String, u32> = HashMap::new();
    for row in csv.records() {
        let row = row.map_err(csv_err)?;
        let line = row.position().map_or(0, csv::Position::line);
        let bad = |reason: String| Error::BadId {
            source_name: source_name.to_owned(),
            line,
            reason,
        };
        let record = row.get(rid).unwrap_or_default().trim();
        let cluster = row.get(cid).unwrap_or_default().trim();
        if record.is_empty() {
            return Err(bad("empty record_id".to_owned()));
        }
        if cluster.is_empty() {
            return Err(bad(format!("empty cluster_id for record {record:?}")));
        }
        if let Some(first) = seen.insert(record.to_owned(), line) {
            return Err(bad(format!(
                "duplicate record_id {record:?} (first on line {first})"
            )));
        }
        let Some(&at) = position.get(record) else {
            return Err(bad(format!(
                "record_id {record:?} is not a record of the input"
            )));
        };
        let next =
            u32::try_from(clusters.len()).map_err(|_| bad("too many clusters".to_owned()))?;
        cluster_of[at] = Some(*clusters.entry(cluster.to_owned()).or_insert(next));
    }
    // Renumber along the records, so that a number tells nothing about the file's order
    // or its cluster names; unlisted records get a number of their own.
    let mut renumber: HashMap<u32, u32> = HashMap::new();
    let mut persons = Vec::with_capacity(ids.len());
    let mut count = 0u32;
    for c in cluster_of {
        let fresh = |count: &mut u32| {
            let n = *count;
            *count = count.saturating_add(1);
            n
        };
        let person = match c {
            Some(c) => *renumber.entry(c).or_insert_with(|| fresh(&mut count)),
            None => fresh(&mut count),
        };
        persons.push(person);
    }
    Ok(persons)
}

/// A CSV reader's error as this crate's, naming the file and the line.
fn csv_error(source_name: &str, e: &csv::Error) -> Error {
    let (line, reason) = palermo_resolve::csv_error_parts(e);
    Error::Csv {
        source_name: source_name.to_owned(),
        line,
        reason,
    }
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
    fn reads_clusters_and_rejects() {
        let ids: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
        let read = |text: &str| read_clusters(text.as_bytes(), "c.csv", &ids);
        // Numbered along the records; "d" is unlisted, so a person of its own.
        let persons = read("record_id,cluster_id\nc,X\nb,Y\na,X\n").unwrap();
        assert_eq!(persons, [0, 1, 0, 2]);
        let persons = read("\u{feff}cluster_id,record_id,extra\nq,a,1\nq,d,2\n").unwrap();
        assert_eq!(persons, [0, 1, 2, 0]);
        let err = |text: &str, expect: &str| {
            let e = read(text).unwrap_err().to_string();
            assert!(e.contains(expect), "{e} does not contain {expect:?}");
        };
        err("record_id,entity\na,1\n", "c.csv: no column \"cluster_id\"");
        err("id,cluster_id\na,1\n", "c.csv: no column \"record_id\"");
        err(
            "record_id,cluster_id\na,1\nb,1\na,2\n",
            "c.csv: line 4: duplicate record_id \"a\" (first on line 2)",
        );
        err(
            "record_id,cluster_id\na,1\nzz,1\n",
            "c.csv: line 3: record_id \"zz\" is not a record of the input",
        );
        err("record_id,cluster_id\n,1\n", "line 2: empty record_id");
        err("record_id,cluster_id\na,\n", "line 2: empty cluster_id");
        err("record_id,cluster_id\na,1,2\n", "c.csv: line 2:");
        err("", "c.csv: the file is empty");
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
