//! Blocking: several OR-ed keys per record, deduplicated candidate pairs.
//!
//! Keys: phonetic given+family (order-independent), family or given key + birth year,
//! full birth date, each identifier, passport, phone and e-mail, name key + postal code,
//! exact family + given initial (and the reverse), postal code + house number, street +
//! city, the words of a name of three or more words in any grouping, and for names of Thai
//! origin given+family by their Thai keys (romanisation variants folded).
//!
//! A block is paired in full up to its kind's limit (`max_block`; [`SUB_BLOCK_AT`] for the
//! name and date keys, whose blocks grow with the population; [`WEAK_MAX_BLOCK`] for the
//! two weak name keys). A larger block is split by sub-keys of its kind (birth year, exact
//! full name, full birth date, a name's initial or phonetic key; OR-ed) and each sub-block
//! up to the limit is paired in full, so the work stays linear in the records; sub-blocks
//! (and weak-key blocks) still larger are skipped and counted. What this costs in recall
//! is reported as blocking recall against labelled data (`Resolution::evaluate`).

use rayon::prelude::*;
use serde::Serialize;

use crate::prefetch;
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
    "thaiGiven+family",
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
    /// Blocks larger than their limit, split into sub-blocks.
    pub split_blocks: u64,
    /// Blocks and sub-blocks skipped because they were still larger than their limit.
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
    if let Some(d) = r.birth.and_then(|d| d.digit_bytes()) {
        out.push(hash(3, &[&d]));
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
    let pc = r.postcode().as_bytes();
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
    if !pc.is_empty() && !r.street_number().is_empty() {
        out.push(hash(12, &[pc, r.street_number().as_bytes()]));
    }
    if !r.street().is_empty() && !r.city.is_empty() {
        out.push(hash(13, &[r.street().as_bytes(), r.city.as_bytes()]));
    }
    if r.name_bag != 0 {
        // The words of the whole name, however they were split into given and family.
        out.push(hash(14, &[&r.name_bag.to_le_bytes()]));
    }
    if r.thai {
        // Thai romanisation variants (Chaiphet / Jaipet) meet on their Thai keys.
        let (gt, ft) = (r.given.thai_key.as_bytes(), r.family.thai_key.as_bytes());
        if !gt.is_empty() && !ft.is_empty() {
            let (a, b) = if gt <= ft { (gt, ft) } else { (ft, gt) };
            out.push(hash(15, &[a, b]));
        }
    }
}

/// Block size limit of the weak name keys (exact family name + given initial and the
/// reverse). They exist for a typo in one name when the birth date is missing; in a block
/// of more than this many records, agreeing on such a key says too little for a match on
/// names alone, and at 100k pooled records these blocks made 86% of all candidate pairs
/// while adding no match the model accepted.
pub const WEAK_MAX_BLOCK: usize = 20;

/// Block size above which the name and date keys (given+family, name + birth year, birth
/// date, name words) are split into sub-blocks ([`sub_keys`]) rather than paired in full.
///
/// These keys draw on small pools (a culture's common names, some 20,000 birth dates), so
/// their blocks grow with the population and, paired in full, their pairs grow with its
/// square: from 100k to 300k pooled `palermo sim` records the candidate pairs grew 7.4
/// times (6.6 million), and 1M took 142 CPU seconds. In a block this large, agreeing on
/// the key alone is weak evidence, and the true pairs in it nearly always share a sub-key
/// as well (the birth year, the exact full name, an initial of the other name), so
/// splitting bounds the work at about this many pairs per record and key: 0.69, 2.1 and
/// 5.4 million candidate pairs at 100k, 300k and 1M, with the same pairwise F1 at 100k
/// and 300k (blocking recall fell from 0.959 to 0.952 at 100k: pairs the model did not
/// accept either way).
pub const SUB_BLOCK_AT: usize = 12;

/// Key kinds of the weak name keys (see [`WEAK_MAX_BLOCK`]).
const WEAK_KINDS: [u8; 2] = [10, 11];

/// The kind of a key (its top byte).
pub(crate) fn kind_of(key: u64) -> u8 {
    (key >> 56) as u8
}

/// True for the name and date key kinds, whose blocks grow with the population.
fn grows(kind: u8) -> bool {
    matches!(kind, 0..=3 | 14 | 15)
}

