//! Keyed record-level Bloom-filter encoding (CLK) of a [`Person`], and its hardening.
//!
//! Every feature of a person becomes tokens with a tag (`n2:` name bigram, `np:`
//! phonetic key of a name token, `d:` full birth date, `dp:` birth date with day and month
//! sorted, `dy:` birth year, `s:` sex, `c:` nationality, `i:`/`i2:` identifier and its
//! bigrams). Each token sets `k` bits, `k` being the field's weight, at positions from
//! keyed double hashing: `d = HMAC-SHA256(k_hash, tag ‖ token)`, `h1, h2` = the first two
//! big-endian 64-bit words of `d` (`h2` made odd), `x_i = h1 + i·h2 (mod 2^64)`, bit `i` =
//! `⌊mix64(x_i) · l / 2^64⌋` in a field segment of `l` bits (SplitMix64's finaliser, so
//! every bit of `h1` and `h2` counts) and `x_i mod l` in the record-level filter of version 1.
//! Name tokens share one tag, so a swapped name order encodes identically; the `dp:`
//! token makes a day/month swap still share most date bits, and `dy:` lets a year-only
//! date match a full one in part.
//!
//! The subkeys are derived from the group secret with HMAC-SHA256 and fixed labels, so
//! rotating the secret changes every bit position and the key id.
//!
//! **Hardening.** [`Hardening::Balance`] (Schnell & Borgs 2016) appends the complement of
//! the filter and permutes the `2l` bits with a permutation derived from the secret:
//! every encoding then has exactly `l` set bits, so bit frequencies and popcounts no
//! longer reveal how long or how common a name is, which is what frequency and
//! pattern-mining attacks start from. [`Hardening::XorFold`] folds the filter in half
//! (`b[i] xor b[i + l/2]`), which destroys the one-to-one link between a set bit and a
//! q-gram at a cost in accuracy. [`Hardening::Diffuse`] (Armknecht, Heng & Schnell,
//! PoPETs 2023) makes every output bit the XOR of [`DIFFUSION_TAPS`] raw bits at keyed
//! positions: a q-gram no longer owns a fixed set of output bits that are set in every
//! record containing it, which is what pattern mining looks for, while Hamming distance
//! (and so Dice) still grows with the raw distance. `attack` measures all of them.

use hmac::{Hmac, KeyInit, Mac};
use rayon::prelude::*;
use sha2::Sha256;

use crate::clks::Clks;
use crate::error::{Error, Result};
use crate::person::Person;
use crate::scoring::FieldScoring;

type HmacSha256 = Hmac<Sha256>;

/// The shortest group secret accepted, in bytes.
pub const MIN_SECRET_LEN: usize = 16;

/// How many bits each token of a field sets (the field's weight); 0 leaves the field out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Weights {
    /// Per bigram of a name token.
    pub name_bigram: u32,
    /// Per phonetic key of a name token.
    pub name_phonetic: u32,
    /// Per bigram of a name token's phonetic key (field-level encodings only): spellings
    /// of one name in different romanisations share most of them.
    pub name_phonetic_bigram: u32,
    /// Per bigram of a name token's Thai key (`palermo-resolve`'s `thai_key`: the
    /// romanisation variants agencies write for one Thai name folded, then the phonetic
    /// key), field-level encodings only. Every name gets these tokens, whatever its origin,
    /// because the two sides of a pair must encode alike and the nationality that marks a
    /// Thai name is often missing on one of them.
    pub name_thai_bigram: u32,
    /// The full birth date.
    pub birth_date: u32,
    /// The birth date with day and month sorted (tolerates a day/month swap).
    pub birth_date_swapped: u32,
    /// The birth year alone (tolerates year-only dates).
    pub birth_year: u32,
    /// Sex.
    pub sex: u32,
    /// Nationality.
    pub nationality: u32,
    /// A whole passport or id number.
    pub identifier: u32,
    /// Per bigram of a passport or id number (tolerates one wrong character).
    pub identifier_bigram: u32,
}

/// Hardening applied to the raw Bloom filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hardening {
    /// None: the raw filter of `n_bits` bits.
    None,
    /// The filter and its complement, permuted with the key: `2·n_bits` bits, exactly
    /// `n_bits` of them set.
    Balance,
    /// The filter folded once with XOR: `n_bits / 2` bits.
    XorFold,
    /// Keyed diffusion (Armknecht, Heng & Schnell 2023): output bit `j` is the XOR of
    /// [`DIFFUSION_TAPS`] raw bits at keyed random positions; `n_bits` bits.
    Diffuse,
}

/// How many raw bits each output bit of [`Hardening::Diffuse`] XORs together.
pub const DIFFUSION_TAPS: usize = 3;

impl Hardening {
    /// Every hardening, in a stable order.
    pub const ALL: [Hardening; 4] = [
        Hardening::None,
        Hardening::Balance,
        Hardening::XorFold,
        Hardening::Diffuse,
    ];

