//! Clustering of scored pairs into persons, resistant to chaining.
//!
//! Edges at or above the threshold are taken strongest first. Two singletons merge on
//! their edge; two clusters merge only if the *average* probability over all their
//! cross pairs reaches the threshold, where pairs that blocking never compared are scored
//! on demand. One weak bridge between two groups therefore cannot merge them, which plain
//! connected components (single linkage) would do.

use std::collections::{HashMap, HashSet};

/// Largest number of cross pairs looked at when deciding a merge; above it, an evenly
/// spaced sample of this many pairs is used. A rejected merge is remembered until either
/// cluster changes, so a large cluster does not cost quadratic work per edge.
const MAX_CROSS_PAIRS: usize = 256;

/// Assigns each of `n` records a cluster representative (the smallest record index in
/// its cluster).
///
/// `edges` are `(i, j, bits)` with their match weight; `threshold` is a probability;
/// `score(i, j)` returns the probability of any pair.
pub(crate) fn cluster(
    n: usize,
    mut edges: Vec<(u32, u32, f64)>,
    threshold: f64,
    score: impl Fn(u32, u32) -> f64,
) -> Vec<u32> {
    let threshold_bits = if threshold <= 0.0 {
        f64::NEG_INFINITY
    } else if threshold >= 1.0 {
        f64::INFINITY
    } else {
        (threshold / (1.0 - threshold)).log2()
    };
    edges.retain(|e| e.2 >= threshold_bits);
    edges.sort_unstable_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)).then(a.1.cmp(&b.1)));
    let known: HashMap<(u32, u32), f64> = edges
        .iter()
        .map(|&(i, j, w)| ((i.min(j), i.max(j)), crate::model::probability(w)))
        .collect();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    // The members of each cluster by its representative; empty stands for the
    // representative alone, so the records that never merge (most) need no list.
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); n];
    fn find(parent: &mut [u32], mut x: u32) -> u32 {
        while parent[x as usize] != x {
            let p = parent[parent[x as usize] as usize];
            parent[x as usize] = p;
            x = p;
        }
        x
    }
    let mut rejected: HashSet<(u32, u32, usize, usize)> = HashSet::new();
    for &(i, j, _) in &edges {
        let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
        if ri == rj {
            continue;
        }
        let (lo, hi) = (ri.min(rj), ri.max(rj));
        let size = |r: u32| members[r as usize].len().max(1);
        let state = (lo, hi, size(lo), size(hi));
        if rejected.contains(&state) {
            continue;
        }
        let (ri_alone, rj_alone) = ([ri], [rj]);
        let a: &[u32] = if members[ri as usize].is_empty() {
            &ri_alone
        } else {
            &members[ri as usize]
        };
        let b: &[u32] = if members[rj as usize].is_empty() {
            &rj_alone
        } else {
            &members[rj as usize]
        };
        let merge = if a.len() == 1 && b.len() == 1 {
            true
        } else {
            let total = a.len() * b.len();
            let step = total.div_ceil(MAX_CROSS_PAIRS).max(1);
            let mut sum = 0.0;
            let mut count = 0usize;
            for k in (0..total).step_by(step) {
                let (x, y) = (a[k / b.len()], b[k % b.len()]);
                let key = (x.min(y), x.max(y));
                sum += known.get(&key).copied().unwrap_or_else(|| score(x, y));
                count += 1;
            }
            sum / count.max(1) as f64 >= threshold
        };
        if !merge {
            rejected.insert(state);
        }
        if merge {
            let (keep, drop) = if ri < rj { (ri, rj) } else { (rj, ri) };
            parent[drop as usize] = keep;
            let moved = std::mem::take(&mut members[drop as usize]);
            let kept = &mut members[keep as usize];
            if kept.is_empty() {
                kept.push(keep);
            }
            if moved.is_empty() {
                kept.push(drop);
            } else {
                kept.extend(moved);
            }
        }
    }
    (0..n as u32).map(|i| find(&mut parent, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two tight groups {0,1,2} and {3,4,5} joined by one weak-but-passing bridge 2–3.
    #[test]
    fn weak_bridge_does_not_chain() {
        let strong = 20.0;
        let bridge = 1.0; // p ≈ 0.67, above 0.5
        let edges = vec![
            (0, 1, strong),
            (0, 2, strong),
            (1, 2, strong),
            (3, 4, strong),
            (3, 5, strong),
            (4, 5, strong),
            (2, 3, bridge),
        ];
        let got = cluster(6, edges, 0.5, |_, _| 0.001);
        assert_eq!(got, vec![0, 0, 0, 3, 3, 3]);
    }

    #[test]
    fn consistent_group_merges_even_without_all_edges() {
        // 0–1 and 1–2 are candidates, 0–2 was never blocked but scores high on demand.
        let edges = vec![(0, 1, 30.0), (1, 2, 30.0)];
        let got = cluster(3, edges, 0.5, |_, _| 0.99);
        assert_eq!(got, vec![0, 0, 0]);
        let got = cluster(3, vec![(0, 1, 30.0), (1, 2, 30.0)], 0.5, |_, _| 0.0);
        // 2 joins {0,1} only if the average over (0,2),(1,2) reaches 0.5; (0 + p) / 2 < 0.5
        assert_eq!(got, vec![0, 0, 2]);
    }

    #[test]
    fn trivial_inputs() {
        assert_eq!(cluster(0, vec![], 0.5, |_, _| 1.0), Vec::<u32>::new());
        assert_eq!(cluster(1, vec![], 0.5, |_, _| 1.0), vec![0]);
    }
}
