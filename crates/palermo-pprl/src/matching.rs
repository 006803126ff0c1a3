//! Dice matching of two sets of encodings: a popcount filter, optional Hamming-LSH
//! blocking, a multi-threaded popcount kernel, top-k per query and a greedy 1-1 solve.
//!
//! **Popcount filter (exact).** `dice(a, b) ≥ t` needs `2·min(|a|,|b|) ≥ t·(|a|+|b|)`,
//! so each left encoding is compared only with right encodings whose popcount lies in
//! `[|a|·t/(2−t), |a|·(2−t)/t]`; the right side is sorted by popcount once. This never
//! loses a pair.
//!
//! **Hamming-LSH blocking (approximate).** For inputs too large to compare exhaustively,
//! `bands` groups of `bits_per_band` bit positions are drawn with a fixed seed; two
//! encodings are candidates when they agree on every sampled bit of at least one band.
//! With per-bit agreement `s` the chance to be found is `1 − (1 − s^r)^b`: for the default
//! 32 bands of 16 bits, 0.9986 at `s = 0.9` and 0.0005 at `s = 0.5`.
//!
//! **Kernel.** [`crate::kernel`]: `popcount(a ∧ b)` over blocks of contiguous, 64-byte
//! aligned rows (AVX-512 `VPOPCNTQ`, AVX2 + POPCNT or portable, chosen at run time),
//! then one table lookup per row decides the threshold: `min_count[|a| + |b|]` is the
//! smallest intersection whose Dice reaches it, so no division is done for pairs that
//! fail. Left encodings are taken in popcount order, [`MULTI_QUERIES`] at a time, so
//! that one pass of the multi-query kernel over the union of their (nearly equal)
//! popcount ranges serves all of them; these chunks are spread over all cores.
//!
//! [`MULTI_QUERIES`]: crate::kernel::MULTI_QUERIES

use std::collections::HashMap;

use rayon::prelude::*;

use std::sync::atomic::{AtomicU32, Ordering};

use crate::clks::{Clks, dice};
use crate::error::{Error, Result};
use crate::kernel::{AlignedWords, Kernel, MULTI_QUERIES, interleave};
use crate::scoring::FieldScoring;

/// How candidate pairs are chosen before Dice is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blocking {
    /// Exhaustive (with the exact popcount filter) up to [`AUTO_EXHAUSTIVE_LIMIT`] pairs,
    /// Hamming-LSH with 32 bands of 16 bits above.
    Auto,
    /// Every pair that passes the popcount filter.
    Exhaustive,
    /// Hamming-LSH bit sampling.
    Lsh {
        /// Number of bands (more bands: higher recall, more candidates).
        bands: usize,
        /// Bits per band, at most 64 (more bits: fewer candidates, lower recall).
        bits_per_band: usize,
    },
}

/// Above this many `left × right` pairs, [`Blocking::Auto`] switches to Hamming-LSH.
pub const AUTO_EXHAUSTIVE_LIMIT: u64 = 2_000_000_000;

/// How to match.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchConfig {
    /// Minimum Dice coefficient of a reported pair, in `(0, 1]`.
    pub threshold: f64,
    /// Keep at most this many best pairs per left encoding (`None`: all).
    pub top_k: Option<usize>,
    /// Keep a greedy one-to-one assignment (best score first), as anonlink's solver does.
    pub one_to_one: bool,
    /// Candidate selection.
    pub blocking: Blocking,
    /// The popcount kernel build (`None`: the fastest this CPU has, [`Kernel::detect`]).
    /// A build the CPU lacks is an error; forcing one lets a benchmark measure, say, the
    /// AVX2 build on a CPU with AVX-512.
    pub kernel: Option<Kernel>,
}

/// One scored pair: positions in the left and right sets and the score (the Dice
/// coefficient, or the field-level score of encodings with field segments).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    /// Position in the left set.
    pub left: u32,
    /// Position in the right set.
    pub right: u32,
    /// Dice coefficient in `[0, 1]`.
    pub score: f64,
}

/// What the matching did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchStats {
    /// `left × right`: the comparisons an all-to-all matcher would make.
    pub nominal_comparisons: u64,
    /// Pairs left by the popcount filter and blocking, whose Dice coefficients are
    /// computed (a multi-query scan also counts the few rows of its neighbours' ranges
    /// outside a query's own, and ignores them).
    pub computed_comparisons: u64,
    /// Pairs at or above the threshold, before top-k and one-to-one.
    pub candidates: u64,
    /// True when Hamming-LSH blocking was used.
    pub lsh: bool,
}

