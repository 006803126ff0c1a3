//! A small world of nodes, users and records, requests, and a fixed legal basis.

use palermo_law::{Cooperation, Date};
use palermo_policy::{BasisSource, RequestInfo, World, WorldInfo};

/// Nodes NL (two agencies), TH and XX; users; one record per marking situation.
pub(crate) const WORLD: &str = r#"{
  "nodes": [
    {"id": "nl", "jurisdiction": "NL", "agency": "NL Police"},
    {"id": "nl2", "jurisdiction": "NL", "agency": "NL KMar"},
    {"id": "th", "jurisdiction": "TH", "agency": "Royal Thai Police"},
    {"id": "xx", "jurisdiction": "BR", "agency": "Policia Federal"}
  ],
  "users": [
    {"id": "anna", "node": "nl", "roles": ["analyst"], "cases": ["C1"]},
    {"id": "sam", "node": "nl", "roles": ["supervisor"]},
    {"id": "lea", "node": "nl", "roles": ["legal-officer"]},
    {"id": "adm", "node": "nl", "roles": ["administrator"]},
    {"id": "kmar", "node": "nl2", "roles": ["analyst"], "cases": ["C1"]},
    {"id": "kmar2", "node": "nl2", "roles": ["analyst"]},
    {"id": "tom", "node": "th", "roles": ["analyst"]},
    {"id": "tsup", "node": "th", "roles": ["supervisor"]}
  ],
  "records": [
    {"id": "clear", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:CLEAR", "onward_sharing": false}},
    {"id": "green", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:GREEN", "onward_sharing": false}},
    {"id": "amber", "schema": "Person", "node": "nl", "case": "C1", "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}},
    {"id": "strict", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:AMBER+STRICT", "onward_sharing": false}},
    {"id": "red", "schema": "Person", "node": "nl", "recipients": ["anna"], "markings": {"tlp": "TLP:RED", "onward_sharing": false}},
    {"id": "h1", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:GREEN", "handling": "H1", "onward_sharing": false}},
    {"id": "victim", "schema": "Person", "node": "nl", "role": "victim", "case": "C1", "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}},
    {"id": "victim_red", "schema": "Person", "node": "nl", "role": "victim", "recipients": ["anna"], "markings": {"tlp": "TLP:RED", "onward_sharing": false}},
    {"id": "suspect", "schema": "Person", "node": "nl", "role": "suspect", "case": "C1", "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}},
    {"id": "expired", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:AMBER", "retain_until": "2020-01-01", "onward_sharing": false}},
    {"id": "purpose", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:AMBER", "purpose": {"case": "C1"}, "onward_sharing": false}},
    {"id": "purpose_perm", "schema": "Person", "node": "nl", "permitted_purposes": [{"case": "C9"}], "markings": {"tlp": "TLP:AMBER", "purpose": {"case": "C1"}, "onward_sharing": false}},
    {"id": "withheld", "schema": "Person", "node": "nl", "withhold_from": ["TH"], "markings": {"tlp": "TLP:AMBER", "onward_sharing": false}},
    {"id": "received", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:AMBER", "originator": {"node": "th", "agency": "Royal Thai Police"}, "onward_sharing": false}},
    {"id": "received_ok", "schema": "Person", "node": "nl", "markings": {"tlp": "TLP:AMBER", "originator": {"node": "th", "agency": "Royal Thai Police"}, "onward_sharing": true}}
  ]
}"#;

/// The fixture world.
pub(crate) fn world() -> World {
    World::new(WorldInfo::from_json(WORLD).unwrap()).unwrap()
}

/// Today in the tests.
pub(crate) fn today() -> Date {
    Date::new(2026, 11, 27).unwrap()
}

/// A legal basis known in advance: NL–TH for MLA, information and JIT only.
pub(crate) struct FixedBasis;

impl BasisSource for FixedBasis {
    fn instruments(&self, from: &str, to: &str, kind: Cooperation, _on: Date) -> Vec<String> {
        let mut pair = [from, to];
        pair.sort_unstable();
        let covered = matches!(
            kind,
            Cooperation::Mla | Cooperation::Information | Cooperation::Jit
        );
        if pair == ["NL", "TH"] && covered {
            vec!["UNTOC".to_owned()]
        } else {
            Vec::new()
        }
    }
}

/// A legal engine that never finds a basis.
pub(crate) struct NoBasis;

impl BasisSource for NoBasis {
    fn instruments(&self, _: &str, _: &str, _: Cooperation, _: Date) -> Vec<String> {
        Vec::new()
    }
}

/// Named requests used by the matrix.
pub(crate) fn request(name: &str) -> RequestInfo {
    let (kind, purpose, subject, node) = match name {
        "mla-th" => ("mla", "case:C1", "suspect", "th"),
        "mla-th-victim" => ("mla", "case:C1", "victim", "th"),
        "mla-th-c9" => ("mla", "case:C9", "suspect", "th"),
        "info-th" => ("information", "case:C1", "suspect", "th"),
        "extradition-th" => ("extradition", "case:C1", "suspect", "th"),
        "mla-xx" => ("mla", "case:C1", "suspect", "xx"),
        "local-nl2" => ("information", "case:C1", "suspect", "nl2"),
        _ => panic!("unknown fixture request {name}"),
    };
    RequestInfo {
        kind: kind.to_owned(),
        purpose: purpose.parse().unwrap(),
        subject_role: subject.parse().unwrap(),
        node: node.to_owned(),
        date: None,
    }
}