    /// The stable name used in encodings files: `none`, `balance`, `xor-fold`, `diffuse`.
    pub fn name(self) -> &'static str {
        match self {
            Hardening::None => "none",
            Hardening::Balance => "balance",
            Hardening::XorFold => "xor-fold",
            Hardening::Diffuse => "diffuse",
        }
    }

    /// Parses [`Hardening::name`].
    pub fn parse(name: &str) -> Option<Hardening> {
        Hardening::ALL.into_iter().find(|h| h.name() == name)
    }
}

/// How to encode: filter length, field weights and hardening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodeConfig {
    /// Length of the raw Bloom filter in bits (a multiple of 128); with `fields`, the sum
    /// of the segments.
    pub n_bits: usize,
    /// Bits per token of each field.
    pub weights: Weights,
    /// Hardening of the raw filter.
    pub hardening: Hardening,
    /// One segment per field (`Some`), or one record-level filter (`None`, the version 1
    /// encoding).
    pub fields: Option<FieldLayout>,
}

/// Field-level encoding: the raw filter is cut into one segment per field, each
/// hardened on its own, so that a pair can be scored field by field
/// ([`crate::scoring::FieldScoring`]) and a field recorded on one side only does not count
/// as a disagreement. Each length is a positive multiple of 128 bits.
///
/// The birth date takes two segments, the year and the month and day, so a date known
/// only to the year on one side compares on the year alone. The name segment also holds
/// sex and nationality (weak evidence that in a segment of their own would reveal who
/// shares them). Phone numbers and e-mail addresses take a segment each, so a record
/// holding a phone and an e-mail agrees in full with one holding that phone alone. A
/// field without value leaves its segment all zero, hardened or not, which reveals only
/// that it was not recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldLayout {
    /// Bits of the name segment (name tokens, sex, nationality).
    pub name_bits: usize,
    /// Bits of the birth-year segment.
    pub year_bits: usize,
    /// Bits of the birth month-and-day segment.
    pub day_bits: usize,
    /// Bits of the passport and id number segment.
    pub identifier_bits: usize,
    /// Bits of the phone-number segment.
    pub phone_bits: usize,
    /// Bits of the e-mail address segment.
    pub email_bits: usize,
}

/// The segment of each field, in [`FieldLayout::segments`] order.
const NAME: usize = 0;
const YEAR: usize = 1;
const DAY: usize = 2;
const IDENTIFIER: usize = 3;
const PHONE: usize = 4;
const EMAIL: usize = 5;

impl FieldLayout {
    /// The segments as `(field, raw bits)`, in order.
    pub fn segments(&self) -> [(&'static str, usize); 6] {
        [
            ("name", self.name_bits),
            ("birth_year", self.year_bits),
            ("birth_day", self.day_bits),
            ("identifier", self.identifier_bits),
            ("phone", self.phone_bits),
            ("email", self.email_bits),
        ]
    }

    /// The raw length: the sum of the segments.
    pub fn n_bits(&self) -> usize {
        self.segments().iter().map(|&(_, bits)| bits).sum()
    }
}

impl EncodeConfig {
    /// The record-level configuration (version 1 files, and what the hit exchange
    /// stores): 1024 raw bits, balanced to 2048.
    ///
    /// Names weigh most (q-grams survive spelling variants), then identifiers and the
    /// birth date; sex and nationality only support a match.
    pub fn standard() -> EncodeConfig {
        EncodeConfig {
            n_bits: 1024,
            weights: Weights {
                name_bigram: 10,
                name_phonetic: 15,
                name_phonetic_bigram: 0,
                name_thai_bigram: 0,
                birth_date: 30,
                birth_date_swapped: 20,
                birth_year: 10,
                sex: 5,
                nationality: 10,
                identifier: 20,
                identifier_bigram: 4,
            },
            hardening: Hardening::Balance,
            fields: None,
        }
    }

    /// The configuration `palermo pprl encode` uses: field segments of 640 raw bits (name,
    /// sex, nationality) and 128 each (birth year, birth month and day, identifiers, phone
    /// numbers, e-mail addresses), balanced to 2560 bits in all, scored field by field (see
    /// [`crate::scoring`]). On the simulated
    /// cross-border population it matches far better than [`EncodeConfig::standard`],
    /// which counts a field recorded on one side only as a disagreement.
    pub fn field_level() -> EncodeConfig {
        let fields = FieldLayout {
            name_bits: 640,
            year_bits: 128,
            day_bits: 128,
            identifier_bits: 128,
            phone_bits: 128,
            email_bits: 128,
        };
        EncodeConfig {
            n_bits: fields.n_bits(),
            weights: Weights {
                name_bigram: 8,
                name_phonetic: 12,
                name_phonetic_bigram: 4,
                name_thai_bigram: 4,
                birth_date: 32,
                birth_date_swapped: 24,
                birth_year: 40,
                sex: 3,
                nationality: 6,
                identifier: 24,
                identifier_bigram: 4,
            },
            hardening: Hardening::Balance,
            fields: Some(fields),
        }
    }

