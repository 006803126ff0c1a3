//! The LSH band tables of [`crate::index`]: per band, the bucket of every encoding in
//! compressed-sparse-row form, with positions packed in 3 bytes each while the index
//! holds fewer than 2^24 encodings (4 bytes above) and bucket starts in about 1.4 bytes.
//!
//! **Layout.** A band with `k` bucket bits holds `2^k` bucket starts ([`Offsets`]: every
//! 8th packed, the others one byte from their block's start) and one position per
//! encoding that enters it; bucket `b`'s positions run from its start to the next
//! bucket's, ascending. At 10,000,000 encodings (`k` = 22) that is 5.8 MB of starts and
//! 30 MB of positions per band instead of 16.8 and 40 MB as `u32`: the 54 standard field
//! bands take 1,579 MiB instead of 2,573.
//!
//! **Build.** [`build`] computes the buckets of [`BANDS_PER_PASS`] bands in one parallel
//! pass over the rows (a row is read from memory once per pass, not once per band: at
//! 10,000,000 rows of 288 bytes, 7 passes over 2.7 GiB instead of 54), then sorts each
//! band of the pass by bucket on its own thread, in two cache-friendly passes
//! ([`Band::from_buckets`]).

use rayon::prelude::*;

/// Bands whose buckets one pass over the rows computes. The pass keeps a `u32` per row
/// and band (32 bytes per encoding: 320 MB at 10,000,000, freed after the build), and
/// each band's sort 8 bytes per encoding of the band while it runs.
pub(crate) const BANDS_PER_PASS: usize = 8;

/// Rows per rayon task of a pass.
const ROWS_PER_TASK: usize = 4096;

/// The bucket of an encoding that does not enter a band (a field of its key is absent).
const ABSENT: u32 = u32::MAX;

/// Consecutive bits of a band's key.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    /// First bit of the window in the encoding.
    pub(crate) offset: usize,
    /// Number of bits, 1 to 57.
    pub(crate) len: usize,
    /// The words of the field segment the window lies in, which must not be all zero
    /// (the field is present); `None` for whole-encoding bands.
    pub(crate) segment: Option<(usize, usize)>,
}

/// One band: its windows and its bucket table.
#[derive(Debug)]
pub(crate) struct Band {
    /// The windows whose bits, joined, make the key.
    pub(crate) windows: Vec<Window>,
    /// Where each bucket starts in `ids`.
    offsets: Offsets,
    /// Positions of the encodings, bucket after bucket, ascending within a bucket.
    ids: Packed,
}

impl Band {
    /// The range of `ids` that holds bucket `b` (`b < 2^k`).
    #[inline]
    pub(crate) fn bucket_range(&self, b: usize) -> (usize, usize) {
        (self.offsets.start(b), self.offsets.start(b + 1))
    }

    /// Appends positions `lo..hi` of the band (a [`Band::bucket_range`]) to `out`.
    #[inline]
    pub(crate) fn extend_ids(&self, (lo, hi): (usize, usize), out: &mut Vec<u32>) {
        self.ids.extend_range(lo, hi, out);
    }

    /// The number of encodings in the band.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.ids.len()
    }

    /// Heap bytes held.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.offsets.heap_bytes() + self.ids.heap_bytes()
    }
}

