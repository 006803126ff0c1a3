//! Detection of dictionary-style probing of the hit/no-hit exchange.
//!
//! A peer that enumerates candidate persons (one name with every birth date
//! of a decade, say) sends many encodings that are nearly identical to each
//! other, and gets few hits for many encodings. Two detectors, per peer:
//! - **near-identical encodings**: the encodings of the last window are kept
//!   in memory (at most [`ProbeConfig::memory`] per peer); an encoding counts
//!   when its Dice coefficient with at least [`ProbeConfig::min_partners`]
//!   other recent ones (or others in its batch) reaches
//!   [`ProbeConfig::near_identical`], and [`ProbeConfig::max_near_identical`]
//!   of them in the window raise an alert. A pair is not enough: a real
//!   population holds namesakes and duplicates (in a simulated Malaysian node
//!   one encoding in six had a near-identical partner), while enumeration
//!   makes dense groups (one name with 28 birth dates: 27 partners each), and
//!   padding a probe with unrelated encodings does not thin a group out;
//! - **query-to-hit ratio**: once a peer has sent
//!   [`ProbeConfig::min_encodings`] encodings in the window, more than
//!   [`ProbeConfig::max_encodings_per_hit`] encodings per encoding that hit
//!   raise an alert.
//!
//! An alert is a warn log line and a ledger entry (written by the caller);
//! it is raised at most once per peer, detector and window. Alerts do not
//! refuse queries by themselves: quotas do.

use std::collections::{HashMap, VecDeque};

use std::sync::atomic::{AtomicUsize, Ordering};

use palermo_pprl::{Clks, Kernel};
use palermo_store::HitWindow;
use rayon::prelude::*;
use time::OffsetDateTime;

/// How probing is detected. [`ProbeConfig::standard`] gives the defaults named on each field.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProbeConfig {
    /// The detection window in seconds (3,600).
    pub window_secs: u64,
    /// Dice coefficient at which two encodings count as near-identical (0.9).
    /// With the standard balanced 2048-bit encodings, one person with only
    /// the birth date changed scores 0.91–0.93 against the original, while
    /// unrelated persons score below 0.75.
    pub near_identical: f64,
    /// Near-identical others an encoding needs to count (4).
    pub min_partners: usize,
    /// Counted encodings in the window that raise an alert (20).
    pub max_near_identical: usize,
    /// Recent encodings kept per peer (4,096).
    pub memory: usize,
    /// Encodings in the window before the ratio is judged (1,000).
    pub min_encodings: u64,
    /// Encodings per hit above which the ratio raises an alert (500).
    pub max_encodings_per_hit: u64,
}

