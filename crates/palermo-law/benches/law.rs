//! Benchmarks of the legal engine: loading the embedded knowledge base and
//! answering the questions. Each benchmark asserts its answer.
//!
//! Run with: cargo bench -p palermo-law --bench law

#![allow(clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_law::{Conduct, Cooperation, Date, KnowledgeBase};
use std::hint::black_box;

fn benches(c: &mut Criterion) {
    let on = Date::parse("2024-06-01").unwrap();
    c.bench_function("load_embedded_kb", |b| {
        b.iter(|| {
            let kb = KnowledgeBase::embedded().unwrap();
            assert_eq!(kb.instruments().len(), 6);
            kb
        })
    });
    let kb = KnowledgeBase::embedded().unwrap();
    c.bench_function("basis_nl_th_mla", |b| {
        b.iter(|| {
            let a = palermo_law::basis(&kb, black_box("NL"), black_box("TH"), Cooperation::Mla, on)
                .unwrap();
            assert_eq!(a.bases[0].instrument_id, "UNTOC");
            a
        })
    });
    let conduct = Conduct::from_json(r#"{"acts":["recruitment"],"means":["deception"],"purpose":["sexual_exploitation"],"victim_age":16}"#).unwrap();
    c.bench_function("dual_criminality_gb_th", |b| {
        b.iter(|| {
            let a = palermo_law::dual_criminality(&kb, &conduct, "GB", "TH").unwrap();
            assert_eq!(a.dual_criminality, "yes");
            a
        })
    });
    c.bench_function("gaps_th", |b| {
        b.iter(|| palermo_law::gaps(&kb, black_box("TH"), on).unwrap())
    });
    let ten: Vec<String> = ["NL", "TH", "MY", "DE", "GB", "US", "PH", "VN", "ID", "KH"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    c.bench_function("matrix_10_states", |b| {
        b.iter(|| {
            let m = palermo_law::matrix(&kb, &ten, on).unwrap();
            assert_eq!(m.rows.len(), 45);
            m
        })
    });
}

criterion_group!(law, benches);
criterion_main!(law);
