//! Privacy-preserving record linkage (PPRL): find the same person in two agencies'
//! data by comparing keyed Bloom-filter encodings, never names or numbers.
//!
//! - [`person`]: the fields that are encoded, normalised with `palermo-resolve`'s
//!   normaliser (so cross-script names survive encoding).
//! - [`encode`]: keyed CLK encoding (HMAC-SHA256 double hashing of tagged q-grams and
//!   tokens, per-field weights) and hardening (balancing, XOR-folding).
//! - [`kernel`]: the popcount kernel (AVX-512, AVX2 or portable, chosen at run time).
//! - [`scoring`]: field-by-field scoring of encodings made of one segment per field.
//! - [`matching`]: Dice coefficient with popcount on `u64` words, on all cores, with an
//!   exact popcount filter, Hamming-LSH blocking, top-k and a greedy one-to-one solve.
//! - [`index`]: the in-memory hit/no-hit index a node answers peers' queries with.
//! - [`codec`]: Palermo and clkhash JSON encodings files (base64 per encoding).
//! - [`read`]: people from CSV.
//! - [`attack`]: a frequent-bit-pattern attack, to measure what hardening buys.
//!
//! The crate does no I/O of its own: callers pass bytes or a `Read`.

pub mod attack;
mod bands;
pub mod calibrate;
pub mod clks;
pub mod codec;
pub mod encode;
mod error;
pub mod index;
pub mod kernel;
pub mod matching;
pub mod person;
pub mod persons;
pub mod read;
pub mod scoring;

pub use calibrate::{Band, Calibration};
pub use clks::{Clks, dice};
pub use codec::Encodings;
pub use encode::{EncodeConfig, Encoder, FieldLayout, Hardening, Weights};
pub use error::{Error, Result};
pub use index::{FieldBand, Hit, Index, IndexConfig};
pub use kernel::Kernel;
pub use matching::{Blocking, MatchConfig, MatchStats, Pair, match_clks};
pub use person::{BirthDate, Person};
pub use persons::expand_by_person;
pub use read::{read_clusters, read_csv, read_truth};
pub use scoring::{FieldScoring, FieldWeight};

/// Checks that two sets of encodings can be compared: the same length and the same group
/// key id (a clkhash file has none, and matches only another clkhash file).
///
/// Errors: [`Error::WrongLength`] naming the right source, [`Error::KeyMismatch`].
pub fn check_compatible(
    left: &Encodings,
    left_name: &str,
    right: &Encodings,
    right_name: &str,
) -> Result<()> {
    if left.key_id != right.key_id {
        let show = |k: &Option<String>| {
            k.clone()
                .unwrap_or_else(|| "none (clkhash file)".to_owned())
        };
        return Err(Error::KeyMismatch {
            left: left_name.to_owned(),
            left_key: show(&left.key_id),
            right: right_name.to_owned(),
            right_key: show(&right.key_id),
        });
    }
    if left.clks.n_bits() != right.clks.n_bits() && !left.clks.is_empty() && !right.clks.is_empty()
    {
        return Err(Error::WrongLength {
            source_name: right_name.to_owned(),
            index: 0,
            expected: left.clks.n_bits(),
            found: right.clks.n_bits(),
        });
    }
    Ok(())
}
