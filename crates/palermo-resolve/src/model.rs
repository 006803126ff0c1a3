//! Fellegi–Sunter scoring: m and u per field level, estimated without labels (u from
//! random pairs, m and the match rate by expectation–maximisation over the candidate
//! pairs), term-frequency adjustment for names, and calibrated probabilities.

use std::collections::HashMap;

use serde::Serialize;

use crate::compare::{FIELDS, FREQ_MASK, Field, Gamma, MISSING, N_FIELDS, THAI_SPELLING};

/// Most levels any field has.
pub(crate) const MAX_LEVELS: usize = 6;
/// Log-odds (bits) are squashed into ±this, so a probability never reaches exactly 0 or
/// 1 (the independence assumption of Fellegi–Sunter cannot justify more certainty).
/// Weights up to ±[`LINEAR_BITS`] are kept as they are; beyond, they are compressed
/// smoothly and monotonically ([`squash`]), so stronger evidence still ranks higher.
pub const MAX_BITS: f64 = 40.0;
/// Weights with an absolute value up to this are not compressed.
pub const LINEAR_BITS: f64 = 24.0;

/// Compresses a match weight into `(-MAX_BITS, MAX_BITS)`: identity within
/// ±[`LINEAR_BITS`], then a tanh knee.
pub fn squash(bits: f64) -> f64 {
    let span = MAX_BITS - LINEAR_BITS;
    if bits.abs() <= LINEAR_BITS {
        bits
    } else {
        bits.signum() * (LINEAR_BITS + span * ((bits.abs() - LINEAR_BITS) / span).tanh())
    }
}

/// Parameters of one field.
#[derive(Debug, Clone, Serialize)]
pub struct FieldParams {
    /// The field.
    pub field: Field,
    /// Level labels, best first.
    pub levels: Vec<&'static str>,
    /// P(level | match) per level.
    pub m: Vec<f64>,
    /// P(level | non-match) per level.
    pub u: Vec<f64>,
}

/// A trained Fellegi–Sunter model.
#[derive(Debug, Clone, Serialize)]
pub struct Model {
    /// Parameters of each active field.
    pub fields: Vec<FieldParams>,
    /// Prior probability that two random records (one per side when linking) match.
    pub prior: f64,
    /// Match rate among the candidate pairs, as estimated by EM.
    pub candidate_match_rate: f64,
    /// EM iterations run.
    pub em_iterations: usize,
    /// Records counted for name term frequencies.
    pub tf_records: u32,
    /// How many times more likely two records that share a given name share the family
    /// name too than two random records do (1 = independent). Used for the family name's
    /// u when the full name's frequency is not known (a store that does not count it).
    /// Stored with the model ([`crate::StoredModel`]); left out of this type's JSON, which
    /// reports print.
    #[serde(skip)]
    pub name_dependence: f64,
    #[serde(skip)]
    pub(crate) m: [[f64; MAX_LEVELS]; N_FIELDS],
    #[serde(skip)]
    pub(crate) u: [[f64; MAX_LEVELS]; N_FIELDS],
    #[serde(skip)]
    pub(crate) active: [bool; N_FIELDS],
}

/// Weight, in records, of the family name's own frequency in its frequency among the
/// records sharing the given name (see `Model::part`).
const NAME_PRIOR_RECORDS: f64 = 10.0;

/// Smallest probability allowed for any m or u.
const FLOOR: f64 = 1e-6;
/// Weight, in pairs, of the default u (a prior that matters only for small files, where
/// random pairs are few and include many matches).
const U_PRIOR_PAIRS: f64 = 200.0;
/// Weight, in matches, of the default m.
const M_PRIOR_MATCHES: f64 = 5.0;

/// Default m: agreement likely among matches.
fn default_m(n_levels: usize, level: usize) -> f64 {
    if level == 0 {
        0.9
    } else {
        0.1 / (n_levels - 1) as f64
    }
}

/// Default u: agreement unlikely among non-matches.
fn default_u(n_levels: usize, level: usize) -> f64 {
    let rest = n_levels - 1;
    match level {
        0 => 0.005,
        l if l == rest => 1.0 - 0.005 - 0.01 * (rest - 1) as f64,
        _ => 0.01,
    }
}