/// The keys a store indexes for a record: the keys of [`keys`] without the weak name
/// keys, where each name or date key is replaced by its sub-keyed forms (the key with
/// one of its [`sub_keys`], one key per family the record has a value for).
///
/// A store looks up the persons sharing a new record's keys (up to `max_block` per key)
/// and loads them all; at 1M pooled records the plain name and date keys held up to
/// `max_block` persons each, and 1,000 new records loaded 140,033 neighbours (18 s of an
/// incremental run). Sub-keyed keys reach what sub-blocking would pair. The cost: two
/// records whose only shared key is a small plain block of a name or date key, without a
/// shared sub-key, are not compared by an incremental run (a full run still does).
pub(crate) fn store_keys(r: &Record, out: &mut Vec<u64>) {
    let mut plain = Vec::with_capacity(24);
    keys(r, &mut plain);
    for k in plain {
        let kind = kind_of(k);
        if WEAK_KINDS.contains(&kind) {
            continue;
        }
        if !grows(kind) {
            out.push(k);
            continue;
        }
        for (idx, &sub) in sub_keys(kind).iter().enumerate() {
            if let Some(v) = sub_key(r, sub) {
                // Kind byte 0x80 | kind << 3 | family: apart from every plain kind.
                let tag = 0x80 | (kind << 3) | idx as u8;
                out.push(hash(tag, &[&k.to_le_bytes(), &v.to_le_bytes()]));
            }
        }
    }
}

/// The block size up to which a block of this kind is paired in full: `max_block`, at
/// most [`WEAK_MAX_BLOCK`] for the weak name keys and [`SUB_BLOCK_AT`] for the name and
/// date keys.
fn kind_max_block(kind: u8, max_block: usize) -> usize {
    if WEAK_KINDS.contains(&kind) {
        max_block.min(WEAK_MAX_BLOCK)
    } else if grows(kind) {
        max_block.min(SUB_BLOCK_AT)
    } else {
        max_block
    }
}

/// What splits an oversized block of a kind: the sub-key families, OR-ed (two records
/// of the block become a pair when they share a sub-key of any family). Each is chosen so
/// that the pairs the key exists for keep one: a name key's pairs share the birth year
/// or, when one side has no date, the exact full name; a name + year key exists for a
/// typo in the other name, whose initial usually survives; a birth date key for
/// transliteration differences, which rarely change both names' first sound, and for
/// given and family name swapped between the records (with a typo that breaks the
/// given+family key), whose initials agree only crosswise: at 1M pooled `palermo sim`
/// records these were most of the true pairs the model accepts that blocking missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sub {
    BirthYear,
    FullName,
    BirthDate,
    GivenInitial,
    FamilyInitial,
    /// Both initials, in either order (given and family name swapped between records).
    Initials,
    GivenKey,
    FamilyKey,
}

fn sub_keys(kind: u8) -> &'static [Sub] {
    match kind {
        0 | 15 => &[Sub::BirthYear, Sub::FullName],
        1 => &[Sub::BirthDate, Sub::GivenInitial],
        2 => &[Sub::BirthDate, Sub::FamilyInitial],
        3 => &[Sub::GivenInitial, Sub::FamilyInitial, Sub::Initials],
        14 => &[Sub::BirthYear, Sub::FullName],
        10 | 11 => &[],
        _ => &[Sub::GivenKey, Sub::FamilyKey],
    }
}

/// A record's sub-key of one family (`None` when it lacks the value).
fn sub_key(r: &Record, sub: Sub) -> Option<u64> {
    let initial = |s: &str| s.as_bytes().first().map(|&b| u64::from(b) + 1);
    match sub {
        Sub::BirthYear => r.birth.and_then(|d| d.year).map(u64::from),
        Sub::BirthDate => r
            .birth
            .and_then(|d| d.digit_bytes())
            .map(u64::from_le_bytes),
        Sub::FullName => {
            let (g, f) = (r.given.joined.as_bytes(), r.family.joined.as_bytes());
            if g.is_empty() || f.is_empty() {
                return None;
            }
            let (a, b) = if g <= f { (g, f) } else { (f, g) };
            Some(hash(0xF0, &[a, b]))
        }
        Sub::GivenInitial => initial(&r.given.key),
        Sub::FamilyInitial => initial(&r.family.key),
        Sub::Initials => {
            let (g, f) = (initial(&r.given.key)?, initial(&r.family.key)?);
            Some((g.min(f) << 16) | g.max(f))
        }
        Sub::GivenKey => (!r.given.key.is_empty()).then(|| hash(0xF1, &[r.given.key.as_bytes()])),
        Sub::FamilyKey => {
            (!r.family.key.is_empty()).then(|| hash(0xF2, &[r.family.key.as_bytes()]))
        }
    }
}