/// Matches every left encoding against the right set.
///
/// Returns the pairs sorted by left position, best score first, and the statistics.
/// Errors: encodings of different lengths, a threshold outside `(0, 1]`, LSH bands of
/// 0 or more than 64 bits, `top_k` of 0, a kernel build this CPU lacks.
pub fn match_clks(
    left: &Clks,
    right: &Clks,
    config: &MatchConfig,
) -> Result<(Vec<Pair>, MatchStats)> {
    validate(left, right, config)?;
    let nominal = left.len() as u64 * right.len() as u64;
    let sorted = SortedSide::new(right);
    let lsh_params = match config.blocking {
        Blocking::Exhaustive => None,
        Blocking::Lsh {
            bands,
            bits_per_band,
        } => Some((bands, bits_per_band)),
        Blocking::Auto => (nominal > AUTO_EXHAUSTIVE_LIMIT).then_some((32, 16)),
    };
    let lsh = lsh_params.map(|(bands, bits)| LshIndex::new(&sorted, bands, bits));
    let kernel = config.kernel.unwrap_or_else(Kernel::detect);
    // Field segments: the kernel finds the pairs whose whole-encoding Dice reaches the
    // scoring's first pass, and those are scored field by field.
    let scoring = left.scoring().or(right.scoring());
    let first = scoring.map_or(config.threshold, |s| s.first_pass(config.threshold));
    let min_count = MinCount::new(first, 2 * left.n_bits().max(right.n_bits()));
    // Namesake counts (see `crate::scoring`): each left record's as it is scanned, each
    // right record's (by sorted position) summed over all left records.
    let namesakes = scoring.and_then(FieldScoring::namesakes);
    let right_namesakes: Vec<AtomicU32> = match namesakes {
        Some(_) => (0..right.len()).map(|_| AtomicU32::new(0)).collect(),
        None => Vec::new(),
    };
    // Segments with an agreement weight also propose the pairs in which they are the
    // same on both sides, whatever the whole-encoding Dice (see `Agreeing`).
    let agreeing = Agreeing::new(&sorted, scoring);
    // What follows the scan for left encoding `i` with its hits `(sorted position,
    // Dice)`: the namesake counts, the field scores, and its pairs best first.
    let finish = |i: usize, mut hits: Vec<(u32, f64)>| -> (Vec<Pair>, u32) {
        let a = left.row(i);
        let mut left_namesakes = 0u32;
        if let Some((range, similarity, _)) = &namesakes {
            // A namesake pair always passes the first pass: its name segments, more than
            // half of the encoding, nearly coincide.
            for (j, _) in &hits {
                let b = sorted.row(*j as usize);
                if dice(&a[range.clone()], &b[range.clone()]) >= *similarity {
                    left_namesakes += 1;
                    right_namesakes[*j as usize].fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        if let Some(scoring) = scoring {
            // The namesake term only lowers a score, so a pair below the threshold here
            // stays below it.
            hits.retain_mut(|(j, score)| {
                *score = scoring.score(a, sorted.row(*j as usize));
                *score >= config.threshold
            });
        }
        let mut pairs: Vec<Pair> = hits
            .into_iter()
            .map(|(j, score)| Pair {
                left: i as u32,
                // The sorted position until the namesake term is applied.
                right: if namesakes.is_some() {
                    j
                } else {
                    sorted.order[j as usize]
                },
                score,
            })
            .collect();
        if namesakes.is_none() {
            pairs.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.right.cmp(&b.right)));
        }
        (pairs, left_namesakes)
    };
    // The left side in popcount order, `MULTI_QUERIES` at a time: neighbours in that
    // order have nearly the same popcount range on the right, so the multi-query kernel
    // scans their common range once for all of them.
    let mut left_order: Vec<u32> = (0..left.len() as u32).collect();
    left_order.sort_by_key(|&i| (left.popcount(i as usize), i));
    // Per left encoding: its position, pairs, comparisons and namesakes.
    type Scanned = (u32, Vec<Pair>, u64, u32);
    let per_chunk: Vec<Vec<Scanned>> = left_order
        .par_chunks(MULTI_QUERIES)
        .with_min_len(4)
        .map_init(Scratch::default, |scratch, chunk| {
            let mut hits: Vec<Vec<(u32, f64)>> = vec![Vec::new(); chunk.len()];
            let mut computed = vec![0u64; chunk.len()];
            match &lsh {
                None => sorted.scan_ranges(
                    kernel,
                    left,
                    chunk,
                    first,
                    &min_count,
                    scratch,
                    &mut hits,
                    &mut computed,
                ),
                Some(index) => {
                    for ((&i, hits), computed) in chunk.iter().zip(&mut hits).zip(&mut computed) {
                        let (a, pa) = (left.row(i as usize), left.popcount(i as usize));
                        *computed = index.scan(kernel, &sorted, a, pa, first, &min_count, hits);
                    }
                }
            }
            chunk
                .iter()
                .zip(hits)
                .zip(computed)
                .map(|((&i, mut hits), computed)| {
                    agreeing.add(left.row(i as usize), &mut hits);
                    let (pairs, left_namesakes) = finish(i as usize, hits);
                    (i, pairs, computed, left_namesakes)
                })
                .collect()
        })
        .collect();
    let mut per_left: Vec<(Vec<Pair>, u64, u32)> = vec![(Vec::new(), 0, 0); left.len()];
    for (i, pairs, computed, left_namesakes) in per_chunk.into_iter().flatten() {
        per_left[i as usize] = (pairs, computed, left_namesakes);
    }
    let per_left: Vec<(Vec<Pair>, u64)> = per_left
        .into_iter()
        .map(|(mut pairs, computed, left_namesakes)| {
            if let Some(scoring) = scoring.filter(|_| namesakes.is_some()) {
                // Every right record's count is known now: apply the namesake term, then
                // turn sorted positions into right positions.
                pairs.retain_mut(|p| {
                    let j = p.right as usize;
                    let right_count = right_namesakes[j].load(Ordering::Relaxed);
                    p.score -= scoring.namesake_term(left_namesakes, right_count);
                    p.right = sorted.order[j];
                    p.score >= config.threshold
                });
                pairs.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.right.cmp(&b.right)));
            }
            (pairs, computed)
        })
        .collect();
    let computed = per_left.iter().map(|(_, c)| c).sum();
    let candidates = per_left.iter().map(|(p, _)| p.len() as u64).sum();
    let mut pairs: Vec<Pair> = Vec::with_capacity(candidates as usize);
    for (mut p, _) in per_left {
        if let Some(k) = config.top_k {
            p.truncate(k);
        }
        pairs.extend(p);
    }
    if config.one_to_one {
        pairs = greedy_one_to_one(pairs);
    }
    let stats = MatchStats {
        nominal_comparisons: nominal,
        computed_comparisons: computed,
        candidates,
        lsh: lsh.is_some(),
    };
    Ok((pairs, stats))
}