/// The bands of `band_windows` over the `n` rows of `n_words` words in `rows`, with
/// `2^k` buckets each; the same tables whatever the thread count.
pub(crate) fn build(
    rows: &[u64],
    n_words: usize,
    n: usize,
    band_windows: &[Vec<Window>],
    k: u32,
) -> Vec<Band> {
    let width = width_for(n);
    let mut bands = Vec::with_capacity(band_windows.len());
    let mut buckets: Vec<u32> = Vec::new();
    for group in band_windows.chunks(BANDS_PER_PASS) {
        let g = group.len();
        buckets.clear();
        buckets.resize(n * g, ABSENT);
        // Each task's `g · len` buckets hold band 0's `len` rows, then band 1's, …, so
        // that a task writes one slice while its rows are in cache and a band's column
        // is read back in runs of `ROWS_PER_TASK`.
        buckets
            .par_chunks_mut(g * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(task, out)| {
                let first = task * ROWS_PER_TASK;
                let len = out.len() / g;
                for i in 0..len {
                    let j = first + i;
                    let row = &rows[j * n_words..(j + 1) * n_words];
                    for (b, windows) in group.iter().enumerate() {
                        out[b * len + i] =
                            band_key(row, windows).map_or(ABSENT, |key| bucket(key, k) as u32);
                    }
                }
            });
        let buckets = &buckets;
        bands.par_extend(group.par_iter().enumerate().map(|(b, windows)| {
            let column = || {
                buckets.chunks(g * ROWS_PER_TASK).flat_map(move |c| {
                    let len = c.len() / g;
                    c[b * len..(b + 1) * len].iter().copied()
                })
            };
            Band::from_buckets(windows.clone(), column, k, width)
        }));
    }
    bands
}

/// Bucket bits a partition of [`Band::from_buckets`] sorts by in cache (its tables are
/// `2^LOCAL_BITS` entries).
const LOCAL_BITS: u32 = 12;

impl Band {
    /// Sorts the positions by bucket; `column()` yields each row's bucket ([`ABSENT`]:
    /// not in the band) in row order. Two passes: the (bucket, position) pairs are first
    /// grouped by the high bucket bits (a partition of about `2^LOCAL_BITS` buckets), then
    /// each partition is counting-sorted by the low bits, its tables and its part of the
    /// output in cache; a counting sort over all `2^k` buckets at once missed the cache
    /// on nearly every entry (34 of 44 s of building at 10,000,000).
    fn from_buckets<I: Iterator<Item = u32>>(
        windows: Vec<Window>,
        column: impl Fn() -> I,
        k: u32,
        width: usize,
    ) -> Band {
        let local_bits = k.min(LOCAL_BITS);
        let n_parts = 1usize << (k - local_bits);
        let n_local = 1usize << local_bits;
        let mut part_starts = vec![0u32; n_parts + 1];
        for b in column() {
            if b != ABSENT {
                part_starts[(b >> local_bits) as usize + 1] += 1;
            }
        }
        for p in 0..n_parts {
            part_starts[p + 1] += part_starts[p];
        }
        let total = part_starts[n_parts] as usize;
        // Bucket in the high half, position in the low half; row order within a partition.
        let mut grouped = vec![0u64; total];
        let mut fill = part_starts.clone();
        for (j, b) in column().enumerate() {
            if b != ABSENT {
                let at = &mut fill[(b >> local_bits) as usize];
                grouped[*at as usize] = (u64::from(b) << 32) | j as u64;
                *at += 1;
            }
        }
        drop(fill);
        let mut ids = Packed::zeroed(total, width);
        let mut offsets = Offsets::zeroed(n_parts << local_bits, width);
        let mut local = vec![0u32; n_local + 1];
        for p in 0..n_parts {
            let base = part_starts[p];
            let part = &grouped[base as usize..part_starts[p + 1] as usize];
            local.fill(0);
            for &e in part {
                local[((e >> 32) as usize & (n_local - 1)) + 1] += 1;
            }
            for l in 0..n_local {
                local[l + 1] += local[l];
            }
            for (i, block) in local[..n_local].chunks_exact(BLOCK).enumerate() {
                let mut starts = [0u32; BLOCK];
                for (s, &l) in starts.iter_mut().zip(block) {
                    *s = base + l;
                }
                offsets.set_block(((p << local_bits) / BLOCK) + i, &starts);
            }
            // Row order is kept: positions ascend within a bucket.
            for &e in part {
                let at = &mut local[(e >> 32) as usize & (n_local - 1)];
                ids.set((base + *at) as usize, e as u32);
                *at += 1;
            }
        }
        offsets.set_end(total as u32);
        Band {
            windows,
            offsets,
            ids,
        }
    }
}