    /// The segments as `(field, raw bits)`: one `("record", n_bits)` without fields.
    pub fn segments(&self) -> Vec<(&'static str, usize)> {
        match &self.fields {
            Some(f) => f.segments().to_vec(),
            None => vec![("record", self.n_bits)],
        }
    }

    /// The length in bits of the encodings this configuration produces.
    pub fn out_bits(&self) -> usize {
        self.hardened_bits(self.n_bits)
    }

    /// The hardened length of a raw segment of `bits` bits.
    pub(crate) fn hardened_bits(&self, bits: usize) -> usize {
        match self.hardening {
            Hardening::None | Hardening::Diffuse => bits,
            Hardening::Balance => 2 * bits,
            Hardening::XorFold => bits / 2,
        }
    }
}

/// A keyed encoder: the subkeys derived from a group secret, the key id and the
/// hardening permutation of each segment, prepared once.
#[derive(Clone)]
pub struct Encoder {
    config: EncodeConfig,
    hash: HmacSha256,
    key_id: String,
    segments: Vec<Segment>,
}

/// Where one segment lies in the raw filter and in the output, and how it is hardened.
#[derive(Clone)]
struct Segment {
    raw_word: usize,
    raw_words: usize,
    out_word: usize,
    out_words: usize,
    /// The balancing permutation, or the diffusion taps (`DIFFUSION_TAPS` per output bit);
    /// kept for the tests that check `harden` against the bitwise definition.
    #[cfg(test)]
    permutation: Vec<u32>,
    /// What hardening makes of an all-zero raw segment (balancing: the permuted
    /// complement), and for each raw bit the output bits it flips when set.
    harden_base: Vec<u64>,
    flips: Vec<Vec<u32>>,
}

impl std::fmt::Debug for Encoder {
    // The keyed state stays out of debug output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .field("key_id", &self.key_id)
            .finish()
    }
}