/// Bytes of a record's first cache line, which holds what [`sub_key`] reads of the record
/// itself (the names' pointers and the birth date; records start on a line boundary).
const FIRST_LINE: usize = 64;

/// What blocks produced.
#[derive(Debug, Default)]
struct BlockOut {
    /// Pairs, `a << 32 | b` with `a < b`.
    pairs: Vec<u64>,
    /// Blocks larger than their limit, split into sub-blocks.
    split: u64,
    /// Sub-blocks (or, for kinds without sub-keys, blocks) skipped as still too large.
    skipped: u64,
}

/// The pairs of one block of `kind` with `members` (record indices, ascending).
fn block_pairs(
    records: &[Record],
    kind: u8,
    members: &[u32],
    max_block: usize,
    keep: &(impl Fn(u32, u32) -> bool + Sync),
) -> BlockOut {
    let mut out = BlockOut::default();
    block_pairs_into(records, kind, members, max_block, keep, &mut out);
    out
}

/// Appends the pairs of one block of `kind` with `members` (record indices, ascending) to
/// `out`, each once, and returns how many.
///
/// A block up to the kind's limit is paired in full; a larger one is split by the kind's
/// [`sub_keys`] and each sub-block up to the limit is paired in full; larger sub-blocks are
/// skipped. `keep(a, b)` filters pairs (one record per side when linking, a new record when
/// matching new records against existing ones).
fn block_pairs_into(
    records: &[Record],
    kind: u8,
    members: &[u32],
    max_block: usize,
    keep: &(impl Fn(u32, u32) -> bool + Sync),
    out: &mut BlockOut,
) -> usize {
    let limit = kind_max_block(kind, max_block);
    let start = out.pairs.len();
    let full = |group: &[u32], out: &mut BlockOut| {
        for (x, &a) in group.iter().enumerate() {
            for &b in &group[x + 1..] {
                if keep(a, b) {
                    out.pairs.push((u64::from(a) << 32) | u64::from(b));
                }
            }
        }
    };
    if members.len() <= limit {
        full(members, out);
        return out.pairs.len() - start;
    }
    out.split += 1;
    let subs = sub_keys(kind);
    if subs.is_empty() {
        out.skipped += 1;
        return 0;
    }
    // Every family's sub-keys in one pass over the members, whose records lie far apart
    // (a cache miss each), prefetched a few members ahead.
    let mut by_sub: Vec<Vec<(u64, u32)>> = subs
        .iter()
        .map(|_| Vec::with_capacity(members.len()))
        .collect();
    for (x, &m) in members.iter().enumerate() {
        // What `sub_key` reads, in two steps: the record's first cache line (names'
        // pointers, birth date) a few members ahead, then, half as far ahead, when that
        // line has arrived, the names' forms it points to. Reading the pointers of the
        // member a full distance ahead was itself a miss the loop waited for (at 1M
        // pooled records about 3.7% of the CPU samples, on that one load).
        if let Some(&ahead) = members.get(x + prefetch::AHEAD) {
            prefetch::prefetch_bytes(&records[ahead as usize], FIRST_LINE);
        }
        if let Some(&halfway) = members.get(x + prefetch::AHEAD / 2) {
            let r = &records[halfway as usize];
            r.given.prefetch_keys(false);
            r.family.prefetch_keys(false);
        }
        let r = &records[m as usize];
        for (keyed, &sub) in by_sub.iter_mut().zip(subs) {
            if let Some(k) = sub_key(r, sub) {
                keyed.push((k, m));
            }
        }
    }
    for keyed in &mut by_sub {
        keyed.sort_unstable();
        let mut group: Vec<u32> = Vec::new();
        let mut first = 0;
        for i in 1..=keyed.len() {
            if i < keyed.len() && keyed[i].0 == keyed[first].0 {
                continue;
            }
            let n = i - first;
            if n > limit {
                out.skipped += 1;
            } else if n >= 2 {
                group.clear();
                group.extend(keyed[first..i].iter().map(|e| e.1));
                full(&group, out);
            }
            first = i;
        }
    }
    // Sub-blocks of different families can hold the same pair.
    if subs.len() > 1 {
        let tail = &mut out.pairs[start..];
        tail.sort_unstable();
        let mut kept = 0;
        for i in 0..tail.len() {
            if kept == 0 || tail[i] != tail[kept - 1] {
                tail[kept] = tail[i];
                kept += 1;
            }
        }
        out.pairs.truncate(start + kept);
    }
    out.pairs.len() - start
}