/// Counts of levels per field, for u estimation from random pairs.
#[derive(Debug, Clone)]
pub(crate) struct LevelCounts(pub(crate) [[f64; MAX_LEVELS]; N_FIELDS]);

impl LevelCounts {
    pub(crate) fn new() -> LevelCounts {
        LevelCounts([[0.0; MAX_LEVELS]; N_FIELDS])
    }

    pub(crate) fn add(&mut self, g: &Gamma) {
        for (f, &l) in g.levels.iter().enumerate() {
            if l != MISSING {
                self.0[f][usize::from(l)] += 1.0;
            }
        }
    }

    pub(crate) fn merge(mut self, other: LevelCounts) -> LevelCounts {
        for f in 0..N_FIELDS {
            for l in 0..MAX_LEVELS {
                self.0[f][l] += other.0[f][l];
            }
        }
        self
    }
}

fn normalise(row: &mut [f64], n_levels: usize, pseudo: f64) {
    let total: f64 = row[..n_levels].iter().sum::<f64>() + pseudo * n_levels as f64;
    for v in row.iter_mut().take(n_levels) {
        *v = ((*v + pseudo) / total).max(FLOOR);
    }
}

/// Fewest candidate pairs caught by both anchor rules for the capture–recapture estimate
/// of the match rate to be used.
const MIN_RECAPTURED: f64 = 20.0;