impl Encoder {
    /// Prepares an encoder from the group secret (leading and trailing whitespace is
    /// ignored, so a key file may end with a newline).
    ///
    /// Errors: a secret shorter than [`MIN_SECRET_LEN`] bytes; `n_bits` not a positive
    /// multiple of 128.
    pub fn new(secret: &[u8], config: EncodeConfig) -> Result<Encoder> {
        let secret = secret.trim_ascii();
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::InvalidSecret {
                reason: format!(
                    "{} bytes, at least {MIN_SECRET_LEN} are needed",
                    secret.len()
                ),
            });
        }
        if config.n_bits == 0 || !config.n_bits.is_multiple_of(128) || config.n_bits > 1 << 20 {
            return Err(Error::InvalidConfig {
                field: "n_bits",
                reason: format!(
                    "{} is not a positive multiple of 128 up to 2^20",
                    config.n_bits
                ),
            });
        }
        if let Some(fields) = &config.fields
            && (fields.n_bits() != config.n_bits
                || fields
                    .segments()
                    .iter()
                    .any(|&(_, bits)| bits == 0 || !bits.is_multiple_of(128)))
        {
            return Err(Error::InvalidConfig {
                field: "fields",
                reason: format!(
                    "segments of {:?} bits: each a positive multiple of 128, {} in all",
                    fields.segments().map(|(_, bits)| bits),
                    config.n_bits
                ),
            });
        }
        let hash_key = derive(secret, b"palermo-pprl/v1/hash");
        let hash = mac(&hash_key);
        let key_id: String = derive(secret, b"palermo-pprl/v1/key-id")[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let (mut raw_word, mut out_word) = (0, 0);
        let mut segments = Vec::new();
        for (field, bits) in config.segments() {
            // The record-level segment keeps the version 1 labels, so its encodings are
            // unchanged; field segments each get their own permutation.
            let label = |what: &str| match config.fields {
                None => format!("palermo-pprl/v1/{what}"),
                Some(_) => format!("palermo-pprl/v2/{what}/{field}"),
            };
            let permutation = match config.hardening {
                Hardening::Balance => {
                    keyed_permutation(&derive(secret, label("permutation").as_bytes()), 2 * bits)
                }
                Hardening::Diffuse => diffusion_taps(
                    &derive(secret, label("diffusion").as_bytes()),
                    bits,
                    DIFFUSION_TAPS,
                ),
                Hardening::None | Hardening::XorFold => Vec::new(),
            };
            let (harden_base, flips) = harden_tables(config.hardening, bits, &permutation);
            let out_words = config.hardened_bits(bits) / 64;
            segments.push(Segment {
                raw_word,
                raw_words: bits / 64,
                out_word,
                out_words,
                #[cfg(test)]
                permutation,
                harden_base,
                flips,
            });
            raw_word += bits / 64;
            out_word += out_words;
        }
        Ok(Encoder {
            config,
            hash,
            key_id,
            segments,
        })
    }

    /// The key id: 16 hex digits derived from the secret, the same on every node of the
    /// group and different for every secret (it identifies, never reveals, the key).
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// The configuration.
    pub fn config(&self) -> &EncodeConfig {
        &self.config
    }

    /// Encodes one person into `out_bits / 64` words (hardening applied).
    pub fn encode(&self, person: &Person) -> Vec<u64> {
        self.harden(&self.encode_raw(person))
    }

    /// The raw Bloom filter of a person (`n_bits / 64` words), before hardening: the OR of
    /// what each token sets, so the filters of a person's parts OR together to the
    /// person's. For composing encodings from parts (benchmarks synthesise millions this
    /// way); a raw filter must never leave the node.
    pub fn encode_raw(&self, person: &Person) -> Vec<u64> {
        self.raw_filter(person)
    }

    /// Applies the configured hardening to a raw filter of `n_bits / 64` words, segment
    /// by segment. With field segments, an all-zero raw segment (a field without value)
    /// stays all zero.
    ///
    /// # Panics
    /// If `raw` is shorter than `n_bits / 64` words.
    pub fn harden(&self, raw: &[u64]) -> Vec<u64> {
        let raw = &raw[..self.config.n_bits / 64];
        let mut out = vec![0u64; self.config.out_bits() / 64];
        for seg in &self.segments {
            let raw = &raw[seg.raw_word..seg.raw_word + seg.raw_words];
            if self.config.fields.is_some() && raw.iter().all(|&w| w == 0) {
                continue;
            }
            let out = &mut out[seg.out_word..seg.out_word + seg.out_words];
            match self.config.hardening {
                Hardening::None => out.copy_from_slice(raw),
                Hardening::XorFold => {
                    let half = raw.len() / 2;
                    for (i, o) in out.iter_mut().enumerate() {
                        *o = raw[i] ^ raw[i + half];
                    }
                }
                Hardening::Balance | Hardening::Diffuse => {
                    // Only set raw bits change the output: flip what each of them flips.
                    out.copy_from_slice(&seg.harden_base);
                    for (w, &word) in raw.iter().enumerate() {
                        let mut rest = word;
                        while rest != 0 {
                            let i = 64 * w + rest.leading_zeros() as usize;
                            rest &= !(1u64 << (63 - i % 64));
                            for &o in &seg.flips[i] {
                                out[o as usize / 64] ^= 1 << (63 - o % 64);
                            }
                        }
                    }
                }
            }
        }
        out
    }

    /// The field-level scoring of this encoder's encodings (`None` for record-level
    /// encodings, which are compared by Dice): [`FieldScoring::standard`].
    pub fn scoring(&self) -> Option<FieldScoring> {
        self.config
            .fields
            .map(|_| FieldScoring::standard(&self.config))
    }

    /// Encodes many people in parallel, in order.
    pub fn encode_all(&self, people: &[Person]) -> Clks {
        let rows: Vec<Vec<u64>> = people.par_iter().map(|p| self.encode(p)).collect();
        let mut clks = Clks::new(self.config.out_bits());
        for row in &rows {
            // The row length is out_bits / 64 by construction.
            let pushed = clks.push_words(row);
            debug_assert!(pushed);
        }
        match self.scoring() {
            // The standard scoring fits the encoder's own segments.
            Some(scoring) => clks.with_scoring(scoring).unwrap_or_else(|e| {
                unreachable!("invariant: the encoder's scoring fits its encodings: {e}")
            }),
            None => clks,
        }
    }

    fn raw_filter(&self, person: &Person) -> Vec<u64> {
        let w = &self.config.weights;
        let mut bits = vec![0u64; self.config.n_bits / 64];
        let fields = self.config.fields.is_some();
        // Record level: the one segment takes every field.
        let seg = |s: usize| if fields { s } else { 0 };
        let mut add = |s: usize, tag: &str, token: &str, k: u32| {
            self.insert(&mut bits, seg(s), tag, token, k);
        };
        for token in &person.name_tokens {
            for gram in bigrams(token) {
                add(NAME, "n2", &gram, w.name_bigram);
            }
            let key = palermo_resolve::normalize::phonetic_key(token);
            add(NAME, "np", &key, w.name_phonetic);
            if fields {
                for gram in bigrams(&key) {
                    add(NAME, "nq", &gram, w.name_phonetic_bigram);
                }
                if w.name_thai_bigram > 0 {
                    let thai = palermo_resolve::normalize::thai_key(token);
                    for gram in bigrams(&thai) {
                        add(NAME, "nt", &gram, w.name_thai_bigram);
                    }
                }
            }
        }
        if let Some(d) = person.birth {
            add(YEAR, "dy", &format!("{:04}", d.year), w.birth_year);
            if fields && let Some(m) = d.month {
                // A year-month date shares the month with the full date.
                add(DAY, "dm", &format!("{m:02}"), w.birth_date_swapped);
            }
            if let (Some(m), Some(day)) = (d.month, d.day) {
                // Record level: the year is part of the token; fields: it has its segment.
                let year = if fields {
                    String::new()
                } else {
                    format!("{:04}", d.year)
                };
                add(DAY, "d", &format!("{year}{m:02}{day:02}"), w.birth_date);
                let (lo, hi) = (m.min(day), m.max(day));
                add(
                    DAY,
                    "dp",
                    &format!("{year}{lo:02}{hi:02}"),
                    w.birth_date_swapped,
                );
            }
        }
        if let Some(s) = &person.sex {
            add(NAME, "s", s, w.sex);
        }
        if let Some(c) = &person.nationality {
            add(NAME, "c", c, w.nationality);
        }
        for id in &person.identifiers {
            add(IDENTIFIER, "i", id, w.identifier);
            for gram in bigrams(id) {
                add(IDENTIFIER, "i2", &gram, w.identifier_bigram);
            }
        }
        if fields {
            // Contacts are exact tokens: a phone's last digits (`p…`, see `Person`) in
            // the phone segment, an e-mail address (`e…`) in the e-mail segment.
            for c in &person.contacts {
                let s = if c.starts_with('p') { PHONE } else { EMAIL };
                add(s, "k", c, w.identifier);
            }
        }
        bits
    }

    /// Sets the `k` bits of `tag ‖ token` in segment `seg` of the raw filter `bits`: bit
    /// `i` at `⌊mix64(x_i) · l / 2^64⌋` for field segments and `x_i mod l` at record level,
    /// where `x_i = h1 + i·h2 (mod 2^64)` and `l` is the segment's length.
    fn insert(&self, bits: &mut [u64], seg: usize, tag: &str, token: &str, k: u32) {
        let s = &self.segments[seg];
        let bits = &mut bits[s.raw_word..s.raw_word + s.raw_words];
        if k == 0 || bits.is_empty() {
            return;
        }
        let mut h = self.hash.clone();
        h.update(tag.as_bytes());
        h.update(&[0x1f]);
        h.update(token.as_bytes());
        let d = h.finalize().into_bytes();
        let word = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[i..i + 8]);
            u64::from_be_bytes(b)
        };
        let (h1, h2) = (word(0), word(8) | 1);
        let l = (bits.len() * 64) as u64;
        let fields = self.config.fields.is_some();
        for i in 0..u64::from(k) {
            let x = h1.wrapping_add(i.wrapping_mul(h2));
            let pos = if fields {
                // Each position from all 64 bits of a mixed `x_i`. `x_i mod l` uses only
                // the low bits of `h1` and `h2`: with a segment of 128 bits that leaves
                // 128 · 64 position sequences, so thousands of phone numbers or passports
                // shared a few thousand patterns (version 3 did that); and the high bits
                // of an unmixed `x_i` walk round the segment in equal steps, which for
                // some `h2` land on a handful of positions.
                ((u128::from(mix64(x)) * u128::from(l)) >> 64) as usize
            } else {
                // The record-level encoding of version 1 files, unchanged.
                (x % l) as usize
            };
            bits[pos / 64] |= 1 << (63 - pos % 64);
        }
    }
}