/// The key of `row` in a band: its windows' bits joined, or `None` when a field of the
/// band is absent (an all-zero segment).
pub(crate) fn band_key(row: &[u64], windows: &[Window]) -> Option<u64> {
    let mut key = 0u64;
    for w in windows {
        if let Some((s, e)) = w.segment
            && row[s..e].iter().all(|&x| x == 0)
        {
            return None;
        }
        key = (key << w.len) | window(row, w.offset, w.len);
    }
    Some(key)
}

/// Bits `offset..offset + r` of `row` (bit `i` is bit `63 − i % 64` of word `i / 64`, as
/// in [`crate::clks`]), as the low `r` bits of a word; `r ≤ 57` keeps them in two words.
pub(crate) fn window(row: &[u64], offset: usize, r: usize) -> u64 {
    let (w, s) = (offset / 64, offset % 64);
    let hi = row[w] as u128;
    let lo = row.get(w + 1).copied().unwrap_or(0) as u128;
    let both = (hi << 64) | lo;
    ((both << s) >> (128 - r)) as u64
}

/// The number of bucket bits for `n` encodings: about two encodings per bucket.
pub(crate) fn bucket_bits(n: usize) -> u32 {
    (usize::BITS - n.max(2).leading_zeros())
        .saturating_sub(2)
        .clamp(4, 30)
}

/// The bucket of `key` among `2^k`.
#[inline]
pub(crate) fn bucket(key: u64, k: u32) -> usize {
    // Fold the high half in first: keys joined from several windows keep their first
    // window in the high bits, which a multiplication alone mixes into few bucket bits.
    ((key ^ (key >> 29)).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - k)) as usize
}

/// Buckets per block of [`Offsets`].
const BLOCK: usize = 8;

/// The start of every bucket in a band's positions, in about 1.4 bytes a bucket: the
/// start of every [`BLOCK`]-th bucket packed, and for the others one byte counting from
/// their block's start. A block whose buckets hold 255 positions or more before its
/// last bucket (a crowd sharing a key) keeps its starts in full in `overflow`.
#[derive(Debug)]
struct Offsets {
    /// The start of buckets `0, BLOCK, 2·BLOCK, …` and, last, the number of positions.
    blocks: Packed,
    /// Bucket `b`'s start less its block's; [`u8::MAX`] for the buckets of an overflow
    /// block (and 0 for the first bucket of each block).
    within: Vec<u8>,
    /// The blocks whose starts do not fit a byte, by block, with every bucket's start.
    overflow: Vec<(u32, [u32; BLOCK])>,
}

impl Offsets {
    /// Offsets of `n_buckets` buckets (a multiple of [`BLOCK`]), all starting at 0 until
    /// set with [`Offsets::set_block`] and [`Offsets::set_end`].
    fn zeroed(n_buckets: usize, width: usize) -> Offsets {
        Offsets {
            blocks: Packed::zeroed(n_buckets / BLOCK + 1, width),
            within: vec![0u8; n_buckets],
            overflow: Vec::new(),
        }
    }

    /// Sets the starts of the buckets of block `i`; blocks are set in ascending order.
    fn set_block(&mut self, i: usize, starts: &[u32; BLOCK]) {
        self.blocks.set(i, starts[0]);
        let mut bytes = [0u8; BLOCK];
        let fits = bytes.iter_mut().zip(starts).all(|(d, &s)| {
            u8::try_from(s - starts[0])
                .ok()
                .filter(|&x| x != u8::MAX)
                .map(|x| *d = x)
                .is_some()
        });
        if fits {
            self.within[i * BLOCK..(i + 1) * BLOCK].copy_from_slice(&bytes);
        } else {
            self.within[i * BLOCK + 1..(i + 1) * BLOCK].fill(u8::MAX);
            self.overflow.push((i as u32, *starts));
        }
    }