/// Estimates the model; the flag is true when the match rate comes from capture–recapture
/// over the anchor rules (otherwise it is EM's).
///
/// `u_counts` come from random pairs (nearly all non-matches). `patterns` are the distinct
/// comparison vectors of the candidate pairs with their counts. `n_candidates / n_total`
/// converts the EM match rate among candidates into the prior over all pairs.
pub(crate) fn train(
    active: [bool; N_FIELDS],
    u_counts: &LevelCounts,
    patterns: &HashMap<[u8; N_FIELDS], u32>,
    n_candidates: u64,
    n_total: f64,
    tf_records: u32,
    max_iterations: usize,
) -> (Model, bool) {
    let mut u = [[0.0; MAX_LEVELS]; N_FIELDS];
    let mut m = [[0.0; MAX_LEVELS]; N_FIELDS];
    for field in FIELDS {
        let f = field.index();
        let n = field.levels().len();
        for l in 0..n {
            u[f][l] = u_counts.0[f][l] + U_PRIOR_PAIRS * default_u(n, l);
            m[f][l] = default_m(n, l);
        }
        normalise(&mut u[f], n, 0.0);
    }
    // EM over the candidate patterns; u among candidates is free too (candidates are not
    // random pairs), and only m and the match rate are kept for scoring.
    let mut u_c = u;
    let mut lambda = 0.1f64;
    // In pattern order, not the map's (randomly seeded) order: floating-point sums in a
    // fixed order make the model, and so the clusters, the same on every run.
    let mut pats: Vec<(&[u8; N_FIELDS], f64)> =
        patterns.iter().map(|(p, c)| (p, f64::from(*c))).collect();
    pats.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let total: f64 = pats.iter().map(|(_, c)| c).sum();
    // Start EM from anchor pairs rather than from generic defaults: pairs that agree
    // exactly on an identifier, or on given name, family name and full birth date, are
    // taken as matches for the first M-step. Without this, EM can settle on "same family"
    // (relatives, common surnames) as its match class.
    let anchor = |p: &[u8; N_FIELDS]| {
        let exact = |f: Field| p[f.index()] == 0 && active[f.index()];
        exact(Field::IdNumber)
            || exact(Field::PassportNumber)
            || exact(Field::Phone)
            || exact(Field::Email)
            || (exact(Field::GivenName) && exact(Field::FamilyName) && exact(Field::BirthDate))
    };
    let anchors: f64 = pats.iter().filter(|(p, _)| anchor(p)).map(|(_, c)| c).sum();
    if anchors >= 10.0 && anchors < total {
        let mut m_acc = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut u_acc = [[0.0; MAX_LEVELS]; N_FIELDS];
        for (pat, count) in &pats {
            let acc = if anchor(pat) { &mut m_acc } else { &mut u_acc };
            for f in 0..N_FIELDS {
                if pat[f] != MISSING && active[f] {
                    acc[f][usize::from(pat[f])] += count;
                }
            }
        }
        for field in FIELDS {
            let f = field.index();
            let n = field.levels().len();
            for (l, v) in m_acc[f].iter_mut().take(n).enumerate() {
                *v += M_PRIOR_MATCHES * default_m(n, l);
            }
            normalise(&mut m_acc[f], n, 0.0);
            normalise(&mut u_acc[f], n, 0.01);
            m[f] = m_acc[f];
            u_c[f] = u_acc[f];
        }
        lambda = (anchors / total).clamp(1e-6, 0.99);
    }
    let mut iterations = 0;
    // Each pattern's known levels as indices into a flattened `[field][level]` table, in
    // field order (the sums below run in the same order as over the fields): the loop
    // over all fields, skipping missing and inactive ones, was most of EM's time, which
    // runs on one core (0.2 CPU s at 1M pooled records).
    let (flat, spans) = flat_levels(&pats, &active);
    for _ in 0..max_iterations {
        iterations += 1;
        let mut m_acc = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut u_acc = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut match_mass = 0.0;
        // Logarithms once per iteration, not once per pattern and field.
        let ln_m = m.map(|row| row.map(f64::ln));
        let ln_u = u_c.map(|row| row.map(f64::ln));
        let (ln_m, ln_u) = (ln_m.as_flattened(), ln_u.as_flattened());
        let (ln_lambda, ln_not_lambda) = (lambda.ln(), (1.0 - lambda).ln());
        {
            let (m_flat, u_flat) = (m_acc.as_flattened_mut(), u_acc.as_flattened_mut());
            for ((_, count), span) in pats.iter().zip(&spans) {
                let known = &flat[span.0..span.1];
                let mut lm = ln_lambda;
                let mut lu = ln_not_lambda;
                for &i in known {
                    lm += ln_m[usize::from(i)];
                    lu += ln_u[usize::from(i)];
                }
                let g = 1.0 / (1.0 + (lu - lm).exp());
                match_mass += g * count;
                for &i in known {
                    m_flat[usize::from(i)] += g * count;
                    u_flat[usize::from(i)] += (1.0 - g) * count;
                }
            }
        }
        let new_lambda = (match_mass / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
        let mut delta = (new_lambda - lambda).abs();
        lambda = new_lambda;
        for field in FIELDS {
            let f = field.index();
            let n = field.levels().len();
            for (l, v) in m_acc[f].iter_mut().take(n).enumerate() {
                *v += M_PRIOR_MATCHES * default_m(n, l);
            }
            normalise(&mut m_acc[f], n, 0.0);
            normalise(&mut u_acc[f], n, 0.01);
            for l in 0..n {
                delta = delta.max((m_acc[f][l] - m[f][l]).abs());
            }
            m[f] = m_acc[f];
            u_c[f] = u_acc[f];
        }
        if delta < 1e-6 {
            break;
        }
    }
    // Anchor refinement (the idea of Splink's per-blocking-rule training): a field's m is
    // re-estimated from anchor pairs that were chosen *without* looking at that field —
    // names and birth date from identifier-exact pairs, identifiers from pairs exact on
    // name and birth date, other fields from both. This keeps EM from mistaking "same
    // surname" or "same given name" for "same person" on name-dominated candidate sets.
    let ids = [
        Field::IdNumber,
        Field::PassportNumber,
        Field::Phone,
        Field::Email,
    ];
    let by_id = |p: &[u8; N_FIELDS]| ids.iter().any(|f| p[f.index()] == 0 && active[f.index()]);
    let by_name = |p: &[u8; N_FIELDS]| {
        [Field::GivenName, Field::FamilyName, Field::BirthDate]
            .iter()
            .all(|f| p[f.index()] == 0 && active[f.index()])
    };
    let mut refined = false;
    for field in FIELDS {
        let f = field.index();
        if !active[f] {
            continue;
        }
        let n = field.levels().len();
        let use_pair = |p: &[u8; N_FIELDS]| {
            if ids.contains(&field) {
                // Chosen by name and birth date only: excluding pairs that agree on an
                // identifier here would leave exactly the pairs whose identifiers differ
                // or are missing, and m(exact) would come out near zero.
                by_name(p)
            } else if matches!(
                field,
                Field::GivenName | Field::FamilyName | Field::BirthDate
            ) {
                by_id(p)
            } else {
                by_id(p) || by_name(p)
            }
        };
        let mut acc = [0.0; MAX_LEVELS];
        for (pat, count) in &pats {
            if pat[f] != MISSING && use_pair(pat) {
                acc[usize::from(pat[f])] += count;
            }
        }
        if acc.iter().sum::<f64>() >= 20.0 {
            for (l, v) in acc.iter_mut().take(n).enumerate() {
                *v += M_PRIOR_MATCHES * default_m(n, l);
            }
            normalise(&mut acc, n, 0.0);
            m[f] = acc;
            refined = true;
        }
    }
    if refined {
        // The match rate under the refined m (u from random pairs), m held fixed.
        for _ in 0..50 {
            let mut mass = 0.0;
            let mut ln_ratio = [[0.0; MAX_LEVELS]; N_FIELDS];
            for f in 0..N_FIELDS {
                for l in 0..MAX_LEVELS {
                    ln_ratio[f][l] = (m[f][l] / u[f][l]).ln();
                }
            }
            for (pat, count) in &pats {
                let mut lr = (lambda / (1.0 - lambda)).ln();
                for f in 0..N_FIELDS {
                    let l = pat[f];
                    if l != MISSING && active[f] {
                        lr += ln_ratio[f][usize::from(l)];
                    }
                }
                mass += count / (1.0 + (-lr).exp());
            }
            let next = (mass / total.max(1.0)).clamp(1e-9, 1.0 - 1e-9);
            let done = (next - lambda).abs() < 1e-7;
            lambda = next;
            if done {
                break;
            }
        }
    }
    // Capture–recapture (Lincoln–Petersen) over the two anchor rules, which look at
    // disjoint fields: if agreeing on an identifier and agreeing on name and birth date
    // catch true matches independently, matches ≈ |by id| × |by name| / |both|. This does
    // not depend on the independence of the fields within the model, which name-heavy
    // candidate sets break (EM then counts namesakes as matches), so it is preferred
    // whenever the overlap is large enough to count on.
    let (mut in_id, mut in_name, mut in_both) = (0.0, 0.0, 0.0);
    for (pat, count) in &pats {
        let (a, b) = (by_id(pat), by_name(pat));
        if a {
            in_id += count;
        }
        if b {
            in_name += count;
        }
        if a && b {
            in_both += count;
        }
    }
    let anchored = in_both >= MIN_RECAPTURED;
    if anchored {
        lambda = (in_id * in_name / in_both / total.max(1.0)).clamp(1e-9, 0.99);
    }
    let prior = (lambda * n_candidates as f64 / n_total.max(1.0)).clamp(1e-12, 0.5);
    let mut fields = Vec::new();
    for field in FIELDS {
        let f = field.index();
        let n = field.levels().len();
        if active[f] {
            fields.push(FieldParams {
                field,
                levels: field.levels().to_vec(),
                m: m[f][..n].to_vec(),
                u: u[f][..n].to_vec(),
            });
        }
    }
    let model = Model {
        fields,
        prior,
        candidate_match_rate: lambda,
        em_iterations: iterations,
        tf_records,
        name_dependence: 1.0,
        m,
        u,
        active,
    };
    (model, anchored)
}

/// The known levels of each pattern as indices `field * MAX_LEVELS + level` (active
/// fields only, in field order), all in one list, and each pattern's span of it.
fn flat_levels(
    pats: &[(&[u8; N_FIELDS], f64)],
    active: &[bool; N_FIELDS],
) -> (Vec<u8>, Vec<(usize, usize)>) {
    let mut flat = Vec::with_capacity(pats.len() * N_FIELDS);
    let mut spans = Vec::with_capacity(pats.len());
    for (pat, _) in pats {
        let start = flat.len();
        for f in 0..N_FIELDS {
            let l = pat[f];
            if l != MISSING && active[f] {
                debug_assert!(usize::from(l) < MAX_LEVELS);
                // At most 16 × 6 = 96 indices: a byte holds them.
                flat.push((f * MAX_LEVELS + usize::from(l)) as u8);
            }
        }
        spans.push((start, flat.len()));
    }
    (flat, spans)
}

/// u of two spellings of one Thai name (`variant` with equal Thai keys, or `close` by one
/// letter in the script), from `u` (the level's, from the training pairs) and `share` (the
/// more common of the two names' share of the records): a stranger writes a rare Thai
/// name another way about as seldom as he carries it, so a rare name's second spelling
/// weighs more than the level does on average; a common name's never weighs less.
fn thai_spelling_u(u: f64, share: f64) -> f64 {
    share.max(FLOOR).min(u)
}

/// One field's part in a score.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Part {
    pub(crate) field: Field,
    pub(crate) m: f64,
    pub(crate) u: f64,
    pub(crate) weight: f64,
    pub(crate) tf_adjusted: bool,
}

