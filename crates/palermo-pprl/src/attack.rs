//! A frequent-bit-pattern attack on Bloom-filter encodings, to measure what hardening
//! buys (after Christen, Schnell, Vatsalan & Ranbaduge, "Efficient cryptanalysis of Bloom
//! filters for privacy-preserving record linkage", PAKDD 2017, simplified).
//!
//! **Attack model.** The attacker holds a set of encodings (a stolen index, or the
//! encodings a linkage unit receives) but not the group secret. They know the encoding
//! method and its parameters (Kerckhoffs: field weights, filter length, hardening), and
//! the plaintext of a *similar* population — the distribution of name tokens, sexes,
//! nationalities and birth years among people like those encoded (for example a public
//! register of the same country). They cannot encode guesses themselves: without the
//! secret the bit positions of a q-gram are unknown. (A member of the sharing group holds
//! the secret and can encode any dictionary; that is a probing risk handled by quotas and
//! audit on the exchange, not by hardening, and is not modelled here. Neither is a
//! similarity-graph matching attack, which works on any encoding that preserves
//! similarity.)
//!
//! **Mining.** Every token an encoder inserts sets the same bit positions in every record
//! that contains it, so in the bit matrix (records × positions) the positions of a
//! frequent token form a group of columns that are all set on the token's records. For
//! each seed position the attacker greedily adds the column that co-occurs most above
//! chance with the records selected so far (a few steps narrow the records to those of
//! one token), then closes the set: every position set on at least `containment` of those
//! records joins the footprint, and the footprint's support is the records with at least
//! `containment` of its positions set. A second pass seeds again from each position with
//! the records of footprints already found removed, which reaches less frequent tokens.
//!
//! **Alignment.** A footprint's support size and its number of positions are compared with
//! each plaintext unit's expected frequency and expected footprint size (a name token sets
//! `phonetic + bigram × distinct bigrams` positions, so the size reveals its length);
//! units and footprints are paired greedily by the smallest cost. A record is
//! **re-identified** when the name tokens of the footprints it supports are exactly its
//! name tokens: the attacker then knows its full name.

use std::collections::{BTreeSet, HashMap};

use rayon::prelude::*;

use crate::clks::Clks;
use crate::encode::{EncodeConfig, Hardening, get_bit};
use crate::person::Person;

/// Tuning of the attack (the attacker may try several and keep the best).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttackConfig {
    /// Greedy narrowing steps from each seed position before the closure.
    pub greedy_steps: usize,
    /// Fraction of a footprint's records a position must be set on to join it, and of a
    /// footprint's positions a record must have set to support it.
    pub containment: f64,
    /// Smallest support of a footprint, as a fraction of the records.
    pub min_support: f64,
    /// Largest alignment cost of a footprint–unit pair that is kept.
    pub max_cost: f64,
    /// Mining passes (the second and later remove the records already explained).
    pub passes: usize,
    /// Weight of the relative footprint-size error against the log frequency ratio.
    pub size_weight: f64,
}

impl Default for AttackConfig {
    fn default() -> AttackConfig {
        AttackConfig {
            greedy_steps: 4,
            containment: 0.9,
            min_support: 0.002,
            max_cost: 0.7,
            passes: 2,
            size_weight: 1.0,
        }
    }
}

/// What kind of plaintext a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitKind {
    /// A name token (its phonetic key and bigrams).
    Name,
    /// Sex.
    Sex,
    /// Nationality.
    Nationality,
    /// Birth year.
    BirthYear,
}

/// One plaintext value the attacker knows the frequency of.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// What it is.
    pub kind: UnitKind,
    /// The value (a normalised name token, `m`, a nationality, a year).
    pub value: String,
    /// Fraction of the known population's records that contain it.
    pub frequency: f64,
    /// Expected number of distinct positions it sets.
    pub size: f64,
}

/// The attacker's knowledge: plaintext units of a similar population.
#[derive(Debug, Clone, Default)]
pub struct Knowledge {
    /// The units, most frequent first.
    pub units: Vec<Unit>,
}

