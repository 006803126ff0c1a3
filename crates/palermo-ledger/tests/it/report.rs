//! The custody report: renders, verifies offline, and detects edits and wrong keys.

use std::collections::BTreeMap;

use palermo_ledger::audit::{LogTip, seal_batch};
use palermo_ledger::entry::NewEntry;
use palermo_ledger::evidence::{CustodyEvent, digest_reader, item_id};
use palermo_ledger::merkle::{MemoryTree, inclusion_proof};
use palermo_ledger::report::{self, CustodyReport, ProvenEntry, REPORT_FORMAT, ReportItem};
use palermo_ledger::{EntryBody, NodeKey};
use time::OffsetDateTime;

fn files(key: &NodeKey) -> BTreeMap<String, Vec<u8>> {
    let now = OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap();
    let digests = digest_reader(&b"phone image bytes"[..], "phone.img").unwrap();
    let id = item_id("NL-1", &digests);
    let custody = |event| NewEntry {
        actor: "officer <de Vries>".into(),
        case: Some("NL-1".into()),
        time: None,
        body: EntryBody::EvidenceCustody {
            item: id.clone(),
            event,
        },
    };
    let batch = vec![
        NewEntry {
            actor: "node".into(),
            case: None,
            time: None,
            body: EntryBody::KeyChange {
                public_key: key.public().to_base64(),
                fingerprint: key.public().fingerprint(),
                previous: None,
                reason: "created".into(),
            },
        },
        custody(CustodyEvent::Intake {
            file_name: "phone.img".into(),
            digests,
            description: "Samsung phone image".into(),
            markings: vec!["TLP:AMBER".into()],
            seized_at: Some("Rotterdam".into()),
            seized_on: Some("2026-03-01".into()),
            seized_by: Some("J. de Vries".into()),
        }),
        custody(CustodyEvent::Transferred {
            from: "NL node".into(),
            to: "court".into(),
            note: None,
        }),
    ];
    let mut tip = LogTip::default();
    let sealed = seal_batch(&mut tip, batch, key, now).unwrap();
    let mut tree = MemoryTree::new();
    for e in &sealed.entries {
        tree.push(e.leaf);
    }
    let chain = sealed.entries[1..]
        .iter()
        .map(|e| ProvenEntry {
            entry: String::from_utf8(e.bytes.clone()).unwrap(),
            proof: inclusion_proof(&tree, e.seq, tree.len()).unwrap(),
        })
        .collect();
    let report = CustodyReport {
        format: REPORT_FORMAT.into(),
        case: "NL-1".into(),
        node_key: key.public(),
        head: sealed.head,
        items: vec![ReportItem { id, chain }],
    };
    report::render(&report).unwrap()
}

#[test]
fn report_round_trips_and_detects_edits() {
    let key = NodeKey::from_seed([4; 32]);
    let files = files(&key);
    let checked = report::check(&files, Some(&key.public())).unwrap();
    assert_eq!(
        (checked.n_items, checked.n_entries, checked.tree_size),
        (1, 2, 3)
    );
    let html = String::from_utf8(files["report.html"].clone()).unwrap();
    assert!(html.contains("officer &lt;de Vries&gt;"));
    assert!(
        String::from_utf8(files["case-uco.jsonld"].clone())
            .unwrap()
            .contains("case-investigation:ProvenanceRecord")
    );

    // A wrong expected key.
    let other = NodeKey::from_seed([5; 32]);
    assert!(report::check(&files, Some(&other.public())).is_err());

    // Edit every file in turn: one changed byte is caught.
    for name in files.keys() {
        let mut edited = files.clone();
        let bytes = edited.get_mut(name).unwrap();
        let pos = bytes.len() / 2;
        bytes[pos] = if bytes[pos] == b'7' { b'8' } else { b'7' };
        let err = report::check(&edited, None).unwrap_err();
        assert!(err.to_string().contains("custody report"), "{name}: {err}");
        let mut removed = files.clone();
        removed.remove(name);
        assert!(report::check(&removed, None).is_err(), "{name} removed");
    }

    // Rewriting an event in report.json breaks its inclusion proof.
    let json = String::from_utf8(files["report.json"].clone()).unwrap();
    let mut edited = files.clone();
    edited.insert(
        "report.json".into(),
        json.replace("court", "cour7").into_bytes(),
    );
    let err = report::check(&edited, None).unwrap_err().to_string();
    assert!(err.contains("does not verify"), "{err}");
}
