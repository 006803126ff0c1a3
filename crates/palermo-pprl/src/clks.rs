//! A set of equal-length bit-vector encodings stored flat in `u64` words, with the
//! Dice coefficient on them.
//!
//! Bit `i` of an encoding is bit `7 - i % 8` of byte `i / 8`, the order clkhash and
//! Python's `bitarray` use, so the bytes read and written by [`crate::codec`] are
//! interchangeable with clkhash. Each 8-byte chunk is loaded big-endian into a word;
//! Dice does not care about the order of bits inside a word as long as both sides agree.

use std::sync::Arc;

use crate::error::Result;
use crate::scoring::FieldScoring;

/// Equal-length encodings, one row of `n_words` words each, with their popcounts, and
/// how a pair of them is scored: by Dice, or field by field when the encodings are made
/// of field segments ([`Clks::scoring`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clks {
    n_bits: usize,
    n_words: usize,
    words: Vec<u64>,
    popcounts: Vec<u32>,
    scoring: Option<Arc<FieldScoring>>,
}

impl Clks {
    /// An empty set of encodings of `n_bits` bits each.
    pub fn new(n_bits: usize) -> Clks {
        Clks {
            n_bits,
            n_words: n_bits.div_ceil(64),
            words: Vec::new(),
            popcounts: Vec::new(),
            scoring: None,
        }
    }

    /// The same encodings scored field by field with `scoring` (matching and the index
    /// then score pairs with [`FieldScoring::score`] instead of Dice).
    ///
    /// Errors: a scoring that does not fit encodings of this length
    /// ([`FieldScoring::validate`]).
    pub fn with_scoring(mut self, scoring: FieldScoring) -> Result<Clks> {
        scoring.validate(self.n_words)?;
        self.scoring = Some(Arc::new(scoring));
        Ok(self)
    }

    /// The field-level scoring, when the encodings are made of field segments.
    pub fn scoring(&self) -> Option<&FieldScoring> {
        self.scoring.as_deref()
    }

    /// The score of two encodings of this set's kind: field-level when there is a
    /// scoring, otherwise Dice.
    pub fn score(&self, a: &[u64], b: &[u64]) -> f64 {
        match &self.scoring {
            Some(s) => s.score(a, b),
            None => dice(a, b),
        }
    }

    /// An empty set with room for `n` encodings of `n_bits` bits (no reallocation up to
    /// `n`; large sets are built without a transient copy).
    pub fn with_capacity(n_bits: usize, n: usize) -> Clks {
        let mut clks = Clks::new(n_bits);
        clks.words.reserve_exact(n * clks.n_words);
        clks.popcounts.reserve_exact(n);
        clks
    }

    /// Encodings from row-major words (`n_bits / 64` rounded up per row), taking the
    /// vector without a copy.
    ///
    /// Returns `None` when `words` is not a whole number of rows or a bit past `n_bits`
    /// is set.
    pub fn from_words(n_bits: usize, words: Vec<u64>) -> Option<Clks> {
        let n_words = n_bits.div_ceil(64);
        if n_words == 0 || !words.len().is_multiple_of(n_words) {
            return None;
        }
        let tail_mask = if n_bits.is_multiple_of(64) {
            0
        } else {
            u64::MAX >> (n_bits % 64)
        };
        let mut popcounts = Vec::with_capacity(words.len() / n_words);
        for row in words.chunks_exact(n_words) {
            if row[n_words - 1] & tail_mask != 0 {
                return None;
            }
            popcounts.push(popcount(row));
        }
        Some(Clks {
            n_bits,
            n_words,
            words,
            popcounts,
            scoring: None,
        })
    }

    /// The row-major words, the popcounts and the scoring.
    pub(crate) fn into_parts(self) -> (Vec<u64>, Vec<u32>, Option<Arc<FieldScoring>>) {
        (self.words, self.popcounts, self.scoring)
    }

    /// Appends one encoding given as bytes (clkhash bit order).
    ///
    /// Returns `false`, and appends nothing, when the byte length is not `n_bits / 8`
    /// rounded up.
    pub fn push_bytes(&mut self, bytes: &[u8]) -> bool {
        if bytes.len() != self.n_bits.div_ceil(8) {
            return false;
        }
        let start = self.words.len();
        for chunk in bytes.chunks(8) {
            let mut buf = [0u8; 8];
            buf[..chunk.len()].copy_from_slice(chunk);
            self.words.push(u64::from_be_bytes(buf));
        }
        self.words.resize(start + self.n_words, 0);
        self.popcounts.push(popcount(&self.words[start..]));
        true
    }