/// Splits sorted `(key, record)` entries into blocks of two or more: `(start, end)`.
fn block_bounds(entries: &[(u64, u32)]) -> Vec<(usize, usize)> {
    let mut blocks = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entries[i].0 != entries[start].0 {
            if i - start >= 2 {
                blocks.push((start, i));
            }
            start = i;
        }
    }
    blocks
}

fn record_keys(r: &Record) -> Vec<u64> {
    let mut ks = Vec::with_capacity(24);
    record_keys_into(r, &mut ks);
    ks
}

/// [`record_keys`] into `out` (cleared first), so that one buffer serves many records.
fn record_keys_into(r: &Record, out: &mut Vec<u64>) {
    out.clear();
    keys(r, out);
    out.sort_unstable();
    out.dedup();
}

/// Calls `each(k, keys)` with the distinct keys of each record `k` of `chunk` in turn
/// ([`record_keys_into`], in `buf`). The records are read in order, but their names'
/// shared forms lie anywhere: each record's are asked for [`prefetch::AHEAD`] records
/// before its keys are computed (a cache miss per record otherwise, waited for twice:
/// [`key_entries`] computes the keys twice).
fn for_keys(chunk: &[Record], buf: &mut Vec<u64>, mut each: impl FnMut(usize, &[u64])) {
    for (k, r) in chunk.iter().enumerate() {
        if let Some(ahead) = chunk.get(k + prefetch::AHEAD) {
            ahead.given.prefetch_keys(ahead.thai);
            ahead.family.prefetch_keys(ahead.thai);
        }
        record_keys_into(r, buf);
        each(k, buf);
    }
}

/// Records whose keys one task writes into [`key_entries`]' list.
const KEY_CHUNK: usize = 4_096;