/// The SplitMix64 finaliser: a bijection of `u64` whose every output bit depends on every
/// input bit.
fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// The bigrams of `_token_` (padded, so first and last letters count as much as the
/// middle ones).
pub(crate) fn bigrams(token: &str) -> Vec<String> {
    let chars: Vec<char> = std::iter::once('_')
        .chain(token.chars())
        .chain(std::iter::once('_'))
        .collect();
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length; the error case cannot occur.
    HmacSha256::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("invariant: hmac accepts any key length"))
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut h = mac(secret);
    h.update(label);
    h.finalize().into_bytes().into()
}

/// A permutation of `0..n` (Fisher–Yates) driven by HMAC-SHA256 of a counter under `key`.
fn keyed_permutation(key: &[u8], n: usize) -> Vec<u32> {
    let base = mac(key);
    let mut stream = (0u64..).flat_map(|counter| {
        let mut h = base.clone();
        h.update(&counter.to_be_bytes());
        let d: [u8; 32] = h.finalize().into_bytes().into();
        (0..4).map(move |i| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[8 * i..8 * i + 8]);
            u64::from_be_bytes(b)
        })
    });
    let mut perm: Vec<u32> = (0..n as u32).collect();
    for i in (1..n).rev() {
        // The modulo bias is below 2^-40 for n ≤ 2^21.
        let j = (stream.next().unwrap_or_default() % (i as u64 + 1)) as usize;
        perm.swap(i, j);
    }
    perm
}

