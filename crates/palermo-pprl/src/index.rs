//! A hit/no-hit index: many encodings held in memory, queried one record or a batch at a
//! time for the encodings whose Dice coefficient reaches a threshold.
//!
//! This is what a node answers a peer's hit/no-hit query with (the federation exchange
//! calls it; it never sees plaintext). The API is four calls: [`Index::build`],
//! [`Index::query`], [`Index::query_batch`] and, as the exact reference,
//! [`Index::query_exhaustive`].
//!
//! **Blocking (Hamming LSH).** Each of `bands` bands reads a window of `bits_per_band`
//! consecutive bits at a seeded offset; two encodings are candidates when they agree on
//! every bit of some window. Keyed double hashing and the hardening permutations scatter
//! every token's bits uniformly over the filter, so a window samples bit positions as well
//! as a random subset would (and costs two word reads). With per-bit agreement `s`, an
//! encoding is found with probability `1 − (1 − s^r)^b`. Each band is a bucket table in
//! compressed-sparse-row form ([`crate::bands`]): `2^k` bucket starts
//! (`k = ⌊log2 n⌋ − 1`) in about 1.4 bytes each and one position per encoding in 3 bytes
//! below 2^24 encodings, so a band costs about `3.6 n` bytes (`5.7 n` as `u32`). A query
//! skips buckets with more than `max_bucket` encodings (a crowd sharing a common name;
//! other bands still separate them), unless every bucket is that crowded.
//!
//! **Field bands.** Encodings made of field segments (a `Clks` with a [`FieldScoring`])
//! are blocked by [`IndexConfig::field_bands`] instead: a band's key joins windows of
//! several segments (name bits with birth-year and birth-day bits), because the field
//! score reaches its cut through a name that agrees in part *and* the same birth date,
//! while whole-encoding windows mostly sample the name and put everyone who shares a
//! common name in one bucket. A record enters a band only when every field of the band
//! is present, and a query asks only the bands whose fields it has.
//!
//! **Verification.** Candidates are de-duplicated, filtered by the exact popcount bound
//! when popcounts vary, and scored with the popcount kernel ([`crate::kernel`]) on the
//! 64-byte aligned rows; only pairs at or above the threshold are returned, best first.
//!
//! Recall is below 1 only through blocking: a pair at Dice exactly `t` on balanced
//! encodings has per-bit agreement `t` and is found with probability `1 − (1 − t^r)^b`;
//! `bench/pprl/index.sh` measures recall against [`Index::query_exhaustive`].

use std::sync::Arc;

use rayon::prelude::*;

use crate::bands::{self, Band, Window, band_key, bucket, bucket_bits};
use crate::clks::Clks;
use crate::error::{Error, Result};
use crate::kernel::{AlignedWords, Kernel};
use crate::matching::{popcount_range, splitmix};
use crate::scoring::FieldScoring;

/// How the index blocks candidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexConfig {
    /// Number of LSH bands over the whole encoding (encodings without field segments);
    /// 0 builds no bands, and every query scans everything.
    pub bands: usize,
    /// Bits per band window, 1 to 57.
    pub bits_per_band: usize,
    /// Seed of the window offsets (both sides of a query use the same index, so any fixed
    /// value works).
    pub seed: u64,
    /// A query skips a band whose bucket holds more encodings than this (people who share
    /// a common name and differ only outside the window crowd one bucket, and other bands
    /// still tell them apart); when every bucket is larger, the smallest is used.
    pub max_bucket: usize,
    /// The bands of encodings with field segments (a `Clks` with a
    /// [`FieldScoring`]): each band's key joins windows of several fields, so people
    /// who share a common name are told apart by their birth date within one bucket.
    /// Empty: field-level encodings get the whole-encoding bands above.
    pub field_bands: &'static [FieldBand],
}

/// A family of bands over field segments: `bands` bands whose key joins, for each
/// `(field, bits)` of `windows`, `bits` consecutive bits at a seeded offset of that
/// field's segment (at most 57 per window and 64 in all).
///
/// An encoding enters a band only when every field of the band is present (its segment
/// has a bit set), and a query asks only the bands whose fields it has: an absent field
/// is an all-zero segment that every record without the field shares, one bucket of
/// millions that would find nothing the other bands do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldBand {
    /// How many bands of this kind (each with its own offsets).
    pub bands: usize,
    /// The windows: a field of the scoring ([`crate::scoring::FieldWeight::field`]) and
    /// the bits taken from its segment.
    pub windows: &'static [(&'static str, usize)],
}

/// The field bands of [`IndexConfig::standard`] (see there).
pub const STANDARD_FIELD_BANDS: &[FieldBand] = &[
    // Name and the whole birth date: a pair with the same date and names that share a
    // token or have a typo (name Dice 0.8–0.9) meets in one of 32 buckets with
    // probability 1 − (1 − 0.8^10)^32 ≈ 0.97, while people with another date rarely do.
    FieldBand {
        bands: 32,
        windows: &[("name", 10), ("birth_year", 10), ("birth_day", 10)],
    },
    // Day and month swapped, or the year off by one: the same name and the other part
    // of the date.
    FieldBand {
        bands: 8,
        windows: &[("name", 24), ("birth_year", 12)],
    },
    FieldBand {
        bands: 8,
        windows: &[("name", 24), ("birth_day", 12)],
    },
    // The same passport or contact whatever the name.
    FieldBand {
        bands: 4,
        windows: &[("identifier", 24)],
    },
    FieldBand {
        bands: 2,
        windows: &[("phone", 24)],
    },
    FieldBand {
        bands: 2,
        windows: &[("email", 24)],
    },
];