impl ProbeConfig {
    /// The defaults.
    pub fn standard() -> ProbeConfig {
        ProbeConfig {
            window_secs: 3_600,
            near_identical: 0.9,
            min_partners: 4,
            max_near_identical: 20,
            memory: 4_096,
            min_encodings: 1_000,
            max_encodings_per_hit: 500,
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// `near-identical` or `query-to-hit-ratio`.
    pub kind: &'static str,
    /// What was seen (counts only).
    pub reason: String,
}

/// What one peer sent recently.
#[derive(Default)]
struct PeerState {
    /// Its last encodings.
    recent: Recent,
    /// When near-identical encodings were counted, oldest first.
    near: VecDeque<OffsetDateTime>,
    /// When each detector last alerted.
    alerted: HashMap<&'static str, OffsetDateTime>,
}

/// A peer's last [`ProbeConfig::memory`] encodings, in a ring of contiguous
/// rows that the popcount kernel scans in place. Rebuilding a pool of the
/// remembered encodings for every query (and matching it through
/// [`palermo_pprl::match_clks`]) took most of a single query's time.
#[derive(Default)]
struct Recent {
    /// Words per row (rows of another length reset the ring).
    n_words: usize,
    /// Row `k` is `words[k·n_words..(k + 1)·n_words]`.
    words: Vec<u64>,
    popcounts: Vec<u32>,
    /// When each row was received.
    at: Vec<OffsetDateTime>,
    /// The row the next push overwrites once the ring is full.
    next: usize,
}

impl Recent {
    fn len(&self) -> usize {
        self.at.len()
    }

    /// Forgets everything when rows of `n_words` words would not fit.
    fn fit(&mut self, n_words: usize) {
        if self.n_words != n_words {
            *self = Recent {
                n_words,
                ..Recent::default()
            };
        }
    }

    #[cfg(test)]
    fn row(&self, k: usize) -> &[u64] {
        &self.words[k * self.n_words..(k + 1) * self.n_words]
    }

    fn push(&mut self, memory: usize, row: &[u64], popcount: u32, at: OffsetDateTime) {
        if memory == 0 || row.len() != self.n_words {
            return;
        }
        if self.len() < memory {
            self.words.extend_from_slice(row);
            self.popcounts.push(popcount);
            self.at.push(at);
            return;
        }
        // Shrunk memory: keep the ring at its size, overwrite in turn.
        let k = self.next % self.len();
        let w = self.n_words;
        self.words[k * w..(k + 1) * w].copy_from_slice(row);
        self.popcounts[k] = popcount;
        self.at[k] = at;
        self.next = (k + 1) % memory.min(self.len());
    }
}

/// Batches up to this many encodings are compared directly (each against
/// the ring and the rest of its batch); larger ones by [`near_scanned`],
/// each pair of the batch once, in parallel.
const DIRECT_UP_TO: usize = 64;

/// The Dice coefficient from an AND count and two popcounts.
fn dice_of(and: u32, a: u32, b: u32) -> f64 {
    if a + b == 0 {
        0.0
    } else {
        2.0 * f64::from(and) / f64::from(a + b)
    }
}

/// The per-peer state of both detectors (in memory; a restart forgets it).
#[derive(Default)]
pub(crate) struct ProbeMonitor {
    peers: HashMap<String, PeerState>,
    /// The AND counts of one encoding against a ring, kept between batches
    /// (zeroing a fresh 16 KiB buffer for every single query showed in profiles).
    counts: Vec<u32>,
}

impl ProbeMonitor {
    /// Counts the near-identical encodings of `batch` from `peer` and
    /// remembers the batch; returns an alert when the window holds too many.
    pub(crate) fn observe(
        &mut self,
        config: &ProbeConfig,
        peer: &str,
        batch: &Clks,
        now: OffsetDateTime,
    ) -> Option<Alert> {
        let window = time::Duration::seconds(i64::try_from(config.window_secs).unwrap_or(i64::MAX));
        let since = now - window;
        let state = self.peers.entry(peer.to_owned()).or_default();
        while state.near.front().is_some_and(|at| *at < since) {
            state.near.pop_front();
        }
        state.recent.fit(batch.n_words());
        let near = if batch.len() <= DIRECT_UP_TO {
            near_direct(&state.recent, batch, config, since, &mut self.counts)
        } else {
            near_scanned(&state.recent, batch, config, since)
        };
        state.near.extend(std::iter::repeat_n(now, near));
        for idx in 0..batch.len() {
            state
                .recent
                .push(config.memory, batch.row(idx), batch.popcount(idx), now);
        }
        let n_near = state.near.len();
        if n_near < config.max_near_identical {
            return None;
        }
        alert_once(
            state,
            "near-identical",
            now,
            window,
            format!(
                "{n_near} near-identical encodings (Dice >= {}) within {} s",
                config.near_identical, config.window_secs
            ),
        )
    }

    /// Judges the peer's query-to-hit ratio over the window (`used`, which
    /// includes the latest query); returns an alert when it is too high.
    pub(crate) fn ratio(
        &mut self,
        config: &ProbeConfig,
        peer: &str,
        used: HitWindow,
        now: OffsetDateTime,
    ) -> Option<Alert> {
        if used.encodings < config.min_encodings
            || used.encodings
                <= config
                    .max_encodings_per_hit
                    .saturating_mul(used.hits.max(1))
        {
            return None;
        }
        let window = time::Duration::seconds(i64::try_from(config.window_secs).unwrap_or(i64::MAX));
        let state = self.peers.entry(peer.to_owned()).or_default();
        alert_once(
            state,
            "query-to-hit-ratio",
            now,
            window,
            format!(
                "{} encodings for {} hits within {} s (alert above {} per hit)",
                used.encodings, used.hits, config.window_secs, config.max_encodings_per_hit
            ),
        )
    }
}

/// The encodings of a small `batch` with at least `min_partners` near-identical
/// others among the recent ones received since `since` and the rest of the batch.
fn near_direct(
    recent: &Recent,
    batch: &Clks,
    config: &ProbeConfig,
    since: OffsetDateTime,
    counts: &mut Vec<u32>,
) -> usize {
    let (threshold, needed) = (config.near_identical, config.min_partners.max(1));
    let kernel = Kernel::detect();
    // Every count is written by the kernel before it is read.
    counts.resize(recent.len(), 0);
    let mut near = 0;
    for idx in 0..batch.len() {
        let row = batch.row(idx);
        let popcount = batch.popcount(idx);
        let mut partners = 0;
        if !counts.is_empty() {
            kernel.and_counts(row, &recent.words, counts);
            partners = counts
                .iter()
                .enumerate()
                .filter(|(k, and)| {
                    recent.at[*k] >= since
                        && dice_of(**and, popcount, recent.popcounts[*k]) >= threshold
                })
                .take(needed)
                .count();
        }
        partners += (0..batch.len())
            .filter(|other| *other != idx)
            .filter(|other| palermo_pprl::dice(row, batch.row(*other)) >= threshold)
            .take(needed - partners.min(needed))
            .count();
        near += usize::from(partners >= needed);
    }
    near
}

/// [`near_direct`] for large batches: the same exact count, with every pair
/// inside the batch compared once (and counted for both of its encodings)
/// and the encodings spread over rayon's pool.
///
/// This used to go through [`palermo_pprl::match_clks`] against a pool of
/// the ring and the whole batch, which compares every pair of the batch
/// twice (10,000 × 14,096 pairs for a 10,000-encoding batch, against
/// 10,000 × 4,096 + 10,000 × 9,999 / 2 here) and copied the ring and the
/// batch into a pool sorted by popcount first.
fn near_scanned(
    recent: &Recent,
    batch: &Clks,
    config: &ProbeConfig,
    since: OffsetDateTime,
) -> usize {
    let (threshold, needed) = (config.near_identical, config.min_partners.max(1));
    let (n, n_words) = (batch.len(), batch.n_words());
    if n == 0 || n_words == 0 {
        return 0;
    }
    // `observe` fits the ring to the batch's length first; a ring of
    // another length has nothing comparable.
    let ring = recent.n_words == n_words && recent.words.len() == recent.len() * n_words;
    let kernel = Kernel::detect();
    // The batch's rows one after the other, so that the kernel scans the
    // rows after `i` in place.
    let mut words: Vec<u64> = Vec::with_capacity(n * n_words);
    for idx in 0..n {
        words.extend_from_slice(batch.row(idx));
    }
    let live: Vec<bool> = if ring {
        recent.at.iter().map(|at| *at >= since).collect()
    } else {
        Vec::new()
    };
    let partners: Vec<AtomicUsize> = (0..n).map(|_| AtomicUsize::new(0)).collect();
    (0..n).into_par_iter().with_min_len(8).for_each_init(
        || vec![0u32; recent.len().max(n)],
        |counts, i| {
            let (row, popcount) = (batch.row(i), batch.popcount(i));
            let mut found = 0;
            if !live.is_empty() {
                let counts = &mut counts[..recent.len()];
                kernel.and_counts(row, &recent.words, counts);
                found += counts
                    .iter()
                    .enumerate()
                    .filter(|(k, and)| {
                        live[*k] && dice_of(**and, popcount, recent.popcounts[*k]) >= threshold
                    })
                    .count();
            }
            let later = n - i - 1;
            if later > 0 {
                let counts = &mut counts[..later];
                kernel.and_counts(row, &words[(i + 1) * n_words..], counts);
                for (k, and) in counts.iter().enumerate() {
                    let j = i + 1 + k;
                    if dice_of(*and, popcount, batch.popcount(j)) >= threshold {
                        found += 1;
                        partners[j].fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            partners[i].fetch_add(found, Ordering::Relaxed);
        },
    );
    partners
        .iter()
        .filter(|p| p.load(Ordering::Relaxed) >= needed)
        .count()
}

fn alert_once(
    state: &mut PeerState,
    kind: &'static str,
    now: OffsetDateTime,
    window: time::Duration,
    reason: String,
) -> Option<Alert> {
    if state.alerted.get(kind).is_some_and(|at| *at > now - window) {
        return None;
    }
    state.alerted.insert(kind, now);
    Some(Alert { kind, reason })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clks(rows: &[Vec<u64>]) -> Clks {
        let mut clks = Clks::new(128);
        for row in rows {
            assert!(clks.push_words(row));
        }
        clks
    }

    fn config() -> ProbeConfig {
        ProbeConfig {
            min_partners: 2,
            max_near_identical: 3,
            min_encodings: 10,
            max_encodings_per_hit: 4,
            ..ProbeConfig::standard()
        }
    }

    #[test]
    fn near_identical_batches_alert_once_per_window() {
        let mut monitor = ProbeMonitor::default();
        let now = OffsetDateTime::now_utc();
        // Three variants of one encoding: one bit apart out of ~64 set bits.
        let base = vec![u64::MAX, 0];
        let batch = clks(&[base.clone(), vec![u64::MAX - 1, 0], vec![u64::MAX - 2, 0]]);
        let alert = monitor.observe(&config(), "de-bka", &batch, now).unwrap();
        assert_eq!(alert.kind, "near-identical");
        assert!(monitor.observe(&config(), "de-bka", &batch, now).is_none());
        // Another peer is judged on its own.
        let distinct = clks(&[vec![u64::MAX, 0], vec![0, u64::MAX]]);
        assert!(
            monitor
                .observe(&config(), "fr-ocrteh", &distinct, now)
                .is_none()
        );
        // After the window the same batch alerts again.
        let later = now + time::Duration::seconds(3_601);
        assert!(
            monitor
                .observe(&config(), "de-bka", &batch, later)
                .is_some()
        );
    }

    #[test]
    fn only_the_last_memory_encodings_count_and_large_batches_agree() {
        let config = ProbeConfig {
            memory: 4,
            min_partners: 1,
            max_near_identical: 100,
            ..config()
        };
        let now = OffsetDateTime::now_utc();
        // Six far-apart encodings, one per batch: the ring keeps the last four.
        let rows: Vec<Vec<u64>> = (0..6).map(|i| vec![0xFFu64 << (8 * i), 0]).collect();
        let mut monitor = ProbeMonitor::default();
        for row in &rows {
            monitor.observe(&config, "de-bka", &clks(std::slice::from_ref(row)), now);
        }
        let near = |m: &ProbeMonitor| m.peers["de-bka"].near.len();
        assert_eq!(near(&monitor), 0);
        // A copy of the first (forgotten) does not count; a copy of the last does.
        monitor.observe(&config, "de-bka", &clks(&[rows[0].clone()]), now);
        assert_eq!(near(&monitor), 0);
        monitor.observe(&config, "de-bka", &clks(&[rows[5].clone()]), now);
        assert_eq!(near(&monitor), 1);
        // A batch above DIRECT_UP_TO: pairs inside it count through near_scanned.
        let mut big: Vec<Vec<u64>> = (0..(DIRECT_UP_TO as u64 + 6))
            .map(|i| {
                vec![
                    i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                    !i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                ]
            })
            .collect();
        big.push(big[0].clone());
        let mut fresh = ProbeMonitor::default();
        fresh.observe(&config, "fr-ocrteh", &clks(&big), now);
        assert_eq!(
            fresh.peers["fr-ocrteh"].near.len(),
            2,
            "the copy and its original"
        );
        assert_eq!(fresh.peers["fr-ocrteh"].recent.len(), 4);
    }

    #[test]
    fn pairs_of_namesakes_do_not_alert_but_a_dense_group_does() {
        let mut monitor = ProbeMonitor::default();
        let now = OffsetDateTime::now_utc();
        // Six pairs, each an encoding and a one-bit variant of it: every
        // encoding has one near-identical partner, as namesakes do.
        let mut rows = Vec::new();
        for k in 0..6u32 {
            let word = u64::MAX.rotate_left(k * 10) & !(0xFFu64 << (k * 8));
            rows.push(vec![word, 0]);
            rows.push(vec![word & !(1 << 63), 0]);
        }
        assert!(
            monitor
                .observe(&config(), "my-pdrm", &clks(&rows), now)
                .is_none()
        );
        // Three variants of one encoding (two partners each) reach the count.
        let group = clks(&[
            vec![0, u64::MAX],
            vec![0, u64::MAX - 1],
            vec![0, u64::MAX - 2],
        ]);
        let alert = monitor.observe(&config(), "my-pdrm", &group, now).unwrap();
        assert!(
            alert.reason.starts_with("3 near-identical"),
            "{}",
            alert.reason
        );
        // The same through the large-batch path: many namesake pairs, no alert.
        let mut fresh = ProbeMonitor::default();
        let pairs: Vec<Vec<u64>> = (0..(DIRECT_UP_TO as u64 / 2 + 4))
            .flat_map(|i| {
                let word = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
                [vec![word, !word], vec![word ^ 1, !word]]
            })
            .collect();
        assert!(
            fresh
                .observe(&config(), "my-pdrm", &clks(&pairs), now)
                .is_none()
        );
    }

    /// Counts as [`near_direct`] does, pair by pair: the reference for [`near_scanned`].
    fn near_brute(
        recent: &Recent,
        batch: &Clks,
        config: &ProbeConfig,
        since: OffsetDateTime,
    ) -> usize {
        let needed = config.min_partners.max(1);
        (0..batch.len())
            .filter(|&i| {
                let ring = (0..recent.len())
                    .filter(|&k| recent.at[k] >= since)
                    .filter(|&k| {
                        palermo_pprl::dice(batch.row(i), recent.row(k)) >= config.near_identical
                    })
                    .count();
                let others = (0..batch.len())
                    .filter(|&j| j != i)
                    .filter(|&j| {
                        palermo_pprl::dice(batch.row(i), batch.row(j)) >= config.near_identical
                    })
                    .count();
                ring + others >= needed
            })
            .count()
    }

    #[test]
    fn large_batches_count_as_pair_by_pair() {
        let now = OffsetDateTime::now_utc();
        let since = now - time::Duration::seconds(60);
        // Groups of close variants (a few bits flipped) among unrelated rows,
        // 256-bit rows so that near-identical means within about 12 bits.
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        // SplitMix64, for fixed pseudo-random rows.
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        };
        let mut rows: Vec<Vec<u64>> = Vec::new();
        for g in 0..60 {
            let base: Vec<u64> = (0..4).map(|_| next()).collect();
            for v in 0..(g % 7) {
                let mut row = base.clone();
                for _ in 0..(v * 3) {
                    let bit = (next() % 256) as usize;
                    row[bit / 64] ^= 1 << (bit % 64);
                }
                rows.push(row);
            }
            rows.push(base);
        }
        let mut batch = Clks::new(256);
        for row in &rows[40..] {
            assert!(batch.push_words(row));
        }
        assert!(batch.len() > DIRECT_UP_TO);
        let mut recent = Recent::default();
        recent.fit(4);
        for (k, row) in rows[..40].iter().enumerate() {
            // Every other ring row is older than the window: it must not count.
            let at = if k % 2 == 0 {
                now
            } else {
                since - time::Duration::seconds(1)
            };
            recent.push(4_096, row, row.iter().map(|w| w.count_ones()).sum(), at);
        }
        for min_partners in [1, 2, 4] {
            let config = ProbeConfig {
                min_partners,
                ..ProbeConfig::standard()
            };
            let expected = near_brute(&recent, &batch, &config, since);
            assert!(expected > 0, "the groups must give near-identical rows");
            assert_eq!(
                near_scanned(&recent, &batch, &config, since),
                expected,
                "{min_partners}"
            );
        }
        assert_eq!(
            near_scanned(&recent, &Clks::new(256), &ProbeConfig::standard(), since),
            0
        );
    }

    #[test]
    fn distinct_encodings_do_not_alert() {
        let mut monitor = ProbeMonitor::default();
        let now = OffsetDateTime::now_utc();
        let batch = clks(&[
            vec![u64::MAX, 0],
            vec![0, u64::MAX],
            vec![0xFFFF_FFFF, 0xFFFF_FFFF],
        ]);
        for _ in 0..1 {
            assert!(monitor.observe(&config(), "de-bka", &batch, now).is_none());
        }
    }

    #[test]
    fn ratio_alerts_on_many_encodings_per_hit() {
        let mut monitor = ProbeMonitor::default();
        let now = OffsetDateTime::now_utc();
        let check = |m: &mut ProbeMonitor, encodings, hits| {
            let used = HitWindow {
                queries: 1,
                encodings,
                hits,
            };
            m.ratio(&config(), "de-bka", used, now).is_some()
        };
        assert!(!check(&mut monitor, 9, 0), "below the minimum");
        assert!(!check(&mut monitor, 20, 5), "4 per hit is the limit");
        assert!(check(&mut monitor, 21, 5));
        assert!(
            !check(&mut monitor, 100, 0),
            "alerted already in this window"
        );
    }
}