impl Knowledge {
    /// Counts the units of `people` (the known population), with footprint sizes for the
    /// encoding `config` (its field weights and raw filter length).
    pub fn from_people(people: &[Person], config: &EncodeConfig) -> Knowledge {
        let w = &config.weights;
        // Name tokens, sex and nationality share the name segment (the whole filter at
        // record level); the birth year lies in the birth segment.
        let (name_l, birth_l) = match &config.fields {
            Some(f) => (f.name_bits as f64, f.year_bits as f64),
            None => (config.n_bits as f64, config.n_bits as f64),
        };
        // Expected distinct positions of m keyed-random draws among l.
        let distinct = |m: f64, l: f64| l * (1.0 - (1.0 - 1.0 / l).powf(m));
        let mut counts: HashMap<(UnitKind, String), usize> = HashMap::new();
        for p in people {
            let mut seen: BTreeSet<(UnitKind, String)> = BTreeSet::new();
            for t in &p.name_tokens {
                seen.insert((UnitKind::Name, t.clone()));
            }
            if let Some(s) = &p.sex {
                seen.insert((UnitKind::Sex, s.clone()));
            }
            if let Some(c) = &p.nationality {
                seen.insert((UnitKind::Nationality, c.clone()));
            }
            if let Some(d) = p.birth {
                seen.insert((UnitKind::BirthYear, format!("{:04}", d.year)));
            }
            for key in seen {
                *counts.entry(key).or_default() += 1;
            }
        }
        let n = people.len().max(1) as f64;
        let mut units: Vec<Unit> = counts
            .into_iter()
            .map(|((kind, value), count)| {
                let draws = match kind {
                    UnitKind::Name => {
                        let grams: BTreeSet<String> =
                            crate::encode::bigrams(&value).into_iter().collect();
                        let distinct_grams = |key: String| {
                            crate::encode::bigrams(&key)
                                .into_iter()
                                .collect::<BTreeSet<String>>()
                                .len() as f64
                        };
                        let (key_grams, thai_grams) = if config.fields.is_some() {
                            (
                                distinct_grams(palermo_resolve::normalize::phonetic_key(&value)),
                                distinct_grams(palermo_resolve::normalize::thai_key(&value)),
                            )
                        } else {
                            (0.0, 0.0)
                        };
                        f64::from(w.name_phonetic)
                            + f64::from(w.name_bigram) * grams.len() as f64
                            + f64::from(w.name_phonetic_bigram) * key_grams
                            + f64::from(w.name_thai_bigram) * thai_grams
                    }
                    UnitKind::Sex => f64::from(w.sex),
                    UnitKind::Nationality => f64::from(w.nationality),
                    UnitKind::BirthYear => f64::from(w.birth_year),
                };
                let l = if kind == UnitKind::BirthYear {
                    birth_l
                } else {
                    name_l
                };
                Unit {
                    kind,
                    value,
                    frequency: count as f64 / n,
                    size: distinct(draws, l),
                }
            })
            .collect();
        units.sort_by(|a, b| {
            b.frequency
                .total_cmp(&a.frequency)
                .then_with(|| a.value.cmp(&b.value))
        });
        Knowledge { units }
    }
}

/// A mined group of positions set together on a group of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footprint {
    /// The positions, ascending.
    pub positions: Vec<u32>,
    /// The supporting records, as a bit set over record indexes.
    support: Vec<u64>,
    /// The number of supporting records.
    pub support_count: u32,
}

impl Footprint {
    /// True when record `r` supports the footprint.
    pub fn supports(&self, r: usize) -> bool {
        self.support[r / 64] >> (r % 64) & 1 == 1
    }
}

/// The attack's outcome on one set of encodings.
#[derive(Debug, Clone, PartialEq)]
pub struct Attack {
    /// Footprints mined.
    pub footprints: Vec<Footprint>,
    /// `(footprint index, unit index)` pairs the alignment kept.
    pub aligned: Vec<(usize, usize)>,
    /// Per record, the name tokens the attacker believes it contains (sorted).
    pub guesses: Vec<Vec<String>>,
}

