//! Dice matching throughput: 2,000 × 2,000 random 1024-bit encodings, exhaustive, all
//! cores. Asserts that every planted pair is found.
//!
//! Run with: cargo bench -p palermo-pprl --bench dice

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_pprl::{Blocking, Clks, MatchConfig, match_clks};

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn sets(n: usize, n_words: usize) -> (Clks, Clks) {
    let mut state = 1u64;
    let (mut l, mut r) = (Clks::new(n_words * 64), Clks::new(n_words * 64));
    for _ in 0..n {
        let row: Vec<u64> = (0..n_words).map(|_| splitmix(&mut state)).collect();
        let mut other = row.clone();
        other[0] ^= 0xff;
        assert!(l.push_words(&row) && r.push_words(&other));
    }
    (l, r)
}

fn bench(c: &mut Criterion) {
    let n = 2000;
    let (l, r) = sets(n, 16);
    // On ~50% dense rows (popcount 512 ± 16) the popcount filter of threshold 0.75 keeps
    // [0.6·p, 1.67·p], so the kernel does all n × n comparisons, and only the planted pairs
    // (Dice ≈ 0.99; strangers ≈ 0.5) pass.
    let config = MatchConfig {
        threshold: 0.75,
        top_k: Some(1),
        one_to_one: false,
        blocking: Blocking::Exhaustive,
    };
    let mut group = c.benchmark_group("dice");
    group.throughput(criterion::Throughput::Elements((n * n) as u64));
    group.bench_function("exhaustive_1024bit_2000x2000", |b| {
        b.iter(|| {
            let (pairs, stats) = match_clks(&l, &r, &config).expect("invariant: valid config");
            assert_eq!(stats.computed_comparisons, (n * n) as u64);
            assert!(
                pairs.iter().all(|p| p.left == p.right),
                "a planted pair was missed"
            );
            pairs.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