impl IndexConfig {
    /// The configuration for Palermo's standard encodings at their default threshold:
    /// 48 bands of 32 bits, buckets of more than 1,024 encodings skipped; for
    /// field-level encodings [`STANDARD_FIELD_BANDS`].
    ///
    /// On 10 million synthetic balanced record-level encodings at Dice 0.9
    /// (`bench/pprl/index.sh`) the bands took 2.6 GiB as `u32` (about 0.63 of that
    /// packed) beside 2.4 GiB of rows and a query verifies 1,537 candidates at the median (8,261 at p99). Recall against exhaustive
    /// search is 0.77 of all pairs at or above 0.9: the pairs missed lie just above the
    /// threshold and are mostly other people with the same common name; changed copies
    /// of indexed people find their record as often as without skipping (4,641 against
    /// 4,647 of 5,000). `max_bucket` 4,096 gives recall 0.87 at 0.7 times the speed; no
    /// skipping 0.89 at 0.43 times.
    ///
    /// On 10 million field-level encodings at the field score 0.84 the field bands take
    /// 1.5 GiB (2.6 GiB as `u32`) beside 2.7 GiB of rows, a query verifies 579 candidates
    /// on average (1,906 at p99) and recall against exhaustive search is 0.97.
    pub fn standard() -> IndexConfig {
        IndexConfig {
            bands: 48,
            bits_per_band: 32,
            seed: 0x5eed_1de5,
            max_bucket: 1024,
            field_bands: STANDARD_FIELD_BANDS,
        }
    }
}

/// One answer to a query: a position in the index and its Dice coefficient.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Position of the encoding in the set the index was built from.
    pub position: u32,
    /// Dice coefficient with the query (the field-level score for encodings with field
    /// segments, see [`crate::scoring`]), at or above the threshold.
    pub dice: f64,
}

/// An in-memory index of equal-length encodings. `Send + Sync`: share it between request
/// handlers behind an `Arc`.
#[derive(Debug)]
pub struct Index {
    n_bits: usize,
    n_words: usize,
    words: AlignedWords,
    popcounts: Vec<u32>,
    popcount_bounds: (u32, u32),
    bands: Vec<Band>,
    max_bucket: usize,
    kernel: Kernel,
    /// Field-level scoring of encodings with field segments (from the `Clks` built from).
    scoring: Option<Arc<FieldScoring>>,
}

impl Index {
    /// Builds the index from encodings (taken, not copied: the rows are moved in place
    /// to a 64-byte boundary). Positions in answers are positions in `clks`.
    ///
    /// Errors: more than `u32::MAX − 1` encodings; a band width of 0 or above 57 bits,
    /// or wider than the encodings.
    pub fn build(clks: Clks, config: &IndexConfig) -> Result<Index> {
        let n = clks.len();
        if n >= u32::MAX as usize {
            return Err(Error::InvalidConfig {
                field: "index",
                reason: format!("{n} encodings: at most {} fit", u32::MAX - 1),
            });
        }
        let (n_bits, n_words) = (clks.n_bits(), clks.n_words());
        let (words, popcounts, scoring) = clks.into_parts();
        let mut state = config.seed;
        let field_windows = match &scoring {
            Some(s) => field_windows(s, config.field_bands, &mut state)?,
            None => Vec::new(),
        };
        let r = config.bits_per_band;
        let band_windows = if field_windows.is_empty() {
            if config.bands > 0 && (r == 0 || r > 57 || r > n_bits) {
                return Err(Error::InvalidConfig {
                    field: "bits_per_band",
                    reason: format!("{r} is not between 1 and min(57, {n_bits}) bits"),
                });
            }
            (0..config.bands)
                .map(|_| {
                    vec![Window {
                        offset: (splitmix(&mut state) % (n_bits - r + 1) as u64) as usize,
                        len: r,
                        segment: None,
                    }]
                })
                .collect()
        } else {
            field_windows
        };
        let words = AlignedWords::from_vec(words);
        let popcount_bounds = (
            popcounts.iter().copied().min().unwrap_or(0),
            popcounts.iter().copied().max().unwrap_or(0),
        );
        let k = bucket_bits(n);
        let bands = bands::build(words.as_slice(), n_words, n, &band_windows, k);
        Ok(Index {
            n_bits,
            n_words,
            words,
            popcounts,
            popcount_bounds,
            bands,
            max_bucket: config.max_bucket.max(1),
            kernel: Kernel::detect(),
            scoring,
        })
    }

