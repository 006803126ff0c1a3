//! Evidence hashing throughput: BLAKE3 alone (target ≥ 500 MB/s per core)
//! and the SHA-256 + BLAKE3 single pass that `evidence add` does.
//!
//! Run: `cargo bench -p palermo-ledger --bench evidence`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use palermo_ledger::evidence::digest_reader;

fn hashing(c: &mut Criterion) {
    let size = 64 << 20;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let expect = blake3::hash(&data);
    let mut group = c.benchmark_group("evidence");
    group
        .sample_size(20)
        .throughput(Throughput::Bytes(size as u64));
    group.bench_function("blake3_64MiB", |b| {
        b.iter(|| {
            let mut hasher = blake3::Hasher::new();
            for chunk in data.chunks(1 << 20) {
                hasher.update(chunk);
            }
            let got = hasher.finalize();
            assert_eq!(got, expect);
            black_box(got)
        })
    });
    group.bench_function("sha256_and_blake3_64MiB", |b| {
        b.iter(|| {
            let digests =
                digest_reader(data.as_slice(), "bench").expect("invariant: reading memory");
            assert_eq!(digests.blake3, expect.to_hex().as_str());
            black_box(digests)
        })
    });
    group.finish();
}

criterion_group!(benches, hashing);
criterion_main!(benches);
