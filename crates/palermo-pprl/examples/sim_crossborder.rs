//! Cross-border PPRL on a `palermo-sim` population without the CLI: generates the
//! scenario (or reuses it), encodes every country's persons, matches every country pair,
//! scores the pairs against the ground truth restricted to true cross-border pairs, fits a
//! calibration on the first pair, and runs the frequent-bit-pattern attack on the last
//! country with the plaintext of a second simulation (another seed) as the attacker's
//! knowledge.
//!
//! Run with:
//! `cargo run --release -p palermo-pprl --example sim_crossborder -- DIR [PERSONS] [HARDENING] [THRESHOLD]`
//! (`bench/pprl/sim.sh` and `bench/pprl/attack.sh` do the same through the `palermo` CLI.)

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::Path;

use palermo_pprl::attack::{AttackConfig, Knowledge};
use palermo_pprl::{
    Blocking, Calibration, Clks, EncodeConfig, Encoder, Hardening, MatchConfig, Person,
};
use palermo_resolve::Mapping;

const COUNTRIES: [&str; 3] = ["TH", "MY", "NL"];

fn scenario(dir: &Path, persons: u64, seed: u64) -> palermo_sim::PersonLabels {
    if !dir.join("truth/records.csv").exists() {
        palermo_sim::prepare_output(dir, true).unwrap();
        let config = palermo_sim::Config::new(&COUNTRIES, persons, seed).unwrap();
        palermo_sim::write_scenario(&config, dir, &mut |_, _| {}).unwrap();
    }
    palermo_sim::PersonLabels::read(dir).unwrap()
}

fn people(dir: &Path, cc: &str) -> (Vec<String>, Vec<Person>) {
    let path = dir.join(cc).join("persons.csv");
    let file = std::fs::File::open(&path).unwrap();
    let mapping = Mapping::parse::<String>(&[]).unwrap();
    palermo_pprl::read_csv(file, &path.display().to_string(), "id", &mapping).unwrap()
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(args.first().map_or("sim-pprl", String::as_str)).to_path_buf();
    let persons: u64 = args.get(1).map_or(20_000, |s| s.parse().unwrap());
    let hardening = args
        .get(2)
        .map_or(Hardening::Balance, |s| Hardening::parse(s).unwrap());
    let threshold: f64 = args.get(3).map_or(0.8, |s| s.parse().unwrap());
    let target_dir = dir.join(format!("sim-7-{persons}"));
    let known_dir = dir.join(format!("sim-8-{persons}"));
    let labels = scenario(&target_dir, persons, 7);
    let config = EncodeConfig {
        hardening,
        ..EncodeConfig::standard()
    };
    let encoder = Encoder::new(b"sim cross-border group secret", config).unwrap();
    let mut sides: HashMap<&str, (Vec<String>, Vec<Person>, Clks)> = HashMap::new();
    for cc in COUNTRIES {
        let (ids, ps) = people(&target_dir, cc);
        let clks = encoder.encode_all(&ps);
        sides.insert(cc, (ids, ps, clks));
    }
    let entity = |id: &str| labels.true_person.get(id).cloned().unwrap_or_default();
    let (mut all_true, mut all_found, mut all_tp) = (0usize, 0usize, 0usize);
    println!("hardening {} threshold {threshold}", hardening.name());
    for (i, a) in COUNTRIES.iter().enumerate() {
        for b in &COUNTRIES[i + 1..] {
            let (ids_a, _, clks_a) = &sides[a];
            let (ids_b, _, clks_b) = &sides[b];
            let mut per_b: HashMap<String, usize> = HashMap::new();
            for id in ids_b {
                *per_b.entry(entity(id)).or_default() += 1;
            }
            let true_pairs: usize = ids_a
                .iter()
                .map(|id| per_b.get(&entity(id)).copied().unwrap_or(0))
                .sum();
            let mc = MatchConfig {
                threshold,
                top_k: None,
                one_to_one: false,
                blocking: Blocking::Exhaustive,
            };
            let (pairs, _) = palermo_pprl::match_clks(clks_a, clks_b, &mc).unwrap();
            let tp = pairs
                .iter()
                .filter(|p| entity(&ids_a[p.left as usize]) == entity(&ids_b[p.right as usize]))
                .count();
            let (p, r) = (
                tp as f64 / pairs.len().max(1) as f64,
                tp as f64 / true_pairs.max(1) as f64,
            );
            println!(
                "{a}-{b}: true {true_pairs} found {} tp {tp} P {p:.4} R {r:.4} F1 {:.4}",
                pairs.len(),
                2.0 * p * r / (p + r).max(1e-12)
            );
            all_true += true_pairs;
            all_found += pairs.len();
            all_tp += tp;
            if i == 0 && *b == COUNTRIES[1] {
                let low = MatchConfig {
                    threshold: 0.5,
                    top_k: Some(3),
                    ..mc
                };
                let (cand, _) = palermo_pprl::match_clks(clks_a, clks_b, &low).unwrap();
                let labelled: Vec<(f64, bool)> = cand
                    .iter()
                    .map(|p| {
                        let same =
                            entity(&ids_a[p.left as usize]) == entity(&ids_b[p.right as usize]);
                        (p.score, same)
                    })
                    .collect();
                let c = Calibration::fit(&labelled, clks_a.n_bits(), hardening.name(), a).unwrap();
                println!(
                    "calibration on {a}-{b}: {} pairs, {} matches, p=0.5 at Dice {:.3}, p=0.9 at Dice {:.3}",
                    c.pairs,
                    c.positives,
                    c.score_for(0.5),
                    c.score_for(0.9)
                );
            }
        }
    }
    let (p, r) = (
        all_tp as f64 / all_found.max(1) as f64,
        all_tp as f64 / all_true.max(1) as f64,
    );
    println!(
        "all: true {all_true} found {all_found} tp {all_tp} P {p:.4} R {r:.4} CROSS_BORDER_F1 {:.4}",
        2.0 * p * r / (p + r).max(1e-12)
    );
    let target = COUNTRIES[COUNTRIES.len() - 1];
    scenario(&known_dir, persons, 8);
    let (_, known) = people(&known_dir, target);
    let knowledge = Knowledge::from_people(&known, &config);
    let (_, truth, clks) = &sides[target];
    for containment in [0.95, 0.9, 0.8] {
        let ac = AttackConfig {
            containment,
            ..AttackConfig::default()
        };
        let result = palermo_pprl::attack::attack(clks, &knowledge, &ac);
        let s = palermo_pprl::attack::score(&result, truth);
        println!(
            "attack on {target} (containment {containment}): re-identified {} of {} ({:.2}%), tokens {}/{} right of {}, footprints {}, aligned {}",
            s.reidentified,
            s.records,
            100.0 * s.reidentification_rate,
            s.tokens_correct,
            s.tokens_guessed,
            s.tokens_total,
            s.footprints,
            s.aligned
        );
    }
}
