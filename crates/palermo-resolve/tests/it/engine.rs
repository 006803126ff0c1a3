//! End-to-end behaviour of the engine: cross-script persons, calibration, clustering,
//! explanations and trivial inputs.

use std::collections::HashMap;

use palermo_resolve::{Config, Dataset, Property, Record, Resolution};

use crate::synth;

fn person(id: &str, values: &[(Property, &str)]) -> Record {
    Record::new(
        id,
        values.iter().map(|(p, v)| (*p, (*v).to_owned())).collect(),
    )
}

/// The synthetic population plus `extra` records, deduplicated.
fn dedupe_with(extra: Vec<Record>) -> (Resolution, HashMap<String, String>) {
    let (mut records, entity) = synth::population(400, 7);
    let mut truth: HashMap<String, String> = records
        .iter()
        .zip(&entity)
        .map(|(r, e)| (r.id.clone(), e.clone()))
        .collect();
    for r in &extra {
        let e = r.id.split('-').next().unwrap_or_default().to_owned();
        truth.insert(r.id.clone(), e);
    }
    records.extend(extra);
    let res = Resolution::dedupe(synth::dataset(records), &Config::default()).unwrap();
    (res, truth)
}

fn cluster_of<'a>(res: &'a Resolution, id: &str) -> &'a str {
    let i = res.records().iter().position(|r| r.id == id).unwrap();
    let c = res.clusters().unwrap()[i] as usize;
    &res.records()[c].id
}

#[test]
fn cross_script_aliases_resolve_to_one_person() {
    use Property::*;
    let extra = vec![
        person(
            "rashid-1",
            &[
                (Name, "Ahmed Al-Rashid"),
                (PassportNumber, "P1234567"),
                (BirthDate, "1984-03-02"),
            ],
        ),
        person(
            "rashid-2",
            &[
                (FirstName, "Achmed"),
                (LastName, "Alrasheed"),
                (PassportNumber, "P 123 4567"),
                (BirthDate, "1984-03-02"),
            ],
        ),
        person(
            "rashid-3",
            &[
                (Name, "AL RASHID Ahmed"),
                (PassportNumber, "P1234567"),
                (BirthDate, "02/03/1984"),
            ],
        ),
        person(
            "rashid-4",
            &[(Name, "أحمد الرشيد"), (PassportNumber, "P1234567")],
        ),
        person(
            "yush-1",
            &[
                (Name, "Юрий Ющенко"),
                (BirthDate, "1961-07-11"),
                (City, "Kyiv"),
            ],
        ),
        person(
            "yush-2",
            &[
                (FirstName, "Juri"),
                (LastName, "Juschtschenko"),
                (BirthDate, "1961-07-11"),
            ],
        ),
        person(
            "yush-3",
            &[
                (FirstName, "Iouri"),
                (LastName, "Iouchtchenko"),
                (BirthDate, "1961-07-11"),
            ],
        ),
        person(
            "yush-4",
            &[
                (FirstName, "Yuriy"),
                (LastName, "Yushchenko"),
                (BirthDate, "1961-07-11"),
                (City, "Kyiv"),
            ],
        ),
        person("mao-1", &[(Name, "毛泽东"), (BirthDate, "1893-12-26")]),
        person(
            "mao-2",
            &[
                (FirstName, "Zedong"),
                (LastName, "Mao"),
                (BirthDate, "1893-12-26"),
            ],
        ),
        person(
            "other-1",
            &[
                (FirstName, "Ahmed"),
                (LastName, "Haddad"),
                (BirthDate, "1990-01-01"),
                (PassportNumber, "X9999999"),
            ],
        ),
    ];
    let (res, truth) = dedupe_with(extra);
    for group in [
        &["rashid-1", "rashid-2", "rashid-3", "rashid-4"][..],
        &["yush-1", "yush-2", "yush-3", "yush-4"],
        &["mao-1", "mao-2"],
    ] {
        let c = cluster_of(&res, group[0]);
        for id in group {
            assert_eq!(
                cluster_of(&res, id),
                c,
                "{id} not with {}: {}",
                group[0],
                res.explain(group[0], id).unwrap().to_text()
            );
        }
    }
    assert_ne!(cluster_of(&res, "other-1"), cluster_of(&res, "rashid-1"));
    let eval = res.evaluate(&truth);
    assert!(eval.cluster_pairs.unwrap().f1 > 0.95, "{eval:?}");
    assert!(eval.cluster_bcubed.unwrap().f1 > 0.95, "{eval:?}");
    assert!(eval.blocking_recall > 0.97, "{eval:?}");
}

