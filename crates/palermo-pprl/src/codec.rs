//! Encodings files: Palermo's own JSON and clkhash JSON, both base64 per encoding.
//!
//! clkhash writes `{"clks": ["<base64>", ...]}` (a bare list is also accepted); ids are the
//! 0-based positions and there is no key id. Palermo writes the same `clks` array plus
//! `format`, `version`, `key_id`, `hardening`, `n_bits` and `ids`, so anonlink can read
//! Palermo's files too, and `match` can refuse encodings made with another group key.
//! Version 6 files also carry `persons`, one opaque number per encoding from the
//! sender's own entity resolution ([`parse_with_persons`], [`crate::persons`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT as B64;
use serde::{Deserialize, Serialize};

use crate::clks::Clks;
use crate::error::{Error, Result};
use crate::scoring::FieldScoring;

/// The `format` value of Palermo encodings files.
pub const FORMAT: &str = "palermo-clk";
/// The current `version` of Palermo encodings files: 2 added `fields`, the field segments
/// and their scoring ([`crate::scoring`]); 3 encodes names with Thai-key tokens too and
/// scores namesakes ([`FieldScoring::namesake_penalty`]); 4 places the bits of a token in a
/// field segment from every bit of its hash (version 3 used only the low bits, so in the
/// 128-bit segments thousands of phone numbers and passports shared a few thousand bit
/// patterns) and lets an agreeing contact segment weigh more
/// ([`crate::scoring::CONTACT_AGREEMENT`]); 5 splits the contact segment into a phone and
/// an e-mail segment and writes the agreement weight as a field setting
/// ([`crate::scoring::FieldWeight::agreement`]). Field-level files of versions 2 to 4
/// would compare wrongly with version 5 ones and are refused with a request to encode
/// again.
/// Version 1 files (record-level encodings, unchanged) still decode; a file written by a
/// later version is refused with its version named.
pub const VERSION: u32 = 5;

/// The `version` of field-level files that also carry `persons`
/// ([`parse_with_persons`]): the encodings are those of [`VERSION`], so version 5 files
/// still read, but a build that knows only version 5 would drop the persons without a
/// word; it refuses version 6 by its version instead.
pub const VERSION_PERSONS: u32 = 6;

/// A set of encodings with what is known about how they were made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encodings {
    /// The encodings.
    pub clks: Clks,
    /// One id per encoding; `None` means the 0-based positions (clkhash files).
    pub ids: Option<Vec<String>>,
    /// The group key id; `None` for clkhash files.
    pub key_id: Option<String>,
    /// The hardening name ([`crate::Hardening::name`]); `None` for clkhash files.
    pub hardening: Option<String>,
}

