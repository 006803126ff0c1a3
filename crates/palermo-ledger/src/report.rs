//! The self-contained custody report: JSON, HTML and CASE/UCO JSON-LD, with
//! the ledger entries, their inclusion proofs, the signed tree head and the
//! node's public key, so that a court can verify it offline.
//!
//! [`render`] turns a [`CustodyReport`] into files (name → bytes); the caller
//! writes them. [`check`] takes the files back, verifies every signature and
//! proof, re-renders every file from the verified entries, and fails when any
//! byte differs, so an edit to any file (even the HTML) is detected.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::entry::{Entry, EntryBody};
use crate::error::{Error, Result};
use crate::evidence::{CustodyEvent, chain_problems};
use crate::hash::{Hash, leaf_hash};
use crate::head::{PublicKey, SignedTreeHead};
use crate::merkle::{InclusionProof, verify_inclusion};

/// The report format name written into `report.json`.
pub const REPORT_FORMAT: &str = "palermo-custody-report/1";
/// The machine-readable report.
pub const REPORT_JSON: &str = "report.json";
/// The human-readable report.
pub const REPORT_HTML: &str = "report.html";
/// The CASE/UCO JSON-LD export.
pub const REPORT_JSONLD: &str = "case-uco.jsonld";
/// The node's public key, PEM.
pub const REPORT_KEY: &str = "node-public-key.pem";
/// How to verify by hand.
pub const REPORT_README: &str = "README.txt";

/// A custody report for one case.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CustodyReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// The case id.
    pub case: String,
    /// The node's public key.
    pub node_key: PublicKey,
    /// The signed tree head every proof leads to.
    pub head: SignedTreeHead,
    /// The evidence items of the case.
    pub items: Vec<ReportItem>,
}

/// One evidence item and its chain of custody.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ReportItem {
    /// The item id.
    pub id: String,
    /// Its custody entries, in ledger order.
    pub chain: Vec<ProvenEntry>,
}

/// A ledger entry with its proof of inclusion under the report's tree head.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvenEntry {
    /// The exact entry bytes, as UTF-8 JSON text.
    pub entry: String,
    /// The inclusion proof (its `index` is the entry's position).
    pub proof: InclusionProof,
}

/// What checking a report found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReportCheck {
    /// The case.
    pub case: String,
    /// The signing key's fingerprint (compare it with the one the node publishes).
    pub key_fingerprint: String,
    /// The size of the tree head.
    pub tree_size: u64,
    /// The root hash of the tree head.
    pub root: Hash,
    /// Items checked.
    pub n_items: usize,
    /// Entries whose inclusion was verified.
    pub n_entries: usize,
}

/// The summary of an item, derived from its intake entry.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
struct ItemSummary {
    id: String,
    file_name: String,
    description: String,
    size: u64,
    sha256: String,
    blake3: String,
    markings: Vec<String>,
    problems: Vec<String>,
}

/// Renders the report's files.
///
/// Fails when an entry is not a valid custody entry of an item of the case.
pub fn render(report: &CustodyReport) -> Result<BTreeMap<String, Vec<u8>>> {
    let parsed = parse_items(report)?;
    let mut files = BTreeMap::new();
    let json = serde_json::json!({
        "report": report,
        "summary": parsed.iter().map(|(summary, _)| summary).collect::<Vec<_>>(),
    });
    let json = serde_json::to_vec_pretty(&json).map_err(|err| Error::invalid("report", err))?;
    files.insert(REPORT_JSON.to_owned(), json);
    files.insert(REPORT_HTML.to_owned(), html(report, &parsed).into_bytes());
    let jsonld = serde_json::to_vec_pretty(&jsonld(report, &parsed))
        .map_err(|err| Error::invalid("report", err))?;
    files.insert(REPORT_JSONLD.to_owned(), jsonld);
    files.insert(
        REPORT_KEY.to_owned(),
        report.node_key.to_pem()?.into_bytes(),
    );
    files.insert(REPORT_README.to_owned(), readme(report).into_bytes());
    Ok(files)
}

