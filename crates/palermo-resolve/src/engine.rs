//! The resolution pipeline: term frequencies → blocking → comparison → EM → scoring →
//! clustering, for linking two data sets or deduplicating one.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::time::Instant;

use rayon::prelude::*;
use serde::Serialize;

use crate::blocking::{self, BlockingStats};
use crate::cluster;
use crate::compare::{self, FIELDS, Field, Gamma, MISSING, N_FIELDS};
use crate::error::{Error, Result};
use crate::memo::Fnv;
use crate::metrics::{self, Prf};
use crate::model::{self, LevelCounts, Model};
use crate::prefetch;
use crate::read::Dataset;
use crate::record::{FORMS_JOINED_BYTES, FORMS_TERM_BYTES, Record};

/// Tuning knobs; the defaults are what the CLI uses.
#[derive(Debug, Clone)]
pub struct Config {
    /// Probability at or above which a pair is a match.
    pub threshold: f64,
    /// Blocks with more records than this are split by sub-keys, and sub-blocks still
    /// larger are skipped (name and date keys split from [`crate::SUB_BLOCK_AT`] on).
    pub max_block: usize,
    /// Random pairs compared to estimate u.
    pub u_sample_pairs: usize,
    /// Candidate pairs used for EM (an even sample when there are more).
    pub em_sample_pairs: usize,
    /// EM iteration limit.
    pub em_max_iterations: usize,
    /// Seed of the random pair sample.
    pub seed: u64,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            threshold: 0.5,
            max_block: 400,
            u_sample_pairs: 100_000,
            em_sample_pairs: 2_000_000,
            em_max_iterations: 100,
            seed: 0x5EED,
        }
    }
}

/// Counts and timings of one run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Records on the left side (or all records when deduplicating).
    pub left_records: usize,
    /// Records on the right side (0 when deduplicating).
    pub right_records: usize,
    /// Blocking counts.
    pub blocking: BlockingStats,
    /// Candidate pairs scored at or above the threshold.
    pub pairs_at_threshold: usize,
    /// Clusters found (deduplication only).
    pub clusters: Option<usize>,
    /// Seconds per phase.
    pub seconds: Vec<(String, f64)>,
}

/// Quality against labelled data.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// Records that have a label.
    pub labelled_records: usize,
    /// True pairs among them.
    pub true_pairs: usize,
    /// Share of true pairs that blocking made candidates.
    pub blocking_recall: f64,
    /// Pairwise quality of the pairs at the threshold.
    pub pairs: Prf,
    /// Pairwise quality of the clusters (deduplication only).
    pub cluster_pairs: Option<Prf>,
    /// B-cubed quality of the clusters (deduplication only).
    pub cluster_bcubed: Option<Prf>,
}

/// A scored pair of records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Index of the left (or first) record.
    pub left: u32,
    /// Index of the right (or second) record.
    pub right: u32,
    /// Match weight in bits (log2 odds, prior included).
    pub bits: f64,
    /// Match probability.
    pub probability: f64,
}

/// One field's line in an explanation.
#[derive(Debug, Clone, Serialize)]
pub struct FieldExplanation {
    /// The field.
    pub field: &'static str,
    /// The comparison level (`missing` when either side has no value).
    pub level: &'static str,
    /// The left record's raw value(s).
    pub left: String,
    /// The right record's raw value(s).
    pub right: String,
    /// P(level | match).
    pub m: Option<f64>,
    /// P(level | non-match) (the value's frequency when term-frequency adjusted).
    pub u: Option<f64>,
    /// Contribution to the match weight, in bits.
    pub bits: f64,
    /// True if `u` is the frequency of this exact name.
    pub tf_adjusted: bool,
}

/// Why a pair scores what it scores: the prior and each field's match weight.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    /// Left record id.
    pub left_id: String,
    /// Right record id.
    pub right_id: String,
    /// Prior log-odds that two records match, in bits.
    pub prior_bits: f64,
    /// Per-field contributions.
    pub fields: Vec<FieldExplanation>,
    /// True when the names matched crosswise (given ↔ family).
    pub names_swapped: bool,
    /// True when the names matched as the same words grouped otherwise into given and
    /// family name (one side's full name was split by a guess).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub names_regrouped: bool,
    /// Total match weight in bits (the probability squashes it, see [`crate::squash`]).
    pub total_bits: f64,
    /// Match probability.
    pub probability: f64,
    /// Whether blocking made this pair a candidate.
    pub candidate: bool,
}

impl Explanation {
    /// Renders the explanation as a fixed-width table.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} vs {}: probability {} (match weight {:+.2} bits{})\n",
            self.left_id,
            self.right_id,
            format_probability(self.probability),
            self.total_bits,
            if self.candidate {
                ""
            } else {
                "; not a blocking candidate"
            }
        );
        s.push_str(&format!(
            "  {:<15} {:<10} {:>8}  {}\n",
            "field", "level", "bits", "values"
        ));
        s.push_str(&format!(
            "  {:<15} {:<10} {:>+8.2}\n",
            "prior", "", self.prior_bits
        ));
        for f in &self.fields {
            let tf = if f.tf_adjusted {
                " (rare-name adjusted)"
            } else {
                ""
            };
            s.push_str(&format!(
                "  {:<15} {:<10} {:>+8.2}  {:?} vs {:?}{}\n",
                f.field, f.level, f.bits, f.left, f.right, tf
            ));
        }
        if self.names_swapped {
            s.push_str("  names compared crosswise (given ↔ family)\n");
        }
        if self.names_regrouped {
            s.push_str("  names agree as the same words, split otherwise into given and family\n");
        }
        s
    }
}

/// A probability as text: enough digits to tell values near 1 apart.
pub fn format_probability(p: f64) -> String {
    format!("{p}")
}

/// A finished link or deduplication.
#[derive(Debug)]
pub struct Resolution {
    records: Vec<Record>,
    /// `Some(k)` when linking: records `0..k` are the left side.
    n_left: Option<usize>,
    model: Model,
    config: Config,
    candidates: Vec<u64>,
    bits: Vec<f32>,
    clusters: Option<Vec<u32>>,
    stats: Stats,
}

/// Candidate pairs up to which every comparison is kept between EM and scoring (about
/// 320 MB at 20 bytes a pair, [`Kept`]) rather than compared twice: comparing is most of the time
/// of a run, and at 1M pooled records (5.4M candidate pairs) the second pass cost as much
/// as the first. Larger inputs keep them too while there are at most
/// [`KEEP_COMPARISONS_PER_RECORD`] pairs a record.
const KEEP_COMPARISONS: usize = 16_000_000;

