//! Engine benchmarks: normalising a record, and deduplicating / linking a synthetic
//! population end to end (each run asserts its quality first).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_resolve::{Config, Property, Record, Resolution};

#[path = "../tests/it/synth.rs"]
#[allow(dead_code, unreachable_pub)]
mod synth;

fn normalise(c: &mut Criterion) {
    let values = vec![
        (Property::Name, "AL RASHID Ahmed".to_owned()),
        (Property::BirthDate, "02/03/1984".to_owned()),
        (Property::PassportNumber, "P 123 4567".to_owned()),
    ];
    c.bench_function("record_new_latin", |b| {
        b.iter(|| Record::new("x", black_box(values.clone())))
    });
    let cyr = vec![(Property::Name, "Юрий Андреевич Ющенко".to_owned())];
    c.bench_function("record_new_cyrillic", |b| {
        b.iter(|| Record::new("x", black_box(cyr.clone())))
    });
}

fn dedupe(c: &mut Criterion) {
    let (records, entity) = synth::population(5_000, 3);
    let truth: HashMap<String, String> = records
        .iter()
        .zip(&entity)
        .map(|(r, e)| (r.id.clone(), e.clone()))
        .collect();
    let n = records.len();
    let run = || Resolution::dedupe(synth::dataset(records.clone()), &Config::default()).unwrap();
    let eval = run().evaluate(&truth);
    assert!(eval.cluster_pairs.unwrap().f1 > 0.9, "{eval:?}");
    let mut group = c.benchmark_group("dedupe");
    group.sample_size(10);
    group.bench_function(format!("synthetic_{n}_records"), |b| b.iter(run));
    group.finish();
}

criterion_group!(benches, normalise, dedupe);
criterion_main!(benches);
