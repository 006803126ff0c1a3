//! Blocking: several OR-ed keys per record, deduplicated candidate pairs.
//!
//! Keys: phonetic given+family (order-independent), family or given key + birth year,
//! full birth date, each identifier, passport, phone and e-mail, name key + postal code,
//! exact family + given initial (and the reverse), postal code + house number, street +
//! city, the words of a name of three or more words in any grouping. A block larger than `max_block` records ([`WEAK_MAX_BLOCK`] for the two weak name
//! keys) is skipped and counted: such keys are too common to bound the work (the other
//! keys still cover those records).

use rayon::prelude::*;
use serde::Serialize;

use crate::record::Record;

/// Names of the key kinds, in kind order.
pub const KEY_KINDS: &[&str] = &[
    "given+family",
    "family+birthYear",
    "given+birthYear",
    "birthDate",
    "idNumber",
    "passportNumber",
    "phone",
    "email",
    "family+postalCode",
    "given+postalCode",
    "familyExact+givenInitial",
    "givenExact+familyInitial",
    "postalCode+streetNumber",
    "street+city",
    "nameWords",
];

/// What blocking produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BlockingStats {
    /// Distinct candidate pairs.
    pub candidate_pairs: u64,
    /// All possible pairs (for the reduction ratio).
    pub possible_pairs: f64,
    /// Pairs produced by each key kind, before deduplication.
    pub pairs_by_key: Vec<(String, u64)>,
    /// Blocks skipped because they were larger than `max_block`.
    pub skipped_blocks: u64,
    /// The block size limit used.
    pub max_block: usize,
}

fn hash(kind: u8, parts: &[&[u8]]) -> u64 {
    // FNV-1a, 64 bit, with the kind and a separator between parts.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(kind).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    // Kind in the top byte so keys of different kinds never collide.
    (h >> 8) | (u64::from(kind) << 56)
}

/// The blocking keys of one record.
pub(crate) fn keys(r: &Record, out: &mut Vec<u64>) {
    let gk = r.given.key.as_bytes();
    let fk = r.family.key.as_bytes();
    let year = r.birth.and_then(|d| d.year).map(|y| y.to_le_bytes());
    if !gk.is_empty() && !fk.is_empty() {
        let (a, b) = if gk <= fk { (gk, fk) } else { (fk, gk) };
        out.push(hash(0, &[a, b]));
    }
    if let Some(y) = &year {
        if !fk.is_empty() {
            out.push(hash(1, &[fk, y]));
        }
        if !gk.is_empty() {
            out.push(hash(2, &[gk, y]));
        }
    }
    if let Some(d) = r.birth.and_then(|d| d.digits()) {
        out.push(hash(3, &[d.as_bytes()]));
    }
    for id in &r.ids {
        out.push(hash(4, &[id.as_bytes()]));
    }
    for id in &r.passports {
        out.push(hash(5, &[id.as_bytes()]));
    }
    for p in &r.phones {
        // The subscriber digits, so that an E.164 number and one that could not be read
        // as E.164 (a national number without a known country) still meet.
        out.push(hash(6, &[crate::normalize::phone(p).as_bytes()]));
    }
    if !r.email.is_empty() {
        out.push(hash(7, &[r.email.as_bytes()]));
    }
    let pc = r.postcode.as_bytes();
    if !pc.is_empty() {
        if !fk.is_empty() {
            out.push(hash(8, &[fk, pc]));
        }
        if !gk.is_empty() {
            out.push(hash(9, &[gk, pc]));
        }
    }
    let (gj, fj) = (r.given.joined.as_bytes(), r.family.joined.as_bytes());
    if !gj.is_empty() && !fj.is_empty() {
        out.push(hash(10, &[fj, &gj[..1]]));
        out.push(hash(11, &[gj, &fj[..1]]));
    }
    if !pc.is_empty() && !r.street_number.is_empty() {
        out.push(hash(12, &[pc, r.street_number.as_bytes()]));
    }
    if !r.street.is_empty() && !r.city.is_empty() {
        out.push(hash(13, &[r.street.as_bytes(), r.city.as_bytes()]));
    }
    if r.name_bag != 0 {
        // The words of the whole name, however they were split into given and family.
        out.push(hash(14, &[&r.name_bag.to_le_bytes()]));
    }
}

