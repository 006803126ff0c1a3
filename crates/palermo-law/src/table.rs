//! CSV tables of the knowledge base: header detection and records with line numbers.

use serde::Serialize;

use crate::error::{Error, Result};

/// Which table a CSV file holds, told by its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// `instruments.csv`.
    Instruments,
    /// `parties.csv`.
    Parties,
    /// `non_parties.csv`.
    NonParties,
    /// `national_offences.csv`.
    NationalOffences,
    /// Bilateral agreements (operator format).
    Bilateral,
}

impl TableKind {
    /// The columns a file of this kind must have.
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            TableKind::Instruments => &[
                "id",
                "short_name",
                "full_name",
                "adopted_date",
                "entry_into_force",
                "depositary",
                "source",
            ],
            TableKind::Parties => &[
                "instrument_id",
                "country_iso2",
                "country_name",
                "signature_date",
                "consent_date",
                "consent_type",
                "source",
                "notes",
            ],
            TableKind::NonParties => &[
                "instrument_id",
                "country_iso2",
                "country_name",
                "status_as_of",
                "source",
            ],
            TableKind::NationalOffences => &[
                "country_iso2",
                "statute",
                "section",
                "acts_covered",
                "means_covered",
                "purposes_covered",
                "child_without_means_rule",
                "max_penalty_years",
                "source",
                "as_of_year",
                "notes",
            ],
            TableKind::Bilateral => &[
                "agreement_id",
                "kind",
                "state_a",
                "state_b",
                "title",
                "signature_date",
                "entry_into_force",
                "cooperation",
                "scope",
                "source",
                "notes",
            ],
        }
    }

    const ALL: [TableKind; 5] = [
        TableKind::Instruments,
        TableKind::Parties,
        TableKind::NonParties,
        TableKind::NationalOffences,
        TableKind::Bilateral,
    ];

    fn detect(header: &[String]) -> Option<TableKind> {
        let has = |c: &str| header.iter().any(|h| h == c);
        if has("agreement_id") {
            Some(TableKind::Bilateral)
        } else if has("statute") {
            Some(TableKind::NationalOffences)
        } else if has("status_as_of") {
            Some(TableKind::NonParties)
        } else if has("consent_type") || has("consent_date") {
            Some(TableKind::Parties)
        } else if has("short_name") {
            Some(TableKind::Instruments)
        } else {
            None
        }
    }
}

/// One CSV row with its 1-based line number.
#[derive(Debug, Clone)]
pub(crate) struct Record {
    pub(crate) line: u64,
    columns: Vec<(String, String)>,
}

impl Record {
    /// The trimmed cell of `column`, or "" when absent.
    pub(crate) fn get(&self, column: &str) -> &str {
        self.columns
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.trim())
            .unwrap_or("")
    }
}

/// Parses a CSV table, telling its kind from the header and checking that
/// every required column is present.
pub(crate) fn parse_table(file: &str, text: &str) -> Result<(TableKind, Vec<Record>)> {
    let malformed = |line: u64, field: &str, reason: String| Error::Malformed {
        file: file.to_owned(),
        line,
        field: field.to_owned(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| malformed(1, "header", e.to_string()))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let kind = TableKind::detect(&header).ok_or_else(|| {
        let known: Vec<String> = TableKind::ALL
            .iter()
            .map(|k| k.columns().join(","))
            .collect();
        malformed(
            1,
            "header",
            format!(
                "not a knowledge-base table; expected one of the headers: {}",
                known.join(" | ")
            ),
        )
    })?;
    if let Some(missing) = kind
        .columns()
        .iter()
        .find(|c| !header.iter().any(|h| h == *c))
    {
        return Err(malformed(
            1,
            missing,
            "column missing from the header".to_owned(),
        ));
    }
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            let reason = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    format!("expected {expected_len} fields as in the header, found {len}")
                }
                csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_owned(),
                _ => e.to_string(),
            };
            malformed(line, "row", reason)
        })?;
        let line = row.position().map_or(0, csv::Position::line);
        let columns = header
            .iter()
            .cloned()
            .zip(row.iter().map(str::to_owned))
            .collect();
        records.push(Record { line, columns });
    }
    if records.is_empty() {
        return Err(malformed(
            2,
            "row",
            "the file has a header but no rows".to_owned(),
        ));
    }
    Ok((kind, records))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_kinds_and_reports_lines() {
        let check = |text: &str, expect: Result<(TableKind, usize), &str>| {
            let got = parse_table("f.csv", text)
                .map(|(k, r)| (k, r.len()))
                .map_err(|e| e.to_string());
            assert_eq!(got, expect.map_err(str::to_owned), "{text}");
        };
        check(
            "instrument_id,country_iso2,country_name,signature_date,consent_date,consent_type,source,notes\nUNTOC,TH,Thailand,,2013-05-17,ratification,src,\n",
            Ok((TableKind::Parties, 1)),
        );
        check(
            "instrument_id,country_iso2,country_name,status_as_of,source\nUNTOC,TH,Thailand,2020,src\n",
            Ok((TableKind::NonParties, 1)),
        );
        check(
            "a,b\n1,2\n",
            Err(
                "f.csv:1: field 'header': not a knowledge-base table; expected one of the headers: id,short_name,full_name,adopted_date,entry_into_force,depositary,source | instrument_id,country_iso2,country_name,signature_date,consent_date,consent_type,source,notes | instrument_id,country_iso2,country_name,status_as_of,source | country_iso2,statute,section,acts_covered,means_covered,purposes_covered,child_without_means_rule,max_penalty_years,source,as_of_year,notes | agreement_id,kind,state_a,state_b,title,signature_date,entry_into_force,cooperation,scope,source,notes",
            ),
        );
        check(
            "instrument_id,country_iso2,status_as_of,source\nUNTOC,TH,2020,src\n",
            Err("f.csv:1: field 'country_name': column missing from the header"),
        );
        check(
            "instrument_id,country_iso2,country_name,status_as_of,source\nUNTOC,TH,Thailand,2020\n",
            Err("f.csv:2: field 'row': expected 5 fields as in the header, found 4"),
        );
    }
}