/// Every record's distinct keys as `(key, record index)`, in record order, in one list
/// of exactly their number. The keys are counted in a first pass and written in place
/// in a second (computing them twice costs less than the list it saves): gathered from
/// per-thread lists, the entries (about 100 MB at 1M records) were copied once per
/// doubling of each list and again on merging, all into fresh memory. Each pass keeps
/// one key buffer per chunk of records (a buffer per record was 1.5 million heap blocks
/// at 1M records).
fn key_entries(records: &[Record]) -> Vec<(u64, u32)> {
    let counts: Vec<usize> = records
        .par_chunks(KEY_CHUNK)
        .map(|chunk| {
            let mut buf = Vec::with_capacity(32);
            let mut n = 0;
            for_keys(chunk, &mut buf, |_, keys| n += keys.len());
            n
        })
        .collect();
    // Zeroed, so the allocator hands out fresh pages without writing them first.
    let mut entries = vec![(0u64, 0u32); counts.iter().sum()];
    let mut slices: Vec<&mut [(u64, u32)]> = Vec::with_capacity(counts.len());
    let mut rest = entries.as_mut_slice();
    for &n in &counts {
        let (head, tail) = std::mem::take(&mut rest).split_at_mut(n);
        slices.push(head);
        rest = tail;
    }
    slices
        .into_par_iter()
        .zip(records.par_chunks(KEY_CHUNK))
        .enumerate()
        .for_each(|(chunk_idx, (out, chunk))| {
            let first = chunk_idx * KEY_CHUNK;
            let mut buf = Vec::with_capacity(32);
            let mut slots = out.iter_mut();
            for_keys(chunk, &mut buf, |k, keys| {
                let i = u32::try_from(first + k).unwrap_or(u32::MAX);
                // The same keys as counted (`record_keys_into` is a function of the
                // record), so the slice is filled exactly.
                // (The keys first: `zip` asks its first iterator first, and a slot taken
                // after the last key would be lost.)
                for (&key, slot) in keys.iter().zip(slots.by_ref()) {
                    *slot = (key, i);
                }
            });
        });
    entries
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
    let mut entries: Vec<(u64, u32)> = Vec::new();
    for (i, r) in records.iter().enumerate().skip(first_new) {
        let i32 = u32::try_from(i).unwrap_or(u32::MAX);
        entries.extend(record_keys(r).into_iter().map(|k| (k, i32)));
    }
    let wanted: std::collections::HashSet<u64> = entries.iter().map(|e| e.0).collect();
    let existing: Vec<(u64, u32)> = (0..first_new.min(records.len()))
        .into_par_iter()
        .flat_map_iter(|i| {
            let i32 = u32::try_from(i).unwrap_or(u32::MAX);
            record_keys(&records[i])
                .into_iter()
                .filter(|k| wanted.contains(k))
                .map(move |k| (k, i32))
        })
        .collect();
    entries.extend(existing);
    entries.sort_unstable();
    let first = u32::try_from(first_new).unwrap_or(u32::MAX);
    let keep = move |_: u32, b: u32| b >= first;
    let mut pairs: Vec<u64> = block_bounds(&entries)
        .par_iter()
        .flat_map_iter(|&(s, e)| {
            let members: Vec<u32> = entries[s..e].iter().map(|x| x.1).collect();
            block_pairs(records, kind_of(entries[s].0), &members, max_block, &keep).pairs
        })
        .collect();
    pairs.par_sort_unstable();
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
    let mut entries = key_entries(records);
    entries.par_sort_unstable();
    let blocks = block_bounds(&entries);
    let left = n_left.map(|k| u32::try_from(k).unwrap_or(u32::MAX));
    let keep = move |a: u32, b: u32| left.is_none_or(|k| a < k && b >= k);
    // Each thread appends its blocks' pairs to one list (a list per block was millions of
    // small allocations at 1M records).
    let per_thread: Vec<(BlockOut, Vec<u64>)> = blocks
        .par_iter()
        .fold(
            || (BlockOut::default(), vec![0u64; KEY_KINDS.len()], Vec::new()),
            |(mut out, mut by_kind, mut members), &(s, e)| {
                let kind = kind_of(entries[s].0);
                members.clear();
                members.extend(entries[s..e].iter().map(|x| x.1));
                let n = block_pairs_into(records, kind, &members, max_block, &keep, &mut out);
                if let Some(c) = by_kind.get_mut(usize::from(kind)) {
                    *c += n as u64;
                }
                (out, by_kind, members)
            },
        )
        .map(|(out, by_kind, _)| (out, by_kind))
        .collect();
    let mut by_kind = vec![0u64; KEY_KINDS.len()];
    let (mut split, mut skipped) = (0u64, 0u64);
    let mut all: Vec<u64> = Vec::with_capacity(per_thread.iter().map(|(b, _)| b.pairs.len()).sum());
    for (block, counts) in per_thread {
        for (total, c) in by_kind.iter_mut().zip(counts) {
            *total += c;
        }
        split += block.split;
        skipped += block.skipped;
        all.extend(block.pairs);
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
        split_blocks: split,
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

    fn keys_of(r: &Record) -> Vec<u64> {
        let mut ks = Vec::new();
        keys(r, &mut ks);
        ks
    }

    fn has(pairs: &[u64], a: u32, b: u32) -> bool {
        pairs
            .binary_search(&((u64::from(a) << 32) | u64::from(b)))
            .is_ok()
    }

    #[test]
    fn key_entries_are_each_records_keys_in_order() {
        let records: Vec<Record> = (0..KEY_CHUNK + 50)
            .map(|i| {
                let mut r = record(i, "Ann Mary", &format!("Lee{}", i % 7), "1990-02-03");
                if i % 3 == 0 {
                    r = Record::new(format!("r{i}"), vec![(Property::Name, "Lee".to_owned())]);
                }
                r
            })
            .collect();
        let expect: Vec<(u64, u32)> = records
            .iter()
            .enumerate()
            .flat_map(|(i, r)| record_keys(r).into_iter().map(move |k| (k, i as u32)))
            .collect();
        assert_eq!(key_entries(&records), expect);
    }

    #[test]
    fn oversized_name_blocks_are_split_by_sub_keys() {
        // 60 records of one name (one block of every name key, far above the limit), in
        // 20 birth years, plus two of them with no birth date.
        let mut records: Vec<Record> = (0..60)
            .map(|i| {
                record(
                    i,
                    "Somchai",
                    "Jaidee",
                    &format!("{}-0{}-1{}", 1950 + i % 20, 1 + i % 9, i % 10),
                )
            })
            .collect();
        records.push(record(60, "Somchai", "Jaidee", ""));
        records.push(record(61, "Somchai", "Jaidee", ""));
        let (pairs, stats) = candidates(&records, None, 400);
        // Same birth year: paired (0, 20 and 40 were born in 1950).
        assert!(has(&pairs, 0, 20) && has(&pairs, 20, 40));
        // Different years and different dates: not paired.
        assert!(!has(&pairs, 0, 1));
        // No birth date: the exact full name's sub-block (62 records) is too large too.
        assert!(!has(&pairs, 60, 61));
        assert!(stats.split_blocks > 0 && stats.skipped_blocks > 0);
        // Linear in the records, not quadratic (62 · 61 / 2 = 1891 in full).
        assert!(pairs.len() < 62 * SUB_BLOCK_AT, "{}", pairs.len());

        // A rare full name in the same large given+family block keeps its pair without a
        // birth date.
        records.push(record(62, "Somchay", "Jaidie", ""));
        records.push(record(63, "Somchay", "Jaidie", ""));
        assert_eq!(keys_of(&records[0])[0], keys_of(&records[62])[0]);
        let members: Vec<u32> = (0..64).collect();
        let block = block_pairs(&records, 0, &members, 400, &|_, _| true);
        assert!(block.split > 0 && has(&block.pairs, 62, 63) && !has(&block.pairs, 0, 62));
        let (pairs, _) = candidates(&records, None, 400);
        assert!(has(&pairs, 62, 63));
        // A block within the limit is paired in full, whatever its sub-keys.
        let (pairs, stats) = candidates(&records[..5], None, 400);
        assert!(has(&pairs, 0, 1) && stats.split_blocks == 0);
    }

    #[test]
    fn swapped_names_meet_in_a_large_birth_date_block() {
        // 40 people born on one day (a birth date block far above the limit), each name
        // with other initials, then one person written twice with given and family name
        // swapped and a typo in the family name (so the given+family key differs too).
        let initials = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        let mut records: Vec<Record> = (0..40)
            .map(|i| {
                let g = char::from(initials[i % 26]);
                let f = char::from(initials[(i / 2) % 26]);
                record(i, &format!("{g}ana"), &format!("{f}oro"), "1990-04-21")
            })
            .collect();
        records.push(record(40, "Thanakorn", "Sitwiset", "1960-11-15"));
        records.push(record(41, "Sitwisat", "Thanakorn", "1960-11-15"));
        for i in 42..60 {
            let g = char::from(initials[i % 26]);
            records.push(record(i, &format!("{g}ira"), "Wong", "1960-11-15"));
        }
        let members: Vec<u32> = (40..60).collect();
        let block = block_pairs(&records, 3, &members, 400, &|_, _| true);
        assert!(block.split > 0 && has(&block.pairs, 40, 41));
        let (pairs, _) = candidates(&records, None, 400);
        assert!(has(&pairs, 40, 41));
        // Records that share neither initial in either order stay apart.
        assert!(!has(&pairs, 0, 41));
    }

    #[test]
    fn store_keys_carry_the_sub_keys_of_name_and_date_keys() {
        let store = |r: &Record| {
            let mut ks = Vec::new();
            store_keys(r, &mut ks);
            ks
        };
        let shared = |a: &Record, b: &Record| {
            let kb = store(b);
            store(a).into_iter().filter(|k| kb.contains(k)).count()
        };
        let a = record(0, "Somchai", "Jaidee", "1980-01-02");
        // Same name, same year: they meet.
        assert!(shared(&a, &record(1, "Somchai", "Jaidee", "1980-05-06")) > 0);
        // Same name, no date: they meet on the exact full name.
        assert!(shared(&a, &record(2, "Somchai", "Jaidee", "")) > 0);
        // Same phonetic name, other spelling, other year: a full run pairs them only in a
        // small block, an incremental run not at all.
        assert_eq!(shared(&a, &record(3, "Somchay", "Jaidie", "1990-07-08")), 0);
        // No plain name or date key and no weak key is stored; identifiers stay as they are.
        let mut plain = Vec::new();
        keys(&a, &mut plain);
        let ks = store(&a);
        assert!(ks.iter().all(|k| !plain.contains(k) && kind_of(*k) >= 0x80));
        let with_passport = Record::new(
            "p",
            vec![
                (Property::FirstName, "Somchai".to_owned()),
                (Property::PassportNumber, "AA123456".to_owned()),
            ],
        );
        assert!(store(&with_passport).iter().any(|k| kind_of(*k) == 5));
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