/// Candidate pairs a record may bring into the comparison cache: 16 pairs are 320 bytes,
/// about a record's own memory (296 bytes, its shared name forms aside), so the cache
/// grows with the input as the records do. Sub-blocking keeps
/// `palermo sim` at about 7 candidate pairs a record, so its 10M-record run compares
/// once, where the fixed limit alone made it compare every pair twice.
const KEEP_COMPARISONS_PER_RECORD: usize = 16;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn timed<T>(seconds: &mut Vec<(String, f64)>, name: &str, f: impl FnOnce() -> T) -> T {
    let (out, phase) = timed_apart(name, f);
    seconds.push(phase);
    out
}

/// [`timed`] for phases that run beside each other (their wall times overlap).
fn timed_apart<T>(name: &str, f: impl FnOnce() -> T) -> (T, (String, f64)) {
    let t = Instant::now();
    let out = f();
    (out, (name.to_owned(), t.elapsed().as_secs_f64()))
}

impl Resolution {
    /// Links two data sets: scores record pairs with one record from each side.
    pub fn link(left: Dataset, right: Dataset, config: &Config) -> Result<Resolution> {
        let n_left = left.records.len();
        let mut records = left.records;
        records.extend(right.records);
        Resolution::run(records, Some(n_left), config)
    }

    /// Deduplicates one data set: scores pairs and clusters records into persons.
    pub fn dedupe(data: Dataset, config: &Config) -> Result<Resolution> {
        Resolution::run(data.records, None, config)
    }

    fn run(mut records: Vec<Record>, n_left: Option<usize>, config: &Config) -> Result<Resolution> {
        if !(0.0..=1.0).contains(&config.threshold) {
            return Err(Error::InvalidThreshold(config.threshold));
        }
        let mut seconds = Vec::new();
        let n = records.len();
        let active = active_fields(&records, n_left);
        // Counting names, blocking and sampling u read the records and not each other's
        // results (neither blocking nor the levels of a comparison look at a name's
        // frequency), so they run side by side: each has stretches that keep one core
        // (merging counts, merging and scanning sorted lists), which the others fill.
        let ((counts, counting), (((candidates, blocking), blocking_time), (u_counts, u_time))) =
            rayon::join(
                || timed_apart("term_frequencies", || term_counts(&records)),
                || {
                    rayon::join(
                        || {
                            timed_apart("blocking", || {
                                blocking::candidates(&records, n_left, config.max_block.max(2))
                            })
                        },
                        || {
                            timed_apart("u_sampling", || {
                                sample_all_u(&records, n_left, active, config)
                            })
                        },
                    )
                },
            );
        let (name_dependence, applying) = timed_apart("term_frequencies", || {
            apply_term_counts(&mut records, &counts)
        });
        drop(counts);
        seconds.push((counting.0, counting.1 + applying.1));
        seconds.push(blocking_time);
        seconds.push(u_time);
        // Compare the candidates once and keep the results when there are few enough
        // (20 bytes a pair); otherwise EM runs on an even sample and scoring compares again.
        let keep_all = candidates.len()
            <= config
                .em_sample_pairs
                .max(KEEP_COMPARISONS)
                .max(n.saturating_mul(KEEP_COMPARISONS_PER_RECORD));
        let kept: Vec<Kept> = if keep_all {
            timed(&mut seconds, "comparison", || {
                compare_pairs(&records, &candidates, &active)
            })
        } else {
            Vec::new()
        };
        let patterns = timed(&mut seconds, "em_patterns", || {
            let step = candidates
                .len()
                .div_ceil(config.em_sample_pairs.max(1))
                .max(1);
            let sample: Vec<u64> = if keep_all {
                Vec::new()
            } else {
                candidates
                    .par_iter()
                    .step_by(step)
                    .map(|&pair| {
                        let (i, j) = unpack(pair);
                        pack_levels(&compare::compare(&records[i], &records[j], &active).levels)
                    })
                    .collect()
            };
            if keep_all {
                count_patterns(kept.par_iter().map(|k| k.levels()))
            } else {
                count_patterns(sample.par_iter().copied())
            }
        });
        let total_pairs = blocking.possible_pairs;
        let (model, anchored) = timed(&mut seconds, "em", || {
            model::train(
                active,
                &u_counts,
                &patterns,
                candidates.len() as u64,
                total_pairs,
                u32::try_from(n).unwrap_or(u32::MAX),
                config.em_max_iterations,
            )
        });
        let bits: Vec<f32> = timed(&mut seconds, "scoring", || {
            let scorer = model.scorer();
            if keep_all {
                kept.par_iter()
                    .map(|k| scorer.bits(&k.gamma()) as f32)
                    .collect()
            } else {
                (0..candidates.len())
                    .into_par_iter()
                    .with_min_len(COMPARE_CHUNK)
                    .map(|k| scorer.bits(&compare_at(&records, &candidates, &active, k)) as f32)
                    .collect()
            }
        });
        drop(kept);
        let mut model = model;
        model.name_dependence = name_dependence;
        let mut bits = bits;
        if !anchored {
            timed(&mut seconds, "prior", || {
                model::refit_prior(&mut model, &mut bits, total_pairs)
            });
        }
        let pairs_at_threshold = bits
            .par_iter()
            .filter(|&&b| model::probability(f64::from(b)) >= config.threshold)
            .count();
        let mut res = Resolution {
            records,
            n_left,
            model,
            config: config.clone(),
            candidates,
            bits,
            clusters: None,
            stats: Stats {
                left_records: n_left.unwrap_or(n),
                right_records: n_left.map_or(0, |k| n - k),
                blocking,
                pairs_at_threshold,
                clusters: None,
                seconds: Vec::new(),
            },
        };
        if n_left.is_none() {
            let clusters = timed(&mut seconds, "clustering", || res.cluster());
            res.stats.clusters = Some(count_distinct(&clusters));
            res.clusters = Some(clusters);
        }
        res.stats.seconds = seconds;
        Ok(res)
    }

    fn cluster(&self) -> Vec<u32> {
        let threshold = self.config.threshold;
        // In parallel and in order (one probability per candidate pair).
        let edges: Vec<(u32, u32, f64)> = self
            .candidates
            .par_iter()
            .zip(self.bits.par_iter())
            .filter(|(_, b)| model::probability(f64::from(**b)) >= threshold)
            .map(|(&p, &b)| {
                let (i, j) = unpack(p);
                (i as u32, j as u32, f64::from(b))
            })
            .collect();
        let active = self.model.active;
        cluster::cluster(self.records.len(), edges, threshold, |i, j| {
            let g = compare::compare(
                &self.records[i as usize],
                &self.records[j as usize],
                &active,
            );
            model::probability(self.model.bits(&g))
        })
    }