/// Scores of an attack against the true plaintext of the encoded records.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct AttackScore {
    /// Records attacked.
    pub records: usize,
    /// Records whose guessed name tokens are exactly their name tokens.
    pub reidentified: usize,
    /// `reidentified / records`.
    pub reidentification_rate: f64,
    /// Name tokens guessed, over all records.
    pub tokens_guessed: usize,
    /// Guessed name tokens that are right.
    pub tokens_correct: usize,
    /// Name tokens of all records (distinct per record).
    pub tokens_total: usize,
    /// Footprints mined.
    pub footprints: usize,
    /// Footprints aligned to a plaintext unit.
    pub aligned: usize,
}

/// Runs the attack on `clks` with the attacker's `knowledge`.
pub fn attack(clks: &Clks, knowledge: &Knowledge, config: &AttackConfig) -> Attack {
    let footprints = mine(clks, config);
    let aligned = align(&footprints, knowledge, clks.len(), config);
    let mut guesses: Vec<BTreeSet<String>> = vec![BTreeSet::new(); clks.len()];
    for &(f, u) in &aligned {
        let unit = &knowledge.units[u];
        if unit.kind != UnitKind::Name {
            continue;
        }
        for (r, g) in guesses.iter_mut().enumerate() {
            if footprints[f].supports(r) {
                g.insert(unit.value.clone());
            }
        }
    }
    Attack {
        footprints,
        aligned,
        guesses: guesses
            .into_iter()
            .map(|g| g.into_iter().collect())
            .collect(),
    }
}

/// Scores `attack` against the people that were encoded (same order).
pub fn score(attack: &Attack, truth: &[Person]) -> AttackScore {
    let mut s = AttackScore {
        records: truth.len(),
        reidentified: 0,
        reidentification_rate: 0.0,
        tokens_guessed: 0,
        tokens_correct: 0,
        tokens_total: 0,
        footprints: attack.footprints.len(),
        aligned: attack.aligned.len(),
    };
    for (guess, person) in attack.guesses.iter().zip(truth) {
        let real: BTreeSet<&str> = person.name_tokens.iter().map(String::as_str).collect();
        let guessed: BTreeSet<&str> = guess.iter().map(String::as_str).collect();
        s.tokens_total += real.len();
        s.tokens_guessed += guessed.len();
        s.tokens_correct += guessed.intersection(&real).count();
        if !real.is_empty() && real == guessed {
            s.reidentified += 1;
        }
    }
    s.reidentification_rate = s.reidentified as f64 / s.records.max(1) as f64;
    s
}

/// What `hardening` does to the bit matrix the attack mines, in one line.
pub fn describe(hardening: Hardening) -> &'static str {
    match hardening {
        Hardening::None => "raw filter: footprints are exact",
        Hardening::Balance => "balanced: complement bits added and permuted",
        Hardening::XorFold => "xor-folded: each bit mixes two raw bits",
        Hardening::Diffuse => "diffused: each bit mixes several keyed raw bits",
    }
}

/// The bit matrix by column: `cols[p]` is the set of records with position `p` set.
struct Columns {
    words: usize,
    cols: Vec<Vec<u64>>,
    counts: Vec<u32>,
    n: usize,
}

impl Columns {
    fn new(clks: &Clks) -> Columns {
        let n = clks.len();
        let words = n.div_ceil(64);
        let cols: Vec<Vec<u64>> = (0..clks.n_bits())
            .into_par_iter()
            .map(|p| {
                let mut col = vec![0u64; words];
                for r in 0..n {
                    if get_bit(clks.row(r), p) {
                        col[r / 64] |= 1 << (r % 64);
                    }
                }
                col
            })
            .collect();
        let counts = cols.iter().map(|c| popcount(c)).collect();
        Columns {
            words,
            cols,
            counts,
            n,
        }
    }
}

fn popcount(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}

fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Mines footprints (see the module docs).
pub fn mine(clks: &Clks, config: &AttackConfig) -> Vec<Footprint> {
    if clks.is_empty() {
        return Vec::new();
    }
    let cols = Columns::new(clks);
    let min_support = ((config.min_support * cols.n as f64).ceil() as u32).max(2);
    let mut found: Vec<Footprint> = Vec::new();
    for pass in 0..config.passes.max(1) {
        let mined: Vec<Footprint> = (0..clks.n_bits())
            .into_par_iter()
            .filter_map(|p| {
                let mut start = cols.cols[p].clone();
                if pass > 0 {
                    for f in found
                        .iter()
                        .filter(|f| f.positions.binary_search(&(p as u32)).is_ok())
                    {
                        for (s, x) in start.iter_mut().zip(&f.support) {
                            *s &= !x;
                        }
                    }
                }
                grow(clks, &cols, p, start, min_support, config)
            })
            .collect();
        let before = found.len();
        for f in mined {
            let duplicate = found
                .iter()
                .any(|g| jaccard(&g.positions, &f.positions) >= 0.8);
            if !duplicate {
                found.push(f);
            }
        }
        if found.len() == before {
            break;
        }
    }
    found.sort_by(|a, b| {
        b.support_count
            .cmp(&a.support_count)
            .then_with(|| a.positions.cmp(&b.positions))
    });
    found
}

/// Greedy narrowing from seed `p` with records `start`, then closure and support.
fn grow(
    clks: &Clks,
    cols: &Columns,
    p: usize,
    start: Vec<u64>,
    min_support: u32,
    config: &AttackConfig,
) -> Option<Footprint> {
    let n = cols.n as f64;
    let mut records = start;
    let mut count = popcount(&records);
    if count < min_support {
        return None;
    }
    let mut chosen = vec![p];
    for _ in 0..config.greedy_steps {
        let mut best: Option<(f64, usize)> = None;
        for (q, col) in cols.cols.iter().enumerate() {
            if chosen.contains(&q) {
                continue;
            }
            let both = f64::from(and_count(&records, col));
            let excess = both - f64::from(count) * f64::from(cols.counts[q]) / n;
            if best.is_none_or(|(e, _)| excess > e) {
                best = Some((excess, q));
            }
        }
        let Some((excess, q)) = best else { break };
        if excess <= 0.0 {
            break;
        }
        for (r, c) in records.iter_mut().zip(&cols.cols[q]) {
            *r &= c;
        }
        count = popcount(&records);
        chosen.push(q);
        if count < min_support {
            return None;
        }
    }
    let need = config.containment * f64::from(count);
    let positions: Vec<u32> = (0..cols.cols.len())
        .filter(|&q| f64::from(and_count(&records, &cols.cols[q])) >= need)
        .map(|q| q as u32)
        .collect();
    if positions.len() < 2 {
        return None;
    }
    let need = config.containment * positions.len() as f64;
    let mut support = vec![0u64; cols.words];
    let mut support_count = 0u32;
    for r in 0..cols.n {
        let row = clks.row(r);
        let set = positions
            .iter()
            .filter(|&&q| get_bit(row, q as usize))
            .count();
        if set as f64 >= need {
            support[r / 64] |= 1 << (r % 64);
            support_count += 1;
        }
    }
    (support_count >= min_support).then_some(Footprint {
        positions,
        support,
        support_count,
    })
}

fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - both;
    if union == 0 {
        0.0
    } else {
        both as f64 / union as f64
    }
}