    /// Sets the number of positions (the end of the last bucket).
    fn set_end(&mut self, total: u32) {
        let n_blocks = self.within.len() / BLOCK;
        self.blocks.set(n_blocks, total);
    }

    /// From `starts`: the start of each bucket and, last, the number of positions.
    #[cfg(test)]
    fn new(starts: &[u32], width: usize) -> Offsets {
        let n_buckets = starts.len() - 1;
        let mut offsets = Offsets::zeroed(n_buckets, width);
        for (i, block) in starts[..n_buckets].chunks_exact(BLOCK).enumerate() {
            let mut full = [0u32; BLOCK];
            full.copy_from_slice(block);
            offsets.set_block(i, &full);
        }
        offsets.set_end(starts[n_buckets]);
        offsets
    }

    /// Where bucket `b` starts (`b` up to the number of buckets, which gives the end).
    #[inline]
    fn start(&self, b: usize) -> usize {
        let (block, r) = (b / BLOCK, b % BLOCK);
        let base = self.blocks.get(block) as usize;
        if r == 0 {
            return base;
        }
        match self.within[b] {
            u8::MAX => {
                let at = self
                    .overflow
                    .binary_search_by_key(&(block as u32), |&(k, _)| k)
                    .expect(
                        "invariant: a bucket marked as overflowing has its block in `overflow`",
                    );
                self.overflow[at].1[r] as usize
            }
            d => base + usize::from(d),
        }
    }

    fn heap_bytes(&self) -> usize {
        self.blocks.heap_bytes()
            + self.within.capacity()
            + self.overflow.capacity() * std::mem::size_of::<(u32, [u32; BLOCK])>()
    }
}

/// Bytes per packed integer for an index of `n` encodings: offsets and positions are at
/// most `n`.
fn width_for(n: usize) -> usize {
    if n < 1 << 24 { 3 } else { 4 }
}

/// Unsigned integers of `width` (3 or 4) little-endian bytes each.
#[derive(Debug)]
struct Packed {
    bytes: Vec<u8>,
    width: usize,
}