/// For each of `n` output bits, `taps` distinct input positions in `0..n`, drawn from an
/// HMAC-SHA256 counter stream under `key`.
fn diffusion_taps(key: &[u8], n: usize, taps: usize) -> Vec<u32> {
    let base = mac(key);
    let mut out = Vec::with_capacity(n * taps);
    let mut counter = 0u64;
    let mut next = || {
        let mut h = base.clone();
        h.update(&counter.to_be_bytes());
        counter += 1;
        let d: [u8; 32] = h.finalize().into_bytes().into();
        let mut b = [0u8; 8];
        b.copy_from_slice(&d[..8]);
        u64::from_be_bytes(b)
    };
    for _ in 0..n {
        let start = out.len();
        while out.len() < start + taps {
            let pos = (next() % n as u64) as u32;
            if !out[start..].contains(&pos) {
                out.push(pos);
            }
        }
    }
    out
}

/// For balancing and diffusion: the output of an all-zero raw filter, and for each raw
/// bit the output bits it flips when set.
///
/// Balancing puts raw bit `i` at `perm[i]` and its complement at `perm[l + i]`: zero gives
/// the complement bits, and a set bit sets `perm[i]` and clears `perm[l + i]`. Diffusion
/// makes output `j` the XOR of its taps: a set raw bit flips every output that taps it.
fn harden_tables(hardening: Hardening, l: usize, permutation: &[u32]) -> (Vec<u64>, Vec<Vec<u32>>) {
    match hardening {
        Hardening::Balance => {
            let mut base = vec![0u64; 2 * l / 64];
            for i in 0..l {
                set_bit_to(&mut base, permutation[l + i] as usize, true);
            }
            let flips = (0..l)
                .map(|i| vec![permutation[i], permutation[l + i]])
                .collect();
            (base, flips)
        }
        Hardening::Diffuse => {
            let mut flips = vec![Vec::new(); l];
            for (j, taps) in permutation.chunks_exact(DIFFUSION_TAPS).enumerate() {
                for &i in taps {
                    flips[i as usize].push(j as u32);
                }
            }
            (vec![0u64; l / 64], flips)
        }
        Hardening::None | Hardening::XorFold => (Vec::new(), Vec::new()),
    }
}

/// Bit `pos` of `words` (bit 0 is the most significant bit of the first word).
pub(crate) fn get_bit(words: &[u64], pos: usize) -> bool {
    words[pos / 64] >> (63 - pos % 64) & 1 == 1
}

fn set_bit_to(words: &mut [u64], pos: usize, value: bool) {
    if value {
        words[pos / 64] |= 1 << (63 - pos % 64);
    }
}

#[cfg(test)]
mod tests {
    use palermo_resolve::Property;

    use super::*;
    use crate::clks::{dice, popcount};

    const SECRET: &[u8] = b"group secret 0123456789";

    fn person(name: &str, dob: &str, id: &str) -> Person {
        Person::from_values(&[
            (Property::Name, name),
            (Property::BirthDate, dob),
            (Property::PassportNumber, id),
        ])
    }

    fn encoder(hardening: Hardening) -> Encoder {
        Encoder::new(
            SECRET,
            EncodeConfig {
                hardening,
                ..EncodeConfig::field_level()
            },
        )
        .unwrap()
    }

    fn score(h: Hardening, a: &Person, b: &Person) -> f64 {
        let e = encoder(h);
        dice(&e.encode(a), &e.encode(b))
    }

    #[test]
    fn hardening_shapes() {
        let p = person("Ahmed Al-Rashid", "1984-03-02", "P1234567");
        for (h, bits) in [
            (Hardening::None, 1280),
            (Hardening::Balance, 2560),
            (Hardening::XorFold, 640),
            (Hardening::Diffuse, 1280),
        ] {
            let e = encoder(h);
            assert_eq!(e.encode(&p).len() * 64, bits, "{h:?}");
            assert_eq!(e.config().out_bits(), bits);
            assert_eq!(Hardening::parse(h.name()), Some(h));
        }
        assert_eq!(popcount(&encoder(Hardening::Balance).encode(&p)), 1024);
        // A field without value leaves its segment empty: only that is revealed.
        assert_eq!(
            popcount(&encoder(Hardening::Balance).encode(&Person::default())),
            0
        );
        let name_only = person("Ann Lee", "", "");
        assert_eq!(
            popcount(&encoder(Hardening::Balance).encode(&name_only)),
            640
        );
        // Record level: every encoding has half its bits set.
        let record = Encoder::new(SECRET, EncodeConfig::standard()).unwrap();
        assert_eq!(popcount(&record.encode(&Person::default())), 1024);
        assert_eq!(popcount(&record.encode(&name_only)), 1024);
    }