/// Pairs footprints with plaintext units by frequency and size, greedily by cost.
fn align(
    footprints: &[Footprint],
    knowledge: &Knowledge,
    n: usize,
    config: &AttackConfig,
) -> Vec<(usize, usize)> {
    let n = n.max(1) as f64;
    let mut costs: Vec<(f64, usize, usize)> = Vec::new();
    for (f, fp) in footprints.iter().enumerate() {
        let observed = f64::from(fp.support_count) / n;
        let size = fp.positions.len() as f64;
        for (u, unit) in knowledge.units.iter().enumerate() {
            if unit.frequency <= 0.0 || unit.size <= 0.0 {
                continue;
            }
            let freq_cost = (observed / unit.frequency).ln().abs();
            if freq_cost > config.max_cost {
                continue;
            }
            let cost = freq_cost + config.size_weight * (size - unit.size).abs() / unit.size;
            if cost <= config.max_cost {
                costs.push((cost, f, u));
            }
        }
    }
    costs.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let mut used_f = vec![false; footprints.len()];
    let mut used_u = vec![false; knowledge.units.len()];
    let mut out = Vec::new();
    for (_, f, u) in costs {
        if !used_f[f] && !used_u[u] {
            used_f[f] = true;
            used_u[u] = true;
            out.push((f, u));
        }
    }
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use palermo_resolve::Property;

    use super::*;
    use crate::encode::Encoder;

    /// A population where name tokens follow a skewed distribution.
    fn population(n: usize, seed: u64) -> Vec<Person> {
        let first = [
            "anna", "maria", "olga", "irina", "elena", "natalia", "svetlana", "tatiana",
        ];
        let last = [
            "ivanova",
            "petrova",
            "sidorova",
            "smirnova",
            "kuznetsova",
            "popova",
            "volkova",
            "sokolova",
            "lebedeva",
            "kozlova",
        ];
        let mut state = seed;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) as usize
        };
        (0..n)
            .map(|_| {
                // Zipf-like: index i with weight ~ 1/(i+1).
                let pick = |len: usize, r: usize| {
                    let total: f64 = (1..=len).map(|i| 1.0 / i as f64).sum();
                    let mut x = (r % 10_000) as f64 / 10_000.0 * total;
                    for i in 0..len {
                        x -= 1.0 / (i + 1) as f64;
                        if x <= 0.0 {
                            return i;
                        }
                    }
                    len - 1
                };
                let f = first[pick(first.len(), next())];
                let l = last[pick(last.len(), next())];
                let year = 1950 + next() % 50;
                Person::from_values(&[
                    (Property::FirstName, f.to_owned()),
                    (Property::LastName, l.to_owned()),
                    (
                        Property::BirthDate,
                        format!("{year}-0{}-1{}", 1 + next() % 9, next() % 9),
                    ),
                    (Property::Gender, "f".to_owned()),
                ])
            })
            .collect()
    }

    fn run(hardening: Hardening) -> AttackScore {
        let config = EncodeConfig {
            n_bits: 512,
            hardening,
            ..EncodeConfig::standard()
        };
        let encoder = Encoder::new(b"attack test secret 0123", config).unwrap();
        let target = population(1500, 1);
        let known = Knowledge::from_people(&population(1500, 2), &config);
        let clks = encoder.encode_all(&target);
        score(&attack(&clks, &known, &AttackConfig::default()), &target)
    }

    #[test]
    fn reidentifies_raw_filters_and_diffusion_stops_it() {
        let raw = run(Hardening::None);
        assert!(
            raw.reidentification_rate > 0.1,
            "the attack should break raw filters of a skewed population: {raw:?}"
        );
        assert!(raw.tokens_correct * 2 >= raw.tokens_guessed, "{raw:?}");
        let diffused = run(Hardening::Diffuse);
        assert!(
            diffused.reidentification_rate < 0.01,
            "diffusion should stop it: {diffused:?}"
        );
    }

    #[test]
    fn knowledge_counts_and_sizes() {
        let config = EncodeConfig::standard();
        let people = vec![
            Person::from_values(&[(Property::Name, "Anna Lee"), (Property::Gender, "f")]),
            Person::from_values(&[(Property::Name, "Anna Kim")]),
        ];
        let k = Knowledge::from_people(&people, &config);
        let anna = k.units.iter().find(|u| u.value == "anna").unwrap();
        assert_eq!(anna.kind, UnitKind::Name);
        assert!((anna.frequency - 1.0).abs() < 1e-12);
        // phonetic 15 + bigram 10 × {_a, an, nn, na, a_} = 65 draws, ~63 distinct of 1024.
        assert!(anna.size > 60.0 && anna.size < 65.0, "{anna:?}");
        assert_eq!(k.units[0].value, "anna");
        assert!(
            k.units
                .iter()
                .any(|u| u.kind == UnitKind::Sex && u.value == "f")
        );
        assert!(mine(&Clks::new(64), &AttackConfig::default()).is_empty());
        assert!((jaccard(&[1, 2, 3], &[2, 3, 4]) - 0.5).abs() < 1e-12);
    }
}