/// Block size limit of the weak name keys (exact family name + given initial and the
/// reverse). They exist for a typo in one name when the birth date is missing; in a block
/// of more than this many records, agreeing on such a key says too little for a match on
/// names alone, and at 100k pooled records these blocks made 86% of all candidate pairs
/// while adding no match the model accepted.
pub const WEAK_MAX_BLOCK: usize = 20;

/// Key kinds of the weak name keys (see [`WEAK_MAX_BLOCK`]).
const WEAK_KINDS: [u8; 2] = [10, 11];

/// The kind of a key (its top byte).
pub(crate) fn kind_of(key: u64) -> u8 {
    (key >> 56) as u8
}

/// True for the weak name keys, which are left out of the store's key index.
pub(crate) fn is_weak(key: u64) -> bool {
    WEAK_KINDS.contains(&kind_of(key))
}

/// The block size limit of a key kind: `max_block`, and at most [`WEAK_MAX_BLOCK`] for
/// the weak name keys.
fn kind_max_block(kind: u8, max_block: usize) -> usize {
    if WEAK_KINDS.contains(&kind) {
        max_block.min(WEAK_MAX_BLOCK)
    } else {
        max_block
    }
}

/// Candidate pairs `(i, j)`, `i < j`, with `j >= first_new`: the pairs that touch the
/// records from `first_new` on (new records matched against existing ones), without
/// building the pairs among existing records. Sorted and distinct, encoded as in
/// [`candidates`].
pub(crate) fn candidates_touching(
    records: &[Record],
    first_new: usize,
    max_block: usize,
) -> Vec<u64> {
    let record_keys = |i: usize| {
        let mut ks = Vec::with_capacity(24);
        keys(&records[i], &mut ks);
        ks.sort_unstable();
        ks.dedup();
        ks
    };
    let mut entries: Vec<(u64, u32)> = Vec::new();
    for i in first_new..records.len() {
        let i32 = u32::try_from(i).unwrap_or(u32::MAX);
        entries.extend(record_keys(i).into_iter().map(|k| (k, i32)));
    }
    let wanted: std::collections::HashSet<u64> = entries.iter().map(|e| e.0).collect();
    let existing: Vec<(u64, u32)> = (0..first_new.min(records.len()))
        .into_par_iter()
        .flat_map_iter(|i| {
            let i32 = u32::try_from(i).unwrap_or(u32::MAX);
            record_keys(i)
                .into_iter()
                .filter(|k| wanted.contains(k))
                .map(move |k| (k, i32))
        })
        .collect();
    entries.extend(existing);
    entries.sort_unstable();
    let first = u32::try_from(first_new).unwrap_or(u32::MAX);
    let mut pairs = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i < entries.len() && entries[i].0 == entries[start].0 {
            continue;
        }
        let block = &entries[start..i];
        if block.len() >= 2 && block.len() <= kind_max_block(kind_of(block[0].0), max_block) {
            for (x, &(_, b)) in block.iter().enumerate() {
                if b < first {
                    continue;
                }
                for &(_, a) in &block[..x] {
                    pairs.push((u64::from(a) << 32) | u64::from(b));
                }
            }
        }
        start = i;
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// Candidate pairs `(i, j)`, `i < j`, encoded as `i << 32 | j`, sorted and distinct.
///
/// With `n_left = Some(k)` (linking), records `0..k` are the left side and only pairs with
/// one record on each side are produced.
pub(crate) fn candidates(
    records: &[Record],
    n_left: Option<usize>,
    max_block: usize,
) -> (Vec<u64>, BlockingStats) {
    let mut entries: Vec<(u64, u32)> = records
        .par_iter()
        .enumerate()
        .fold(Vec::new, |mut acc, (i, r)| {
            let mut ks = Vec::with_capacity(24);
            keys(r, &mut ks);
            ks.sort_unstable();
            ks.dedup();
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            acc.extend(ks.into_iter().map(|k| (k, i)));
            acc
        })
        .reduce(Vec::new, |mut a, mut b| {
            a.append(&mut b);
            a
        });
    entries.par_sort_unstable();
    // Block boundaries.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0 != entries[start].0 {
            if i - start >= 2 {
                blocks.push((start, i));
            }
            start = i;
        }
    }
    let left = n_left.map(|k| u32::try_from(k).unwrap_or(u32::MAX));
    let skipped = blocks
        .iter()
        .filter(|&&(s, e)| e - s > kind_max_block(kind_of(entries[s].0), max_block))
        .count() as u64;
    let per_block: Vec<(u8, Vec<u64>)> = blocks
        .par_iter()
        .filter(|&&(s, e)| e - s <= kind_max_block(kind_of(entries[s].0), max_block))
        .map(|&(s, e)| {
            let kind = (entries[s].0 >> 56) as u8;
            let members: Vec<u32> = entries[s..e].iter().map(|x| x.1).collect();
            let mut pairs = Vec::new();
            match left {
                None => {
                    for (x, &a) in members.iter().enumerate() {
                        for &b in &members[x + 1..] {
                            pairs.push((u64::from(a) << 32) | u64::from(b));
                        }
                    }
                }
                Some(k) => {
                    let split = members.partition_point(|&m| m < k);
                    for &a in &members[..split] {
                        for &b in &members[split..] {
                            pairs.push((u64::from(a) << 32) | u64::from(b));
                        }
                    }
                }
            }
            (kind, pairs)
        })
        .collect();
    let mut by_kind = vec![0u64; KEY_KINDS.len()];
    let mut all: Vec<u64> = Vec::with_capacity(per_block.iter().map(|(_, p)| p.len()).sum());
    for (kind, pairs) in per_block {
        if let Some(c) = by_kind.get_mut(usize::from(kind)) {
            *c += pairs.len() as u64;
        }
        all.extend(pairs);
    }
    all.par_sort_unstable();
    all.dedup();
    let n = records.len() as f64;
    let possible = match n_left {
        None => n * (n - 1.0) / 2.0,
        Some(k) => k as f64 * (n - k as f64),
    };
    let stats = BlockingStats {
        candidate_pairs: all.len() as u64,
        possible_pairs: possible,
        pairs_by_key: KEY_KINDS
            .iter()
            .map(|k| (*k).to_owned())
            .zip(by_kind)
            .collect(),
        skipped_blocks: skipped,
        max_block,
    };
    (all, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Property;

    fn record(id: usize, given: &str, family: &str, birth: &str) -> Record {
        Record::new(
            format!("r{id}"),
            vec![
                (Property::FirstName, given.to_owned()),
                (Property::LastName, family.to_owned()),
                (Property::BirthDate, birth.to_owned()),
            ],
        )
    }

    #[test]
    fn touching_pairs_are_the_candidates_that_touch_new_records() {
        let given = ["Anna", "Ben", "Carla", "Dirk", "Eva"];
        let family = ["Jansen", "de Vries", "Bakker", "Visser"];
        let records: Vec<Record> = (0..120)
            .map(|i| {
                let birth = format!("19{}-0{}-1{}", 50 + i % 7, 1 + i % 9, i % 10);
                record(i, given[i % 5], family[(i / 5) % 4], &birth)
            })
            .collect();
        for first_new in [0, 1, 60, 119, 120] {
            let (all, _) = candidates(&records, None, 400);
            let expect: Vec<u64> = all
                .into_iter()
                .filter(|&p| (p & 0xFFFF_FFFF) as usize >= first_new)
                .collect();
            assert_eq!(
                candidates_touching(&records, first_new, 400),
                expect,
                "{first_new}"
            );
        }
    }
}