    /// The trained model.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Counts and timings.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The records (left side first when linking).
    pub fn records(&self) -> &[Record] {
        &self.records
    }

    /// Candidate pairs at or above the threshold, in pair order.
    pub fn pairs(&self) -> impl Iterator<Item = ScoredPair> + '_ {
        self.candidates
            .iter()
            .zip(&self.bits)
            .filter_map(move |(&p, &b)| {
                let probability = model::probability(f64::from(b));
                (probability >= self.config.threshold).then(|| {
                    let (i, j) = unpack(p);
                    ScoredPair {
                        left: i as u32,
                        right: j as u32,
                        bits: f64::from(b),
                        probability,
                    }
                })
            })
    }

    /// The cluster of each record (index of its representative), when deduplicating.
    pub fn clusters(&self) -> Option<&[u32]> {
        self.clusters.as_deref()
    }

    /// Writes `left_id,right_id,score` for every pair at or above the threshold; returns
    /// the number of rows.
    pub fn write_pairs<W: Write>(&self, out: W) -> Result<usize> {
        let mut w = csv::Writer::from_writer(out);
        let err = |e: csv::Error| Error::Write {
            target: "pairs".to_owned(),
            reason: e.to_string(),
        };
        w.write_record(["left_id", "right_id", "score"])
            .map_err(err)?;
        let offset = self.n_left.unwrap_or(0);
        let mut rows = 0;
        for p in self.pairs() {
            let (a, b) = (
                &self.records[p.left as usize].id,
                &self.records[p.right as usize].id,
            );
            debug_assert!(self.n_left.is_none() || (p.right as usize) >= offset);
            w.write_record([a.as_str(), b.as_str(), &format_probability(p.probability)])
                .map_err(err)?;
            rows += 1;
        }
        w.flush().map_err(|e| Error::Write {
            target: "pairs".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(rows)
    }

    /// Writes `record_id,cluster_id` for every record (deduplication); the cluster id is
    /// the id of the cluster's first record in input order.
    pub fn write_clusters<W: Write>(&self, out: W) -> Result<usize> {
        let mut w = csv::Writer::from_writer(out);
        let err = |e: csv::Error| Error::Write {
            target: "clusters".to_owned(),
            reason: e.to_string(),
        };
        w.write_record(["record_id", "cluster_id"]).map_err(err)?;
        let clusters = self.clusters.as_deref().unwrap_or_default();
        let rows = self.records.len().min(clusters.len());
        // The rows are formatted in parallel, a block at a time, each block by its own
        // writer (a row's text does not depend on the rows before it), and written in
        // order: one thread formatting 772k rows was the last serial step of a 1M run.
        let blocks: Vec<std::result::Result<Vec<u8>, csv::Error>> = (0..rows)
            .step_by(WRITE_BLOCK)
            .collect::<Vec<usize>>()
            .into_par_iter()
            .map(|start| {
                let mut block = csv::Writer::from_writer(Vec::new());
                let end = (start + WRITE_BLOCK).min(rows);
                for (r, &c) in self.records[start..end].iter().zip(&clusters[start..end]) {
                    let cluster = &self.records[c as usize].id;
                    block.write_record([r.id.as_str(), cluster.as_str()])?;
                }
                block.into_inner().map_err(|e| e.into_error().into())
            })
            .collect();
        w.flush().map_err(|e| Error::Write {
            target: "clusters".to_owned(),
            reason: e.to_string(),
        })?;
        let mut out = w.into_inner().map_err(|e| Error::Write {
            target: "clusters".to_owned(),
            reason: e.error().to_string(),
        })?;
        for block in blocks {
            out.write_all(&block.map_err(err)?)
                .map_err(|e| Error::Write {
                    target: "clusters".to_owned(),
                    reason: e.to_string(),
                })?;
        }
        out.flush().map_err(|e| Error::Write {
            target: "clusters".to_owned(),
            reason: e.to_string(),
        })?;
        Ok(self.records.len())
    }

    fn index_of(&self, id: &str, right_side: bool) -> Result<usize> {
        let range = match self.n_left {
            Some(k) if right_side => k..self.records.len(),
            Some(k) => 0..k,
            None => 0..self.records.len(),
        };
        range
            .into_iter()
            .find(|&i| self.records[i].id == id)
            .ok_or_else(|| Error::UnknownId(id.to_owned()))
    }

    /// Explains the score of two records, field by field (when linking, `left_id` is on
    /// the left side and `right_id` on the right).
    pub fn explain(&self, left_id: &str, right_id: &str) -> Result<Explanation> {
        let i = self.index_of(left_id, false)?;
        let j = self.index_of(right_id, true)?;
        Ok(self.explain_indices(i, j))
    }

    /// Explains the score of the records at indices `i` and `j` of [`Resolution::records`]
    /// (for callers that hold indices: looking ids up scans the records).
    ///
    /// # Panics
    /// If an index is out of range.
    pub fn explain_indices(&self, i: usize, j: usize) -> Explanation {
        let key = ((i.min(j) as u64) << 32) | j.max(i) as u64;
        let candidate = self.candidates.binary_search(&key).is_ok();
        explain_records(&self.model, &self.records[i], &self.records[j], candidate)
    }

    /// The records and the trained model, for callers that keep working with them.
    pub fn into_records_and_model(self) -> (Vec<Record>, Model) {
        (self.records, self.model)
    }

    /// Scores any two records by index (whether or not blocking paired them).
    pub fn score(&self, i: usize, j: usize) -> ScoredPair {
        let g: Gamma = compare::compare(&self.records[i], &self.records[j], &self.model.active);
        let bits = self.model.bits(&g);
        ScoredPair {
            left: i as u32,
            right: j as u32,
            bits,
            probability: model::probability(bits),
        }
    }

    /// Quality against labels: `truth` maps record id → entity id (for linking, ids are
    /// looked up on both sides).
    pub fn evaluate(&self, truth: &HashMap<String, String>) -> Evaluation {
        let entity: Vec<Option<&str>> = self
            .records
            .iter()
            .map(|r| truth.get(&r.id).map(String::as_str))
            .collect();
        let true_pairs = metrics::true_pairs(&entity, self.n_left);
        let found = true_pairs
            .iter()
            .filter(|(a, b)| {
                self.candidates
                    .binary_search(&((u64::from(*a) << 32) | u64::from(*b)))
                    .is_ok()
            })
            .count();
        let predicted: Vec<(u32, u32)> = self.pairs().map(|p| (p.left, p.right)).collect();
        let (cluster_pairs, cluster_bcubed) = match &self.clusters {
            Some(c) => (
                Some(metrics::pairwise(&metrics::cluster_pairs(c), &true_pairs)),
                Some(metrics::bcubed(c, &entity)),
            ),
            None => (None, None),
        };
        Evaluation {
            labelled_records: entity.iter().filter(|e| e.is_some()).count(),
            true_pairs: true_pairs.len(),
            blocking_recall: if true_pairs.is_empty() {
                1.0
            } else {
                found as f64 / true_pairs.len() as f64
            },
            pairs: metrics::pairwise(&predicted, &true_pairs),
            cluster_pairs,
            cluster_bcubed,
        }
    }
}

/// Explains the score of two records under `model`, field by field; `candidate` says
/// whether blocking made them a candidate pair.
pub fn explain_records(model: &Model, a: &Record, b: &Record, candidate: bool) -> Explanation {
    let g = compare::compare(a, b, &model.active);
    let parts = model.parts(&g);
    let mut fields = Vec::new();
    for field in FIELDS {
        if !model.active[field.index()] {
            continue;
        }
        let level = g.levels[field.index()];
        let part = parts.iter().find(|p| p.field == field);
        // Names are shown as parsed (given / family), since a full-name column is split.
        let (left, right) = match (field, g.swapped) {
            (Field::GivenName, false) => (a.given.display.to_string(), b.given.display.to_string()),
            (Field::GivenName, true) => (a.given.display.to_string(), b.family.display.to_string()),
            (Field::FamilyName, false) => {
                (a.family.display.to_string(), b.family.display.to_string())
            }
            (Field::FamilyName, true) => {
                (a.family.display.to_string(), b.given.display.to_string())
            }
            _ => (a.raw_of(field.properties()), b.raw_of(field.properties())),
        };
        fields.push(FieldExplanation {
            field: field.name(),
            level: if level == MISSING {
                "missing"
            } else {
                field.levels()[usize::from(level)]
            },
            left,
            right,
            m: part.map(|p| p.m),
            u: part.map(|p| p.u),
            bits: part.map_or(0.0, |p| p.weight),
            tf_adjusted: part.is_some_and(|p| p.tf_adjusted),
        });
    }
    let total_bits = model.bits(&g);
    Explanation {
        left_id: a.id.clone(),
        right_id: b.id.clone(),
        prior_bits: model.prior_bits(),
        fields,
        names_swapped: g.swapped,
        names_regrouped: g.regrouped,
        total_bits,
        probability: model::probability(total_bits),
        candidate,
    }
}

/// Rows of the clusters file formatted together ([`Resolution::write_clusters`]).
const WRITE_BLOCK: usize = 16_384;

/// Candidate pairs a thread compares in order at least, so that prefetching ahead
/// ([`compare_at`]) runs within a thread's stretch of pairs.
const COMPARE_CHUNK: usize = 4_096;

/// Compares candidate pairs (as [`unpack`] reads them), in parallel, in order. Indexed,
/// so the results are written in place: collected from chunks they were held twice,
/// 176 MB more at the peak of a 1M pooled run.
fn compare_pairs(records: &[Record], pairs: &[u64], active: &[bool; N_FIELDS]) -> Vec<Kept> {
    (0..pairs.len())
        .into_par_iter()
        .with_min_len(COMPARE_CHUNK)
        .map(|k| Kept::new(&compare_at(records, pairs, active, k)))
        .collect()
}

/// A comparison kept between EM and scoring: what [`Model::bits`] reads of a [`Gamma`]
/// (the levels, four bits each, and the names' frequencies) in 20 bytes instead of 32.
/// At 1M pooled records the kept comparisons were 176 MB of fresh memory, which the
/// kernel zeroes page by page before the first write (about 2.8% of the CPU samples).
#[derive(Debug, Clone, Copy)]
struct Kept {
    levels: [u32; 2],
    given_freq: u32,
    family_freq: u32,
    name_freq: u32,
}

impl Kept {
    fn new(g: &Gamma) -> Kept {
        let levels = pack_levels(&g.levels);
        Kept {
            levels: [levels as u32, (levels >> 32) as u32],
            given_freq: g.given_freq,
            family_freq: g.family_freq,
            name_freq: g.name_freq,
        }
    }

    fn levels(&self) -> u64 {
        u64::from(self.levels[0]) | (u64::from(self.levels[1]) << 32)
    }

    /// The comparison as scoring reads it (which names were swapped or regrouped does not
    /// enter a score and is not kept).
    fn gamma(&self) -> Gamma {
        Gamma {
            levels: unpack_levels(self.levels()),
            given_freq: self.given_freq,
            family_freq: self.family_freq,
            name_freq: self.name_freq,
            swapped: false,
            regrouped: false,
        }
    }
}

/// Packed [`MISSING`]: no field has 15 levels (see the test).
const PACKED_MISSING: u64 = 0xF;

/// A comparison's levels, four bits each, field `f` at bits `4f..4f+4`.
fn pack_levels(levels: &[u8; N_FIELDS]) -> u64 {
    levels.iter().enumerate().fold(0, |acc, (f, &l)| {
        let nibble = if l == MISSING {
            PACKED_MISSING
        } else {
            u64::from(l) & PACKED_MISSING
        };
        acc | (nibble << (4 * f))
    })
}

/// The inverse of [`pack_levels`].
fn unpack_levels(packed: u64) -> [u8; N_FIELDS] {
    let mut levels = [MISSING; N_FIELDS];
    for (f, l) in levels.iter_mut().enumerate() {
        let nibble = (packed >> (4 * f)) & PACKED_MISSING;
        if nibble != PACKED_MISSING {
            *l = nibble as u8;
        }
    }
    levels
}

/// Counts the distinct comparison patterns (packed levels) for EM. A pattern is one
/// `u64`, hashed by one multiplication rather than SipHash over 16 bytes; only the few
/// thousand distinct patterns are unpacked into the map `model::train` takes.
fn count_patterns(levels: impl ParallelIterator<Item = u64>) -> HashMap<[u8; N_FIELDS], u32> {
    type ByPacked = HashMap<u64, u32, std::hash::BuildHasherDefault<PatternHasher>>;
    let counts = levels
        .fold(ByPacked::default, |mut acc, p| {
            *acc.entry(p).or_default() += 1;
            acc
        })
        .reduce(ByPacked::default, |mut a, b| {
            for (k, v) in b {
                *a.entry(k).or_default() += v;
            }
            a
        });
    counts
        .into_iter()
        .map(|(p, c)| (unpack_levels(p), c))
        .collect()
}

/// Hashes one `u64` (a packed comparison pattern) by a multiplication and a fold of the
/// high bits into the low ones (the table indexes by the low bits and tags by the high).
#[derive(Default)]
struct PatternHasher(u64);

impl std::hash::Hasher for PatternHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, x: u64) {
        let h = (self.0 ^ x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = h ^ (h >> 29);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Compares pair `k` of `pairs`, asking the CPU for the second record of the pair
/// [`prefetch::AHEAD`] places on (the first record of consecutive pairs is mostly the
/// same): pairs are compared in order within a thread's stretch.
fn compare_at(records: &[Record], pairs: &[u64], active: &[bool; N_FIELDS], k: usize) -> Gamma {
    if let Some(&ahead) = pairs.get(k + prefetch::AHEAD) {
        let (i, j) = unpack(ahead);
        records[j].prefetch();
        if unpack(pairs[k + prefetch::AHEAD - 1]).0 != i {
            records[i].prefetch();
        }
    }
    // Halfway there the second record has arrived (prefetched above), and with it the
    // pointers to its names' shared forms, which are asked for in turn.
    // A name that shares its forms with the first record's is answered without reading
    // them (`Name::same_forms`): not asked for, it takes no place among the misses in
    // flight.
    if let Some(&halfway) = pairs.get(k + prefetch::AHEAD / 2) {
        let (i, j) = unpack(halfway);
        let (first, second) = (&records[i], &records[j]);
        if !second.given.same_forms(&first.given) {
            second.given.prefetch();
        }
        if !second.family.same_forms(&first.family) {
            second.family.prefetch();
        }
    }
    let (i, j) = unpack(pairs[k]);
    compare::compare(&records[i], &records[j], active)
}

/// How many distinct ids `ids` holds. Cluster ids are record indices, below `ids.len()`,
/// so a list of flags counts them in one pass (on one core, at the end of a run; a
/// `HashSet` hashed each of a million ids with SipHash); other ids are counted in a set.
fn count_distinct(ids: &[u32]) -> usize {
    let mut seen = vec![false; ids.len()];
    let mut others: HashSet<u32> = HashSet::new();
    let mut distinct = 0;
    for &id in ids {
        match seen.get_mut(id as usize) {
            Some(flag) => {
                distinct += usize::from(!*flag);
                *flag = true;
            }
            None => {
                others.insert(id);
            }
        }
    }
    distinct + others.len()
}

fn unpack(pair: u64) -> (usize, usize) {
    ((pair >> 32) as usize, (pair & 0xFFFF_FFFF) as usize)
}

/// How many records carry each given name, family name and full name, by [`h`] of the
/// name (a copy of every name three times otherwise; a collision between two of a few
/// hundred thousand names, about 1 in 10^8, would only merge two counts).
type Counts = HashMap<u64, u32, Fnv>;

/// Counts the names for TF adjustment ([`apply_term_counts`] hands them to the records):
/// given, family and full names. Reads the records only, so it can run beside blocking.
fn term_counts(records: &[Record]) -> (Counts, Counts, Counts) {
    records
        .par_chunks(TERM_CHUNK)
        .fold(
            || (Counts::default(), Counts::default(), Counts::default()),
            |(mut g, mut f, mut n), chunk| {
                for (k, r) in chunk.iter().enumerate() {
                    prefetch_term_forms(chunk, k);
                    if !r.given.is_empty() {
                        *g.entry(h(&r.given.joined)).or_default() += 1;
                    }
                    if !r.family.is_empty() {
                        *f.entry(h(&r.family.joined)).or_default() += 1;
                    }
                    if let Some(k) = full_h(r) {
                        *n.entry(k).or_default() += 1;
                    }
                }
                (g, f, n)
            },
        )
        .reduce(
            || (Counts::default(), Counts::default(), Counts::default()),
            |(mut g1, mut f1, mut n1), (g2, f2, n2)| {
                for (a, b) in [(&mut g1, g2), (&mut f1, f2), (&mut n1, n2)] {
                    for (k, v) in b {
                        *a.entry(k).or_default() += v;
                    }
                }
                (g1, f1, n1)
            },
        )
}

/// Records a task of [`term_counts`] and [`apply_term_counts`] reads in order.
const TERM_CHUNK: usize = 4_096;

/// Asks the CPU for what term frequencies read of the names' shared forms of the record
/// [`prefetch::AHEAD`] places after record `k` of `chunk`: the records are read in order,
/// their forms lie anywhere (a cache miss per record and name otherwise, twice a run).
#[inline]
fn prefetch_term_forms(chunk: &[Record], k: usize) {
    if let Some(ahead) = chunk.get(k + prefetch::AHEAD) {
        ahead.given.prefetch_head(FORMS_TERM_BYTES);
        ahead.family.prefetch_head(FORMS_TERM_BYTES);
    }
}

/// Sets each record's name frequencies from [`term_counts`]; returns how much more often
/// two records that share a given name share the family name than two random records
/// ([`Model::name_dependence`]).
fn apply_term_counts(records: &mut [Record], counts: &(Counts, Counts, Counts)) -> f64 {
    let (given, family, full) = counts;
    records.par_chunks_mut(TERM_CHUNK).for_each(|chunk| {
        for k in 0..chunk.len() {
            prefetch_term_forms(chunk, k);
            let r = &mut chunk[k];
            r.given.freq = given.get(&h(&r.given.joined)).copied().unwrap_or(0);
            r.family.freq = family.get(&h(&r.family.joined)).copied().unwrap_or(0);
            r.name_freq = full_h(r).and_then(|k| full.get(&k).copied()).unwrap_or(0);
        }
    });
    // P(same family | same given) / P(same family), over ordered pairs of distinct
    // records; the full-name pairs include duplicates of one person, which only makes
    // the estimate err towards dependence (weaker name evidence).
    let pairs = |c: &Counts| -> f64 {
        c.values()
            .map(|&n| f64::from(n) * (f64::from(n) - 1.0))
            .sum()
    };
    let with_family = records.iter().filter(|r| !r.family.is_empty()).count() as f64;
    let (same_full, same_given, same_family) = (pairs(full), pairs(given), pairs(family));
    if same_given > 0.0 && same_family > 0.0 && with_family > 1.0 {
        let p_family = same_family / (with_family * (with_family - 1.0));
        ((same_full / same_given) / p_family).max(1.0)
    } else {
        1.0
    }
}

/// FNV-1a of a name, the key of its term-frequency count.
fn h(text: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}
/// [`h`] of the full name's key ([`Record::full_name_key`]: the sorted core tokens joined
/// by spaces) without building the key (two strings a record otherwise).
fn full_h(r: &Record) -> Option<u64> {
    if r.given.is_empty() || r.family.is_empty() {
        return None;
    }
    let n = r.given.tokens.len() + r.family.tokens.len();
    let mut buf = [""; 8];
    if n > buf.len() {
        return r.full_name_key().map(|k| h(&k));
    }
    for (slot, t) in buf
        .iter_mut()
        .zip(r.given.tokens.iter().chain(&r.family.tokens))
    {
        *slot = t.as_str();
    }
    let tokens = &mut buf[..n];
    tokens.sort_unstable();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for (k, t) in tokens.iter().enumerate() {
        let space: &[u8] = if k > 0 { b" " } else { b"" };
        for &b in space.iter().chain(t.as_bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    Some(h)
}
/// A field takes part when both sides have values for it (two records when deduplicating).
fn active_fields(records: &[Record], n_left: Option<usize>) -> [bool; N_FIELDS] {
    let mut active = [false; N_FIELDS];
    match n_left {
        Some(split) => {
            let split = split.min(records.len());
            let (left, right) = (
                present_counts(&records[..split]),
                present_counts(&records[split..]),
            );
            for f in 0..N_FIELDS {
                active[f] = left[f] > 0 && right[f] > 0;
            }
        }
        None => {
            let counts = present_counts(records);
            for f in 0..N_FIELDS {
                active[f] = counts[f] >= 2;
            }
        }
    }
    active
}

/// How many of `records` have a value for each field, counted up to 2: in parallel, in
/// one pass. A field no record has (at 1M pooled `palermo sim` records, the identifier
/// and the five address fields) is only known absent after reading every record, and six
/// such passes one after another on one core came before anything else of a run.
fn present_counts(records: &[Record]) -> [u8; N_FIELDS] {
    records
        .par_chunks(PRESENT_CHUNK)
        .map(|chunk| {
            let mut counts = [0u8; N_FIELDS];
            for r in chunk {
                for field in FIELDS {
                    let c = &mut counts[field.index()];
                    if *c < 2 && field.present(r) {
                        *c += 1;
                    }
                }
                if counts.iter().all(|&c| c >= 2) {
                    break;
                }
            }
            counts
        })
        .reduce(
            || [0u8; N_FIELDS],
            |mut a, b| {
                for (x, y) in a.iter_mut().zip(b) {
                    *x = x.saturating_add(y).min(2);
                }
                a
            },
        )
}

/// Records [`present_counts`] reads in one task.
const PRESENT_CHUNK: usize = 16_384;

/// Level counts for u: random pairs, and for the fields that go with names, random
/// pairs that share a name part ([`sample_u_same_name`], both parts side by side).
fn sample_all_u(
    records: &[Record],
    n_left: Option<usize>,
    active: [bool; N_FIELDS],
    config: &Config,
) -> LevelCounts {
    let sample = |part: NamePart| {
        sample_u_same_name(
            records,
            n_left,
            &active,
            part,
            config.u_sample_pairs,
            config.seed,
        )
    };
    let (by_family, by_given) =
        rayon::join(|| sample(NamePart::Family), || sample(NamePart::Given));
    // The random pairs are compared only on the fields whose u they give: names (most of
    // a random pair's comparison, all of it different) and the fields that follow names
    // take theirs from the same-name samples when there are any.
    let mut random_active = active;
    if by_family.is_some() {
        for field in FIELDS.into_iter().filter(|f| follows_names(*f)) {
            if field != Field::FamilyName {
                random_active[field.index()] = false;
            }
        }
    }
    if by_given.is_some() {
        random_active[Field::FamilyName.index()] = false;
    }
    let mut counts = sample_u(
        records,
        n_left,
        &random_active,
        config.u_sample_pairs,
        config.seed,
    );
    if let Some(same) = by_family {
        for field in FIELDS.into_iter().filter(|f| follows_names(*f)) {
            if field != Field::FamilyName {
                counts.0[field.index()] = same.0[field.index()];
            }
        }
    }
    if let Some(same) = by_given {
        let f = Field::FamilyName.index();
        counts.0[f] = same.0[f];
    }
    counts
}

/// Fewest same-name pairs for [`sample_u_same_name`] to be used.
const MIN_SAME_NAME_PAIRS: usize = 1_000;

/// Fields whose values go with a name's culture (where a person lives and what their
/// names are), so that their u among name-sharing pairs differs from u among random pairs.
/// Birth dates and identifiers do not; their u stays the one of random pairs (same-name
/// pairs also hold the true matches, which would inflate u of such rare agreements).
fn follows_names(field: Field) -> bool {
    matches!(
        field,
        Field::GivenName
            | Field::FamilyName
            | Field::Gender
            | Field::Nationality
            | Field::Country
            | Field::Region
            | Field::City
            | Field::PostalCode
    )
}

/// Which name part [`sample_u_same_name`] groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NamePart {
    Given,
    Family,
}

/// Compares random pairs that share one name part exactly, to count levels for u of the
/// other fields; `None` when there are too few such pairs.
///
/// Nearly every candidate pair agrees on a name, and names are not independent of the
/// other fields: a culture draws given and family names from its own pools, and its names
/// come with its nationality, its country and its cities. Against random pairs, two Thai
/// records agreeing on nationality, or on a Thai given name, look like evidence; among
/// pairs that already share a Thai family name it is far less. So u of the given name and
/// of the fields that follow names ([`follows_names`]) is counted on random pairs drawn
/// evenly from all same-family pairs, and u of the family name on same-given-name pairs (nearly all non-matches:
/// common names have many more pairs than any person has records).
fn sample_u_same_name(
    records: &[Record],
    n_left: Option<usize>,
    active: &[bool; N_FIELDS],
    part: NamePart,
    samples: usize,
    seed: u64,
) -> Option<LevelCounts> {
    fn name(r: &Record, part: NamePart) -> &str {
        match part {
            NamePart::Given => r.given.joined.as_str(),
            NamePart::Family => r.family.joined.as_str(),
        }
    }
    // The records are read in order and each name's shared forms lie anywhere: the forms'
    // first line (which holds `joined`) is asked for a few records ahead.
    let ahead = |i: usize| {
        if let Some(r) = records.get(i + prefetch::AHEAD) {
            match part {
                NamePart::Given => r.given.prefetch_head(FORMS_JOINED_BYTES),
                NamePart::Family => r.family.prefetch_head(FORMS_JOINED_BYTES),
            }
        }
    };
    let mut entries: Vec<ByName<'_>> = sorted_by_name(
        records
            .iter()
            .enumerate()
            .filter(|&(i, r)| {
                ahead(i);
                !name(r, part).is_empty()
            })
            .map(|(i, r)| (name(r, part), i as u32)),
    );
    // Blocks of one family name: (start, end, left members, pairs before this block).
    let split = n_left.map(|k| k as u32);
    let mut blocks: Vec<(usize, usize, usize, usize)> = Vec::new();
    let mut total = 0usize;
    let mut start = 0;
    for i in 1..=entries.len() {
        if i < entries.len() && entries[i].same_name(&entries[start]) {
            continue;
        }
        let n = i - start;
        let left = split.map_or(n, |k| {
            entries[start..i].iter().filter(|e| e.index < k).count()
        });
        let pairs = match split {
            None => n * (n - 1) / 2,
            Some(_) => left * (n - left),
        };
        if pairs > 0 {
            blocks.push((start, i, left, total));
            total += pairs;
        }
        start = i;
    }
    if total < MIN_SAME_NAME_PAIRS {
        return None;
    }
    if split.is_some() {
        // Left members first within each block, so a draw picks one from each side.
        for &(s, e, _, _) in &blocks {
            let k = split.unwrap_or(0);
            entries[s..e].sort_unstable_by_key(|x| (x.index >= k, x.index));
        }
    }
    // Only the fields this sample is for are compared (the names always are).
    let mut wanted = [false; N_FIELDS];
    for field in FIELDS {
        wanted[field.index()] = active[field.index()]
            && follows_names(field)
            && (part == NamePart::Family || field == Field::FamilyName);
    }
    let active = &wanted;
    // A quarter of the random sample: these fields have common levels (u of 1e-3 and
    // up), and the sample is drawn twice, so it should not double the sampling time.
    let counts = (0..(samples / 4).max(1).min(total * 4))
        .into_par_iter()
        .fold(LevelCounts::new, |mut acc, k| {
            let r = splitmix(
                seed ^ (0x5A3E + part as u64) ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let at = (r % total as u64) as usize;
            let b = blocks.partition_point(|b| b.3 <= at) - 1;
            let (s, e, left, _) = blocks[b];
            let n = e - s;
            let r2 = splitmix(r);
            let (i, j) = match split {
                None => {
                    let x = (r2 >> 32) as usize % n;
                    let y = (r2 & 0xFFFF_FFFF) as usize % (n - 1);
                    (x, if y >= x { y + 1 } else { y })
                }
                Some(_) => (
                    (r2 >> 32) as usize % left,
                    left + (r2 & 0xFFFF_FFFF) as usize % (n - left),
                ),
            };
            let (i, j) = (entries[s + i].index as usize, entries[s + j].index as usize);
            acc.add(&compare::compare(&records[i], &records[j], active));
            acc
        })
        .reduce(LevelCounts::new, LevelCounts::merge);
    Some(counts)
}

/// A record's name (given or family) in [`sample_u_same_name`]'s order, with the name's
/// first 16 bytes beside it ([`sorted_by_name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ByName<'a> {
    /// The name's first 16 bytes, zero-padded, big-endian (high, low): they order as the
    /// names do (folded names hold no zero byte). Two `u64`s rather than a `u128`, whose
    /// 16-byte alignment made an entry 48 bytes instead of 40.
    prefix: (u64, u64),
    name: &'a str,
    /// The record's index.
    index: u32,
}

impl ByName<'_> {
    /// True if both entries hold the same name, mostly without reading the names.
    fn same_name(&self, other: &ByName<'_>) -> bool {
        self.prefix == other.prefix
            && self.name.len() == other.name.len()
            && (self.name.len() <= 16 || self.name == other.name)
    }
}

/// `entries` sorted by name, then record index (as `sort` of the pairs would), collected
/// straight into the sorted list: a list of `(name, index)` before it and after it were
/// 37 MB of fresh memory more at 1M pooled records, twice (one sample per name part).
///
/// Each name is a pointer into its record, and the records lie far apart: compared
/// directly, nearly every comparison of the sort missed the cache twice. The sort
/// compares the names' first 16 bytes copied beside them instead, and the names
/// themselves only when both are longer and their first 16 bytes agree.
fn sorted_by_name<'a>(entries: impl Iterator<Item = (&'a str, u32)>) -> Vec<ByName<'a>> {
    fn prefix(name: &str) -> (u64, u64) {
        let mut buf = [0u8; 16];
        let n = name.len().min(16);
        buf[..n].copy_from_slice(&name.as_bytes()[..n]);
        let x = u128::from_be_bytes(buf);
        ((x >> 64) as u64, x as u64)
    }
    let mut keyed: Vec<ByName<'a>> = entries
        .map(|(name, index)| ByName {
            prefix: prefix(name),
            name,
            index,
        })
        .collect();
    keyed.par_sort_unstable_by(|a, b| {
        a.prefix
            .cmp(&b.prefix)
            .then_with(|| {
                if a.name.len() > 16 || b.name.len() > 16 {
                    a.name.cmp(b.name)
                } else {
                    // Equal prefixes of names of up to 16 bytes: equal names, unless one
                    // holds a zero byte that the padding imitates.
                    a.name.len().cmp(&b.name.len())
                }
            })
            .then(a.index.cmp(&b.index))
    });
    keyed
}