impl Encodings {
    /// The id of encoding `idx`: its id, or its position when there are no ids.
    pub fn id(&self, idx: usize) -> String {
        match &self.ids {
            Some(ids) => ids.get(idx).cloned().unwrap_or_default(),
            None => idx.to_string(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileIn {
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    version: Option<u32>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    hardening: Option<String>,
    #[serde(default)]
    n_bits: Option<usize>,
    #[serde(default)]
    ids: Option<Vec<String>>,
    #[serde(default)]
    fields: Option<FieldScoring>,
    #[serde(default)]
    persons: Option<Vec<u32>>,
    clks: Vec<String>,
}

#[derive(Serialize)]
struct FileOut<'a> {
    format: &'static str,
    version: u32,
    key_id: &'a str,
    hardening: &'a str,
    n_bits: usize,
    ids: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    fields: Option<&'a FieldScoring>,
    #[serde(skip_serializing_if = "Option::is_none")]
    persons: Option<&'a [u32]>,
    clks: Vec<String>,
}

/// Encodes bytes as standard base64 with padding (what clkhash writes).
pub fn to_base64(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

/// Decodes standard base64 (padding optional). Returns `None` on invalid input.
pub fn from_base64(text: &str) -> Option<Vec<u8>> {
    B64.decode(text.trim()).ok()
}

/// Parses an encodings file (Palermo or clkhash JSON). `source_name` is used in errors.
///
/// Errors: malformed JSON (with line and column), an unknown `format` or `version`, an
/// entry that is not base64, encodings of different lengths, `n_bits` or `ids` that do
/// not agree with `clks`, a Palermo file without a key id. Errors never quote an entry.
pub fn parse(text: &[u8], source_name: &str) -> Result<Encodings> {
    parse_with_persons(text, source_name).map(|(encodings, _)| encodings)
}

/// Parses an encodings file as [`parse`] does, and also returns its `persons` (version 6
/// files): one number per encoding, equal for the encodings the sender's own entity
/// resolution found to be one person (`palermo pprl encode --clusters`).
///
/// Errors: those of [`parse`]; `persons` in a file of another version, a version 6 file
/// without `persons` or without field segments, and a `persons` list whose length is not
/// the number of encodings.
pub fn parse_with_persons(text: &[u8], source_name: &str) -> Result<(Encodings, Option<Vec<u32>>)> {
    let malformed = |reason: String| Error::MalformedEncodings {
        source_name: source_name.to_owned(),
        reason,
    };
    let first = text.iter().find(|b| !b.is_ascii_whitespace());
    let file: FileIn = match first {
        None => {
            return Err(malformed(
                "empty file, expected clkhash JSON {\"clks\": [...]}".to_owned(),
            ));
        }
        Some(b'[') => {
            let clks: Vec<String> =
                serde_json::from_slice(text).map_err(|e| malformed(json_reason(&e)))?;
            FileIn {
                format: None,
                version: None,
                key_id: None,
                hardening: None,
                n_bits: None,
                ids: None,
                fields: None,
                persons: None,
                clks,
            }
        }
        Some(_) => serde_json::from_slice(text).map_err(|e| malformed(json_reason(&e)))?,
    };
    let palermo = match file.format.as_deref() {
        None => false,
        Some(FORMAT) => true,
        Some(other) => {
            return Err(malformed(format!(
                "unknown format {other:?} (expected {FORMAT:?} or clkhash JSON)"
            )));
        }
    };
    if palermo {
        match file.version {
            Some(1) if file.fields.is_some() => {
                return Err(malformed(
                    "version 1 files have no \"fields\" (field segments are version 5)".to_owned(),
                ));
            }
            Some(old @ 2..=4) => {
                return Err(malformed(format!(
                    "version {old} field-level encodings were made by an older build whose \
                     encoding differs: encode the records again with this build"
                )));
            }
            Some(1 | VERSION | VERSION_PERSONS) => {}
            other => {
                return Err(malformed(format!(
                    "unsupported version {other:?} (this build reads 1, {VERSION} and \
                     {VERSION_PERSONS})"
                )));
            }
        }
        match (file.version, &file.persons, &file.fields) {
            (Some(VERSION_PERSONS), Some(_), Some(_)) | (Some(1 | VERSION), None, _) => {}
            (Some(VERSION_PERSONS), None, _) => {
                return Err(malformed(format!(
                    "version {VERSION_PERSONS} files carry \"persons\" and this one has none"
                )));
            }
            (Some(VERSION_PERSONS), Some(_), None) => {
                return Err(malformed(format!(
                    "version {VERSION_PERSONS} files carry field segments (\"fields\") and \
                     this one has none"
                )));
            }
            (version, Some(_), _) => {
                return Err(malformed(format!(
                    "\"persons\" belong in version {VERSION_PERSONS} files, not version {}",
                    version.map_or_else(|| "none".to_owned(), |v| v.to_string())
                )));
            }
            _ => {}
        }
        if file.key_id.as_deref().is_none_or(str::is_empty) {
            return Err(malformed("missing key_id".to_owned()));
        }
    } else if file.persons.is_some() {
        return Err(malformed(format!(
            "\"persons\" belong in {FORMAT:?} files of version {VERSION_PERSONS}"
        )));
    }
    let mut decoded = Vec::with_capacity(file.clks.len());
    for (index, entry) in file.clks.iter().enumerate() {
        let bytes = from_base64(entry)
            .ok_or_else(|| malformed(format!("encoding {index} is not valid base64")))?;
        decoded.push(bytes);
    }
    let n_bits = match (file.n_bits, decoded.first()) {
        (Some(n), _) => n,
        (None, Some(first)) => first.len() * 8,
        (None, None) => 0,
    };
    let mut clks = Clks::new(n_bits);
    for (index, bytes) in decoded.iter().enumerate() {
        if !clks.push_bytes(bytes) {
            return Err(Error::WrongLength {
                source_name: source_name.to_owned(),
                index,
                expected: n_bits,
                found: bytes.len() * 8,
            });
        }
    }
    if let Some(ids) = &file.ids
        && ids.len() != clks.len()
    {
        return Err(malformed(format!(
            "{} ids for {} encodings",
            ids.len(),
            clks.len()
        )));
    }
    if let Some(persons) = &file.persons
        && persons.len() != clks.len()
    {
        return Err(malformed(format!(
            "{} persons for {} encodings",
            persons.len(),
            clks.len()
        )));
    }
    let clks = match file.fields {
        Some(fields) => clks
            .with_scoring(fields)
            .map_err(|e| malformed(format!("\"fields\" do not fit the encodings: {e}")))?,
        None => clks,
    };
    let encodings = Encodings {
        clks,
        ids: file.ids,
        key_id: file.key_id,
        hardening: file.hardening,
    };
    Ok((encodings, file.persons))
}

/// Writes Palermo encodings JSON (which clkhash tools also read, through `clks`):
/// version 5 with `fields` for encodings with field segments, version 1 otherwise (so
/// record-level files stay readable by older builds).
pub fn to_json(clks: &Clks, ids: &[String], key_id: &str, hardening: &str) -> String {
    to_json_with_persons(clks, ids, key_id, hardening, None)
}

/// Writes Palermo encodings JSON as [`to_json`] does, with each encoding's person when
/// `persons` is given (one number per encoding, from [`crate::read_clusters`]): then the
/// file is version 6, which only field-level encodings can be. The numbers reveal which
/// of the sender's own records its entity resolution found to be one person, nothing
/// about the people themselves.
///
/// `persons` of another length than `clks`, or with record-level encodings, are left out
/// (the callers build them from the same records, so this does not happen).
pub fn to_json_with_persons(
    clks: &Clks,
    ids: &[String],
    key_id: &str,
    hardening: &str,
    persons: Option<&[u32]>,
) -> String {
    let persons = persons.filter(|p| p.len() == clks.len() && clks.scoring().is_some());
    let version = match (clks.scoring(), persons) {
        (Some(_), Some(_)) => VERSION_PERSONS,
        (Some(_), None) => VERSION,
        (None, _) => 1,
    };
    let file = FileOut {
        format: FORMAT,
        version,
        key_id,
        hardening,
        n_bits: clks.n_bits(),
        ids,
        fields: clks.scoring(),
        persons,
        clks: (0..clks.len()).map(|i| to_base64(&clks.bytes(i))).collect(),
    };
    // Serialising strings and numbers cannot fail.
    serde_json::to_string(&file).unwrap_or_default()
}

/// Writes clkhash JSON: `{"clks": [...]}`.
pub fn to_clkhash_json(clks: &Clks) -> String {
    let list: Vec<String> = (0..clks.len()).map(|i| to_base64(&clks.bytes(i))).collect();
    serde_json::json!({ "clks": list }).to_string()
}

fn json_reason(e: &serde_json::Error) -> String {
    // serde_json messages name the line and column; data errors may quote a value, so
    // only the category and position are kept for those.
    match e.classify() {
        serde_json::error::Category::Data => {
            let msg = e.to_string();
            let kind = if msg.contains("missing field") {
                "missing field \"clks\""
            } else if msg.contains("unknown field") {
                "unknown field"
            } else {
                "unexpected value (expected clkhash JSON {\"clks\": [base64, ...]})"
            };
            format!("line {} column {}: {kind}", e.line(), e.column())
        }
        _ => format!("invalid JSON: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn check_err(text: &str, expect: &str) {
        match parse(text.as_bytes(), "x.json") {
            Ok(e) => panic!("expected error {expect:?}, got {} encodings", e.clks.len()),
            Err(e) => assert!(
                e.to_string().contains(expect),
                "{e} does not contain {expect:?}"
            ),
        }
    }

    #[test]
    fn parses_clkhash_and_rejects_bad_files() {
        let e = parse(br#"{"clks": ["AQI=", "/wA="]}"#, "x.json").unwrap();
        assert_eq!(
            (e.clks.len(), e.clks.n_bits(), e.id(1), e.key_id.clone()),
            (2, 16, "1".to_owned(), None)
        );
        assert_eq!(e.clks.bytes(1), vec![0xff, 0]);
        assert_eq!(parse(br#"["AQI="]"#, "x.json").unwrap().clks.len(), 1);
        assert_eq!(parse(br#"{"clks": []}"#, "x.json").unwrap().clks.len(), 0);
        check_err("", "x.json: empty file");
        check_err(
            "{\"clks\": [\"AQI=\"",
            "x.json: invalid JSON: EOF while parsing a list at line 1 column 16",
        );
        check_err("{}", "missing field \"clks\"");
        check_err(r#"{"clks": "AQI="}"#, "line 1 column 15: unexpected value");
        check_err(r#"{"clks": [1]}"#, "unexpected value");
        check_err(
            r#"{"clks": ["AQI=", "!!"]}"#,
            "encoding 1 is not valid base64",
        );
        check_err(
            r#"{"clks": ["AQI=", "AQID"]}"#,
            "x.json: encoding 1 has 24 bits, expected 16",
        );
        check_err(r#"{"clks": ["AQI="], "salt": 1}"#, "unknown field");
        check_err(r#"{"format": "x", "clks": []}"#, "unknown format \"x\"");
        check_err(
            r#"{"format": "palermo-clk", "version": 7, "clks": []}"#,
            "unsupported version Some(7) (this build reads 1, 5 and 6)",
        );
        for old in [2, 3, 4] {
            // Field-level encodings of older builds place their bits differently: refused.
            check_err(
                &format!(
                    r#"{{"format": "palermo-clk", "version": {old}, "key_id": "k", "clks": []}}"#
                ),
                &format!("version {old} field-level encodings were made by an older build"),
            );
        }
        let fields = r#""fields": {"fields": [{"field": "name", "words": 2, "weight": 1.0, "missing": 0.5}], "prefilter": 0.5}"#;
        check_err(
            &format!(
                r#"{{"format": "palermo-clk", "version": 1, "key_id": "k", {fields}, "clks": []}}"#
            ),
            "version 1 files have no \"fields\"",
        );
        check_err(
            &format!(
                r#"{{"format": "palermo-clk", "version": 5, "key_id": "k", {fields}, "clks": ["AQI="]}}"#
            ),
            "\"fields\" do not fit the encodings: invalid configuration: fields: segments of 2 words for encodings of 1 words",
        );
        check_err(
            r#"{"format": "palermo-clk", "version": 1, "clks": []}"#,
            "missing key_id",
        );
        check_err(
            r#"{"ids": ["a", "b"], "clks": ["AQI="]}"#,
            "2 ids for 1 encodings",
        );
        check_err(
            r#"{"n_bits": 8, "clks": ["AQI="]}"#,
            "encoding 0 has 16 bits, expected 8",
        );
    }

    #[test]
    fn persons_round_trip_and_are_checked() {
        let scoring = r#"{"fields": [{"field": "name", "words": 1, "weight": 1.0, "missing": 0.5}], "prefilter": 0.5}"#;
        let file = |version: u32, persons: &str, fields: bool| {
            let fields = if fields {
                format!(r#""fields": {scoring}, "#)
            } else {
                String::new()
            };
            format!(
                r#"{{"format": "palermo-clk", "version": {version}, "key_id": "k", {fields}{persons}"clks": ["AAAAAAAAAAE=", "AAAAAAAAAAI="]}}"#
            )
        };
        let (e, persons) =
            parse_with_persons(file(6, r#""persons": [3, 3], "#, true).as_bytes(), "p.json")
                .unwrap();
        assert_eq!((e.clks.len(), persons), (2, Some(vec![3, 3])));
        // A version 5 file of the build before still reads, without persons.
        let (_, persons) = parse_with_persons(file(5, "", true).as_bytes(), "p.json").unwrap();
        assert_eq!(persons, None);
        // `parse` reads a version 6 file too, leaving the persons out.
        assert!(parse(file(6, r#""persons": [0, 1], "#, true).as_bytes(), "p.json").is_ok());
        let err = |text: String, expect: &str| {
            let e = parse_with_persons(text.as_bytes(), "p.json")
                .unwrap_err()
                .to_string();
            assert!(e.contains(expect), "{e} does not contain {expect:?}");
        };
        err(
            file(6, "", true),
            "p.json: version 6 files carry \"persons\" and this one has none",
        );
        err(
            file(6, r#""persons": [0, 1], "#, false),
            "version 6 files carry field segments",
        );
        err(
            file(5, r#""persons": [0, 1], "#, true),
            "\"persons\" belong in version 6 files, not version 5",
        );
        err(
            file(6, r#""persons": [0], "#, true),
            "p.json: 1 persons for 2 encodings",
        );
        err(file(6, r#""persons": [0, -1], "#, true), "unexpected value");
        err(
            r#"{"persons": [0], "clks": ["AQI="]}"#.to_owned(),
            "\"persons\" belong in \"palermo-clk\" files of version 6",
        );
        // Written as version 6 only with persons and field segments.
        let mut clks = Clks::new(64);
        assert!(clks.push_bytes(&[0, 0, 0, 0, 0, 0, 0, 1]));
        let ids = vec!["a".to_owned()];
        let json = to_json_with_persons(&clks, &ids, "k", "balance", Some(&[0]));
        assert!(
            json.contains("\"version\":1") && !json.contains("persons"),
            "{json}"
        );
        let fields: FieldScoring = serde_json::from_str(scoring).unwrap();
        let clks = clks.with_scoring(fields).unwrap();
        let json = to_json_with_persons(&clks, &ids, "k", "balance", Some(&[7]));
        assert!(json.contains("\"version\":6"), "{json}");
        let (_, persons) = parse_with_persons(json.as_bytes(), "p.json").unwrap();
        assert_eq!(persons, Some(vec![7]));
        let json = to_json(&clks, &ids, "k", "balance");
        assert!(
            json.contains("\"version\":5") && !json.contains("persons"),
            "{json}"
        );
    }

    proptest! {
        #[test]
        fn base64_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(from_base64(&to_base64(&bytes)), Some(bytes));
        }

        #[test]
        fn files_round_trip(rows in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 16), 0..20)) {
            let mut clks = Clks::new(128);
            for r in &rows {
                prop_assert!(clks.push_bytes(r));
            }
            let ids: Vec<String> = (0..rows.len()).map(|i| format!("id-{i}")).collect();
            let back = parse(to_json(&clks, &ids, "00ff", "balance").as_bytes(), "p.json").unwrap();
            prop_assert_eq!(&back.clks, &clks);
            prop_assert_eq!(back.ids, Some(ids));
            prop_assert_eq!(back.key_id.as_deref(), Some("00ff"));
            let back = parse(to_clkhash_json(&clks).as_bytes(), "c.json").unwrap();
            // An empty clkhash file has no length to carry.
            if !rows.is_empty() {
                prop_assert_eq!(&back.clks, &clks);
            }
            prop_assert_eq!(back.ids, None);
        }

        #[test]
        fn parse_never_panics(text in ".{0,200}") {
            let _ = parse(text.as_bytes(), "fuzz.json");
        }
    }
}