/// The right rows by the exact bit pattern of each segment that has an agreement weight
/// ([`crate::scoring::FieldWeight::agreement`]: phone numbers and e-mail addresses in the
/// standard scoring).
///
/// The whole-encoding first pass misses a pair whose only common field is such a segment:
/// a border record written from another identity's passport shares a phone number with
/// its bearer's other records but no name, so the whole encodings stay below the first
/// pass while the field score, with the agreeing segment's weight, is far above the
/// threshold. Equal segments hold the same phone numbers (or addresses), so they are
/// looked up here and added to the first pass's hits; every pair is then scored as usual.
struct Agreeing<'s> {
    ranges: Vec<std::ops::Range<usize>>,
    /// Per range: sorted positions by segment, for segments with a bit set.
    rows: Vec<HashMap<&'s [u64], Vec<u32>>>,
}

/// A segment pattern held by more right rows than this proposes none of them: a number
/// that many records share (a hotline, a shelter's phone) is no evidence of one person,
/// and the pairs would grow with its square.
const MAX_AGREEING: usize = 64;

impl<'s> Agreeing<'s> {
    fn new(sorted: &'s SortedSide, scoring: Option<&FieldScoring>) -> Agreeing<'s> {
        let ranges = scoring.map_or_else(Vec::new, FieldScoring::agreement_ranges);
        let rows = ranges
            .iter()
            .map(|range| {
                let mut by: HashMap<&[u64], Vec<u32>> = HashMap::new();
                for j in 0..sorted.order.len() {
                    let segment = &sorted.row(j)[range.clone()];
                    if segment.iter().any(|&w| w != 0) {
                        by.entry(segment).or_default().push(j as u32);
                    }
                }
                by.retain(|_, js| js.len() <= MAX_AGREEING);
                by
            })
            .collect();
        Agreeing { ranges, rows }
    }

    /// Adds to `hits` (sorted position, Dice) the right rows whose agreement segments
    /// equal those of `a` and are not there yet (with Dice 0: they are scored next).
    fn add(&self, a: &[u64], hits: &mut Vec<(u32, f64)>) {
        for (range, by) in self.ranges.iter().zip(&self.rows) {
            for &j in by.get(&a[range.clone()]).map_or(&[][..], Vec::as_slice) {
                if !hits.iter().any(|&(h, _)| h == j) {
                    hits.push((j, 0.0));
                }
            }
        }
    }
}

/// Greedy one-to-one assignment: best score first, each position used once. Returns the
/// kept pairs sorted by left position.
pub fn greedy_one_to_one(mut pairs: Vec<Pair>) -> Vec<Pair> {
    pairs.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.left.cmp(&b.left))
            .then(a.right.cmp(&b.right))
    });
    let mut used_left = std::collections::HashSet::new();
    let mut used_right = std::collections::HashSet::new();
    let mut kept: Vec<Pair> = pairs
        .into_iter()
        .filter(|p| {
            if used_left.contains(&p.left) || used_right.contains(&p.right) {
                return false;
            }
            used_left.insert(p.left);
            used_right.insert(p.right);
            true
        })
        .collect();
    kept.sort_by_key(|p| p.left);
    kept
}

