//! The popcount kernel: `popcount(a ∧ b)` of one query encoding against contiguous,
//! gathered or interleaved rows, in three builds chosen at run time, and 64-byte aligned
//! row storage.
//!
//! - [`Kernel::Portable`]: `u64::count_ones` per word; on the baseline x86-64 target (no
//!   popcount instruction) LLVM emits a bit-twiddling popcount.
//! - [`Kernel::Avx2`]: the same code compiled with AVX2 and POPCNT enabled.
//! - [`Kernel::Avx512`]: AVX-512 `VPOPCNTQ` on 512-bit chunks. The query's chunks are
//!   loaded once; four rows are counted at a time, their eight per-lane counts packed into
//!   16-bit fields of one vector (shifted by 0, 16, 32, 48 bits) so that one horizontal
//!   sum yields all four popcounts. A row has at most 65,535 bits for the packing
//!   (longer rows take one horizontal sum per row). On [`interleave`]d rows (groups of
//!   8 rows with their words interleaved) eight rows fill the lanes of one vector: per
//!   group and word one broadcast AND, one `VPOPCNTQ` and one add, and no horizontal
//!   sum at all; this is what full scans use. [`Kernel::and_counts_interleaved_multi`]
//!   scans [`MULTI_QUERIES`] queries per pass: each 512-bit word of a group is loaded
//!   once and serves every query, so rows that live in L2 are read once per four
//!   queries instead of once per query; each query's counts are also compared with a
//!   bound while in registers, so a caller looking for rare high counts skips the rest.
//!
//! Every build gives the same counts as the scalar reference (property-tested for every
//! build the CPU has).

/// A build of the popcount kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kernel {
    /// Plain Rust, any CPU.
    Portable,
    /// AVX2 + POPCNT (x86-64 only).
    Avx2,
    /// AVX-512F + AVX-512 VPOPCNTDQ (x86-64 only).
    Avx512,
}

impl Kernel {
    /// Every build, fastest last.
    pub const ALL: [Kernel; 3] = [Kernel::Portable, Kernel::Avx2, Kernel::Avx512];

    /// The fastest build this CPU supports.
    pub fn detect() -> Kernel {
        if Kernel::Avx512.is_available() {
            Kernel::Avx512
        } else if Kernel::Avx2.is_available() {
            Kernel::Avx2
        } else {
            Kernel::Portable
        }
    }

    /// True when this CPU can run the build.
    pub fn is_available(self) -> bool {
        match self {
            Kernel::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => {
                std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512vpopcntdq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            Kernel::Avx2 | Kernel::Avx512 => false,
        }
    }

    /// A stable name: `portable`, `avx2`, `avx512`.
    pub fn name(self) -> &'static str {
        match self {
            Kernel::Portable => "portable",
            Kernel::Avx2 => "avx2",
            Kernel::Avx512 => "avx512",
        }
    }

    /// Writes `popcount(a ∧ row_j)` into `out[j]` for each row `j` of `rows` (rows of
    /// `a.len()` words, stored one after the other).
    ///
    /// A build the CPU does not have falls back to [`Kernel::Portable`], so the call is
    /// always safe and always gives the same answer.
    ///
    /// # Panics
    /// If `a` is empty or `rows.len()` is not `out.len() · a.len()`.
    pub fn and_counts(self, a: &[u64], rows: &[u64], out: &mut [u32]) {
        assert!(
            !a.is_empty() && rows.len() == out.len() * a.len(),
            "invariant: {} rows of {} words in a slice of {}",
            out.len(),
            a.len(),
            rows.len()
        );
        self.run(
            a,
            &Contiguous {
                words: rows,
                w: a.len(),
            },
            out,
        );
    }

    /// Writes `popcount(a ∧ row_{at[k]})` into `out[k]`, where row `i` is
    /// `rows[i·w..(i + 1)·w]` and `w = a.len()`: the scattered rows a blocking index
    /// hands over.
    ///
    /// # Panics
    /// If `a` is empty, `at` and `out` differ in length, or a row is out of range.
    pub fn and_counts_at(self, a: &[u64], rows: &[u64], at: &[u32], out: &mut [u32]) {
        let w = a.len();
        assert!(
            w > 0
                && at.len() == out.len()
                && at.iter().all(|&i| (i as usize + 1) * w <= rows.len()),
            "invariant: rows in range and one output per row"
        );
        self.run(a, &Gathered { words: rows, w, at }, out);
    }