    /// Appends one encoding given as words (`n_words` of them; bits past `n_bits` must
    /// be zero). Returns `false`, and appends nothing, on a wrong word count.
    pub fn push_words(&mut self, words: &[u64]) -> bool {
        if words.len() != self.n_words {
            return false;
        }
        self.words.extend_from_slice(words);
        self.popcounts.push(popcount(words));
        true
    }

    /// The bytes of encoding `idx` (clkhash bit order).
    ///
    /// # Panics
    /// If `idx` is out of range.
    pub fn bytes(&self, idx: usize) -> Vec<u8> {
        let mut out: Vec<u8> = self.row(idx).iter().flat_map(|w| w.to_be_bytes()).collect();
        out.truncate(self.n_bits.div_ceil(8));
        out
    }

    /// The words of encoding `idx`.
    ///
    /// # Panics
    /// If `idx` is out of range.
    pub fn row(&self, idx: usize) -> &[u64] {
        &self.words[idx * self.n_words..(idx + 1) * self.n_words]
    }

    /// The number of set bits of encoding `idx`.
    ///
    /// # Panics
    /// If `idx` is out of range.
    pub fn popcount(&self, idx: usize) -> u32 {
        self.popcounts[idx]
    }

    /// The popcounts of all encodings, in order.
    pub fn popcounts(&self) -> &[u32] {
        &self.popcounts
    }

    /// The length of each encoding in bits.
    pub fn n_bits(&self) -> usize {
        self.n_bits
    }

    /// The length of each encoding in 64-bit words.
    pub fn n_words(&self) -> usize {
        self.n_words
    }

    /// The number of encodings.
    pub fn len(&self) -> usize {
        self.popcounts.len()
    }

    /// True when there are no encodings.
    pub fn is_empty(&self) -> bool {
        self.popcounts.is_empty()
    }
}

/// The Dice coefficient `2·|a ∧ b| / (|a| + |b|)` of two word slices of equal length;
/// 0 when both are empty.
pub fn dice(a: &[u64], b: &[u64]) -> f64 {
    let both: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    let total = popcount(a) + popcount(b);
    if total == 0 {
        0.0
    } else {
        2.0 * f64::from(both) / f64::from(total)
    }
}

/// The number of set bits in `words`.
pub fn popcount(words: &[u64]) -> u32 {
    words.iter().map(|w| w.count_ones()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_dice(a: &[u64], b: &[u64], expect: f64) {
        let got = dice(a, b);
        assert!(
            (got - expect).abs() < 1e-12,
            "dice({a:?}, {b:?}) = {got}, expected {expect}"
        );
    }

    #[test]
    fn dice_values() {
        check_dice(&[0b1111], &[0b1111], 1.0);
        check_dice(&[0b1100], &[0b0011], 0.0);
        check_dice(&[0b1110], &[0b0111], 2.0 * 2.0 / 6.0);
        check_dice(&[0, 0], &[0, 0], 0.0);
        check_dice(&[u64::MAX, 0], &[u64::MAX, u64::MAX], 2.0 * 64.0 / 192.0);
    }

    #[test]
    fn bytes_round_trip_and_bit_order() {
        let mut c = Clks::new(72);
        assert_eq!(c.n_words(), 2);
        let bytes: Vec<u8> = (1..=9).collect();
        assert!(c.push_bytes(&bytes));
        assert!(!c.push_bytes(&bytes[..8]));
        assert_eq!(c.bytes(0), bytes);
        assert_eq!(c.row(0), &[0x0102_0304_0506_0708, 0x0900_0000_0000_0000]);
        assert_eq!(
            c.popcount(0),
            bytes.iter().map(|b| b.count_ones()).sum::<u32>()
        );
        assert_eq!(c.len(), 1);
        assert!(!c.push_words(&[1]));
        assert!(c.push_words(&[1, 3]));
        assert_eq!(c.popcounts(), &[15, 3]);
        // Bits 0..72 are the high bits: the low 56 bits of the second word are past the end.
        let from = Clks::from_words(72, vec![1, 0xff00_0000_0000_0000, 7, 0]).unwrap();
        assert_eq!((from.len(), from.popcounts()), (2, &[9, 3][..]));
        assert_eq!(Clks::from_words(72, vec![1, 1]), None);
        assert_eq!(Clks::from_words(72, vec![1, 0, 2]), None);
        assert_eq!(Clks::from_words(0, vec![]), None);
    }
}