fn validate(left: &Clks, right: &Clks, config: &MatchConfig) -> Result<()> {
    if let (Some(l), Some(r)) = (left.scoring(), right.scoring())
        && l != r
    {
        return Err(Error::InvalidConfig {
            field: "fields",
            reason: "the two sets of encodings are scored with different field weights".to_owned(),
        });
    }
    if left.n_bits() != right.n_bits() && !left.is_empty() && !right.is_empty() {
        return Err(Error::InvalidConfig {
            field: "encodings",
            reason: format!(
                "left encodings have {} bits, right ones {}",
                left.n_bits(),
                right.n_bits()
            ),
        });
    }
    let t = config.threshold;
    if !(t > 0.0 && t <= 1.0) {
        return Err(Error::InvalidConfig {
            field: "threshold",
            reason: format!("{t} is not in (0, 1]"),
        });
    }
    if let Some(kernel) = config.kernel.filter(|k| !k.is_available()) {
        return Err(Error::InvalidConfig {
            field: "kernel",
            reason: format!("this CPU cannot run the {} build", kernel.name()),
        });
    }
    if config.top_k == Some(0) {
        return Err(Error::InvalidConfig {
            field: "top_k",
            reason: "must be at least 1".to_owned(),
        });
    }
    if let Blocking::Lsh {
        bands,
        bits_per_band,
    } = config.blocking
        && (bands == 0 || bits_per_band == 0 || bits_per_band > 64)
    {
        return Err(Error::InvalidConfig {
            field: "blocking",
            reason: format!(
                "{bands} bands of {bits_per_band} bits: need at least 1 band of 1 to 64 bits"
            ),
        });
    }
    Ok(())
}

/// Rows handed to the kernel at a time (the count buffer stays in L1).
const BLOCK: usize = 256;

/// For a threshold `t`: the smallest `popcount(a ∧ b)` whose Dice reaches `t`, for each
/// total popcount `|a| + |b|`. Computed with the same division as the reported score, so
/// the table and the score never disagree at the boundary.
pub(crate) struct MinCount {
    min: Vec<u32>,
}

impl MinCount {
    /// The table for totals `0..=max_total`.
    pub(crate) fn new(t: f64, max_total: usize) -> MinCount {
        let min = (0..=max_total as u32)
            .map(|total| {
                if total == 0 {
                    return u32::MAX;
                }
                let mut c = ((t * f64::from(total) / 2.0).floor() as u32).saturating_sub(2);
                while c <= total && dice_of(c, total) < t {
                    c += 1;
                }
                if c > total { u32::MAX } else { c }
            })
            .collect();
        MinCount { min }
    }

    /// The smallest intersection that reaches the threshold with total popcount `total`
    /// (`u32::MAX` when none does); it never decreases as `total` grows.
    #[inline(always)]
    pub(crate) fn need(&self, total: u32) -> u32 {
        self.min.get(total as usize).copied().unwrap_or(u32::MAX)
    }

    /// The Dice coefficient when it reaches the threshold.
    #[inline(always)]
    pub(crate) fn check(&self, both: u32, total: u32) -> Option<f64> {
        let need = self.min.get(total as usize).copied().unwrap_or(u32::MAX);
        (both >= need).then(|| dice_of(both, total))
    }
}

#[inline(always)]
fn dice_of(both: u32, total: u32) -> f64 {
    2.0 * f64::from(both) / f64::from(total)
}

/// The right side reordered by popcount, stored contiguously and 64-byte aligned, both
/// row by row (for LSH candidates) and interleaved by groups of 8 (for scans).
struct SortedSide {
    n_words: usize,
    words: AlignedWords,
    groups: AlignedWords,
    popcounts: Vec<u32>,
    /// `order[j]` is the original position of sorted row `j`.
    order: Vec<u32>,
}

impl SortedSide {
    fn new(clks: &Clks) -> SortedSide {
        let mut order: Vec<u32> = (0..clks.len() as u32).collect();
        order.sort_by_key(|&j| (clks.popcount(j as usize), j));
        let mut words = Vec::with_capacity(clks.len() * clks.n_words() + 7);
        for &j in &order {
            words.extend_from_slice(clks.row(j as usize));
        }
        let popcounts = order.iter().map(|&j| clks.popcount(j as usize)).collect();
        SortedSide {
            n_words: clks.n_words(),
            groups: AlignedWords::from_vec(interleave(&words, clks.n_words())),
            words: AlignedWords::from_vec(words),
            popcounts,
            order,
        }
    }

    fn row(&self, j: usize) -> &[u64] {
        &self.words.as_slice()[j * self.n_words..(j + 1) * self.n_words]
    }

    /// The sorted rows whose popcount can reach Dice `t` with popcount `p`.
    fn range(&self, p: u32, t: f64) -> std::ops::Range<usize> {
        popcount_range(&self.popcounts, p, t)
    }