    /// Like [`Kernel::and_counts`] on rows stored [`interleave`]d: group `g` holds word
    /// `w` of rows `8g..8g + 8` at `groups[(g·W + w)·8..][..8]`. `out` gets 8 counts per
    /// group (padding rows count 0). With the rows of a group in the lanes of one vector,
    /// the AVX-512 build needs no horizontal sums: per group and word, one broadcast AND,
    /// one `VPOPCNTQ` and one add.
    ///
    /// # Panics
    /// If `a` is empty or `groups.len()` is not `out.len() · a.len()` with `out.len()` a
    /// multiple of 8.
    pub fn and_counts_interleaved(self, a: &[u64], groups: &[u64], out: &mut [u32]) {
        assert!(
            !a.is_empty() && out.len().is_multiple_of(8) && groups.len() == out.len() * a.len(),
            "invariant: {} interleaved rows of {} words in a slice of {}",
            out.len(),
            a.len(),
            groups.len()
        );
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if self.is_available() => {
                #[allow(unsafe_code)]
                // SAFETY: `avx512_interleaved` is `unsafe` only because of its
                // `#[target_feature(enable = "avx512f,avx512vpopcntdq")]`, and the CPU has
                // both (checked by `is_available` just above). Its loads and stores go
                // through slices of exactly 8 elements.
                unsafe {
                    x86::avx512_interleaved(a, groups, out);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if self.is_available() => {
                #[allow(unsafe_code)]
                // SAFETY: `avx2_interleaved` is `unsafe` only because of its
                // `#[target_feature(enable = "avx2,popcnt")]`, and the CPU has both
                // (checked by `is_available` just above). Its loads and stores go
                // through slices of exactly 4 words.
                unsafe {
                    x86::avx2_interleaved(a, groups, out);
                }
            }
            _ => portable_interleaved(a, groups, out),
        }
    }

    /// Like [`Kernel::and_counts_interleaved`] for several queries in one pass over the
    /// rows: `queries` holds queries of `w` words one after the other, and query `i`'s
    /// counts go to `out[i·n..(i + 1)·n]`, where `n = groups.len() / w` is the number of
    /// interleaved rows (padding included). The counts are those of
    /// [`Kernel::and_counts_interleaved`] query by query. `reached[i]` is set to whether
    /// any of query `i`'s counts is at least `at_least[i]`, so that a caller looking for
    /// rare counts above a bound can skip the rest (the AVX-512 build compares the
    /// counts while they are still in registers).
    ///
    /// The AVX-512 build scans [`MULTI_QUERIES`] queries per pass: each 512-bit word of a
    /// group is loaded once and ANDed with every query's broadcast word, so a scan of
    /// rows that live in L2 moves a quarter of the bytes. Other builds, and the last
    /// queries when their number is not a multiple of [`MULTI_QUERIES`], run query by
    /// query.
    ///
    /// # Panics
    /// If `w` is 0, `queries.len()` is not a multiple of `w`, `groups.len()` is not
    /// `n · w` with `n` a multiple of 8, `out.len()` is not `n` per query, or `at_least`
    /// and `reached` do not have one element per query.
    pub fn and_counts_interleaved_multi(
        self,
        queries: &[u64],
        w: usize,
        groups: &[u64],
        at_least: &[u32],
        out: &mut [u32],
        reached: &mut [bool],
    ) {
        let n = groups.len().checked_div(w).unwrap_or(0);
        let n_queries = queries.len().checked_div(w).unwrap_or(0);
        assert!(
            w > 0
                && queries.len().is_multiple_of(w)
                && n.is_multiple_of(8)
                && groups.len() == n * w
                && out.len() == n_queries * n
                && at_least.len() == n_queries
                && reached.len() == n_queries,
            "invariant: {n_queries} queries of {w} words against {} interleaved words into {} \
             counts, {} bounds and {} flags",
            groups.len(),
            out.len(),
            at_least.len(),
            reached.len()
        );
        if n == 0 {
            reached.fill(false);
            return;
        }
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if self.is_available() => {
                #[allow(unsafe_code)]
                // SAFETY: `avx512_interleaved_multi` is `unsafe` only because of its
                // `#[target_feature(enable = "avx512f,avx512vpopcntdq")]`, and the CPU has
                // both (checked by `is_available` just above). Its loads and stores go
                // through slices of exactly 8 elements.
                unsafe {
                    x86::avx512_interleaved_multi(queries, w, groups, at_least, out, reached);
                }
            }
            _ => {
                for (((a, o), &need), r) in queries
                    .chunks_exact(w)
                    .zip(out.chunks_exact_mut(n))
                    .zip(at_least)
                    .zip(reached.iter_mut())
                {
                    self.and_counts_interleaved(a, groups, o);
                    *r = reaches(o, need);
                }
            }
        }
    }

    fn run<R: Rows>(self, a: &[u64], rows: &R, out: &mut [u32]) {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 if self.is_available() => {
                #[allow(unsafe_code)]
                // SAFETY: `avx512_counts` is `unsafe` only because of its
                // `#[target_feature(enable = "avx512f,avx512vpopcntdq")]`, and the CPU has
                // both features (`is_available` checked them just above with
                // `is_x86_feature_detected!`). Every memory access inside is bounds-checked
                // slice indexing or a load from a slice of exactly 8 words.
                unsafe {
                    x86::avx512_counts(a, rows, out);
                }
            }
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 if self.is_available() => {
                #[allow(unsafe_code)]
                // SAFETY: `avx2_counts` is `unsafe` only because of its
                // `#[target_feature(enable = "avx2,popcnt")]`, and the CPU has both
                // (checked by `is_available` just above); its body is safe code.
                unsafe {
                    x86::avx2_counts(a, rows, out);
                }
            }
            _ => portable_counts(a, rows, out),
        }
    }
}