impl Packed {
    fn zeroed(len: usize, width: usize) -> Packed {
        Packed {
            bytes: vec![0; len * width],
            width,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.bytes.len() / self.width
    }

    #[inline]
    fn get(&self, i: usize) -> u32 {
        let b = &self.bytes[i * self.width..(i + 1) * self.width];
        if let [x, y, z] = *b {
            u32::from_le_bytes([x, y, z, 0])
        } else {
            u32::from_le_bytes([b[0], b[1], b[2], b[3]])
        }
    }

    #[inline]
    fn set(&mut self, i: usize, value: u32) {
        let b = value.to_le_bytes();
        // Two fixed-size copies: a copy of run-time length `width` is a `memcpy` call.
        if self.width == 3 {
            self.bytes[i * 3..i * 3 + 3].copy_from_slice(&b[..3]);
        } else {
            self.bytes[i * 4..i * 4 + 4].copy_from_slice(&b);
        }
    }

    #[inline]
    fn extend_range(&self, lo: usize, hi: usize, out: &mut Vec<u32>) {
        let bytes = &self.bytes[lo * self.width..hi * self.width];
        if self.width == 3 {
            out.extend(
                bytes
                    .chunks_exact(3)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], 0])),
            );
        } else {
            out.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
        }
    }

    fn heap_bytes(&self) -> usize {
        self.bytes.capacity()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::splitmix;

    #[test]
    fn windows_read_the_right_bits() {
        let row = [0x8000_0000_0000_0001u64, 0xc000_0000_0000_0000];
        assert_eq!(window(&row, 0, 1), 1);
        assert_eq!(window(&row, 63, 3), 0b111);
        assert_eq!(window(&row, 62, 4), 0b0111);
        assert_eq!(window(&row, 120, 8), 0);
        assert_eq!(window(&row, 64, 57), 0b11 << 55);
    }

    #[test]
    fn packed_integers_round_trip() {
        for width in [3, 4] {
            let values = [0u32, 1, 255, 256, 65_535, 65_536, (1 << 24) - 1];
            let mut p = Packed::zeroed(values.len(), width);
            for (i, &v) in values.iter().enumerate() {
                p.set(i, v);
            }
            assert_eq!(p.len(), values.len());
            assert!((0..values.len()).all(|i| p.get(i) == values[i]));
            let mut out = vec![7];
            p.extend_range(2, 5, &mut out);
            assert_eq!(out, [7, 255, 256, 65_535]);
        }
        let mut p = Packed::zeroed(1, 4);
        p.set(0, u32::MAX - 1);
        assert_eq!(p.get(0), u32::MAX - 1);
        assert_eq!((width_for((1 << 24) - 1), width_for(1 << 24)), (3, 4));
    }

    #[test]
    fn offsets_round_trip_with_crowded_blocks() {
        // 32 buckets: block 1 holds a crowd of 300 in its third bucket, block 3 exactly
        // 254 before its last bucket (still a byte), the rest 0–3 each.
        let mut sizes: Vec<u32> = (0..32).map(|b| b % 4).collect();
        sizes[10] = 300;
        sizes[24] = 254;
        (25..32).for_each(|b| sizes[b] = 0);
        let mut starts = vec![0u32];
        for s in &sizes {
            starts.push(starts.last().unwrap() + s);
        }
        for width in [3, 4] {
            let offsets = Offsets::new(&starts, width);
            assert_eq!(offsets.overflow.len(), 1);
            assert!((0..=32).all(|b| offsets.start(b) == starts[b] as usize));
        }
    }

    /// Each band's buckets, as `(bucket, positions)` in the plain per-band counting sort
    /// the grouped build replaced.
    fn reference(rows: &[u64], w: usize, windows: &[Window], k: u32) -> Vec<Vec<u32>> {
        let mut out = vec![Vec::new(); 1 << k];
        for (j, row) in rows.chunks_exact(w).enumerate() {
            if let Some(key) = band_key(row, windows) {
                out[bucket(key, k)].push(j as u32);
            }
        }
        out
    }

    #[test]
    fn grouped_build_equals_the_per_band_sort() {
        let (w, n) = (4, 5000);
        let mut state = 3u64;
        // Every fifth row lacks its second segment, so some rows enter no band.
        let rows: Vec<u64> = (0..n * w)
            .map(|i| {
                let x = splitmix(&mut state);
                if i % w == 2 && (i / w) % 5 == 0 {
                    0
                } else {
                    x & (x >> 3)
                }
            })
            .collect();
        // 19 bands: more than two passes, the last one short.
        let band_windows: Vec<Vec<Window>> = (0..19)
            .map(|b| {
                let mut ws = vec![Window {
                    offset: (b * 7) % 100,
                    len: 6,
                    segment: Some((0, 2)),
                }];
                if b % 2 == 0 {
                    ws.push(Window {
                        offset: 128 + b,
                        len: 5,
                        segment: Some((2, 3)),
                    });
                }
                ws
            })
            .collect();
        let k = bucket_bits(n);
        let bands = build(&rows, w, n, &band_windows, k);
        assert_eq!(bands.len(), 19);
        for (band, windows) in bands.iter().zip(&band_windows) {
            let expect = reference(&rows, w, windows, k);
            assert_eq!(band.len(), expect.iter().map(Vec::len).sum::<usize>());
            for (b, ids) in expect.iter().enumerate() {
                let mut got = Vec::new();
                band.extend_ids(band.bucket_range(b), &mut got);
                assert_eq!(&got, ids, "bucket {b}");
            }
        }
        assert!(bands[0].len() < n && bands[1].len() == n);
        assert!(
            build(&[], w, 0, &band_windows, 4)
                .iter()
                .all(|b| b.len() == 0)
        );
    }
}
