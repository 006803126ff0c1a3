//! What each agency's view looks like: its own script, valid values,
//! resolvable references, markings, and mostly unrelated records.

use std::collections::{HashMap, HashSet};

use palermo_model::{PartialDate, Tlp, from_ftm_json, is_country};

use crate::util::{generate, read_csv};

fn script_share(values: &[String], in_script: impl Fn(char) -> bool) -> f64 {
    let n = values.iter().filter(|v| v.chars().any(&in_script)).count();
    n as f64 / values.len().max(1) as f64
}

#[test]
fn agencies_write_names_in_their_own_scripts() {
    let (dir, _) = generate("TH,MY,NL,UA,AE", 5000, 9);
    let names = |code: &str| -> Vec<String> {
        read_csv(&dir.path().join(code).join("persons.csv"))
            .into_iter()
            .map(|r| format!("{} {} {}", r["first_name"], r["last_name"], r["name"]))
            .collect()
    };
    let thai = |c: char| ('\u{0E00}'..='\u{0E7F}').contains(&c);
    let cyrillic = |c: char| ('\u{0400}'..='\u{04FF}').contains(&c);
    let arabic = |c: char| ('\u{0600}'..='\u{06FF}').contains(&c);
    assert!(script_share(&names("TH"), thai) > 0.5);
    assert!(script_share(&names("UA"), cyrillic) > 0.5);
    assert!(script_share(&names("AE"), arabic) > 0.5);
    for code in ["MY", "NL"] {
        let n = names(code);
        assert_eq!(
            script_share(&n, thai) + script_share(&n, cyrillic) + script_share(&n, arabic),
            0.0,
            "{code}"
        );
    }
    // The Dutch agency romanises Cyrillic its own way.
    let nl = names("NL").join(" ");
    assert!(
        nl.contains("sj") || nl.contains("oe") || nl.contains("ch"),
        "no Dutch romanisation in NL"
    );
}

#[test]
fn views_hold_valid_values_and_resolvable_references() {
    let (dir, summary) = generate("TH,MY,NL", 5000, 42);
    for c in &summary.countries {
        assert!(
            c.unrelated_share >= 0.9,
            "{}: only {:.3} unrelated",
            c.code,
            c.unrelated_share
        );
        let cdir = dir.path().join(&c.code);
        let mut ids = HashSet::new();
        for row in read_csv(&cdir.join("persons.csv")) {
            ids.insert(row["id"].clone());
            if !row["date_of_birth"].is_empty() {
                PartialDate::parse(&row["date_of_birth"]).unwrap();
            }
            for col in ["nationality", "country"] {
                assert!(row[col].is_empty() || is_country(&row[col]), "{}", row[col]);
            }
            let tlp: Tlp = row["tlp"].parse().unwrap();
            assert_eq!(tlp == Tlp::Red, row["role"] == "victim");
        }
        let mut refs = Vec::new();
        let mut schemas: HashMap<String, usize> = HashMap::new();
        for line in std::fs::read_to_string(cdir.join("entities.jsonl"))
            .unwrap()
            .lines()
        {
            let (entity, _) = from_ftm_json(line).unwrap();
            assert!(!entity.markings.onward_sharing);
            assert_eq!(
                entity.markings.originator.as_ref().unwrap().node,
                format!("{}-node", c.code.to_lowercase())
            );
            for prop in [
                "holder",
                "person",
                "document",
                "payerAccount",
                "beneficiaryAccount",
                "owner",
                "subject",
                "object",
                "member",
                "organization",
                "relative",
            ] {
                refs.extend(
                    entity
                        .get(prop)
                        .iter()
                        .map(|r| (entity.id.to_string(), r.clone())),
                );
            }
            if let Some(iban) = entity.first("iban") {
                assert!(palermo_sim::iban_valid(iban), "{iban}");
            }
            *schemas.entry(entity.schema.to_string()).or_default() += 1;
            ids.insert(entity.id.to_string());
        }
        for (from, to) in refs {
            assert!(
                ids.contains(&to),
                "{}: {from} refers to missing {to}",
                c.code
            );
        }
        for schema in [
            "Passport",
            "Phone",
            "BankAccount",
            "Payment",
            "Movement",
            "Advertisement",
            "Case",
        ] {
            assert!(
                schemas.get(schema).copied().unwrap_or(0) > 0,
                "{}: no {schema}",
                c.code
            );
        }
    }
}

#[test]
fn victims_are_red_and_phones_come_in_several_formats() {
    let (dir, _) = generate("TH,MY,NL", 3000, 4);
    let th = std::fs::read_to_string(dir.path().join("TH/entities.jsonl")).unwrap();
    let numbers: Vec<String> = th
        .lines()
        .filter_map(|l| from_ftm_json(l).ok())
        .filter(|(e, _)| e.schema == palermo_model::Schema::Phone)
        .filter_map(|(e, _)| e.first("number").map(str::to_owned))
        .collect();
    assert!(
        numbers
            .iter()
            .any(|n| n.starts_with("+66") && !n.contains(' '))
    );
    assert!(numbers.iter().any(|n| n.starts_with("+66 ")));
    assert!(numbers.iter().any(|n| n.starts_with('0')));
    let truth = read_csv(&dir.path().join("truth/records.csv"));
    let victim_sources: HashSet<&str> = truth
        .iter()
        .filter(|r| r["source"] == "victim_services")
        .map(|r| r["country"].as_str())
        .collect();
    assert!(!victim_sources.is_empty());
}
