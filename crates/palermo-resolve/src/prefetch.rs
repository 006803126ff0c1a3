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
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let start = std::ptr::from_ref(value).cast::<i8>();
        let mut offset = 0;
        while offset < size_of::<T>() {
            // SAFETY: `prefetch` (the instruction `_mm_prefetch` emits) is a hint that
            // never faults and reads nothing architecturally, whatever the address; the
            // address is inside `value` anyway (`offset < size_of::<T>()`, and
            // `wrapping_add` computes it without the `add` in-bounds requirement). The
            // call is unsafe only for its `#[target_feature(enable = "sse")]`, and SSE is
            // part of the x86_64 baseline, so every CPU this code runs on has it.
            #[allow(unsafe_code)]
            unsafe {
                _mm_prefetch::<_MM_HINT_T0>(start.wrapping_add(offset));
            }
            offset += 64;
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

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
        assert!(values.iter().all(|v| v.iter().all(|&b| b == 7)));
    }
}