    /// The encodings whose Dice coefficient with `clk` is at least `threshold`, best
    /// first (ties by position), at most `top_k` of them; empty is a no-hit.
    ///
    /// Errors: `clk` not `n_bits / 64` words long ([`Error::WrongLength`]), a threshold
    /// outside `(0, 1]` or `top_k` of 0 ([`Error::InvalidConfig`]).
    pub fn query(&self, clk: &[u64], threshold: f64, top_k: usize) -> Result<Vec<Hit>> {
        self.check(clk, 0, threshold, top_k)?;
        Ok(self.query_one(clk, threshold, top_k, &mut Scratch::default()))
    }

    /// [`Index::query`] for every encoding of `queries`, in parallel on all cores; answer
    /// `i` belongs to query `i`.
    ///
    /// Errors: as [`Index::query`] (a length mismatch names query 0, as all rows of a
    /// `Clks` share one length).
    pub fn query_batch(
        &self,
        queries: &Clks,
        threshold: f64,
        top_k: usize,
    ) -> Result<Vec<Vec<Hit>>> {
        if queries.is_empty() {
            return Ok(Vec::new());
        }
        self.check(queries.row(0), 0, threshold, top_k)?;
        if queries.len() == 1 {
            // One query (the federation's hit/no-hit queries, one at a time)
            // runs on this thread with this thread's buffers: a fresh
            // `Scratch` grew its candidate list from nothing (a dozen
            // reallocations for a few thousand candidates) for every query.
            return Ok(vec![SCRATCH.with(
                |scratch| match scratch.try_borrow_mut() {
                    Ok(mut scratch) => {
                        self.query_one(queries.row(0), threshold, top_k, &mut scratch)
                    }
                    Err(_) => {
                        self.query_one(queries.row(0), threshold, top_k, &mut Scratch::default())
                    }
                },
            )]);
        }
        Ok((0..queries.len())
            .into_par_iter()
            .with_min_len(8)
            .map_init(Scratch::default, |scratch, i| {
                self.query_one(queries.row(i), threshold, top_k, scratch)
            })
            .collect())
    }