impl Model {
    /// Prior log-odds in bits.
    pub fn prior_bits(&self) -> f64 {
        (self.prior / (1.0 - self.prior)).log2()
    }

    fn part(&self, g: &Gamma, f: usize) -> Option<Part> {
        let l = g.levels[f];
        if l == MISSING || !self.active[f] {
            return None;
        }
        let field = FIELDS[f];
        let li = usize::from(l);
        let m = self.m[f][li];
        let mut u = self.u[f][li];
        let mut tf_adjusted = false;
        if (li == 1 || li == 2) && matches!(field, Field::GivenName | Field::FamilyName) {
            let freq = if field == Field::GivenName {
                g.given_freq
            } else {
                g.family_freq
            };
            if freq & THAI_SPELLING != 0 && self.tf_records > 0 {
                let share = f64::from(freq & FREQ_MASK) / f64::from(self.tf_records);
                let adjusted = thai_spelling_u(u, share);
                tf_adjusted = adjusted < u;
                u = adjusted;
            }
        }
        if li == 0 && matches!(field, Field::GivenName | Field::FamilyName) {
            let freq = if field == Field::GivenName {
                g.given_freq
            } else {
                g.family_freq
            };
            if freq > 0 && self.tf_records > 0 {
                // u of agreeing on this value = its frequency (a rare name counts more).
                u = (f64::from(freq) / f64::from(self.tf_records)).max(FLOOR);
                tf_adjusted = true;
            }
            // Given and family names are not independent: a culture draws both from its
            // own pools, so two strangers who share a given name share the family name
            // far more often than the two frequencies multiplied suggest. When both agree
            // exactly, the family name's u is the share of records with this given name
            // that also carry this family name (at least its own frequency), so the two
            // name parts together weigh what the full name's frequency says.
            if field == Field::FamilyName && g.given_freq > 0 && tf_adjusted {
                let conditional = if g.name_freq > 0 {
                    // Among the other records with this given name (the pair's own two
                    // left out), the share with this family name, shrunk towards the
                    // family name's own frequency: a rare given name seen twice says
                    // nothing about which family names go with it.
                    let others = f64::from(g.name_freq.saturating_sub(2));
                    let given = f64::from(g.given_freq.saturating_sub(2));
                    (others + NAME_PRIOR_RECORDS * u) / (given + NAME_PRIOR_RECORDS)
                } else if g.levels[Field::GivenName.index()] == 0 {
                    // The full name's frequency is unknown: the family name's frequency
                    // scaled by how strongly the two go together in the training data.
                    u * self.name_dependence
                } else {
                    0.0
                };
                let conditional = conditional.min(1.0);
                if conditional > u {
                    u = conditional;
                }
            }
        }
        Some(Part {
            field,
            m,
            u,
            weight: (m / u).log2(),
            tf_adjusted,
        })
    }