/// Queries the AVX-512 build of [`Kernel::and_counts_interleaved_multi`] scans per pass
/// over the rows.
pub const MULTI_QUERIES: usize = 4;

/// True when some count is at least `need`.
#[inline]
fn reaches(counts: &[u32], need: u32) -> bool {
    counts.iter().fold(0, |m, &c| m.max(c)) >= need
}

/// Rows the kernel reads: `n` rows of `w` words.
trait Rows {
    fn row(&self, k: usize) -> &[u64];
}

struct Contiguous<'a> {
    words: &'a [u64],
    w: usize,
}

impl Rows for Contiguous<'_> {
    #[inline(always)]
    fn row(&self, k: usize) -> &[u64] {
        &self.words[k * self.w..(k + 1) * self.w]
    }
}

struct Gathered<'a> {
    words: &'a [u64],
    w: usize,
    at: &'a [u32],
}

impl Rows for Gathered<'_> {
    #[inline(always)]
    fn row(&self, k: usize) -> &[u64] {
        let i = self.at[k] as usize;
        &self.words[i * self.w..(i + 1) * self.w]
    }
}

/// Asks the CPU to start loading every cache line of `words` into its caches, and
/// returns at once; a hint that changes no result (nothing on other architectures). A
/// caller about to read many scattered rows issues it for all of them first, so that
/// their cache misses overlap instead of following one another.
#[inline]
pub(crate) fn prefetch(words: &[u64]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        // One address every 8 words (64 bytes) and the last word: every line the slice
        // touches, wherever it starts within a line.
        let last = words.len().checked_sub(1);
        for i in (0..words.len()).step_by(8).chain(last) {
            #[allow(unsafe_code)]
            // SAFETY: `_mm_prefetch` is `unsafe` only because it takes a raw pointer; a
            // prefetch never faults and never writes, and the pointer is to `words[i]`,
            // an element of a live slice (`i < words.len()`). SSE, which it needs, is
            // part of the x86-64 baseline.
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(words[i..].as_ptr().cast());
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = words;
}

/// The scalar reference: `popcount(a ∧ b)` of two equal-length word slices.
pub fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

/// Stores rows of `w` words in groups of 8 with their words interleaved (see
/// [`Kernel::and_counts_interleaved`]); the last group is padded with zero rows.
pub fn interleave(rows: &[u64], w: usize) -> Vec<u64> {
    let n = rows.len().checked_div(w).unwrap_or(0);
    let n_groups = n.div_ceil(8);
    let mut out = vec![0u64; n_groups * 8 * w];
    for (j, row) in rows.chunks_exact(w.max(1)).enumerate() {
        let (g, lane) = (j / 8, j % 8);
        for (k, &word) in row.iter().enumerate() {
            out[(g * w + k) * 8 + lane] = word;
        }
    }
    out
}

#[inline(always)]
fn portable_interleaved(a: &[u64], groups: &[u64], out: &mut [u32]) {
    let w = a.len();
    for (group, o) in groups.chunks_exact(8 * w).zip(out.chunks_exact_mut(8)) {
        let mut acc = [0u32; 8];
        for (k, &aw) in a.iter().enumerate() {
            for (lane, c) in acc.iter_mut().enumerate() {
                *c += (aw & group[k * 8 + lane]).count_ones();
            }
        }
        o.copy_from_slice(&acc);
    }
}

#[inline(always)]
fn portable_counts<R: Rows>(a: &[u64], rows: &R, out: &mut [u32]) {
    match a.len() {
        8 => fixed_counts::<8, R>(a, rows, out),
        16 => fixed_counts::<16, R>(a, rows, out),
        32 => fixed_counts::<32, R>(a, rows, out),
        _ => {
            for (k, c) in out.iter_mut().enumerate() {
                *c = and_count(a, rows.row(k));
            }
        }
    }
}

#[inline(always)]
fn fixed_counts<const W: usize, R: Rows>(a: &[u64], rows: &R, out: &mut [u32]) {
    let Ok(a) = <&[u64; W]>::try_from(a) else {
        return;
    };
    for (k, c) in out.iter_mut().enumerate() {
        let Ok(b) = <&[u64; W]>::try_from(rows.row(k)) else {
            return;
        };
        let mut n = 0u32;
        for w in 0..W {
            n += (a[w] & b[w]).count_ones();
        }
        *c = n;
    }
}

#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod x86 {
    use std::arch::x86_64::{
        __m256i, __m512i, _mm256_add_epi8, _mm256_add_epi64, _mm256_and_si256, _mm256_loadu_si256,
        _mm256_sad_epu8, _mm256_set1_epi8, _mm256_set1_epi64x, _mm256_setr_epi8,
        _mm256_setzero_si256, _mm256_shuffle_epi8, _mm256_srli_epi16, _mm256_storeu_si256,
        _mm512_add_epi64, _mm512_and_si512, _mm512_cmpge_epu64_mask, _mm512_cvtepi64_epi32,
        _mm512_loadu_si512, _mm512_maskz_loadu_epi64, _mm512_or_si512, _mm512_popcnt_epi64,
        _mm512_reduce_add_epi64, _mm512_set1_epi64, _mm512_setzero_si512, _mm512_slli_epi64,
    };

    use super::Rows;

    /// Evaluates `$scan` with `$q` bound to the query words `$a`, each broadcast to a
    /// vector by `$set1`: a fixed-size array for the listed word counts, so that the
    /// compiler unrolls the scan's word loop, and a slice of a `Vec` for any other
    /// count. Expanded inside the caller, so the intrinsics run with its target features.
    macro_rules! broadcast {
        ($a:expr, $set1:ident, $vector:ty, [$($n:literal),*], |$q:ident| $scan:expr) => {{
            let a: &[u64] = $a;
            match a.len() {
                $($n => {
                    let q: [$vector; $n] = std::array::from_fn(|k| $set1(a[k] as i64));
                    let $q = &q;
                    $scan
                })*
                _ => {
                    let q: Vec<$vector> = a.iter().map(|&x| $set1(x as i64)).collect();
                    let $q = q.as_slice();
                    $scan
                }
            }
        }};
    }

    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn avx2_counts<R: Rows>(a: &[u64], rows: &R, out: &mut [u32]) {
        super::portable_counts(a, rows, out);
    }

    /// AVX2 counts of interleaved groups (see `Kernel::and_counts_interleaved`), with the
    /// nibble-table popcount of Muła, Kurz and Lemire ("Faster population counts using
    /// AVX2 instructions", 2018): AVX2 has no vector popcount, but `VPSHUFB` looks up
    /// the bit count of 32 nibbles at once in a 16-entry table. A group's 8 rows fill
    /// two 256-bit vectors (rows 0–3 and 4–7), so, as in the AVX-512 build, one
    /// broadcast of a query word serves 8 rows and no horizontal sum is needed: the
    /// per-byte counts are added up for up to 31 words (at most 8 per byte and word,
    /// so below 256) and then folded into four 64-bit row counts by `VPSADBW`.
    #[target_feature(enable = "avx2,popcnt")]
    pub(super) fn avx2_interleaved(a: &[u64], groups: &[u64], out: &mut [u32]) {
        // The query words broadcast once; a fixed count for the usual lengths lets the
        // compiler unroll the word loop.
        broadcast!(a, _mm256_set1_epi64x, __m256i, [16, 32], |q| {
            interleaved_avx2(q, groups, out)
        });
    }

    #[inline]
    #[target_feature(enable = "avx2,popcnt")]
    fn interleaved_avx2<Q: AsRef<[__m256i]> + ?Sized>(q: &Q, groups: &[u64], out: &mut [u32]) {
        let q = q.as_ref();
        let w = q.len();
        let lut = _mm256_setr_epi8(
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, //
            0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
        );
        let low = _mm256_set1_epi8(0x0f);
        let zero = _mm256_setzero_si256();
        // One byte lane gains at most 8 per word: 31 words stay below 256.
        const FLUSH: usize = 31;
        for (group, o) in groups.chunks_exact(8 * w).zip(out.chunks_exact_mut(8)) {
            let (mut sum0, mut sum1) = (zero, zero);
            for (block, qs) in group.chunks(8 * FLUSH).zip(q.chunks(FLUSH)) {
                let (mut b0, mut b1) = (zero, zero);
                for (words, &qk) in block.chunks_exact(8).zip(qs) {
                    b0 = _mm256_add_epi8(
                        b0,
                        nibbles(lut, low, _mm256_and_si256(qk, load4(words, 0))),
                    );
                    b1 = _mm256_add_epi8(
                        b1,
                        nibbles(lut, low, _mm256_and_si256(qk, load4(words, 4))),
                    );
                }
                sum0 = _mm256_add_epi64(sum0, _mm256_sad_epu8(b0, zero));
                sum1 = _mm256_add_epi64(sum1, _mm256_sad_epu8(b1, zero));
            }
            // Rows 0–3 and 4–7 as 64-bit counts; narrow them to the 32-bit outputs.
            let mut counts = [0u64; 8];
            store4(&mut counts[..4], sum0);
            store4(&mut counts[4..], sum1);
            for (c, &n) in o.iter_mut().zip(&counts) {
                *c = n as u32;
            }
        }
    }

    /// The bit count of each byte of `x`, by looking up its two nibbles in `lut`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn nibbles(lut: __m256i, low: __m256i, x: __m256i) -> __m256i {
        let lo = _mm256_and_si256(x, low);
        let hi = _mm256_and_si256(_mm256_srli_epi16::<4>(x), low);
        _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi))
    }

    /// Loads the 4 words `s[start..start + 4]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn load4(s: &[u64], start: usize) -> __m256i {
        let chunk = &s[start..start + 4];
        // SAFETY: `chunk` is 4 words (32 bytes) long, so the load stays inside it;
        // `loadu` has no alignment requirement.
        unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) }
    }

    /// Stores `v` into `s`, which must be 4 words long.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store4(s: &mut [u64], v: __m256i) {
        let chunk: &mut [u64] = &mut s[..4];
        // SAFETY: `chunk` is 4 words (32 bytes) long, exactly what the unaligned 256-bit
        // store writes.
        unsafe { _mm256_storeu_si256(chunk.as_mut_ptr().cast(), v) }
    }

    /// AVX-512 counts of interleaved groups (see `Kernel::and_counts_interleaved`).
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) fn avx512_interleaved(a: &[u64], groups: &[u64], out: &mut [u32]) {
        broadcast!(a, _mm512_set1_epi64, __m512i, [16, 8, 32], |q| {
            interleaved_fixed(q, groups, out)
        });
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn interleaved_fixed<Q: AsRef<[__m512i]> + ?Sized>(q: &Q, groups: &[u64], out: &mut [u32]) {
        let q = q.as_ref();
        let w = q.len();
        for (group, o) in groups.chunks_exact(8 * w).zip(out.chunks_exact_mut(8)) {
            // Two accumulators halve the add chain's latency.
            let (mut acc0, mut acc1) = (_mm512_setzero_si512(), _mm512_setzero_si512());
            let mut k = 0;
            while k + 1 < w {
                acc0 = and_popcnt(acc0, q[k], load8(group, 8 * k));
                acc1 = and_popcnt(acc1, q[k + 1], load8(group, 8 * k + 8));
                k += 2;
            }
            if k < w {
                acc0 = and_popcnt(acc0, q[k], load8(group, 8 * k));
            }
            let counts = _mm512_cvtepi64_epi32(_mm512_add_epi64(acc0, acc1));
            let o: &mut [u32] = &mut o[..8];
            // SAFETY: `o` is 8 `u32`s (32 bytes), exactly what the unaligned 256-bit
            // store writes.
            unsafe { _mm256_storeu_si256(o.as_mut_ptr().cast(), counts) }
        }
    }

    /// AVX-512 counts of several queries against interleaved groups (see
    /// `Kernel::and_counts_interleaved_multi`): `MULTI_QUERIES` at a time, the rest one by
    /// one.
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) fn avx512_interleaved_multi(
        queries: &[u64],
        w: usize,
        groups: &[u64],
        at_least: &[u32],
        out: &mut [u32],
        reached: &mut [bool],
    ) {
        const Q: usize = super::MULTI_QUERIES;
        let n = groups.len() / w;
        for (((qs, o), need), r) in queries
            .chunks(Q * w)
            .zip(out.chunks_mut(Q * n))
            .zip(at_least.chunks(Q))
            .zip(reached.chunks_mut(Q))
        {
            if qs.len() < Q * w {
                // The last queries, fewer than `Q`: one by one.
                for (((a, o), &need), r) in qs
                    .chunks_exact(w)
                    .zip(o.chunks_exact_mut(n))
                    .zip(need)
                    .zip(r.iter_mut())
                {
                    avx512_interleaved(a, groups, o);
                    *r = super::reaches(o, need);
                }
                continue;
            }
            // Every chunk but the last holds `Q` queries, bounds and flags.
            let (Ok(need), Ok(r)) = (<&[u32; Q]>::try_from(need), <&mut [bool; Q]>::try_from(r))
            else {
                continue;
            };
            match w {
                16 => multi_fixed::<Q, 16>(qs, groups, need, o, r),
                8 => multi_fixed::<Q, 8>(qs, groups, need, o, r),
                32 => multi_fixed::<Q, 32>(qs, groups, need, o, r),
                _ => multi_any::<Q>(qs, w, groups, need, o, r),
            }
        }
    }

    /// `Q` queries of exactly `W` words (`qs`, `Q · W` words), as fixed-size arrays so
    /// that the word loop is unrolled and unchecked (see `multi_body`).
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn multi_fixed<const Q: usize, const W: usize>(
        qs: &[u64],
        groups: &[u64],
        at_least: &[u32; Q],
        out: &mut [u32],
        reached: &mut [bool; Q],
    ) {
        // The queries as arrays, without a copy (the caller passes exactly `Q · W` words,
        // so the `else` is never taken).
        let (q, _) = qs.as_chunks::<W>();
        let Ok(q) = <&[[u64; W]; Q]>::try_from(q) else {
            return;
        };
        multi_body(W, groups, at_least, out, reached, |i, k| q[i][k]);
    }

    /// Like `multi_fixed` for any query length `w`.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn multi_any<const Q: usize>(
        qs: &[u64],
        w: usize,
        groups: &[u64],
        at_least: &[u32; Q],
        out: &mut [u32],
        reached: &mut [bool; Q],
    ) {
        multi_body(w, groups, at_least, out, reached, |i, k| qs[i * w + k]);
    }

    /// The scan of `Q` queries of `w` words, word `k` of query `i` being `word(i, k)`:
    /// per group and word one 512-bit load of 8 rows, then per query one AND with the
    /// broadcast query word, one `VPOPCNTQ` and one add into that query's accumulator;
    /// per group and query one compare with the query's bound.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn multi_body<const Q: usize>(
        w: usize,
        groups: &[u64],
        at_least: &[u32; Q],
        out: &mut [u32],
        reached: &mut [bool; Q],
        word: impl Fn(usize, usize) -> u64,
    ) {
        let need: [__m512i; Q] = std::array::from_fn(|i| _mm512_set1_epi64(at_least[i].into()));
        let mut hits = [0u8; Q];
        let n = groups.len() / w;
        for (g, group) in groups.chunks_exact(8 * w).enumerate() {
            let mut acc = [_mm512_setzero_si512(); Q];
            for k in 0..w {
                let b = load8(group, 8 * k);
                for (i, acc_i) in acc.iter_mut().enumerate() {
                    *acc_i = and_popcnt(*acc_i, _mm512_set1_epi64(word(i, k) as i64), b);
                }
            }
            for (i, acc_i) in acc.iter().enumerate() {
                hits[i] |= _mm512_cmpge_epu64_mask(*acc_i, need[i]);
                store8(&mut out[i * n + 8 * g..], _mm512_cvtepi64_epi32(*acc_i));
            }
        }
        for (r, h) in reached.iter_mut().zip(hits) {
            *r = h != 0;
        }
    }

    /// Stores the 8 counts `v` into `s[..8]`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn store8(s: &mut [u32], v: __m256i) {
        let chunk: &mut [u32] = &mut s[..8];
        // SAFETY: `chunk` is 8 `u32`s (32 bytes) long, exactly what the unaligned 256-bit
        // store writes.
        unsafe { _mm256_storeu_si256(chunk.as_mut_ptr().cast(), v) }
    }

    /// AVX-512 counts of `out.len()` rows of `a.len()` words (`a` not empty).
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    pub(super) fn avx512_counts<R: Rows>(a: &[u64], rows: &R, out: &mut [u32]) {
        let w = a.len();
        match w {
            8 => fixed::<1, R>(&[load8(a, 0)], rows, out),
            16 => fixed::<2, R>(&[load8(a, 0), load8(a, 8)], rows, out),
            32 => fixed::<4, R>(
                &[load8(a, 0), load8(a, 8), load8(a, 16), load8(a, 24)],
                rows,
                out,
            ),
            _ => {
                // Query chunks of 8 words, the last one zero-padded: padded lanes count
                // nothing whatever the row holds there.
                let q: Vec<__m512i> = (0..w.div_ceil(8)).map(|c| load_part(a, 8 * c)).collect();
                general(&q, rows, out);
            }
        }
    }

    /// Loads words `start..start + 8` of `s`, with zeros past its end.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load_part(s: &[u64], start: usize) -> __m512i {
        let part = &s[start.min(s.len())..];
        let n = part.len().min(8);
        let mask = ((1u16 << n) - 1) as u8;
        // SAFETY: the mask enables only lanes `0..n`, which lie inside `part`;
        // masked-off lanes are neither read nor faulted on (AVX-512 masked loads
        // suppress faults), and with `n == 0` nothing is read.
        unsafe { _mm512_maskz_loadu_epi64(mask, part.as_ptr().cast()) }
    }

    /// Loads the 8 words `s[start..start + 8]`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn load8(s: &[u64], start: usize) -> __m512i {
        let chunk = &s[start..start + 8];
        // SAFETY: `chunk` is 8 words (64 bytes) long, so the load stays inside it;
        // `loadu` has no alignment requirement.
        unsafe { _mm512_loadu_si512(chunk.as_ptr().cast()) }
    }

    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn and_popcnt(acc: __m512i, q: __m512i, b: __m512i) -> __m512i {
        _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_and_si512(q, b)))
    }

    /// Rows of exactly `8·C` words (at most 32, so a row's count fits a 16-bit field).
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn fixed<const C: usize, R: Rows>(q: &[__m512i; C], rows: &R, out: &mut [u32]) {
        let mut outs = out.chunks_exact_mut(4);
        let mut j = 0;
        for o in &mut outs {
            let mut acc = [_mm512_setzero_si512(); 4];
            for (k, acc_k) in acc.iter_mut().enumerate() {
                let b = rows.row(j + k);
                for (c, qc) in q.iter().enumerate() {
                    *acc_k = and_popcnt(*acc_k, *qc, load8(b, 8 * c));
                }
            }
            let s = _mm512_reduce_add_epi64(pack4(&acc)) as u64;
            for (k, ok) in o.iter_mut().enumerate() {
                *ok = ((s >> (16 * k)) & 0xffff) as u32;
            }
            j += 4;
        }
        for o in outs.into_remainder() {
            let b = rows.row(j);
            let mut acc = _mm512_setzero_si512();
            for (c, qc) in q.iter().enumerate() {
                acc = and_popcnt(acc, *qc, load8(b, 8 * c));
            }
            *o = _mm512_reduce_add_epi64(acc) as u32;
            j += 1;
        }
    }

    /// Rows of any length (the query chunks `q` zero-padded); one horizontal sum per row.
    #[inline]
    #[target_feature(enable = "avx512f,avx512vpopcntdq")]
    fn general<R: Rows>(q: &[__m512i], rows: &R, out: &mut [u32]) {
        for (k, o) in out.iter_mut().enumerate() {
            let b = rows.row(k);
            let mut acc = _mm512_setzero_si512();
            for (c, qc) in q.iter().enumerate() {
                acc = and_popcnt(acc, *qc, load_part(b, 8 * c));
            }
            *o = _mm512_reduce_add_epi64(acc) as u32;
        }
    }

    /// Packs four vectors of per-lane counts (each lane below 2^16 / 8 in total over
    /// the row) into 16-bit fields: one horizontal sum then gives four row counts.
    #[inline]
    #[target_feature(enable = "avx512f")]
    fn pack4(acc: &[__m512i; 4]) -> __m512i {
        let lo = _mm512_or_si512(acc[0], _mm512_slli_epi64::<16>(acc[1]));
        let hi = _mm512_or_si512(
            _mm512_slli_epi64::<32>(acc[2]),
            _mm512_slli_epi64::<48>(acc[3]),
        );
        _mm512_or_si512(lo, hi)
    }
}