/// Compares random pairs (nearly all non-matches) to count levels for u.
fn sample_u(
    records: &[Record],
    n_left: Option<usize>,
    active: &[bool; N_FIELDS],
    samples: usize,
    seed: u64,
) -> LevelCounts {
    let n = records.len();
    let (left, right) = match n_left {
        Some(k) => (k, n - k),
        None => (n, n),
    };
    if left == 0 || right == 0 || (n_left.is_none() && n < 2) {
        return LevelCounts::new();
    }
    // Small inputs: every pair once instead of a sample with repeats.
    let possible = match n_left {
        Some(_) => left * right,
        None => n * (n - 1) / 2,
    };
    if possible <= samples {
        let pairs: Vec<(usize, usize)> = match n_left {
            Some(k) => (0..k).flat_map(|i| (k..n).map(move |j| (i, j))).collect(),
            None => (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .collect(),
        };
        return pairs
            .par_iter()
            .fold(LevelCounts::new, |mut acc, &(i, j)| {
                acc.add(&compare::compare(&records[i], &records[j], active));
                acc
            })
            .reduce(LevelCounts::new, LevelCounts::merge);
    }
    // The `k`th random pair (`None` for a record paired with itself).
    let pair = |k: usize| {
        let r = splitmix(seed ^ (k as u64).wrapping_mul(0xA24B_AED4_963E_E407));
        let i = ((r >> 32) as usize) % left;
        let mut j = ((r & 0xFFFF_FFFF) as usize) % right;
        match n_left {
            Some(k) => j += k,
            None if j == i => return None,
            None => {}
        }
        Some((i, j))
    };
    (0..samples)
        .into_par_iter()
        .fold(LevelCounts::new, |mut acc, k| {
            // Both records of a random pair miss the cache: ask for a later pair's now.
            if let Some((i, j)) = pair(k + prefetch::AHEAD) {
                records[i].prefetch();
                records[j].prefetch();
            }
            if let Some((i, j)) = pair(k) {
                acc.add(&compare::compare(&records[i], &records[j], active));
            }
            acc
        })
        .reduce(LevelCounts::new, LevelCounts::merge)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Property;

    #[test]
    fn levels_pack_into_four_bits() {
        for field in FIELDS {
            assert!((field.levels().len() as u64) < PACKED_MISSING, "{field:?}");
        }
        let mut x: u64 = 99;
        for _ in 0..10_000 {
            let mut levels = [MISSING; N_FIELDS];
            for (f, l) in levels.iter_mut().enumerate() {
                x = splitmix(x);
                let r = (x % 8) as usize;
                if r < FIELDS[f].levels().len() {
                    *l = r as u8;
                }
            }
            assert_eq!(unpack_levels(pack_levels(&levels)), levels);
            let g = Gamma {
                levels,
                given_freq: (x >> 40) as u32,
                family_freq: 7,
                name_freq: u32::MAX,
                swapped: true,
                regrouped: false,
            };
            let back = Kept::new(&g).gamma();
            assert_eq!(back.levels, g.levels);
            assert_eq!(
                (back.given_freq, back.family_freq, back.name_freq),
                (g.given_freq, 7, u32::MAX)
            );
        }
        assert_eq!(std::mem::size_of::<Kept>(), 20);
    }

    #[test]
    fn active_fields_need_two_records_or_one_per_side() {
        // Values only near the ends of chunks of `present_counts`, whose counts merge.
        let n = 2 * PRESENT_CHUNK + 10;
        let record = |i: usize| {
            let mut values = vec![(Property::FirstName, format!("Ann{}", i % 5))];
            if i == PRESENT_CHUNK - 1 || i == PRESENT_CHUNK {
                values.push((Property::Email, format!("a{i}@x.org")));
            }
            if i == n - 1 {
                values.push((Property::Gender, "f".to_owned()));
            }
            if i == 3 || i == n - 2 {
                values.push((Property::City, "Hat Yai".to_owned()));
            }
            Record::new(format!("r{i}"), values)
        };
        let records: Vec<Record> = (0..n).map(record).collect();
        // What each field's own scan over the records answers.
        let expected = |n_left: Option<usize>| {
            let mut active = [false; N_FIELDS];
            for field in FIELDS {
                let has = |rs: &[Record]| rs.iter().filter(|r| field.present(r)).count();
                active[field.index()] = match n_left {
                    Some(k) => has(&records[..k]) > 0 && has(&records[k..]) > 0,
                    None => has(&records) >= 2,
                };
            }
            active
        };
        for n_left in [
            None,
            Some(0),
            Some(4),
            Some(PRESENT_CHUNK),
            Some(n - 1),
            Some(n),
        ] {
            assert_eq!(
                active_fields(&records, n_left),
                expected(n_left),
                "{n_left:?}"
            );
        }
        let dedupe = active_fields(&records, None);
        assert!(dedupe[Field::Email.index()] && dedupe[Field::City.index()]);
        assert!(!dedupe[Field::Gender.index()] && !dedupe[Field::Phone.index()]);
        assert!(active_fields(&records, Some(4))[Field::City.index()]);
        assert!(!active_fields(&records, Some(4))[Field::Email.index()]);
    }

    #[test]
    fn distinct_ids_are_counted_whatever_their_range() {
        assert_eq!(count_distinct(&[]), 0);
        assert_eq!(count_distinct(&[0, 0, 2, 2, 1]), 3);
        assert_eq!(count_distinct(&[3, 3, 3, 3]), 1);
        assert_eq!(count_distinct(&[9, u32::MAX, 9, 0, u32::MAX]), 3);
        let ids: Vec<u32> = (0..1000u32).map(|i| (i * 7919) % 613).collect();
        let expect: HashSet<u32> = ids.iter().copied().collect();
        assert_eq!(count_distinct(&ids), expect.len());
    }

    #[test]
    fn names_sort_as_strings() {
        let names = [
            "somchai",
            "som",
            "somchaisomchaisomchai",
            "somchaisomchaisomchaa",
            "somchaisomchaiso",
            "somchaisomchaisom",
            "a",
            "",
            "b\0",
            "b",
            "zz",
            "somchai",
        ];
        let entries: Vec<(&str, u32)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (*n, (names.len() - i) as u32))
            .collect();
        let mut expect = entries.clone();
        expect.sort_unstable();
        let sorted = sorted_by_name(entries.iter().copied());
        let got: Vec<(&str, u32)> = sorted.iter().map(|e| (e.name, e.index)).collect();
        assert_eq!(got, expect);
        // Neighbours hold the same name exactly when their names are equal.
        for w in sorted.windows(2) {
            assert_eq!(w[0].same_name(&w[1]), w[0].name == w[1].name, "{w:?}");
        }
    }

    #[test]
    fn full_name_hash_is_the_hash_of_the_key() {
        for (given, family) in [
            ("Siew Lan", "Ng"),
            ("Ann", "Lee"),
            ("a b c d e", "f g h i"),
            ("", "Lee"),
            ("Mary Jane", "van der Berg"),
        ] {
            let r = Record::new(
                "x",
                vec![
                    (Property::FirstName, given.to_owned()),
                    (Property::LastName, family.to_owned()),
                ],
            );
            assert_eq!(
                full_h(&r),
                r.full_name_key().map(|k| h(&k)),
                "{given} {family}"
            );
        }
    }
}