    /// Scans the popcount ranges of the left encodings `chunk` (at most
    /// `MULTI_QUERIES`) in one pass over the union of their ranges, and pushes each one's
    /// hits `(sorted position, Dice)` to `out[k]`; `computed[k]` gets the size of its own
    /// popcount range (the rows of the union outside it are counted by the kernel but
    /// ignored here).
    #[allow(clippy::too_many_arguments)]
    fn scan_ranges(
        &self,
        kernel: Kernel,
        left: &Clks,
        chunk: &[u32],
        t: f64,
        min_count: &MinCount,
        scratch: &mut Scratch,
        out: &mut [Vec<(u32, f64)>],
        computed: &mut [u64],
    ) {
        let w = self.n_words;
        if w == 0 {
            return;
        }
        let n_queries = chunk.len();
        let (mut lo, mut hi) = (usize::MAX, 0);
        scratch.queries.clear();
        scratch.ranges.clear();
        for (k, &i) in chunk.iter().enumerate() {
            let pa = left.popcount(i as usize);
            let r = self.range(pa, t);
            computed[k] = r.len() as u64;
            if !r.is_empty() {
                (lo, hi) = (lo.min(r.start), hi.max(r.end));
            }
            scratch.queries.extend_from_slice(left.row(i as usize));
            scratch.ranges.push((pa, r));
        }
        if lo >= hi {
            return;
        }
        let groups = self.groups.as_slice();
        scratch.counts.resize(n_queries * BLOCK, 0);
        scratch.reached.resize(n_queries, false);
        let (mut g, g_end) = (lo / 8, hi.div_ceil(8));
        while g < g_end {
            let g2 = (g + BLOCK / 8).min(g_end);
            let n_rows = (g2 - g) * 8;
            // Popcounts ascend, so the block's first row needs the least: the kernel
            // flags the queries with a count reaching that, and in the rest of the
            // block (nearly every one) no row is looked at.
            scratch.need.clear();
            scratch.need.extend(
                scratch
                    .ranges
                    .iter()
                    .map(|(pa, _)| min_count.need(pa + self.popcounts[g * 8])),
            );
            let counts = &mut scratch.counts[..n_queries * n_rows];
            kernel.and_counts_interleaved_multi(
                &scratch.queries,
                w,
                &groups[g * 8 * w..g2 * 8 * w],
                &scratch.need,
                counts,
                &mut scratch.reached,
            );
            for ((((pa, r), &need_lo), _), (counts, out)) in scratch
                .ranges
                .iter()
                .zip(&scratch.need)
                .zip(&scratch.reached)
                .zip(counts.chunks_exact(n_rows).zip(out.iter_mut()))
                .filter(|(((_, _), reached), _)| **reached)
            {
                for j in (g * 8).max(r.start)..(g2 * 8).min(r.end) {
                    let c = counts[j - g * 8];
                    if c >= need_lo
                        && let Some(s) = min_count.check(c, pa + self.popcounts[j])
                    {
                        out.push((j as u32, s));
                    }
                }
            }
            g = g2;
        }
    }
}

/// Per-thread buffers of `SortedSide::scan_ranges`.
#[derive(Default)]
struct Scratch {
    /// The chunk's queries, one after the other.
    queries: Vec<u64>,
    /// Each query's popcount and popcount range.
    ranges: Vec<(u32, std::ops::Range<usize>)>,
    /// The kernel's counts, query by query.
    counts: Vec<u32>,
    /// Per query, the least count any row of the block needs.
    need: Vec<u32>,
    /// Per query, whether some row of the block reaches its `need`.
    reached: Vec<bool>,
}

/// The positions in `popcounts` (sorted ascending) whose popcount `q` can reach Dice `t`
/// with popcount `p`: `q ∈ [p·t/(2−t), p·(2−t)/t]`.
pub(crate) fn popcount_range(popcounts: &[u32], p: u32, t: f64) -> std::ops::Range<usize> {
    let p = f64::from(p);
    // A small slack keeps pairs exactly at the bound despite rounding.
    let lo = (p * t / (2.0 - t) - 1e-9).ceil().max(0.0);
    let hi = (p * (2.0 - t) / t + 1e-9).floor();
    let start = popcounts.partition_point(|&q| f64::from(q) < lo);
    let end = popcounts.partition_point(|&q| f64::from(q) <= hi);
    start..end.max(start)
}

/// Hamming-LSH index over the sorted right side: one hash map per band.
struct LshIndex {
    positions: Vec<Vec<usize>>,
    buckets: Vec<HashMap<u64, Vec<u32>>>,
}