    /// The exact answer of [`Index::query`]: every encoding in the popcount range is
    /// compared (no blocking). The reference recall is measured against; also the right
    /// call for small indexes.
    ///
    /// Errors: as [`Index::query`].
    pub fn query_exhaustive(&self, clk: &[u64], threshold: f64, top_k: usize) -> Result<Vec<Hit>> {
        self.check(clk, 0, threshold, top_k)?;
        let pa = crate::clks::popcount(clk);
        let rows = self.words.as_slice();
        let first = self.first_pass(threshold);
        let hits: Vec<Hit> = rows
            .par_chunks(self.n_words * 4096)
            .enumerate()
            .flat_map_iter(|(chunk_idx, chunk)| {
                let base = chunk_idx * 4096;
                let mut counts = vec![0u32; chunk.len() / self.n_words];
                self.kernel.and_counts(clk, chunk, &mut counts);
                counts
                    .into_iter()
                    .enumerate()
                    .filter_map(|(k, c)| {
                        let j = base + k;
                        dice_at_least(c, pa + self.popcounts[j], first)
                            .and_then(|dice| self.rescore(clk, j as u32, dice, threshold))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        Ok(best_first(hits, top_k))
    }

    /// How many distinct encodings the bands hand to verification for `clk` (what a
    /// query costs; for tuning `IndexConfig`). Every encoding without bands.
    pub fn candidates(&self, clk: &[u64]) -> usize {
        if self.bands.is_empty() || clk.len() != self.n_words {
            return self.len();
        }
        let mut cands = Vec::new();
        self.band_candidates(clk, &mut cands);
        cands.len()
    }

    /// The number of encodings.
    pub fn len(&self) -> usize {
        self.popcounts.len()
    }

    /// True when the index holds no encoding.
    pub fn is_empty(&self) -> bool {
        self.popcounts.is_empty()
    }

    /// The length of the encodings in bits.
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// Heap bytes held: rows, popcounts and bands.
    pub fn heap_bytes(&self) -> usize {
        self.words.heap_bytes()
            + self.popcounts.capacity() * 4
            + self.bands.iter().map(Band::heap_bytes).sum::<usize>()
    }

    fn check(&self, clk: &[u64], index: usize, threshold: f64, top_k: usize) -> Result<()> {
        if clk.len() != self.n_words {
            return Err(Error::WrongLength {
                source_name: "query".to_owned(),
                index,
                expected: self.n_bits,
                found: clk.len() * 64,
            });
        }
        if !(threshold > 0.0 && threshold <= 1.0) {
            return Err(Error::InvalidConfig {
                field: "threshold",
                reason: format!("{threshold} is not in (0, 1]"),
            });
        }
        if top_k == 0 {
            return Err(Error::InvalidConfig {
                field: "top_k",
                reason: "must be at least 1".to_owned(),
            });
        }
        Ok(())
    }

    fn query_one(
        &self,
        clk: &[u64],
        threshold: f64,
        top_k: usize,
        scratch: &mut Scratch,
    ) -> Vec<Hit> {
        if self.bands.is_empty() {
            // No bands: the exact scan (on this thread; batches are parallel already).
            return self.scan_all(clk, threshold, top_k);
        }
        let Scratch { cands, counts } = scratch;
        self.band_candidates(clk, cands);
        let pa = crate::clks::popcount(clk);
        let first = self.first_pass(threshold);
        let range = popcount_range(&[self.popcount_bounds.0, self.popcount_bounds.1], pa, first);
        if range.len() < 2 {
            // Some popcounts are out of reach: drop those candidates before scoring.
            let (lo, hi) = popcount_limits(pa, first);
            cands.retain(|&j| (lo..=hi).contains(&self.popcounts[j as usize]));
        }
        // The candidates' rows lie at random in memory: ask for all of them before the
        // kernel reads the first, so that their cache misses overlap.
        let rows = self.words.as_slice();
        for &j in cands.iter() {
            let j = j as usize;
            crate::kernel::prefetch(&rows[j * self.n_words..(j + 1) * self.n_words]);
        }
        counts.clear();
        counts.resize(cands.len(), 0);
        self.kernel.and_counts_at(clk, rows, cands, counts);
        // Balanced encodings all have one popcount: then it is not looked up
        // per candidate (a read at a random place in `popcounts`, 4 MB per
        // million encodings, that missed the cache for most candidates).
        let (lo, hi) = self.popcount_bounds;
        let hits = if lo == hi {
            cands
                .iter()
                .zip(counts.iter())
                .filter_map(|(&j, &c)| {
                    dice_at_least(c, pa + lo, first)
                        .and_then(|dice| self.rescore(clk, j, dice, threshold))
                })
                .collect()
        } else {
            cands
                .iter()
                .zip(counts.iter())
                .filter_map(|(&j, &c)| {
                    dice_at_least(c, pa + self.popcounts[j as usize], first)
                        .and_then(|dice| self.rescore(clk, j, dice, threshold))
                })
                .collect()
        };
        best_first(hits, top_k)
    }

    /// The threshold of the whole-encoding Dice pass: the threshold itself, or the
    /// scoring's first pass for encodings with field segments.
    fn first_pass(&self, threshold: f64) -> f64 {
        self.scoring
            .as_deref()
            .map_or(threshold, |s| s.first_pass(threshold))
    }

    /// The hit for position `j` whose whole-encoding Dice passed the first pass: as it
    /// is without field segments, else scored field by field against `threshold`.
    fn rescore(&self, clk: &[u64], j: u32, dice: f64, threshold: f64) -> Option<Hit> {
        let score = match &self.scoring {
            None => dice,
            Some(s) => {
                let row = &self.words.as_slice()
                    [j as usize * self.n_words..(j as usize + 1) * self.n_words];
                s.score(clk, row)
            }
        };
        (score >= threshold).then_some(Hit {
            position: j,
            dice: score,
        })
    }

    /// The distinct positions in the query's bucket of each band, sorted.
    fn band_candidates(&self, clk: &[u64], cands: &mut Vec<u32>) {
        cands.clear();
        let k = bucket_bits(self.len());
        // Three loops, not one: the keys first, then every bucket's range, then the
        // positions. The offsets of different bands (and then their positions) are
        // independent reads that miss the cache; in one loop each band's work waited for
        // its own reads before the next band's were issued, here they overlap.
        let ranges: Vec<Option<(usize, usize)>> = self
            .bands
            .iter()
            .map(|band| band_key(clk, &band.windows).map(|key| bucket(key, k)))
            .collect::<Vec<_>>()
            .into_iter()
            .zip(&self.bands)
            .map(|(b, band)| b.map(|b| band.bucket_range(b)))
            .collect();
        let mut smallest: Option<(&Band, (usize, usize))> = None;
        for (band, range) in self.bands.iter().zip(ranges) {
            let Some(range) = range else {
                continue;
            };
            let len = range.1 - range.0;
            if len <= self.max_bucket {
                band.extend_ids(range, cands);
            } else if smallest.is_none_or(|(_, (lo, hi))| len < hi - lo) {
                smallest = Some((band, range));
            }
        }
        if cands.is_empty()
            && let Some((band, range)) = smallest
        {
            band.extend_ids(range, cands);
        }
        cands.sort_unstable();
        cands.dedup();
    }

    fn scan_all(&self, clk: &[u64], threshold: f64, top_k: usize) -> Vec<Hit> {
        let pa = crate::clks::popcount(clk);
        let first = self.first_pass(threshold);
        let mut counts = vec![0u32; self.len()];
        self.kernel
            .and_counts(clk, self.words.as_slice(), &mut counts);
        let hits = counts
            .iter()
            .enumerate()
            .filter_map(|(j, &c)| {
                dice_at_least(c, pa + self.popcounts[j], first)
                    .and_then(|dice| self.rescore(clk, j as u32, dice, threshold))
            })
            .collect();
        best_first(hits, top_k)
    }
}

/// The windows of every field band whose fields the scoring has (bands naming a field
/// it lacks are left out), offsets drawn from `state`.
///
/// Errors: a window of 0 or more than 57 bits or wider than its segment, or more than 64
/// bits in one band.
fn field_windows(
    scoring: &FieldScoring,
    families: &[FieldBand],
    state: &mut u64,
) -> Result<Vec<Vec<Window>>> {
    let mut segments = std::collections::HashMap::new();
    let mut start = 0;
    for f in &scoring.fields {
        segments.insert(f.field.as_str(), (start, start + f.words));
        start += f.words;
    }
    let mut out = Vec::new();
    for family in families {
        if family.windows.iter().map(|&(_, bits)| bits).sum::<usize>() > 64 {
            return Err(Error::InvalidConfig {
                field: "field_bands",
                reason: format!("{:?}: more than 64 bits in one key", family.windows),
            });
        }
        if family
            .windows
            .iter()
            .any(|(field, _)| !segments.contains_key(field))
        {
            continue;
        }
        for _ in 0..family.bands {
            let mut windows = Vec::with_capacity(family.windows.len());
            for &(field, len) in family.windows {
                let (s, e) = segments[field];
                let seg_bits = (e - s) * 64;
                if len == 0 || len > 57 || len > seg_bits {
                    return Err(Error::InvalidConfig {
                        field: "field_bands",
                        reason: format!(
                            "{len} bits of {field:?} is not between 1 and min(57, {seg_bits})"
                        ),
                    });
                }
                let at = (splitmix(state) % (seg_bits - len + 1) as u64) as usize;
                windows.push(Window {
                    offset: s * 64 + at,
                    len,
                    segment: Some((s, e)),
                });
            }
            out.push(windows);
        }
    }
    Ok(out)
}

thread_local! {
    /// The buffers of single queries on this thread (kept between queries).
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

/// Per-thread buffers of a query.
#[derive(Default)]
struct Scratch {
    cands: Vec<u32>,
    counts: Vec<u32>,
}

/// The popcounts `q` with which popcount `p` can reach Dice `t`.
fn popcount_limits(p: u32, t: f64) -> (u32, u32) {
    let p = f64::from(p);
    let lo = (p * t / (2.0 - t) - 1e-9).ceil().max(0.0);
    let hi = (p * (2.0 - t) / t + 1e-9).floor().min(f64::from(u32::MAX));
    (lo as u32, hi as u32)
}

/// The Dice coefficient of an intersection and total popcount, when it reaches `t` (the
/// same division as `matching`, so both agree at the boundary).
fn dice_at_least(both: u32, total: u32, t: f64) -> Option<f64> {
    let d = 2.0 * f64::from(both) / f64::from(total);
    (total > 0 && d >= t).then_some(d)
}

fn best_first(mut hits: Vec<Hit>, top_k: usize) -> Vec<Hit> {
    hits.sort_by(|a, b| b.dice.total_cmp(&a.dice).then(a.position.cmp(&b.position)));
    hits.truncate(top_k);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clks::dice;

    /// `n` random rows of `n_words` words, and `n_queries` queries that are rows
    /// `0, 7, 14, …` with `flips` bits flipped.
    fn data(n: usize, n_words: usize, flips: usize) -> (Clks, Clks) {
        let mut state = 11u64;
        let mut rows = Clks::new(n_words * 64);
        let mut queries = Clks::new(n_words * 64);
        for i in 0..n {
            let row: Vec<u64> = (0..n_words).map(|_| splitmix(&mut state)).collect();
            if i % 7 == 0 {
                let mut q = row.clone();
                for _ in 0..flips {
                    let p = (splitmix(&mut state) % (n_words as u64 * 64)) as usize;
                    q[p / 64] ^= 1 << (p % 64);
                }
                assert!(queries.push_words(&q));
            }
            assert!(rows.push_words(&row));
        }
        (rows, queries)
    }

    fn brute(rows: &Clks, q: &[u64], t: f64, top_k: usize) -> Vec<Hit> {
        let hits = (0..rows.len())
            .filter_map(|j| {
                let d = dice(rows.row(j), q);
                (d >= t).then_some(Hit {
                    position: j as u32,
                    dice: d,
                })
            })
            .collect();
        best_first(hits, top_k)
    }

    #[test]
    fn exhaustive_and_no_bands_equal_brute_force() {
        let (rows, queries) = data(700, 16, 60);
        let none = IndexConfig {
            bands: 0,
            ..IndexConfig::standard()
        };
        let index = Index::build(rows.clone(), &none).unwrap();
        let batch = index.query_batch(&queries, 0.8, 5).unwrap();
        for (i, got) in batch.iter().enumerate() {
            let q = queries.row(i);
            let expect = brute(&rows, q, 0.8, 5);
            assert_eq!(got, &expect, "query {i}");
            assert_eq!(index.query_exhaustive(q, 0.8, 5).unwrap(), expect);
            assert_eq!(index.query(q, 0.8, 5).unwrap(), expect);
            assert_eq!(expect.first().map(|h| h.position), Some(7 * i as u32));
        }
    }

    /// An index whose encodings all have one popcount (balanced encodings,
    /// where the popcount is not looked up per candidate) answers exactly
    /// what brute force finds among the candidates, with the same scores.
    #[test]
    fn one_popcount_indexes_score_as_brute_force() {
        let mut state = 5u64;
        let mut rows = Clks::new(1024);
        for _ in 0..2000 {
            let half: Vec<u64> = (0..8).map(|_| splitmix(&mut state)).collect();
            let row: Vec<u64> = half
                .iter()
                .copied()
                .chain(half.iter().map(|w| !w))
                .collect();
            assert!(rows.push_words(&row));
        }
        let index = Index::build(
            rows.clone(),
            &IndexConfig {
                bands: 16,
                bits_per_band: 16,
                seed: 3,
                max_bucket: 1024,
                field_bands: &[],
            },
        )
        .unwrap();
        assert_eq!(index.popcount_bounds, (512, 512));
        for i in (0..2000).step_by(7) {
            let mut q = rows.row(i).to_vec();
            for _ in 0..40 {
                let p = (splitmix(&mut state) % 1024) as usize;
                q[p / 64] ^= 1 << (p % 64);
            }
            let expect = brute(&rows, &q, 0.8, 3);
            let got = index.query(&q, 0.8, 3).unwrap();
            assert!(
                got.iter().all(|h| expect.contains(h)),
                "query {i}: {got:?} {expect:?}"
            );
            let exact = index.query(rows.row(i), 0.8, 3).unwrap();
            assert_eq!(
                exact.first().map(|h| (h.position, h.dice)),
                Some((i as u32, 1.0))
            );
        }
    }

    /// A batch of one query (run on the calling thread with its kept
    /// buffers) answers as the query alone, query after query.
    #[test]
    fn single_query_batches_answer_as_queries() {
        let (rows, queries) = data(3000, 16, 60);
        let config = IndexConfig {
            bands: 16,
            bits_per_band: 16,
            seed: 3,
            max_bucket: 1024,
            field_bands: &[],
        };
        let index = Index::build(rows, &config).unwrap();
        // Large candidate lists first, then small ones: nothing left over counts.
        for i in (0..queries.len()).rev().chain(0..queries.len()) {
            let mut one = Clks::new(queries.n_bits());
            assert!(one.push_words(queries.row(i)));
            let got = index.query_batch(&one, 0.8, 3).unwrap();
            assert_eq!(
                got,
                vec![index.query(queries.row(i), 0.8, 3).unwrap()],
                "query {i}"
            );
        }
    }

    #[test]
    fn bands_find_near_duplicates_and_nothing_false() {
        // 60 flips of 1024 bits: per-bit agreement about 0.94.
        let (rows, queries) = data(3000, 16, 60);
        let config = IndexConfig {
            bands: 16,
            bits_per_band: 16,
            seed: 3,
            max_bucket: 1024,
            field_bands: &[],
        };
        let index = Index::build(rows.clone(), &config).unwrap();
        assert_eq!((index.len(), index.n_bits()), (3000, 1024));
        let batch = index.query_batch(&queries, 0.8, 3).unwrap();
        let mut found = 0;
        for (i, got) in batch.iter().enumerate() {
            let expect = brute(&rows, queries.row(i), 0.8, 3);
            assert!(got.iter().all(|h| expect.contains(h)), "query {i}");
            found += usize::from(got == &expect);
            assert_eq!(got, &index.query(queries.row(i), 0.8, 3).unwrap());
        }
        assert!(
            found * 100 >= batch.len() * 98,
            "{found} of {}",
            batch.len()
        );
    }

    #[test]
    fn popcount_filter_and_varying_density() {
        // Sparse rows of different popcounts; every query is a row itself.
        let mut state = 5u64;
        let mut rows = Clks::new(128);
        for i in 0..400 {
            let keep = if i % 2 == 0 {
                u64::MAX
            } else {
                splitmix(&mut state)
            };
            let row = [
                splitmix(&mut state) & keep,
                splitmix(&mut state) & splitmix(&mut state),
            ];
            assert!(rows.push_words(&row));
        }
        let config = IndexConfig {
            bands: 24,
            bits_per_band: 8,
            seed: 9,
            max_bucket: 1024,
            field_bands: &[],
        };
        let index = Index::build(rows.clone(), &config).unwrap();
        for i in (0..400).step_by(13) {
            let q = rows.row(i);
            let got = index.query(q, 0.95, 10).unwrap();
            assert_eq!(got, index.query_exhaustive(q, 0.95, 10).unwrap());
            assert_eq!(
                got.first().map(|h| (h.position, h.dice)),
                Some((i as u32, 1.0))
            );
        }
    }

    #[test]
    fn crowded_buckets_are_skipped_but_never_all() {
        // 300 copies of one row and 300 random rows: every band's bucket of the copy
        // holds the 300 copies.
        let (random, _) = data(300, 4, 0);
        let mut rows = Clks::new(256);
        for _ in 0..300 {
            assert!(rows.push_words(random.row(0)));
        }
        for j in 0..300 {
            assert!(rows.push_words(random.row(j)));
        }
        let small = IndexConfig {
            bands: 8,
            bits_per_band: 16,
            seed: 1,
            max_bucket: 10,
            field_bands: &[],
        };
        let index = Index::build(rows.clone(), &small).unwrap();
        let q = rows.row(0);
        // Every bucket is crowded, so the smallest is used: all copies are found.
        assert!(index.candidates(q) >= 300);
        assert_eq!(index.query(q, 1.0, 1000).unwrap().len(), 301);
        let distinct = random.row(7);
        assert!(index.candidates(distinct) < 300);
        assert_eq!(index.query(distinct, 1.0, 5).unwrap()[0].position, 307);
    }

    #[test]
    fn field_scoring_is_what_the_index_answers() {
        use crate::scoring::{FieldScoring, FieldWeight};
        let (rows, queries) = data(700, 4, 20);
        let scoring = FieldScoring {
            fields: vec![
                FieldWeight {
                    field: "name".to_owned(),
                    words: 3,
                    weight: 3.0,
                    missing: 0.5,
                    agreement: None,
                },
                FieldWeight {
                    field: "birth".to_owned(),
                    words: 1,
                    weight: 1.0,
                    missing: 0.5,
                    agreement: None,
                },
            ],
            prefilter: 0.5,
            namesake_penalty: 0.0,
            namesake_similarity: 0.95,
        };
        let rows = rows.with_scoring(scoring.clone()).unwrap();
        let index = Index::build(
            rows.clone(),
            &IndexConfig {
                bands: 0,
                ..IndexConfig::standard()
            },
        )
        .unwrap();
        for q in 0..queries.len() {
            let clk = queries.row(q);
            let got = index.query(clk, 0.8, 3).unwrap();
            let mut expect: Vec<Hit> = (0..rows.len())
                .filter_map(|j| {
                    let whole = dice(rows.row(j), clk);
                    let score = scoring.score(clk, rows.row(j));
                    (whole >= 0.5 && score >= 0.8).then_some(Hit {
                        position: j as u32,
                        dice: score,
                    })
                })
                .collect();
            expect = best_first(expect, 3);
            assert_eq!(got, expect, "query {q}");
            assert_eq!(got, index.query_exhaustive(clk, 0.8, 3).unwrap());
            assert_eq!(got[0].position, 7 * q as u32);
        }
    }

    /// `n` synthetic people from small vocabularies (so namesakes exist), a birth date for
    /// 90 % and a passport for a third.
    fn people(n: usize, state: &mut u64) -> Vec<crate::person::Person> {
        use crate::person::{BirthDate, Person};
        const SYLLABLES: [&str; 12] = [
            "ka", "ri", "mo", "na", "el", "an", "to", "sa", "li", "ve", "ro", "ma",
        ];
        let word = |state: &mut u64| -> String {
            (0..3)
                .map(|_| SYLLABLES[(splitmix(state) % 12) as usize])
                .collect()
        };
        (0..n)
            .map(|i| Person {
                name_tokens: vec![word(state), word(state)],
                birth: (i % 10 != 0).then(|| BirthDate {
                    year: 1950 + (splitmix(state) % 50) as u16,
                    month: Some(1 + (splitmix(state) % 12) as u8),
                    day: Some(1 + (splitmix(state) % 28) as u8),
                }),
                sex: Some(
                    if splitmix(state).is_multiple_of(2) {
                        "m"
                    } else {
                        "f"
                    }
                    .to_owned(),
                ),
                identifiers: if i % 3 == 0 {
                    vec![format!("P{:08}", splitmix(state) % 100_000_000)]
                } else {
                    Vec::new()
                },
                ..Person::default()
            })
            .collect()
    }

    /// A changed copy: a typo in a name, day and month swapped, the year off by one, or the
    /// passport or birth date dropped.
    fn changed(p: &crate::person::Person, state: &mut u64) -> crate::person::Person {
        let mut p = p.clone();
        match splitmix(state) % 5 {
            0 => {
                let mut chars: Vec<char> = p.name_tokens[0].chars().collect();
                let at = (splitmix(state) % chars.len() as u64) as usize;
                chars[at] = 'x';
                p.name_tokens[0] = chars.into_iter().collect();
            }
            1 => {
                if let Some(d) = &mut p.birth {
                    (d.month, d.day) = (d.day.filter(|&x| x <= 12).or(d.month), d.month);
                }
            }
            2 => {
                if let Some(d) = &mut p.birth {
                    d.year += 1;
                }
            }
            3 => p.identifiers.clear(),
            _ => p.birth = None,
        }
        p
    }

    #[test]
    fn field_bands_find_what_exhaustive_search_finds() {
        use crate::encode::{EncodeConfig, Encoder};
        let encoder =
            Encoder::new(b"index test group secret", EncodeConfig::field_level()).unwrap();
        let mut state = 17u64;
        let stored = people(2000, &mut state);
        let rows = encoder.encode_all(&stored);
        let mut queries: Vec<_> = stored
            .iter()
            .step_by(4)
            .map(|p| changed(p, &mut state))
            .collect();
        queries.extend(people(100, &mut state));
        let queries = encoder.encode_all(&queries);
        let index = Index::build(rows, &IndexConfig::standard()).unwrap();
        let t = 0.84;
        let batch = index.query_batch(&queries, t, 3).unwrap();
        let (mut exact_pairs, mut found_pairs, mut candidates) = (0, 0, 0);
        for (i, answer) in batch.iter().enumerate() {
            let q = queries.row(i);
            assert_eq!(answer, &index.query(q, t, 3).unwrap(), "query {i}");
            let exact = index.query_exhaustive(q, t, usize::MAX).unwrap();
            let got = index.query(q, t, usize::MAX).unwrap();
            assert!(got.iter().all(|h| exact.contains(h)), "query {i}");
            exact_pairs += exact.len();
            found_pairs += got.len();
            candidates += index.candidates(q);
        }
        // Recall against exhaustive search, and far fewer candidates than a scan.
        assert!(exact_pairs >= 300, "{exact_pairs} pairs");
        assert!(
            found_pairs * 100 >= exact_pairs * 95,
            "{found_pairs} of {exact_pairs}"
        );
        assert!(candidates < batch.len() * index.len() / 10, "{candidates}");
    }

    #[test]
    fn field_bands_are_checked_and_leave_out_absent_fields() {
        use crate::scoring::{FieldScoring, FieldWeight};
        let field = |name: &str, words: usize| FieldWeight {
            field: name.to_owned(),
            words,
            weight: 1.0,
            missing: 0.5,
            agreement: None,
        };
        let (random, _) = data(300, 4, 0);
        // Rows 0, 3, 6, … have no birth year (an all-zero last segment).
        let mut rows = Clks::new(256);
        for j in 0..300 {
            let mut row = random.row(j).to_vec();
            if j % 3 == 0 {
                row[3] = 0;
            }
            assert!(rows.push_words(&row));
        }
        let scoring = FieldScoring {
            fields: vec![field("name", 3), field("birth_year", 1)],
            prefilter: 0.5,
            namesake_penalty: 0.0,
            namesake_similarity: 0.95,
        };
        let rows = rows.with_scoring(scoring).unwrap();
        let config = |field_bands| IndexConfig {
            field_bands,
            ..IndexConfig::standard()
        };
        // Of the standard families only name + birth year fits these fields.
        let index = Index::build(rows.clone(), &config(STANDARD_FIELD_BANDS)).unwrap();
        assert_eq!(index.bands.len(), 8);
        assert!(index.bands.iter().all(|b| b.len() == 200));
        // A row without a birth year is found by no band, and scanned when asked exactly.
        assert_eq!(index.candidates(rows.row(0)), 0);
        // (Its score with itself is (1 + 0.5) / 2: the birth year counts as missing.)
        assert_eq!(index.query(rows.row(0), 0.7, 1).unwrap(), vec![]);
        assert_eq!(
            index.query_exhaustive(rows.row(0), 0.7, 1).unwrap()[0].position,
            0
        );
        assert_eq!(index.query(rows.row(1), 0.9, 1).unwrap()[0].position, 1);
        // No family fits: the whole-encoding bands.
        const OTHER: &[FieldBand] = &[FieldBand {
            bands: 3,
            windows: &[("passport", 8)],
        }];
        assert_eq!(
            Index::build(rows.clone(), &config(OTHER))
                .unwrap()
                .bands
                .len(),
            48
        );
        let msg = |bands| {
            Index::build(rows.clone(), &config(bands))
                .unwrap_err()
                .to_string()
        };
        const WIDE: &[FieldBand] = &[FieldBand {
            bands: 1,
            windows: &[("birth_year", 58)],
        }];
        assert!(
            msg(WIDE).contains("58 bits of \"birth_year\""),
            "{}",
            msg(WIDE)
        );
        const LONG: &[FieldBand] = &[FieldBand {
            bands: 1,
            windows: &[("name", 40), ("birth_year", 30)],
        }];
        assert!(msg(LONG).contains("more than 64 bits"), "{}", msg(LONG));
    }

    #[test]
    fn bad_queries_and_configs() {
        let (rows, _) = data(50, 2, 0);
        let index = Index::build(rows.clone(), &IndexConfig::standard()).unwrap();
        let msg = |r: Result<Vec<Hit>>| r.unwrap_err().to_string();
        assert!(msg(index.query(&[0; 3], 0.9, 1)).contains("192"));
        assert!(msg(index.query(&[0; 2], 0.0, 1)).contains("threshold"));
        assert!(msg(index.query(&[0; 2], f64::NAN, 1)).contains("threshold"));
        assert!(msg(index.query(&[0; 2], 0.9, 0)).contains("top_k"));
        let wide = IndexConfig {
            bits_per_band: 58,
            ..IndexConfig::standard()
        };
        assert!(
            Index::build(rows, &wide)
                .unwrap_err()
                .to_string()
                .contains("bits_per_band")
        );
        let empty = Index::build(Clks::new(128), &IndexConfig::standard()).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.query(&[1, 2], 0.5, 1).unwrap(), vec![]);
        assert_eq!(
            empty.query_batch(&Clks::new(128), 0.5, 1).unwrap(),
            Vec::<Vec<Hit>>::new()
        );
    }
}