    /// Every field's part of the score of `g`.
    pub(crate) fn parts(&self, g: &Gamma) -> Vec<Part> {
        (0..N_FIELDS).filter_map(|f| self.part(g, f)).collect()
    }

    /// The match weight (log-odds, bits) of `g`, prior included; [`probability`] turns it
    /// into a probability.
    pub(crate) fn bits(&self, g: &Gamma) -> f64 {
        let mut w = self.prior_bits();
        for f in 0..N_FIELDS {
            if let Some(p) = self.part(g, f) {
                w += p.weight;
            }
        }
        w
    }

    /// [`Model::bits`] for many comparisons: see [`Scorer`].
    pub(crate) fn scorer(&self) -> Scorer<'_> {
        let mut weights = [[0.0; MAX_LEVELS]; N_FIELDS];
        for (f, row) in weights.iter_mut().enumerate() {
            for (l, w) in row.iter_mut().enumerate() {
                // As `part` computes it where no term frequency applies.
                *w = (self.m[f][l] / self.u[f][l]).log2();
            }
        }
        Scorer {
            model: self,
            prior_bits: self.prior_bits(),
            weights,
        }
    }
}

/// Scores comparisons as [`Model::bits`] does, bit for bit, with each level's weight
/// looked up: computing a logarithm per field and pair was about 3% of a 1M pooled
/// dedupe's CPU. Only exact names and two spellings of one Thai name, whose u is (bounded
/// by) their term frequency, are computed per pair (by [`Model::part`], so the two cannot drift apart); the sum runs in the same order.
pub(crate) struct Scorer<'a> {
    model: &'a Model,
    prior_bits: f64,
    weights: [[f64; MAX_LEVELS]; N_FIELDS],
}