/// Row-major words whose first row starts on a 64-byte boundary (cache line and AVX-512
/// vector), stored in a `Vec<u64>` with up to 7 words of leading padding.
#[derive(Debug, Clone, Default)]
pub(crate) struct AlignedWords {
    buf: Vec<u64>,
    start: usize,
    len: usize,
}

impl AlignedWords {
    /// Takes `words` and moves them in place (after at most 7 words of padding) to a
    /// 64-byte boundary; a large `Vec` usually grows without a copy.
    pub(crate) fn from_vec(mut words: Vec<u64>) -> AlignedWords {
        let len = words.len();
        words.reserve_exact(7);
        words.resize(len + 7, 0);
        let addr = words.as_ptr() as usize;
        let start = (64 - addr % 64) % 64 / 8;
        words.copy_within(0..len, start);
        AlignedWords {
            buf: words,
            start,
            len,
        }
    }

    /// The words.
    pub(crate) fn as_slice(&self) -> &[u64] {
        &self.buf[self.start..self.start + self.len]
    }

    /// Bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.buf.capacity() * 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn reference(a: &[u64], rows: &[u64]) -> Vec<u32> {
        rows.chunks_exact(a.len())
            .map(|b| and_count(a, b))
            .collect()
    }

    proptest! {
        #[test]
        fn every_kernel_equals_the_reference(
            w in 1usize..40,
            n in 0usize..13,
            seed in any::<u64>(),
            density in 0u32..4,
        ) {
            let mut state = seed;
            let mut word = || {
                let mut x = crate::matching::splitmix(&mut state);
                // Vary the density: all ones, sparse, dense, random.
                for _ in 0..density {
                    x &= crate::matching::splitmix(&mut state);
                }
                if density == 3 { u64::MAX } else { x }
            };
            let a: Vec<u64> = (0..w).map(|_| word()).collect();
            let rows: Vec<u64> = (0..w * n).map(|_| word()).collect();
            let expect = reference(&a, &rows);
            // Every row twice, in reverse, for the gathered form.
            let at: Vec<u32> = (0..n as u32).rev().chain(0..n as u32).collect();
            let expect_at: Vec<u32> = at.iter().map(|&i| expect[i as usize]).collect();
            for kernel in Kernel::ALL {
                let mut out = vec![u32::MAX; n];
                kernel.and_counts(&a, &rows, &mut out);
                prop_assert_eq!(&out, &expect, "{} with {} words", kernel.name(), w);
                let mut out = vec![u32::MAX; at.len()];
                kernel.and_counts_at(&a, &rows, &at, &mut out);
                prop_assert_eq!(&out, &expect_at, "{} gathered, {} words", kernel.name(), w);
            }
        }
    }

    proptest! {
        #[test]
        fn interleaved_equals_the_reference(
            w in 1usize..40,
            n in 0usize..20,
            seed in any::<u64>(),
        ) {
            let mut state = seed;
            let a: Vec<u64> = (0..w).map(|_| crate::matching::splitmix(&mut state)).collect();
            let rows: Vec<u64> = (0..w * n).map(|_| crate::matching::splitmix(&mut state)).collect();
            let mut expect = reference(&a, &rows);
            expect.resize(n.div_ceil(8) * 8, 0);
            let groups = interleave(&rows, w);
            for kernel in Kernel::ALL {
                let mut out = vec![u32::MAX; expect.len()];
                kernel.and_counts_interleaved(&a, &groups, &mut out);
                prop_assert_eq!(&out, &expect, "{} interleaved, {} words", kernel.name(), w);
            }
        }
    }

    /// Every build's multi-query counts against the portable single-query ones:
    /// `n_queries` queries of `w` words against `n` rows, with bounds just below, at
    /// and just above each query's largest count.
    fn check_multi(w: usize, n: usize, n_queries: usize, seed: u64) {
        let mut state = seed;
        let mut word = || crate::matching::splitmix(&mut state);
        let rows: Vec<u64> = (0..w * n).map(|_| word()).collect();
        let queries: Vec<u64> = (0..w * n_queries).map(|_| word()).collect();
        let groups = interleave(&rows, w);
        let padded = n.div_ceil(8) * 8;
        let mut expect = vec![u32::MAX; padded * n_queries];
        for (a, o) in queries
            .chunks_exact(w)
            .zip(expect.chunks_exact_mut(padded.max(1)))
        {
            Kernel::Portable.and_counts_interleaved(a, &groups, o);
        }
        let max_count = |i: usize| expect[i * padded..(i + 1) * padded].iter().max().copied();
        let at_least: Vec<u32> = (0..n_queries)
            .map(|i| match (i % 4, max_count(i)) {
                (0, Some(m)) => m,
                (1, Some(m)) => m + 1,
                (2, Some(m)) => m.saturating_sub(1),
                _ => u32::MAX,
            })
            .collect();
        let expect_reached: Vec<bool> = (0..n_queries)
            .map(|i| max_count(i).is_some_and(|m| m >= at_least[i]))
            .collect();
        for kernel in Kernel::ALL {
            let mut out = vec![u32::MAX; padded * n_queries];
            let mut reached = vec![true; n_queries];
            kernel.and_counts_interleaved_multi(
                &queries,
                w,
                &groups,
                &at_least,
                &mut out,
                &mut reached,
            );
            let what = format!(
                "{} multi: {n_queries} queries of {w} words, {n} rows",
                kernel.name()
            );
            assert_eq!(out, expect, "{what}");
            assert_eq!(reached, expect_reached, "{what}");
        }
    }

    #[test]
    fn multi_query_equals_single_query() {
        // The fixed widths and two others; query counts around multiples of the pass
        // size, row counts with and without a padded last group.
        for w in [8, 16, 32, 1, 5, 33] {
            for n_queries in [0, 1, 3, 4, 5, 8, 9, 11] {
                for n in [0, 3, 8, 21, 64] {
                    check_multi(w, n, n_queries, (w * 1000 + n_queries * 100 + n) as u64);
                }
            }
        }
    }

    proptest! {
        #[test]
        fn multi_query_equals_the_reference(
            w in 1usize..40,
            n in 0usize..40,
            n_queries in 0usize..11,
            seed in any::<u64>(),
        ) {
            check_multi(w, n, n_queries, seed);
        }
    }

    #[test]
    fn fixed_widths_and_full_rows() {
        // All-ones rows reach the largest packed counts (1024 and 2048 bits).
        for w in [8, 16, 32, 1024, 1025] {
            let a = vec![u64::MAX; w];
            let rows = vec![u64::MAX; w * 6];
            for kernel in Kernel::ALL {
                let mut out = vec![0; 6];
                kernel.and_counts(&a, &rows, &mut out);
                assert_eq!(out, vec![64 * w as u32; 6], "{} {w}", kernel.name());
            }
        }
    }

    #[test]
    fn interleaved_full_rows_reach_the_largest_counts() {
        // All-ones rows fill every byte counter: 31 words is the most the AVX2 build
        // adds up before folding, so lengths around multiples of 31 check the folding.
        for w in [1, 8, 16, 30, 31, 32, 62, 63, 64, 1025] {
            let a = vec![u64::MAX; w];
            let groups = interleave(&vec![u64::MAX; w * 11], w);
            let mut expect = vec![64 * w as u32; 11];
            expect.resize(16, 0);
            for kernel in Kernel::ALL {
                let mut out = vec![u32::MAX; 16];
                kernel.and_counts_interleaved(&a, &groups, &mut out);
                assert_eq!(out, expect, "{} {w}", kernel.name());
            }
        }
    }

    #[test]
    fn aligned_words_keep_their_values() {
        for len in [0usize, 1, 9, 1000] {
            let v: Vec<u64> = (0..len as u64).collect();
            let a = AlignedWords::from_vec(v.clone());
            assert_eq!(a.as_slice(), v.as_slice());
            assert_eq!(a.as_slice().as_ptr() as usize % 64, 0);
        }
    }

    #[test]
    fn detect_names_an_available_kernel() {
        assert!(Kernel::detect().is_available());
        assert!(Kernel::Portable.is_available());
    }
}
