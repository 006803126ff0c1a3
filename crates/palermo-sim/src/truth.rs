//! Reading back the ground truth for scoring: which true person is behind
//! each person record, each true person's status, and the role each agency
//! recorded. Used by `palermo demo` and by benchmarks.

use std::collections::HashMap;
use std::path::Path;

use crate::{Error, Result};

/// Person labels of a generated scenario.
#[derive(Debug, Clone, Default)]
pub struct PersonLabels {
    /// Person record id → true person id (`P<n>`), for every country.
    pub true_person: HashMap<String, String>,
    /// True person id → `background`, `victim` or `offender`.
    pub status: HashMap<String, String>,
    /// Person record id → the role the agency recorded (`victim`, `suspect`, ...; absent when none).
    pub recorded_role: HashMap<String, String>,
}

impl PersonLabels {
    /// Reads the labels of the scenario in `dir` (the directory given to
    /// [`write_scenario`](crate::write_scenario)).
    pub fn read(dir: &Path) -> Result<PersonLabels> {
        let mut labels = PersonLabels::default();
        let truth = dir.join("truth");
        read_csv(
            &truth.join("records.csv"),
            &["record_id", "schema", "true_id"],
            |row| {
                if row[1] == "Person" {
                    labels
                        .true_person
                        .insert(row[0].to_owned(), row[2].to_owned());
                }
            },
        )?;
        read_csv(&truth.join("persons.csv"), &["true_id", "status"], |row| {
            labels.status.insert(row[0].to_owned(), row[1].to_owned());
        })?;
        let countries: Vec<String> = labels
            .true_person
            .keys()
            .filter_map(|id| id.split_once('-').map(|(cc, _)| cc.to_owned()))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        for code in countries {
            read_csv(
                &dir.join(&code).join("persons.csv"),
                &["id", "role"],
                |row| {
                    if !row[1].is_empty() {
                        labels
                            .recorded_role
                            .insert(row[0].to_owned(), row[1].to_owned());
                    }
                },
            )?;
        }
        Ok(labels)
    }

    /// The labels of one country's person records (record id → true person id).
    pub fn for_country(&self, code: &str) -> HashMap<String, String> {
        let prefix = format!("{code}-");
        self.true_person
            .iter()
            .filter(|(k, _)| k.starts_with(&prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Calls `row` with the values of `columns` for every data row of a CSV file.
fn read_csv(path: &Path, columns: &[&str], mut row: impl FnMut(&[&str])) -> Result<()> {
    let io = |err: csv::Error| Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(err.to_string()),
    };
    let mut reader = csv::Reader::from_path(path).map_err(io)?;
    let headers = reader.headers().map_err(io)?.clone();
    let idx: Vec<usize> = columns
        .iter()
        .map(|c| {
            headers
                .iter()
                .position(|h| h == *c)
                .ok_or_else(|| Error::Io {
                    path: path.to_path_buf(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("no `{c}` column"),
                    ),
                })
        })
        .collect::<Result<_>>()?;
    for record in reader.records() {
        let record = record.map_err(io)?;
        let values: Vec<&str> = idx.iter().map(|i| record.get(*i).unwrap_or("")).collect();
        row(&values);
    }
    Ok(())
}
