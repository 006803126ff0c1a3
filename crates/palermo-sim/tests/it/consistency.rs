//! The truth is consistent with the views: every record maps to a true
//! entity of the right kind, and every check digit is valid unless the
//! document is a forgery marked as such.

use std::collections::{HashMap, HashSet};

use palermo_model::{from_ftm_json, to_ftm_json};

use crate::util::{generate, read_csv};

#[test]
fn every_record_maps_to_a_true_entity() {
    let (dir, summary) = generate("TH,MY,NL", 4000, 11);
    let truth = dir.path().join("truth");
    let ids = |file: &str, col: &str| -> HashSet<String> {
        read_csv(&truth.join(file))
            .into_iter()
            .map(|r| r[col].clone())
            .collect()
    };
    let persons = ids("persons.csv", "true_id");
    let documents = ids("documents.csv", "true_id");
    let accounts = ids("accounts.csv", "true_id");
    let phones = ids("phones.csv", "true_id");
    let ads = ids("ads.csv", "true_id");
    let orgs = ids("organisations.csv", "org_id");
    assert_eq!(persons.len(), 4000);

    let records = read_csv(&truth.join("records.csv"));
    let mut by_id: HashMap<String, &HashMap<String, String>> = HashMap::new();
    for r in &records {
        assert!(
            by_id.insert(r["record_id"].clone(), r).is_none(),
            "record id {} repeats",
            r["record_id"]
        );
        assert!(r["record_id"].starts_with(&format!("{}-", r["country"])));
        let true_id = &r["true_id"];
        let known = match r["schema"].as_str() {
            "Person" => persons.contains(true_id),
            "Passport" => documents.contains(true_id),
            "BankAccount" => accounts.contains(true_id),
            "Phone" => phones.contains(true_id),
            "Advertisement" => ads.contains(true_id),
            "Organization" => orgs.contains(true_id),
            _ => !true_id.is_empty(),
        };
        assert!(
            known,
            "record {} ({}) maps to unknown {true_id}",
            r["record_id"], r["schema"]
        );
    }

    // Every record of every view is in the truth, and nothing else is.
    let mut n_view_records = 0;
    for c in &summary.countries {
        let cdir = dir.path().join(&c.code);
        for row in read_csv(&cdir.join("persons.csv")) {
            let r = by_id
                .get(&row["id"])
                .unwrap_or_else(|| panic!("{} has no truth", row["id"]));
            assert_eq!(r["schema"], "Person");
            n_view_records += 1;
        }
        for line in std::fs::read_to_string(cdir.join("entities.jsonl"))
            .unwrap()
            .lines()
        {
            let (entity, warnings) = from_ftm_json(line).unwrap();
            assert!(warnings.is_empty(), "{warnings:?}");
            // The generator's own writer produces exactly the model's FtM JSON.
            assert_eq!(to_ftm_json(&entity), line);
            let r = by_id
                .get(entity.id.as_str())
                .unwrap_or_else(|| panic!("{} has no truth", entity.id));
            assert_eq!(r["schema"], entity.schema.as_str());
            n_view_records += 1;
        }
        assert_eq!(c.records, c.by_schema.values().sum::<u64>());
    }
    assert_eq!(n_view_records, records.len());
}

#[test]
fn check_digits_are_valid_unless_a_marked_forgery() {
    let (dir, summary) = generate("TH,MY,NL,UA,AE", 6000, 5);
    assert!(summary.truth.victims_on_false_documents > 0);
    let truth = dir.path().join("truth");
    let mut kinds = HashSet::new();
    for doc in read_csv(&truth.join("documents.csv")) {
        let (l1, l2) = (&doc["mrz1"], &doc["mrz2"]);
        assert_eq!((l1.len(), l2.len()), (44, 44), "{l1} {l2}");
        let ours = palermo_sim::td3_line2_valid(l2);
        // An independent parser agrees with our check digits.
        let parsed = mrz::parse_td3(l1, l2).map(|d| d.valid()).unwrap_or(false);
        assert_eq!(ours, parsed, "{l1}\n{l2}");
        let forged = doc["kind"] == "crude_forgery";
        assert_eq!(ours, !forged, "{} {l2}", doc["kind"]);
        assert_eq!(doc["check_digits_valid"], ours.to_string());
        if doc["kind"] == "genuine" {
            assert_eq!(doc["bearer"], doc["identity_of"]);
        } else {
            assert_ne!(
                doc["bearer"], doc["identity_of"],
                "a false document never carries the bearer's identity"
            );
        }
        kinds.insert(doc["kind"].clone());
    }
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    let mut ibans = 0;
    for acct in read_csv(&truth.join("accounts.csv")) {
        if !acct["iban"].is_empty() {
            assert!(palermo_sim::iban_valid(&acct["iban"]), "{}", acct["iban"]);
            assert_eq!(acct["iban_valid"], "true");
            ibans += 1;
        } else {
            assert!(!acct["account_number"].is_empty());
        }
    }
    assert!(ibans > 100);
}

#[test]
fn laundering_chains_and_memberships_refer_to_true_entities() {
    let (dir, _) = generate("TH,MY,NL", 4000, 3);
    let truth = dir.path().join("truth");
    let accounts: HashSet<String> = read_csv(&truth.join("accounts.csv"))
        .into_iter()
        .map(|r| r["true_id"].clone())
        .collect();
    let payments: HashSet<String> = read_csv(&truth.join("records.csv"))
        .into_iter()
        .filter(|r| r["schema"] == "Payment")
        .map(|r| r["true_id"].clone())
        .collect();
    let chains = read_csv(&truth.join("laundering.csv"));
    assert!(!chains.is_empty());
    let mut patterns = HashSet::new();
    for step in &chains {
        assert!(
            payments.contains(&step["payment_id"]),
            "{}",
            step["payment_id"]
        );
        assert!(
            accounts.contains(&step["to_account"]),
            "{}",
            step["to_account"]
        );
        assert!(step["from_account"].is_empty() || accounts.contains(&step["from_account"]));
        patterns.insert(step["pattern"].clone());
    }
    assert!(
        patterns.contains("fan_out") && patterns.contains("pass_through"),
        "{patterns:?}"
    );
    let persons: HashMap<String, HashMap<String, String>> = read_csv(&truth.join("persons.csv"))
        .into_iter()
        .map(|r| (r["true_id"].clone(), r))
        .collect();
    for m in read_csv(&truth.join("memberships.csv")) {
        assert_eq!(persons[&m["true_id"]]["status"], "offender");
        assert!(persons[&m["true_id"]]["orgs"].contains(&format!("{}:{}", m["org_id"], m["role"])));
    }
    let victims = persons.values().filter(|p| p["status"] == "victim").count();
    assert!(victims > 20, "{victims}");
}
