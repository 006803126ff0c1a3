//! Prefetching records that are about to be compared.
//!
//! Candidate pairs are sorted by their first record, so the second record of each pair
//! lies anywhere among a million: at 1M pooled `palermo sim` records, the first read of
//! that record (a cache miss) was most of the time of a comparison. Asking the CPU for the
//! record a few pairs ahead lets those misses overlap with the comparisons before it.

/// Pairs ahead whose second record is prefetched: enough to cover a memory access (a
/// comparison takes some tens to hundreds of nanoseconds), few enough that the lines are
/// still in the cache when the pair comes.
pub(crate) const AHEAD: usize = 8;

/// Asks the CPU to start loading the memory of `value` (its own bytes, not what they
/// point to) into the cache. A hint only: it changes no value and cannot fail.
#[inline]
pub(crate) fn prefetch<T>(value: &T) {
    prefetch_bytes(value, size_of::<T>());
}

/// Asks the CPU to start loading the first `len` bytes of `value` (at most its own bytes):
/// every cache line they touch. A value that does not start on a line boundary spans one
/// line more than its size suggests (a 296-byte record at any offset six lines out of
/// ten), and a line not asked for is a miss when it is read.
#[inline]
pub(crate) fn prefetch_bytes<T>(value: &T, len: usize) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = std::ptr::from_ref(value).cast::<i8>();
        let len = len.min(size_of::<T>());
        if len == 0 {
            return;
        }
        // From the line that holds the first byte to the line that holds the last.
        let skew = start as usize % LINE;
        let mut offset = 0;
        while offset < skew + len {
            // SAFETY: `prefetch` (the instruction `_mm_prefetch` emits) is a hint that
            // never faults and reads nothing architecturally, whatever the address (the
            // lines before and after `value` included); `wrapping_add` and
            // `wrapping_sub` compute it without the in-bounds requirement of `add`. The
            // call is unsafe only for its `#[target_feature(enable = "sse")]`, and SSE is
            // part of the x86_64 baseline, so every CPU this code runs on has it.
            #[allow(unsafe_code)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_sub(skew).wrapping_add(offset));
            }
            offset += LINE;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (value, len);
}

/// Bytes of a cache line.
const LINE: usize = 64;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefetching_changes_nothing() {
        let values = vec![[7u8; 1000]; 3];
        for v in &values {
            prefetch(v);
        }
        prefetch(&());
        prefetch_bytes(&values[1], 3);
        prefetch_bytes(&values[2], 5000);
        assert!(values.iter().all(|v| v.iter().all(|&b| b == 7)));
    }
}