impl Scorer<'_> {
    /// The match weight of `g`, equal to `Model::bits(g)`.
    pub(crate) fn bits(&self, g: &Gamma) -> f64 {
        let mut w = self.prior_bits;
        for f in 0..N_FIELDS {
            let l = g.levels[f];
            if l == MISSING || !self.model.active[f] {
                continue;
            }
            let name = f == Field::GivenName.index() || f == Field::FamilyName.index();
            let thai_spelling = (l == 1 || l == 2)
                && name
                && (if f == Field::GivenName.index() {
                    g.given_freq
                } else {
                    g.family_freq
                }) & THAI_SPELLING
                    != 0;
            if (l == 0 && name) || thai_spelling {
                if let Some(p) = self.model.part(g, f) {
                    w += p.weight;
                }
            } else {
                w += self.weights[f][usize::from(l)];
            }
        }
        w
    }
}

/// Re-estimates the match rate among the candidates from their actual scores and moves
/// the prior (and `bits`, which include it) accordingly; returns the new match rate.
///
/// EM fits the match rate on comparison patterns, which carry no term frequencies, so on
/// name-dominated candidate sets (common names drawn from small pools) it counts every
/// pair that agrees on a common name as a likely match and the prior ends up many times
/// too high. Here the E-step runs on the scores as they will be used, term frequencies
/// and the joint name frequency included: the match rate is the fixed point of
/// `rate = mean(P(match | score, rate))`. The scores are binned (1/16 bit) so each
/// iteration is cheap.
pub(crate) fn refit_prior(model: &mut Model, bits: &mut [f32], n_total: f64) -> f64 {
    const STEP: f64 = 1.0 / 16.0;
    const RANGE: f64 = 96.0;
    let n_bins = (2.0 * RANGE / STEP) as usize + 1;
    if bits.is_empty() {
        return model.candidate_match_rate;
    }
    let prior_bits = model.prior_bits();
    let mut hist = vec![0u32; n_bins];
    for &b in bits.iter() {
        let lr = (f64::from(b) - prior_bits).clamp(-RANGE, RANGE);
        hist[((lr + RANGE) / STEP).round() as usize] += 1;
    }
    let bins: Vec<(f64, f64)> = hist
        .iter()
        .enumerate()
        .filter(|(_, c)| **c > 0)
        .map(|(i, c)| (i as f64 * STEP - RANGE, f64::from(*c)))
        .collect();
    let n = bits.len() as f64;
    let mut rate = model.candidate_match_rate.clamp(1e-9, 1.0 - 1e-9);
    for _ in 0..500 {
        let logit = (rate / (1.0 - rate)).log2();
        let mass: f64 = bins
            .iter()
            .map(|(lr, c)| c / (1.0 + (-(lr + logit)).exp2()))
            .sum();
        let next = (mass / n).clamp(1e-9, 1.0 - 1e-9);
        let done = (next - rate).abs() < 1e-9 + 1e-6 * rate;
        rate = next;
        if done {
            break;
        }
    }
    model.candidate_match_rate = rate;
    model.prior = (rate * n / n_total.max(1.0)).clamp(1e-12, 0.5);
    let shift = (model.prior_bits() - prior_bits) as f32;
    for b in bits.iter_mut() {
        *b += shift;
    }
    rate
}