impl LshIndex {
    fn new(side: &SortedSide, bands: usize, bits_per_band: usize) -> LshIndex {
        let n_bits = side.n_words * 64;
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let positions: Vec<Vec<usize>> = (0..bands)
            .map(|_| {
                (0..bits_per_band)
                    .map(|_| (splitmix(&mut state) % n_bits as u64) as usize)
                    .collect()
            })
            .collect();
        let n = side.popcounts.len();
        let buckets = positions
            .par_iter()
            .map(|pos| {
                let mut map: HashMap<u64, Vec<u32>> = HashMap::new();
                for j in 0..n {
                    map.entry(signature(side.row(j), pos))
                        .or_default()
                        .push(j as u32);
                }
                map
            })
            .collect();
        LshIndex { positions, buckets }
    }

    #[allow(clippy::too_many_arguments)]
    fn scan(
        &self,
        kernel: Kernel,
        side: &SortedSide,
        a: &[u64],
        pa: u32,
        t: f64,
        min_count: &MinCount,
        out: &mut Vec<(u32, f64)>,
    ) -> u64 {
        let range = side.range(pa, t);
        let mut cands: Vec<u32> = Vec::new();
        for (pos, map) in self.positions.iter().zip(&self.buckets) {
            if let Some(list) = map.get(&signature(a, pos)) {
                cands.extend(list.iter().filter(|&&j| range.contains(&(j as usize))));
            }
        }
        cands.sort_unstable();
        cands.dedup();
        if a.is_empty() {
            return 0;
        }
        let mut counts = vec![0u32; cands.len()];
        kernel.and_counts_at(a, side.words.as_slice(), &cands, &mut counts);
        for (&j, &c) in cands.iter().zip(&counts) {
            if let Some(s) = min_count.check(c, pa + side.popcounts[j as usize]) {
                out.push((j, s));
            }
        }
        cands.len() as u64
    }
}

fn signature(row: &[u64], positions: &[usize]) -> u64 {
    positions
        .iter()
        .fold(0u64, |acc, &p| acc << 1 | (row[p / 64] >> (p % 64) & 1))
}