/// Verifies a report from its files, offline.
///
/// Checks the tree head signature, every entry's inclusion proof, that every
/// entry belongs to the case and item it is listed under, and that every file
/// is exactly what the verified entries render to. With `expected_key`, the
/// report must also be signed by that key. Fails with [`Error::Report`] naming
/// the file and the problem.
pub fn check(
    files: &BTreeMap<String, Vec<u8>>,
    expected_key: Option<&PublicKey>,
) -> Result<ReportCheck> {
    let report_err = |file: &str, reason: String| Error::Report {
        file: file.to_owned(),
        reason,
    };
    let json = files
        .get(REPORT_JSON)
        .ok_or_else(|| report_err(REPORT_JSON, "is missing".to_owned()))?;
    #[derive(Deserialize)]
    struct Wrapper {
        report: CustodyReport,
    }
    let wrapper: Wrapper = serde_json::from_slice(json)
        .map_err(|err| report_err(REPORT_JSON, format!("is not a custody report: {err}")))?;
    let report = wrapper.report;
    if report.format != REPORT_FORMAT {
        return Err(report_err(
            REPORT_JSON,
            format!("unknown format {:?}", report.format),
        ));
    }
    if let Some(expected) = expected_key
        && *expected != report.node_key
    {
        return Err(report_err(
            REPORT_JSON,
            format!(
                "is signed by key {}, not the expected key {}",
                report.node_key.fingerprint(),
                expected.fingerprint()
            ),
        ));
    }
    report
        .node_key
        .verify_head(&report.head)
        .map_err(|err| report_err(REPORT_JSON, err.to_string()))?;
    let mut n_entries = 0;
    for item in &report.items {
        for proven in &item.chain {
            let leaf = leaf_hash(proven.entry.as_bytes());
            if proven.proof.size != report.head.head.size {
                return Err(report_err(
                    REPORT_JSON,
                    format!(
                        "entry {} has a proof for another tree size",
                        proven.proof.index
                    ),
                ));
            }
            verify_inclusion(&leaf, &proven.proof, &report.head.head.root).map_err(|err| {
                report_err(
                    REPORT_JSON,
                    format!("entry {} of item {}: {err}", proven.proof.index, item.id),
                )
            })?;
            n_entries += 1;
        }
    }
    let expected = render(&report).map_err(|err| report_err(REPORT_JSON, err.to_string()))?;
    for (name, bytes) in &expected {
        match files.get(name) {
            None => return Err(report_err(name, "is missing".to_owned())),
            Some(found) if found != bytes => {
                return Err(report_err(
                    name,
                    "has been edited: it differs from what the signed entries say".to_owned(),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(ReportCheck {
        case: report.case.clone(),
        key_fingerprint: report.node_key.fingerprint(),
        tree_size: report.head.head.size,
        root: report.head.head.root,
        n_items: report.items.len(),
        n_entries,
    })
}

/// Parses every item's entries and derives its summary; checks each entry is
/// a custody entry of that item in this case, at the position its proof says.
fn parse_items(report: &CustodyReport) -> Result<Vec<(ItemSummary, Vec<Entry>)>> {
    let mut out = Vec::new();
    for item in &report.items {
        let mut summary = ItemSummary {
            id: item.id.clone(),
            ..ItemSummary::default()
        };
        let mut entries = Vec::new();
        for proven in &item.chain {
            let entry = Entry::from_bytes(proven.entry.as_bytes())?;
            let bad = |reason: String| Error::Report {
                file: REPORT_JSON.to_owned(),
                reason,
            };
            if entry.seq != proven.proof.index {
                return Err(bad(format!(
                    "entry {} is listed at position {}",
                    entry.seq, proven.proof.index
                )));
            }
            if entry.case.as_deref() != Some(report.case.as_str()) {
                return Err(bad(format!("entry {} belongs to another case", entry.seq)));
            }
            let EntryBody::EvidenceCustody { item: id, event } = &entry.body else {
                return Err(bad(format!("entry {} is not a custody entry", entry.seq)));
            };
            if *id != item.id {
                return Err(bad(format!(
                    "entry {} is about item {id}, not {}",
                    entry.seq, item.id
                )));
            }
            if let CustodyEvent::Intake {
                file_name,
                digests,
                description,
                markings,
                ..
            } = event
            {
                summary.file_name = file_name.clone();
                summary.description = description.clone();
                summary.size = digests.size;
                summary.sha256 = digests.sha256.clone();
                summary.blake3 = digests.blake3.clone();
                summary.markings = markings.clone();
            }
            entries.push(entry);
        }
        summary.problems = chain_problems(entries.iter().filter_map(|e| match &e.body {
            EntryBody::EvidenceCustody { event, .. } => Some(event),
            _ => None,
        }));
        out.push((summary, entries));
    }
    Ok(out)
}

fn event_of(entry: &Entry) -> Option<&CustodyEvent> {
    match &entry.body {
        EntryBody::EvidenceCustody { event, .. } => Some(event),
        _ => None,
    }
}

fn event_name(event: &CustodyEvent) -> &'static str {
    match event {
        CustodyEvent::Intake { .. } => "intake",
        CustodyEvent::Seized { .. } => "seized",
        CustodyEvent::Imaged { .. } => "imaged",
        CustodyEvent::Transferred { .. } => "transferred",
        CustodyEvent::Analysed { .. } => "analysed",
        CustodyEvent::Disclosed { .. } => "disclosed",
        CustodyEvent::Returned { .. } => "returned",
        CustodyEvent::Destroyed { .. } => "destroyed",
    }
}

fn event_detail(event: &CustodyEvent) -> String {
    match event {
        CustodyEvent::Intake {
            file_name,
            description,
            seized_at,
            seized_on,
            seized_by,
            ..
        } => {
            let mut out = format!("{file_name}: {description}");
            for (label, value) in [
                ("seized at", seized_at),
                ("on", seized_on),
                ("by", seized_by),
            ] {
                if let Some(value) = value {
                    out.push_str(&format!("; {label} {value}"));
                }
            }
            out
        }
        CustodyEvent::Seized { place, on, by } => format!("at {place} on {on} by {by}"),
        CustodyEvent::Imaged {
            tool,
            version,
            image_sha256,
        } => format!("{tool} {version}, image SHA-256 {image_sha256}"),
        CustodyEvent::Transferred { from, to, note } => {
            format!(
                "from {from} to {to}{}",
                note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            )
        }
        CustodyEvent::Analysed {
            tool,
            version,
            result_sha256,
        } => format!("{tool} {version}, result SHA-256 {result_sha256}"),
        CustodyEvent::Disclosed { to, legal_basis } => format!("to {to} under {legal_basis}"),
        CustodyEvent::Returned { to } => format!("to {to}"),
        CustodyEvent::Destroyed { method } => format!("by {method}"),
    }
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn html(report: &CustodyReport, items: &[(ItemSummary, Vec<Entry>)]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!(
        "<title>Chain of custody: case {}</title>\n",
        esc(&report.case)
    ));
    out.push_str("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #999;padding:4px 8px;text-align:left;vertical-align:top}code{font-size:90%;word-break:break-all}.bad{color:#a00}</style>\n");
    out.push_str("</head>\n<body>\n");
    out.push_str(&format!(
        "<h1>Chain of custody: case {}</h1>\n",
        esc(&report.case)
    ));
    out.push_str("<p>Every event below is an entry of the node's append-only ledger (RFC 9162 Merkle tree). ");
    out.push_str(
        "Each entry comes with a proof that it is included in the signed tree head below. ",
    );
    out.push_str("Run <code>palermo evidence check-report DIR</code> to verify this directory offline.</p>\n");
    out.push_str("<h2>Signed tree head</h2>\n<table>\n");
    for (label, value) in [
        ("Tree size", report.head.head.size.to_string()),
        ("Root hash (SHA-256)", report.head.head.root.to_hex()),
        (
            "Signed at (ms since 1970)",
            report.head.head.timestamp_ms.to_string(),
        ),
        (
            "Node key fingerprint (SHA-256)",
            report.node_key.fingerprint(),
        ),
        (
            "Node public key (Ed25519, base64)",
            report.node_key.to_base64(),
        ),
        ("Signature (Ed25519, base64)", report.head.signature.clone()),
    ] {
        out.push_str(&format!(
            "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
            esc(label),
            esc(&value)
        ));
    }
    out.push_str("</table>\n");
    for (summary, entries) in items {
        out.push_str(&format!("<h2>Item {}</h2>\n<table>\n", esc(&summary.id)));
        for (label, value) in [
            ("File", summary.file_name.clone()),
            ("Description", summary.description.clone()),
            ("Size (bytes)", summary.size.to_string()),
            ("SHA-256", summary.sha256.clone()),
            ("BLAKE3", summary.blake3.clone()),
            ("Markings", summary.markings.join(", ")),
        ] {
            out.push_str(&format!(
                "<tr><th>{}</th><td><code>{}</code></td></tr>\n",
                esc(label),
                esc(&value)
            ));
        }
        out.push_str("</table>\n");
        for problem in &summary.problems {
            out.push_str(&format!("<p class=\"bad\">Problem: {}</p>\n", esc(problem)));
        }
        out.push_str("<table>\n<tr><th>Entry</th><th>Time (UTC)</th><th>Event</th><th>By</th><th>Details</th></tr>\n");
        for entry in entries {
            let (name, detail) =
                event_of(entry).map_or(("", String::new()), |e| (event_name(e), event_detail(e)));
            out.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                entry.seq,
                esc(&rfc3339(entry)),
                name,
                esc(&entry.actor),
                esc(&detail)
            ));
        }
        out.push_str("</table>\n");
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn rfc3339(entry: &Entry) -> String {
    entry
        .time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn jsonld(report: &CustodyReport, items: &[(ItemSummary, Vec<Entry>)]) -> serde_json::Value {
    use serde_json::json;
    let case_id = format!("kb:investigation-{}", report.case);
    let mut graph = vec![json!({
        "@id": case_id,
        "@type": "case-investigation:Investigation",
        "uco-core:name": report.case,
        "case-investigation:focus": "chain of custody",
        "uco-core:object": items.iter().map(|(s, _)| json!({"@id": format!("kb:{}", s.id)})).collect::<Vec<_>>(),
    })];
    for (summary, entries) in items {
        let item_ref = format!("kb:{}", summary.id);
        graph.push(json!({
            "@id": item_ref,
            "@type": "uco-observable:File",
            "uco-core:hasFacet": [
                {
                    "@id": format!("kb:file-facet-{}", summary.id),
                    "@type": "uco-observable:FileFacet",
                    "uco-observable:fileName": summary.file_name,
                    "uco-observable:sizeInBytes": {"@type": "xsd:integer", "@value": summary.size.to_string()},
                },
                {
                    "@id": format!("kb:content-facet-{}", summary.id),
                    "@type": "uco-observable:ContentDataFacet",
                    "uco-observable:hash": [
                        {
                            "@id": format!("kb:hash-sha256-{}", summary.id),
                            "@type": "uco-types:Hash",
                            "uco-types:hashMethod": {"@type": "uco-vocabulary:HashNameVocab", "@value": "SHA256"},
                            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": summary.sha256},
                        },
                        {
                            "@id": format!("kb:hash-blake3-{}", summary.id),
                            "@type": "uco-types:Hash",
                            "uco-types:hashMethod": "BLAKE3",
                            "uco-types:hashValue": {"@type": "xsd:hexBinary", "@value": summary.blake3},
                        },
                    ],
                },
            ],
            "uco-core:description": summary.description,
        }));
        let record = format!("kb:provenance-record-{}", summary.id);
        graph.push(json!({
            "@id": record,
            "@type": "case-investigation:ProvenanceRecord",
            "case-investigation:exhibitNumber": summary.id,
            "uco-core:object": [{"@id": item_ref}],
        }));
        for entry in entries {
            let Some(event) = event_of(entry) else {
                continue;
            };
            graph.push(json!({
                "@id": format!("kb:custody-action-{}", entry.seq),
                "@type": "case-investigation:InvestigativeAction",
                "uco-core:name": event_name(event),
                "uco-core:description": event_detail(event),
                "uco-action:startTime": {"@type": "xsd:dateTime", "@value": rfc3339(entry)},
                "uco-action:performer": {"@id": format!("kb:identity-{}", entry.actor)},
                "uco-action:object": [{"@id": item_ref}],
                "uco-action:result": [{"@id": record}],
                "uco-core:externalReference": format!("palermo-ledger:{}:{}", report.node_key.fingerprint(), entry.seq),
            }));
        }
    }
    json!({
        "@context": {
            "kb": "http://example.org/kb/",
            "case-investigation": "https://ontology.caseontology.org/case/investigation/",
            "uco-action": "https://ontology.unifiedcyberontology.org/uco/action/",
            "uco-core": "https://ontology.unifiedcyberontology.org/uco/core/",
            "uco-observable": "https://ontology.unifiedcyberontology.org/uco/observable/",
            "uco-types": "https://ontology.unifiedcyberontology.org/uco/types/",
            "uco-vocabulary": "https://ontology.unifiedcyberontology.org/uco/vocabulary/",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
        },
        "@graph": graph,
    })
}

fn readme(report: &CustodyReport) -> String {
    format!(
        "Custody report for case {case}.\n\
         \n\
         Verify it offline with:  palermo evidence check-report THIS_DIRECTORY [--key NODE_KEY.pem]\n\
         and compare the key fingerprint it prints with the one the node publishes:\n\
         {fingerprint}\n\
         \n\
         To verify by hand (RFC 9162): for each entry in report.json, the leaf hash is\n\
         SHA-256(0x00 || entry bytes); fold it with the proof's path (node hash\n\
         SHA-256(0x01 || left || right)) to the root {root}; the tree head signature is\n\
         Ed25519 over \"palermo-sth-v1\\0\" || size (u64 BE) || timestamp_ms (u64 BE) || root,\n\
         with the key in {key_file}.\n",
        case = report.case,
        fingerprint = report.node_key.fingerprint(),
        root = report.head.head.root,
        key_file = REPORT_KEY,
    )
}