/// The probability for a match weight in bits (squashed first, so never exactly 0 or 1).
pub fn probability(bits: f64) -> f64 {
    1.0 / (1.0 + (-squash(bits)).exp2())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scorer's looked-up weights give the very bits of `Model::bits`, term
    /// frequencies, missing and inactive fields included.
    #[test]
    fn scorer_equals_bits() {
        let mut x: u64 = 7;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut m = [[0.0; MAX_LEVELS]; N_FIELDS];
        let mut u = [[0.0; MAX_LEVELS]; N_FIELDS];
        for f in 0..N_FIELDS {
            for l in 0..MAX_LEVELS {
                m[f][l] = (next() % 1000 + 1) as f64 / 1001.0;
                u[f][l] = (next() % 1000 + 1) as f64 / 1003.0;
            }
        }
        let mut active = [true; N_FIELDS];
        active[5] = false;
        let model = Model {
            fields: Vec::new(),
            prior: 1e-6,
            candidate_match_rate: 0.05,
            em_iterations: 1,
            tf_records: 1000,
            name_dependence: 3.0,
            m,
            u,
            active,
        };
        let scorer = model.scorer();
        let mut exact_names = 0;
        for _ in 0..20_000 {
            let mut levels = [MISSING; N_FIELDS];
            for (f, l) in levels.iter_mut().enumerate() {
                let r = next() % 8;
                if r < 6 && (r as usize) < FIELDS[f].levels().len() {
                    *l = r as u8;
                }
            }
            if next() % 2 == 0 {
                (levels[0], levels[1]) = (0, 0);
                exact_names += 1;
            }
            let g = Gamma {
                levels,
                given_freq: (next() % 50) as u32,
                family_freq: (next() % 50) as u32,
                name_freq: (next() % 5) as u32,
                swapped: false,
                regrouped: false,
            };
            assert_eq!(scorer.bits(&g).to_bits(), model.bits(&g).to_bits(), "{g:?}");
        }
        assert!(exact_names > 5_000);
    }

    /// Two spellings of one Thai name (`variant` romanisations with one Thai key, `close`
    /// by one letter in the script) weigh by the name's frequency: a rare name's more than
    /// the level on average, a common name's never less; unmarked levels as trained.
    #[test]
    fn thai_spellings_weigh_by_frequency() {
        let m = [[0.5; MAX_LEVELS]; N_FIELDS];
        let u = [[0.01; MAX_LEVELS]; N_FIELDS];
        let model = Model {
            fields: Vec::new(),
            prior: 1e-6,
            candidate_match_rate: 0.05,
            em_iterations: 1,
            tf_records: 100_000,
            name_dependence: 3.0,
            m,
            u,
            active: [true; N_FIELDS],
        };
        for level in [1, 2] {
            let mut levels = [MISSING; N_FIELDS];
            levels[Field::GivenName.index()] = level;
            let gamma = |given_freq: u32| Gamma {
                levels,
                given_freq,
                family_freq: 0,
                name_freq: 0,
                swapped: false,
                regrouped: false,
            };
            let plain = model.bits(&gamma(3));
            let rare = model.bits(&gamma(3 | THAI_SPELLING));
            let common = model.bits(&gamma(5_000 | THAI_SPELLING));
            // 0.5 / 0.01 against 0.5 / (3 / 100,000).
            assert!(
                (rare - plain - (0.01_f64 / 3e-5).log2()).abs() < 1e-9,
                "level {level}: {rare} {plain}"
            );
            assert_eq!(common.to_bits(), plain.to_bits());
            let scorer = model.scorer();
            for g in [
                gamma(3),
                gamma(3 | THAI_SPELLING),
                gamma(5_000 | THAI_SPELLING),
            ] {
                assert_eq!(scorer.bits(&g).to_bits(), model.bits(&g).to_bits());
            }
        }
    }

    #[test]
    fn probability_never_saturates() {
        for (bits, lo, hi) in [
            (0.0, 0.5, 0.5),
            (1000.0, 0.999_999_999_99, 0.999_999_999_999_9),
            (-1000.0, 0.0, 1e-11),
        ] {
            let p = probability(bits);
            assert!(p >= lo && p <= hi && p > 0.0 && p < 1.0, "{bits} → {p}");
        }
        // Monotone above the knee: more evidence still ranks higher.
        assert!(probability(30.0) < probability(35.0));
        assert!(squash(60.0) < squash(70.0) && squash(70.0) < MAX_BITS);
        assert_eq!(squash(10.0), 10.0);
    }
}
