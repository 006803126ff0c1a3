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

/// Why true cross-border pairs are missed: for each missed pair, what differs between the
/// two records' encoded fields (synthetic data only; set `PALERMO_PPRL_DIAGNOSE=1`).
fn diagnose(
    a: &str,
    b: &str,
    (ids_a, people_a, clks_a): &(Vec<String>, Vec<Person>, Clks),
    (ids_b, people_b, clks_b): &(Vec<String>, Vec<Person>, Clks),
    pairs: &[palermo_pprl::Pair],
    entity: &dyn Fn(&str) -> String,
    threshold: f64,
) {
    let found: std::collections::HashSet<(u32, u32)> =
        pairs.iter().map(|p| (p.left, p.right)).collect();
    let mut by_entity: HashMap<String, Vec<usize>> = HashMap::new();
    for (j, id) in ids_b.iter().enumerate() {
        by_entity.entry(entity(id)).or_default().push(j);
    }
    let mut reasons: HashMap<&str, usize> = HashMap::new();
    let mut hist = [0usize; 10];
    let mut shown = 0;
    for (i, id) in ids_a.iter().enumerate() {
        for &j in by_entity.get(&entity(id)).map_or(&[][..], Vec::as_slice) {
            if found.contains(&(i as u32, j as u32)) {
                continue;
            }
            let d = clks_a.score(clks_a.row(i), clks_b.row(j));
            hist[((d * 10.0) as usize).min(9)] += 1;
            let (pa, pb) = (&people_a[i], &people_b[j]);
            let ta: std::collections::BTreeSet<&String> = pa.name_tokens.iter().collect();
            let tb: std::collections::BTreeSet<&String> = pb.name_tokens.iter().collect();
            let shared = ta.intersection(&tb).count();
            let mut why = Vec::new();
            if shared == 0 {
                why.push("no name token shared");
            } else if ta != tb {
                why.push("name tokens differ");
            }
            match (pa.birth, pb.birth) {
                (None, _) | (_, None) => why.push("birth missing"),
                (Some(x), Some(y)) if x != y => why.push("birth differs"),
                _ => {}
            }
            if pa.identifiers.is_empty() != pb.identifiers.is_empty() {
                why.push("id on one side");
            }
            if pa.sex != pb.sex {
                why.push("sex differs");
            }
            if pa.nationality != pb.nationality {
                why.push("nationality differs");
            }
            for w in &why {
                *reasons.entry(w).or_default() += 1;
            }
            if shown < 12 {
                shown += 1;
                println!("  missed {a}-{b} dice {d:.3} < {threshold}: {pa:?} | {pb:?}");
            }
        }
    }
    let mut wrong = 0;
    let mut false_reasons: HashMap<String, usize> = HashMap::new();
    for p in pairs {
        let (i, j) = (p.left as usize, p.right as usize);
        if entity(&ids_a[i]) != entity(&ids_b[j]) {
            let (pa, pb) = (&people_a[i], &people_b[j]);
            let mut ta = pa.name_tokens.clone();
            let mut tb = pb.name_tokens.clone();
            ta.sort();
            tb.sort();
            let names = if ta == tb {
                "same names"
            } else {
                "names differ"
            };
            let birth = match (pa.birth, pb.birth) {
                (None, _) | (_, None) => "birth missing",
                (Some(x), Some(y)) if x == y => "same birth",
                (Some(x), Some(y)) if x.year == y.year => "same year",
                _ => "birth differs",
            };
            let id = match (pa.identifiers.is_empty(), pb.identifiers.is_empty()) {
                (false, false) => "ids on both",
                (true, true) => "no ids",
                _ => "id on one side",
            };
            *false_reasons
                .entry(format!("{names}, {birth}, {id}"))
                .or_default() += 1;
            wrong += 1;
            if wrong <= 8 {
                println!(
                    "  false {a}-{b} dice {:.3}: {:?} | {:?}",
                    p.score, people_a[i], people_b[j]
                );
            }
        }
    }
    let mut reasons: Vec<_> = reasons.into_iter().collect();
    reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("  missed {a}-{b} by Dice decile {hist:?}; reasons {reasons:?}");
    let mut false_reasons: Vec<_> = false_reasons.into_iter().collect();
    false_reasons.sort_by_key(|r| std::cmp::Reverse(r.1));
    println!("  false {a}-{b}: {wrong}: {false_reasons:?}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = Path::new(args.first().map_or("sim-pprl", String::as_str)).to_path_buf();
    let persons: u64 = args.get(1).map_or(20_000, |s| s.parse().unwrap());
    let hardening = args
        .get(2)
        .map_or(Hardening::Balance, |s| Hardening::parse(s).unwrap());
    let threshold: f64 = args.get(3).map_or(0.8, |s| s.parse().unwrap());
    // `PALERMO_PPRL_SEED`: the simulation matched (default 7; the attacker's is the next).
    let seed: u64 = std::env::var("PALERMO_PPRL_SEED").map_or(7, |s| s.parse().unwrap());
    let target_dir = dir.join(format!("sim-{seed}-{persons}"));
    let known_dir = dir.join(format!("sim-{}-{persons}", seed + 1));
    let labels = scenario(&target_dir, persons, seed);
    // `PALERMO_PPRL_RECORD=1`: the record-level encoding of version 1 files.
    let base = if std::env::var_os("PALERMO_PPRL_RECORD").is_some() {
        EncodeConfig::standard()
    } else {
        EncodeConfig::field_level()
    };
    let mut config = EncodeConfig { hardening, ..base };
    // Weights to try, `PALERMO_PPRL_WEIGHTS=name_bigram,name_phonetic,birth_date,
    // birth_date_swapped,birth_year,sex,nationality,identifier,identifier_bigram[,
    // name_phonetic_bigram[,name_thai_bigram]]`.
    if let Ok(w) = std::env::var("PALERMO_PPRL_WEIGHTS") {
        let v: Vec<u32> = w.split(',').map(|x| x.trim().parse().unwrap()).collect();
        config.weights = palermo_pprl::Weights {
            name_bigram: v[0],
            name_phonetic: v[1],
            birth_date: v[2],
            birth_date_swapped: v[3],
            birth_year: v[4],
            sex: v[5],
            nationality: v[6],
            identifier: v[7],
            identifier_bigram: v[8],
            name_phonetic_bigram: v.get(9).copied().unwrap_or(0),
            name_thai_bigram: v.get(10).copied().unwrap_or(0),
        };
    }
    println!("weights {:?}", config.weights);
    let encoder = Encoder::new(b"sim cross-border group secret", config).unwrap();
    // Field scoring to try: `PALERMO_PPRL_SCORING=w1,…,w5,m1,…,m5,prefilter[,namesake
    // penalty]` (weights and missing similarities of name, birth year, birth day,
    // identifier, contact).
    let scoring = std::env::var("PALERMO_PPRL_SCORING").ok().map(|v| {
        let v: Vec<f64> = v.split(',').map(|x| x.trim().parse().unwrap()).collect();
        let mut s = encoder.scoring().unwrap();
        let n = s.fields.len();
        for (k, f) in s.fields.iter_mut().enumerate() {
            f.weight = v[k];
            f.missing = v[n + k];
        }
        s.prefilter = v[2 * n];
        if let Some(&penalty) = v.get(2 * n + 1) {
            s.namesake_penalty = penalty;
        }
        s
    });
    if let Some(s) = scoring.clone().or_else(|| encoder.scoring()) {
        println!("scoring {s:?}");
    }
    let mut sides: HashMap<&str, (Vec<String>, Vec<Person>, Clks)> = HashMap::new();
    for cc in COUNTRIES {
        let (ids, ps) = people(&target_dir, cc);
        let mut clks = encoder.encode_all(&ps);
        if let Some(s) = &scoring {
            clks = clks.with_scoring(s.clone()).unwrap();
        }
        sides.insert(cc, (ids, ps, clks));
    }
    let entity = |id: &str| labels.true_person.get(id).cloned().unwrap_or_default();
    // `PALERMO_PPRL_DUMP_WITHIN=DIR`: the same for pairs within each country (left < right).
    if let Ok(dir) = std::env::var("PALERMO_PPRL_DUMP_WITHIN") {
        for cc in COUNTRIES {
            let (ids, _, clks) = &sides[cc];
            let mc = MatchConfig {
                threshold,
                top_k: None,
                one_to_one: false,
                blocking: Blocking::Exhaustive,
                kernel: None,
            };
            let (pairs, _) = palermo_pprl::match_clks(clks, clks, &mc).unwrap();
            let mut out = String::new();
            for p in pairs.iter().filter(|p| p.left < p.right) {
                let same = entity(&ids[p.left as usize]) == entity(&ids[p.right as usize]);
                out.push_str(&format!(
                    "{:.4},{},{},{}\n",
                    p.score,
                    u8::from(same),
                    p.left,
                    p.right
                ));
            }
            std::fs::write(format!("{dir}/{cc}-{cc}.within"), out).unwrap();
        }
    }
    let (mut all_true, mut all_found, mut all_tp) = (0usize, 0usize, 0usize);
    let mut scored: Vec<(f64, bool)> = Vec::new();
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
                kernel: None,
            };
            let (pairs, _) = palermo_pprl::match_clks(clks_a, clks_b, &mc).unwrap();
            let tp = pairs
                .iter()
                .filter(|p| entity(&ids_a[p.left as usize]) == entity(&ids_b[p.right as usize]))
                .count();
            scored.extend(pairs.iter().map(|p| {
                (
                    p.score,
                    entity(&ids_a[p.left as usize]) == entity(&ids_b[p.right as usize]),
                )
            }));
            let (p, r) = (
                tp as f64 / pairs.len().max(1) as f64,
                tp as f64 / true_pairs.max(1) as f64,
            );
            println!(
                "{a}-{b}: true {true_pairs} found {} tp {tp} P {p:.4} R {r:.4} F1 {:.4}",
                pairs.len(),
                2.0 * p * r / (p + r).max(1e-12)
            );
            // `PALERMO_PPRL_DUMP=DIR`: per-field similarities of every pair found (-1 for
            // a field missing on a side) with its label, to tune the scoring offline.
            if let (Ok(dir), Some(scoring)) = (std::env::var("PALERMO_PPRL_DUMP"), clks_a.scoring())
            {
                let mut out = String::new();
                for p in &pairs {
                    let (x, y) = (clks_a.row(p.left as usize), clks_b.row(p.right as usize));
                    let mut start = 0;
                    for f in &scoring.fields {
                        let (u, v) = (&x[start..start + f.words], &y[start..start + f.words]);
                        start += f.words;
                        let (pu, pv) = (
                            palermo_pprl::clks::popcount(u),
                            palermo_pprl::clks::popcount(v),
                        );
                        let s = if pu == 0 || pv == 0 {
                            -1.0
                        } else {
                            palermo_pprl::dice(u, v)
                        };
                        out.push_str(&format!("{s:.4},"));
                    }
                    let same = entity(&ids_a[p.left as usize]) == entity(&ids_b[p.right as usize]);
                    out.push_str(&format!(
                        "{},{},{},{:.6}\n",
                        u8::from(same),
                        p.left,
                        p.right,
                        p.score
                    ));
                }
                std::fs::write(format!("{dir}/{a}-{b}.csv"), out).unwrap();
                std::fs::write(format!("{dir}/{a}-{b}.true"), true_pairs.to_string()).unwrap();
            }
            if std::env::var_os("PALERMO_PPRL_DIAGNOSE").is_some() {
                diagnose(a, b, &sides[a], &sides[b], &pairs, &entity, threshold);
            }
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
    // The F1 at the best Dice cut of the pairs found (pairs below the threshold are
    // never seen), to choose a threshold.
    scored.sort_by(|x, y| y.0.total_cmp(&x.0));
    let (mut best, mut best_cut, mut tp) = (0.0, threshold, 0usize);
    for (k, &(score, same)) in scored.iter().enumerate() {
        tp += usize::from(same);
        if scored.get(k + 1).is_some_and(|next| next.0 == score) {
            continue;
        }
        let f1 = 2.0 * tp as f64 / (k + 1 + all_true) as f64;
        if f1 > best {
            (best, best_cut) = (f1, score);
        }
    }
    println!("best Dice cut {best_cut:.3}: F1 {best:.4}");
    if std::env::var_os("PALERMO_PPRL_NO_ATTACK").is_some() {
        return;
    }
    let target = COUNTRIES[COUNTRIES.len() - 1];
    scenario(&known_dir, persons, seed + 1);
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
