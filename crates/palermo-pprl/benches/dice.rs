//! Dice matching throughput: 2,000 × 2,000 random 1024-bit encodings, exhaustive, all
//! cores. Asserts that every planted pair is found.
//!
//! The `kernel` group times each popcount build this CPU has on one thread: 200 queries
//! against 5,000 interleaved 1024-bit rows (the full-scan path of `match_clks`), so the
//! AVX2 build can be compared with the AVX-512 one on a CPU that has both; `multi_*`
//! times the same work through `and_counts_interleaved_multi` as `match_clks` calls it
//! (`MULTI_QUERIES` queries per call, blocks of 256 rows). Every build's counts are
//! checked against the portable one first.
//!
//! Run with: cargo bench -p palermo-pprl --bench dice [-- kernel]

use criterion::{Criterion, criterion_group, criterion_main};
use palermo_pprl::kernel::{MULTI_QUERIES, interleave};
use palermo_pprl::{Blocking, Clks, Kernel, MatchConfig, match_clks};

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
        kernel: None,
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

fn kernels(c: &mut Criterion) {
    let (w, n, queries) = (16, 5000, 200);
    let mut state = 7u64;
    let rows: Vec<u64> = (0..w * n).map(|_| splitmix(&mut state)).collect();
    let groups = interleave(&rows, w);
    let qs: Vec<u64> = (0..w * queries).map(|_| splitmix(&mut state)).collect();
    let padded = n.div_ceil(8) * 8;
    let run = |kernel: Kernel, out: &mut [u32]| {
        let mut total = 0u64;
        for q in qs.chunks_exact(w) {
            kernel.and_counts_interleaved(q, &groups, &mut out[..padded]);
            total += out[..padded].iter().map(|&x| u64::from(x)).sum::<u64>();
        }
        total
    };
    // As `match_clks` scans: `MULTI_QUERIES` queries at a time, over blocks of 256 rows.
    let run_multi = |kernel: Kernel, out: &mut [u32]| {
        let mut total = 0u64;
        for q in qs.chunks(MULTI_QUERIES * w) {
            for block in groups.chunks(256 * w) {
                let out = &mut out[..q.len() / w * block.len() / w];
                let at_least = [u32::MAX; MULTI_QUERIES];
                let mut reached = [false; MULTI_QUERIES];
                let n_queries = q.len() / w;
                kernel.and_counts_interleaved_multi(
                    q,
                    w,
                    block,
                    &at_least[..n_queries],
                    out,
                    &mut reached[..n_queries],
                );
                total += out.iter().map(|&x| u64::from(x)).sum::<u64>();
            }
        }
        total
    };
    let expect = run(Kernel::Portable, &mut vec![0; padded]);
    let mut group = c.benchmark_group("kernel");
    group.sample_size(20);
    group.throughput(criterion::Throughput::Elements((n * queries) as u64));
    for kernel in Kernel::ALL.into_iter().filter(|k| k.is_available()) {
        let mut out = vec![0u32; padded.max(MULTI_QUERIES * 256)];
        assert_eq!(run(kernel, &mut out), expect, "{} differs", kernel.name());
        assert_eq!(
            run_multi(kernel, &mut out),
            expect,
            "{} multi differs",
            kernel.name()
        );
        group.bench_function(format!("interleaved_1024bit_{}", kernel.name()), |b| {
            b.iter(|| run(kernel, &mut out))
        });
        group.bench_function(format!("multi_1024bit_{}", kernel.name()), |b| {
            b.iter(|| run_multi(kernel, &mut out))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, kernels);
criterion_main!(benches);