    #[test]
    fn field_segments_hold_their_fields() {
        let e = encoder(Hardening::None);
        let seg = |p: &Person| {
            let raw = e.encode(p);
            [(0, 10), (10, 12), (12, 14), (14, 16), (16, 18), (18, 20)]
                .map(|(from, to)| popcount(&raw[from..to]) > 0)
        };
        let [t, f] = [true, false];
        assert_eq!(seg(&person("Ann Lee", "", "")), [t, f, f, f, f, f]);
        assert_eq!(seg(&person("", "1990", "")), [f, t, f, f, f, f]);
        assert_eq!(seg(&person("", "1990-04", "")), [f, t, t, f, f, f]);
        assert_eq!(seg(&person("", "", "X1")), [f, f, f, t, f, f]);
        let phone = Person::from_values(&[(Property::Phone, "+66 81 234 5678")]);
        assert_eq!(seg(&phone), [f, f, f, f, t, f]);
        let email = Person::from_values(&[(Property::Email, "a.b@example.org")]);
        assert_eq!(seg(&email), [f, f, f, f, f, t]);
        // A phone segment is the same whether the record also holds an e-mail or not.
        let both = Person::from_values(&[
            (Property::Phone, "081 234 5678"),
            (Property::Email, "a.b@example.org"),
        ]);
        assert_eq!(e.encode(&both)[16..18], e.encode(&phone)[16..18]);
        assert_eq!(e.encode(&both)[18..20], e.encode(&email)[18..20]);
        let scoring = e.scoring().unwrap();
        assert_eq!(
            scoring
                .fields
                .iter()
                .map(|f| (f.field.as_str(), f.words))
                .collect::<Vec<_>>(),
            vec![
                ("name", 10),
                ("birth_year", 2),
                ("birth_day", 2),
                ("identifier", 2),
                ("phone", 2),
                ("email", 2)
            ]
        );
        // A birth date missing on one side does not stop a match at the default cut
        // (0.826); a stranger stays far below it.
        let balanced = encoder(Hardening::Balance);
        let scoring = balanced.scoring().unwrap();
        let a = balanced.encode(&person("Ahmed Al-Rashid", "1984-03-02", "P1234567"));
        let no_date = balanced.encode(&person("AL RASHID Ahmed", "", "P1234567"));
        let stranger = balanced.encode(&person("Maria Kowalski", "1975-11-30", ""));
        assert!(scoring.score(&a, &no_date) > 0.84);
        assert!(scoring.score(&a, &stranger) < 0.8);
        let err = Encoder::new(
            SECRET,
            EncodeConfig {
                fields: Some(FieldLayout {
                    name_bits: 800,
                    year_bits: 96,
                    ..EncodeConfig::field_level().fields.unwrap()
                }),
                ..EncodeConfig::field_level()
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("segments of [800, 96, 128, 128, 128, 128] bits"),
            "{err}"
        );
    }

    #[test]
    fn thai_romanisation_variants_share_their_thai_key_tokens() {
        // Agencies write one Thai name several ways (ph/p, w/v, a silent r): the Thai-key
        // tokens bring the name segments of the two spellings closer.
        let name_dice = |thai: u32, a: &str, b: &str| {
            let mut config = EncodeConfig {
                hardening: Hardening::None,
                ..EncodeConfig::field_level()
            };
            config.weights.name_thai_bigram = thai;
            let e = Encoder::new(SECRET, config).unwrap();
            let (x, y) = (e.encode(&person(a, "", "")), e.encode(&person(b, "", "")));
            dice(&x[..10], &y[..10])
        };
        for (a, b) in [
            ("Siriporn Petvong", "Sirphon Phetwong"),
            ("Pimchanok Deekaew", "Phimchanok Dikaeo"),
        ] {
            let without = name_dice(0, a, b);
            let with = name_dice(EncodeConfig::field_level().weights.name_thai_bigram, a, b);
            assert!(with > without, "{a} / {b}: {with:.3} ≤ {without:.3}");
        }
        // The same name still encodes identically.
        assert_eq!(name_dice(4, "Julia Bramsen", "JULIA BRAMSEN"), 1.0);
    }

    #[test]
    fn variants_score_higher_than_strangers() {
        let a = person("Ahmed Al-Rashid", "1984-03-02", "P1234567");
        let variants = [
            person("AL RASHID Ahmed", "02/03/1984", "P 123 4567"),
            person("Ахмед Аль-Рашид", "1984-03-02", "P1234567"),
            person("Ahmed Al-Rashid", "1984-02-03", "P1234567"),
            person("Ahmed Al-Rashid", "1984", "P1234667"),
        ];
        let stranger = person("Maria Kowalski", "1975-11-30", "K5550001");
        for h in Hardening::ALL {
            let far = score(h, &a, &stranger);
            for v in &variants {
                let near = score(h, &a, v);
                assert!(
                    near > far + 0.1,
                    "{h:?}: {v:?} scores {near:.3}, the stranger {far:.3}"
                );
            }
            assert!((score(h, &a, &a) - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn keys_differ_and_are_checked() {
        let p = person("Ann Lee", "1990", "");
        let e1 = encoder(Hardening::None);
        let e2 = Encoder::new(b"another secret 0123456", EncodeConfig::standard()).unwrap();
        assert_ne!(e1.key_id(), e2.key_id());
        assert_eq!(e1.key_id().len(), 16);
        assert!(dice(&e1.encode(&p), &encoder(Hardening::None).encode(&p)) > 0.999);
        let e2_raw = Encoder::new(
            b"another secret 0123456",
            EncodeConfig {
                hardening: Hardening::None,
                ..EncodeConfig::standard()
            },
        )
        .unwrap();
        assert!(dice(&e1.encode(&p), &e2_raw.encode(&p)) < 0.3);
        let err = Encoder::new(b"  short \n", EncodeConfig::standard()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid secret: 5 bytes, at least 16 are needed"
        );
        let err = Encoder::new(
            SECRET,
            EncodeConfig {
                n_bits: 1000,
                ..EncodeConfig::standard()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("n_bits: 1000"), "{err}");
        assert!(!format!("{e1:?}").contains("hash"));
    }

    /// The hardening written bit by bit, as the papers define it, segment by segment
    /// (an empty field segment stays empty).
    fn harden_reference(e: &Encoder, raw: &[u64]) -> Vec<u64> {
        let mut out = Vec::new();
        for seg in &e.segments {
            let raw = &raw[seg.raw_word..seg.raw_word + seg.raw_words];
            let l = raw.len() * 64;
            if e.config.fields.is_some() && raw.iter().all(|&w| w == 0) {
                out.extend(std::iter::repeat_n(0, seg.out_words));
                continue;
            }
            match e.config.hardening {
                Hardening::Balance => {
                    let mut o = vec![0u64; 2 * l / 64];
                    for i in 0..l {
                        let bit = get_bit(raw, i);
                        set_bit_to(&mut o, seg.permutation[i] as usize, bit);
                        set_bit_to(&mut o, seg.permutation[l + i] as usize, !bit);
                    }
                    out.extend(o);
                }
                Hardening::Diffuse => {
                    let mut o = vec![0u64; l / 64];
                    for (j, taps) in seg.permutation.chunks_exact(DIFFUSION_TAPS).enumerate() {
                        let bit = taps
                            .iter()
                            .fold(false, |acc, &i| acc ^ get_bit(raw, i as usize));
                        set_bit_to(&mut o, j, bit);
                    }
                    out.extend(o);
                }
                Hardening::None => out.extend_from_slice(raw),
                Hardening::XorFold => {
                    let half = l / 128;
                    out.extend((0..half).map(|i| raw[i] ^ raw[i + half]));
                }
            }
        }
        out
    }

    #[test]
    fn hardening_equals_the_bitwise_definition() {
        let people = [
            person("Ahmed Al-Rashid", "1984-03-02", "P1234567"),
            Person::default(),
            person("Maria Kowalski", "1975", ""),
        ];
        for (h, config) in Hardening::ALL.into_iter().flat_map(|h| {
            [
                (h, EncodeConfig::standard()),
                (h, EncodeConfig::field_level()),
            ]
        }) {
            let e = Encoder::new(
                SECRET,
                EncodeConfig {
                    hardening: h,
                    ..config
                },
            )
            .unwrap();
            for p in &people {
                let raw = e.encode_raw(p);
                assert_eq!(e.encode(p), harden_reference(&e, &raw), "{h:?}");
            }
            let full = vec![u64::MAX; e.config.n_bits / 64];
            assert_eq!(e.harden(&full), harden_reference(&e, &full));
        }
    }

    #[test]
    fn distinct_contacts_and_passports_get_distinct_segments() {
        // Version 3 placed bits at `(h1 + i·h2) mod 128` in the 128-bit segments: 8,192
        // patterns in all, so among 3,000 phone numbers some 500 shared one. Every bit of
        // the hash counts now: none do (two tokens of 24 bits each in 128 coincide with a
        // probability far below 2^-40).
        let e = encoder(Hardening::None);
        let mut contacts = std::collections::HashSet::new();
        let mut passports = std::collections::HashSet::new();
        for n in 0..3000u32 {
            let phone = format!("+66 81 {:03} {:04}", n / 10, 1000 + n);
            let p = Person::from_values(&[
                (Property::Phone, phone.as_str()),
                (
                    Property::PassportNumber,
                    &format!("AA{:07}", 1_000_000 + 7 * n),
                ),
            ]);
            let raw = e.encode(&p);
            assert!(contacts.insert(raw[16..18].to_vec()), "{phone}");
            passports.insert(raw[14..16].to_vec());
        }
        assert_eq!(passports.len(), 3000);
        // A contact token still sets about as many bits as its weight.
        let one = e.encode(&Person::from_values(&[(
            Property::Phone,
            "+66 81 234 5678",
        )]));
        let set = popcount(&one[16..18]);
        assert!((18..=24).contains(&set), "{set}");
    }

    #[test]
    fn permutation_is_a_permutation() {
        let mut p = keyed_permutation(b"k", 2048);
        p.sort_unstable();
        assert!(p.iter().enumerate().all(|(i, &v)| i as u32 == v));
        assert_ne!(keyed_permutation(b"k", 64), keyed_permutation(b"j", 64));
    }
}