#[test]
fn short_names_have_no_cliff_and_rare_names_count_more() {
    use Property::*;
    let extra = vec![
        person(
            "jon-1",
            &[
                (FirstName, "Jon"),
                (LastName, "Smith"),
                (BirthDate, "1970-05-05"),
            ],
        ),
        person(
            "jon-2",
            &[
                (FirstName, "John"),
                (LastName, "Smith"),
                (BirthDate, "1970-05-05"),
            ],
        ),
        person(
            "jth-1",
            &[
                (FirstName, "Jonathan"),
                (LastName, "Smithson"),
                (BirthDate, "1971-06-06"),
            ],
        ),
        person(
            "jth-2",
            &[
                (FirstName, "Jonathon"),
                (LastName, "Smithson"),
                (BirthDate, "1971-06-06"),
            ],
        ),
        person(
            "common-1",
            &[
                (FirstName, "Ahmed"),
                (LastName, "Ali"),
                (BirthDate, "1980-01-02"),
            ],
        ),
        person(
            "common-2",
            &[
                (FirstName, "Ahmed"),
                (LastName, "Ali"),
                (BirthDate, "1980-01-02"),
            ],
        ),
        person(
            "rare-1",
            &[
                (FirstName, "Zebulon"),
                (LastName, "Quarrington"),
                (BirthDate, "1980-01-02"),
            ],
        ),
        person(
            "rare-2",
            &[
                (FirstName, "Zebulon"),
                (LastName, "Quarrington"),
                (BirthDate, "1980-01-02"),
            ],
        ),
    ];
    let (res, _) = dedupe_with(extra);
    let short = res.explain("jon-1", "jon-2").unwrap();
    let long = res.explain("jth-1", "jth-2").unwrap();
    assert!(
        short.probability > 0.9 && long.probability > 0.9,
        "{}\n{}",
        short.to_text(),
        long.to_text()
    );
    assert!(
        (short.total_bits - long.total_bits).abs() < 2.0,
        "{}\n{}",
        short.to_text(),
        long.to_text()
    );
    // Term frequencies: a match on a common name counts less than on a rare one.
    let name_bits = |a: &str, b: &str| {
        let e = res.explain(a, b).unwrap();
        e.fields
            .iter()
            .filter(|f| f.field.ends_with("Name"))
            .map(|f| f.bits)
            .sum::<f64>()
    };
    assert!(name_bits("rare-1", "rare-2") > name_bits("common-1", "common-2") + 4.0);
    assert!(
        res.explain("nobody", "jon-1").is_err(),
        "unknown ids are an error, not a panic"
    );
}

#[test]
fn explanations_add_up_and_serialise() {
    use Property::*;
    let extra = vec![
        person(
            "x-1",
            &[
                (FirstName, "Leila"),
                (LastName, "Haddad"),
                (BirthDate, "1988-08-08"),
                (PassportNumber, "P7777777"),
            ],
        ),
        person(
            "x-2",
            &[
                (Name, "HADDAD Leila"),
                (BirthDate, "1988-08-08"),
                (PassportNumber, "P7777777"),
            ],
        ),
    ];
    let (res, _) = dedupe_with(extra);
    let e = res.explain("x-1", "x-2").unwrap();
    let sum: f64 = e.prior_bits + e.fields.iter().map(|f| f.bits).sum::<f64>();
    assert!((sum - e.total_bits).abs() < 1e-9, "{}", e.to_text());
    assert!(e.probability > 0.99 && e.probability < 1.0);
    let json = serde_json::to_value(&e).unwrap();
    assert_eq!(json["fields"][0]["field"], "givenName");
    assert!(e.to_text().contains("passportNumber"));
}

#[test]
fn trivial_inputs_give_trivial_answers() {
    let one = || Dataset::from_records("one", vec![person("a", &[(Property::Name, "Ann Lee")])]);
    let res = Resolution::dedupe(one(), &Config::default()).unwrap();
    assert_eq!(res.clusters().unwrap(), &[0]);
    let mut out = Vec::new();
    res.write_clusters(&mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "record_id,cluster_id\na,a\n"
    );
    let res = Resolution::link(one(), one(), &Config::default()).unwrap();
    let mut out = Vec::new();
    assert_eq!(res.write_pairs(&mut out).unwrap(), res.pairs().count());
    let empty = || Dataset::from_records("empty", Vec::new());
    let res = Resolution::dedupe(empty(), &Config::default()).unwrap();
    assert_eq!(res.clusters().unwrap().len(), 0);
    let res = Resolution::link(empty(), one(), &Config::default()).unwrap();
    assert_eq!(res.pairs().count(), 0);
    let bad = Config {
        threshold: 1.5,
        ..Config::default()
    };
    assert!(Resolution::dedupe(one(), &bad).is_err());
}

#[test]
fn link_finds_the_same_person_across_files() {
    let (records, entity) = synth::population(300, 11);
    let (mut left, mut right) = (Vec::new(), Vec::new());
    let mut truth = HashMap::new();
    for (r, e) in records.into_iter().zip(entity) {
        truth.insert(r.id.clone(), e);
        if r.id.ends_with("-r0") {
            left.push(r)
        } else {
            right.push(r)
        }
    }
    let res = Resolution::link(
        synth::dataset(left),
        synth::dataset(right),
        &Config::default(),
    )
    .unwrap();
    let eval = res.evaluate(&truth);
    assert!(eval.pairs.f1 > 0.95, "{eval:?}");
}