pub(crate) fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clks::dice;

    fn config(threshold: f64, blocking: Blocking) -> MatchConfig {
        MatchConfig {
            threshold,
            top_k: None,
            one_to_one: false,
            blocking,
            kernel: None,
        }
    }

    /// Pseudo-random encodings where right[i] is left[i] with a few bits flipped.
    fn sets(n: usize, n_words: usize, flips: usize) -> (Clks, Clks) {
        let mut state = 7u64;
        let (mut l, mut r) = (Clks::new(n_words * 64), Clks::new(n_words * 64));
        for _ in 0..n {
            let row: Vec<u64> = (0..n_words).map(|_| splitmix(&mut state)).collect();
            let mut other = row.clone();
            for _ in 0..flips {
                let p = (splitmix(&mut state) % (n_words as u64 * 64)) as usize;
                other[p / 64] ^= 1 << (p % 64);
            }
            assert!(l.push_words(&row) && r.push_words(&other));
        }
        (l, r)
    }

    fn brute(l: &Clks, r: &Clks, t: f64) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for i in 0..l.len() {
            for j in 0..r.len() {
                if dice(l.row(i), r.row(j)) >= t {
                    out.push((i as u32, j as u32));
                }
            }
        }
        out
    }

    /// Encodings of a name segment (2 words) and a birth segment (1 word).
    fn named(rows: &[[u64; 3]], penalty: f64) -> Clks {
        use crate::scoring::{FieldWeight, NAMESAKE_SIMILARITY};
        let mut clks = Clks::new(3 * 64);
        for row in rows {
            assert!(clks.push_words(row));
        }
        let field = |field: &str, words: usize| FieldWeight {
            field: field.to_owned(),
            words,
            weight: 1.0,
            missing: 0.5,
            agreement: None,
        };
        clks.with_scoring(FieldScoring {
            fields: vec![field("name", 2), field("birth", 1)],
            prefilter: 0.3,
            namesake_penalty: penalty,
            namesake_similarity: NAMESAKE_SIMILARITY,
        })
        .unwrap()
    }

    #[test]
    fn namesakes_lower_the_score_of_a_common_name() {
        const COMMON: [u64; 2] = [0xffff_0000_ffff_0000, 0xff00_ff00_ff00_ff00];
        const RARE: [u64; 2] = [0x0f0f_0f0f_0f0f_0f0f, 0x00ff_00ff_00ff_00ff];
        let left = |penalty| named(&[[COMMON[0], COMMON[1], 0], [RARE[0], RARE[1], 0]], penalty);
        // Three records share the common name (birth dates of their own); one has the rare
        // name.
        let right = |penalty| {
            named(
                &[
                    [COMMON[0], COMMON[1], 0b1],
                    [COMMON[0], COMMON[1], 0b10],
                    [COMMON[0], COMMON[1], 0b100],
                    [RARE[0], RARE[1], 0b1],
                ],
                penalty,
            )
        };
        let c = config(0.5, Blocking::Exhaustive);
        let (plain, _) = match_clks(&left(0.0), &right(0.0), &c).unwrap();
        let (penalised, _) = match_clks(&left(0.01), &right(0.01), &c).unwrap();
        assert_eq!(ids(&plain), vec![(0, 0), (0, 1), (0, 2), (1, 3)]);
        assert_eq!(ids(&penalised), ids(&plain));
        for (p, q) in plain.iter().zip(&penalised) {
            // The name agrees and the birth date is missing on the left: (1 + 0.5) / 2.
            assert!((p.score - 0.75).abs() < 1e-12, "{p:?}");
            // Three namesakes on the right for the common name, one for the rare one.
            let expect = if p.left == 0 {
                0.75 - 0.01 * 3f64.ln()
            } else {
                0.75
            };
            assert!((q.score - expect).abs() < 1e-12, "{q:?}");
        }
        // A threshold between the two drops the common name's pairs only.
        let (cut, _) = match_clks(
            &left(0.01),
            &right(0.01),
            &config(0.745, Blocking::Exhaustive),
        )
        .unwrap();
        assert_eq!(ids(&cut), vec![(1, 3)]);
    }

    #[test]
    fn an_agreeing_segment_finds_pairs_below_the_first_pass() {
        use crate::scoring::{Agreement, FieldWeight};
        // A name segment (2 words) and a phone segment (1 word); the names of the two
        // sides share no bit, so the whole-encoding Dice of a pair is at most
        // 2·8 / (72 + 72) ≈ 0.11, far below the first pass (0.6).
        let set = |rows: &[[u64; 3]], agreement: Option<Agreement>| {
            let mut clks = Clks::new(3 * 64);
            for row in rows {
                assert!(clks.push_words(row));
            }
            let field = |field: &str, words: usize, agreement| FieldWeight {
                field: field.to_owned(),
                words,
                weight: 1.0,
                missing: 0.5,
                agreement,
            };
            clks.with_scoring(FieldScoring {
                fields: vec![field("name", 2, None), field("phone", 1, agreement)],
                prefilter: 0.6,
                namesake_penalty: 0.0,
                namesake_similarity: 0.95,
            })
            .unwrap()
        };
        let heavy = Some(Agreement {
            at: 0.9,
            weight: 10.0,
        });
        const PHONE: u64 = 0xff;
        let left = [[u64::MAX, 0, PHONE], [u64::MAX, 0, 0]];
        // Right: the same phone, another phone, no phone.
        let right = [
            [0, u64::MAX, PHONE],
            [0, u64::MAX, 0xff00],
            [0, u64::MAX, 0],
        ];
        let c = config(0.8, Blocking::Exhaustive);
        let (pairs, _) = match_clks(&set(&left, heavy), &set(&right, heavy), &c).unwrap();
        // Names apart (0), phones the same (1, weighing 10): 10 / 11.
        assert_eq!(ids(&pairs), vec![(0, 0)]);
        assert!((pairs[0].score - 10.0 / 11.0).abs() < 1e-12);
        // Without the agreement weight the segment proposes nothing (and scores 0.5).
        let (pairs, _) = match_clks(&set(&left, None), &set(&right, None), &c).unwrap();
        assert!(pairs.is_empty());
        // A phone that more than MAX_AGREEING records share proposes none of them.
        let crowd = vec![[0, u64::MAX, PHONE]; MAX_AGREEING + 1];
        let (pairs, _) = match_clks(&set(&left, heavy), &set(&crowd, heavy), &c).unwrap();
        assert!(pairs.is_empty());
        let crowd = &crowd[..MAX_AGREEING];
        let (pairs, _) = match_clks(&set(&left, heavy), &set(crowd, heavy), &c).unwrap();
        assert_eq!(pairs.len(), MAX_AGREEING);
    }

    fn ids(pairs: &[Pair]) -> Vec<(u32, u32)> {
        let mut v: Vec<(u32, u32)> = pairs.iter().map(|p| (p.left, p.right)).collect();
        v.sort_unstable();
        v
    }

    #[test]
    fn exhaustive_equals_brute_force() {
        for n_words in [1, 8, 16, 32, 3] {
            let (l, r) = sets(60, n_words, n_words * 6);
            for t in [0.5, 0.8, 0.9, 1.0] {
                let (pairs, stats) = match_clks(&l, &r, &config(t, Blocking::Exhaustive)).unwrap();
                assert_eq!(ids(&pairs), brute(&l, &r, t), "{n_words} words, t={t}");
                assert_eq!(stats.nominal_comparisons, 3600);
                assert!(stats.computed_comparisons <= 3600);
                assert!(!stats.lsh);
                for p in &pairs {
                    assert!(
                        (p.score - dice(l.row(p.left as usize), r.row(p.right as usize))).abs()
                            < 1e-12
                    );
                }
            }
        }
    }

    #[test]
    fn every_kernel_gives_the_same_pairs() {
        // 61 left encodings: the last chunk of the multi-query scan holds one.
        for n_words in [16, 3] {
            let (l, r) = sets(61, n_words, n_words * 8);
            let portable = MatchConfig {
                kernel: Some(Kernel::Portable),
                ..config(0.6, Blocking::Exhaustive)
            };
            let expect = match_clks(&l, &r, &portable).unwrap();
            for kernel in Kernel::ALL {
                let c = MatchConfig {
                    kernel: Some(kernel),
                    ..portable
                };
                match match_clks(&l, &r, &c) {
                    Ok(res) => assert_eq!(res, expect, "{} {n_words} words", kernel.name()),
                    Err(e) => {
                        assert!(!kernel.is_available(), "{e}");
                        assert!(e.to_string().contains("cannot run"), "{e}");
                    }
                }
            }
        }
    }

    #[test]
    fn lsh_keeps_close_pairs() {
        let (l, r) = sets(500, 16, 40);
        let blocking = Blocking::Lsh {
            bands: 32,
            bits_per_band: 16,
        };
        let (pairs, stats) = match_clks(&l, &r, &config(0.8, blocking)).unwrap();
        let truth = brute(&l, &r, 0.8);
        let found = ids(&pairs);
        assert!(found.iter().all(|p| truth.contains(p)));
        assert!(
            found.len() * 100 >= truth.len() * 99,
            "{} of {}",
            found.len(),
            truth.len()
        );
        assert!(
            stats.lsh && stats.computed_comparisons < 500 * 50,
            "{stats:?}"
        );
    }

    #[test]
    fn top_k_and_one_to_one() {
        let mut l = Clks::new(64);
        let mut r = Clks::new(64);
        for w in [0b1111u64, 0b1110] {
            assert!(l.push_words(&[w]));
        }
        for w in [0b1111u64, 0b0111, 0b1110] {
            assert!(r.push_words(&[w]));
        }
        let all = match_clks(&l, &r, &config(0.5, Blocking::Exhaustive))
            .unwrap()
            .0;
        assert_eq!(ids(&all).len(), 6);
        assert_eq!((all[0].left, all[0].right, all[0].score), (0, 0, 1.0));
        let top1 = MatchConfig {
            top_k: Some(1),
            ..config(0.5, Blocking::Exhaustive)
        };
        assert_eq!(
            ids(&match_clks(&l, &r, &top1).unwrap().0),
            vec![(0, 0), (1, 2)]
        );
        let one = MatchConfig {
            one_to_one: true,
            ..config(0.5, Blocking::Auto)
        };
        assert_eq!(
            ids(&match_clks(&l, &r, &one).unwrap().0),
            vec![(0, 0), (1, 2)]
        );
    }

    proptest::proptest! {
        #[test]
        fn min_count_agrees_with_the_division(
            both in 0u32..3000,
            total in 0u32..4200,
            t in 0.01f64..=1.0,
        ) {
            let table = MinCount::new(t, 4096);
            let expect = (total > 0 && total <= 4096 && 2.0 * f64::from(both) / f64::from(total) >= t)
                .then(|| 2.0 * f64::from(both) / f64::from(total));
            proptest::prop_assert_eq!(table.check(both, total), expect);
        }
    }

    #[test]
    fn min_count_at_exact_thresholds() {
        // Dice exactly at the threshold counts: 2·35/100 = 0.7, 2·9/20 = 0.9.
        assert_eq!(MinCount::new(0.7, 200).check(35, 100), Some(0.7));
        assert_eq!(MinCount::new(0.7, 200).check(34, 100), None);
        assert_eq!(MinCount::new(0.9, 200).check(9, 20), Some(0.9));
        assert_eq!(MinCount::new(1.0, 200).check(10, 20), Some(1.0));
        assert_eq!(MinCount::new(0.5, 200).check(0, 0), None);
    }

    fn check_invalid(l: &Clks, r: &Clks, c: MatchConfig, expect: &str) {
        let err = match_clks(l, r, &c).unwrap_err().to_string();
        assert!(err.contains(expect), "{err} does not contain {expect:?}");
    }

    #[test]
    fn rejects_bad_configs() {
        let (mut a, mut b) = (Clks::new(64), Clks::new(128));
        assert!(a.push_words(&[1]) && b.push_words(&[1, 1]));
        check_invalid(
            &a,
            &b,
            config(0.5, Blocking::Auto),
            "left encodings have 64 bits, right ones 128",
        );
        check_invalid(
            &a,
            &a,
            config(0.0, Blocking::Auto),
            "threshold: 0 is not in (0, 1]",
        );
        check_invalid(&a, &a, config(f64::NAN, Blocking::Auto), "threshold: NaN");
        check_invalid(
            &a,
            &a,
            MatchConfig {
                top_k: Some(0),
                ..config(0.5, Blocking::Auto)
            },
            "top_k",
        );
        let lsh = Blocking::Lsh {
            bands: 2,
            bits_per_band: 65,
        };
        check_invalid(&a, &a, config(0.5, lsh), "2 bands of 65 bits");
    }
}
