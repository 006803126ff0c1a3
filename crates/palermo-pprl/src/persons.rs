//! Cross-border evidence per resolved person.
//!
//! A country may resolve its own records into persons before encoding them (on plaintext,
//! at home: `palermo dedupe`), and send with each encoding an opaque person number
//! ([`crate::codec::parse_with_persons`]). A record that holds only a name is then linked
//! at home with its sibling records that hold the birth date, passport or phone, and a
//! match found between any record of one person and any record of another stands for
//! every record pair of the two: [`expand_by_person`].
//!
//! The cost is the home resolution's mistakes: a false merge at home turns one
//! cross-border match into pairs for every record of the merged cluster, so persons with
//! more than [`MAX_PERSON_RECORDS`] records are not expanded.

use std::collections::HashMap;

use crate::matching::Pair;

/// Persons with more records than this on their side are not expanded: a cluster that
/// large is more likely a chain of false merges than one person's records, and its pairs
/// would grow with the product of the two sizes.
pub const MAX_PERSON_RECORDS: usize = 32;

/// Expands record pairs to person pairs: for every two persons (left, right) with a pair
/// of records scoring at least `threshold`, every record pair of the two persons, scored
/// with the best record pair's score. Pairs below `threshold` are dropped, and the pairs
/// of a person with more than [`MAX_PERSON_RECORDS`] records are kept as they are.
///
/// `left_persons[i]` is the person of left record `i` (`None`: every record is a person
/// of its own), likewise `right_persons`. Returns the pairs sorted by left position, best
/// score first, as [`crate::match_clks`] does. Pairs whose positions are outside the
/// persons lists are kept unexpanded (callers pass lists of the sets' lengths).
pub fn expand_by_person(
    pairs: &[Pair],
    left_persons: Option<&[u32]>,
    right_persons: Option<&[u32]>,
    threshold: f64,
) -> Vec<Pair> {
    let left = Side::new(left_persons);
    let right = Side::new(right_persons);
    // The best score per pair of persons, and the pairs that stay as they are.
    let mut best: HashMap<(u64, u64), f64> = HashMap::new();
    let mut kept: Vec<Pair> = Vec::new();
    for p in pairs.iter().filter(|p| p.score >= threshold) {
        match (left.person(p.left), right.person(p.right)) {
            (Some(a), Some(b)) => {
                let s = best.entry((a, b)).or_insert(p.score);
                *s = s.max(p.score);
            }
            _ => kept.push(*p),
        }
    }
    let mut out = kept;
    for ((a, b), score) in best {
        for l in left.members(a) {
            for r in right.members(b) {
                out.push(Pair {
                    left: l,
                    right: r,
                    score,
                });
            }
        }
    }
    out.sort_by(|x, y| {
        x.left
            .cmp(&y.left)
            .then(y.score.total_cmp(&x.score))
            .then(x.right.cmp(&y.right))
    });
    out.dedup_by(|x, y| x.left == y.left && x.right == y.right);
    out
}

/// One side's persons: each record's person key, and each person's records.
struct Side<'a> {
    persons: Option<&'a [u32]>,
    members: HashMap<u32, Vec<u32>>,
}

impl<'a> Side<'a> {
    fn new(persons: Option<&'a [u32]>) -> Side<'a> {
        let mut members: HashMap<u32, Vec<u32>> = HashMap::new();
        for (i, &p) in persons.unwrap_or_default().iter().enumerate() {
            members.entry(p).or_default().push(i as u32);
        }
        Side { persons, members }
    }

    /// The key of the person of record `i`: the person number, or the record itself
    /// (above every person number) when the side has no persons. `None`: not expanded
    /// (a person too large, or a position outside the list).
    fn person(&self, i: u32) -> Option<u64> {
        match self.persons {
            None => Some(u64::from(u32::MAX) + 1 + u64::from(i)),
            Some(persons) => {
                let p = *persons.get(i as usize)?;
                let n = self.members.get(&p).map_or(0, Vec::len);
                (n <= MAX_PERSON_RECORDS).then_some(u64::from(p))
            }
        }
    }

    /// The records of the person with key `key`.
    fn members(&self, key: u64) -> Vec<u32> {
        match u32::try_from(key) {
            Ok(p) => self.members.get(&p).cloned().unwrap_or_default(),
            // A record without persons: itself.
            Err(_) => vec![(key - u64::from(u32::MAX) - 1) as u32],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(left: u32, right: u32, score: f64) -> Pair {
        Pair { left, right, score }
    }

    fn ids(pairs: &[Pair]) -> Vec<(u32, u32, f64)> {
        pairs.iter().map(|p| (p.left, p.right, p.score)).collect()
    }

    #[test]
    fn a_match_stands_for_every_record_pair_of_the_two_persons() {
        // Left records 0 and 2 are one person (0 holds only a name, 2 the birth date too);
        // right records 1 and 3 are one person.
        let left = [5, 6, 5];
        let right = [0, 1, 2, 1];
        let pairs = [pair(2, 1, 0.95), pair(0, 3, 0.84), pair(1, 0, 0.70)];
        let out = expand_by_person(&pairs, Some(&left), Some(&right), 0.826);
        assert_eq!(
            ids(&out),
            [(0, 1, 0.95), (0, 3, 0.95), (2, 1, 0.95), (2, 3, 0.95)]
        );
        // Without persons on the right, each right record is its own person.
        let out = expand_by_person(&pairs, Some(&left), None, 0.826);
        assert_eq!(
            ids(&out),
            [(0, 1, 0.95), (0, 3, 0.84), (2, 1, 0.95), (2, 3, 0.84)]
        );
        // Without persons on either side: the pairs at the threshold, unchanged.
        let out = expand_by_person(&pairs, None, None, 0.826);
        assert_eq!(ids(&out), [(0, 3, 0.84), (2, 1, 0.95)]);
    }

    #[test]
    fn large_persons_and_stray_positions_are_not_expanded() {
        let n = MAX_PERSON_RECORDS as u32 + 1;
        // Left: one cluster of n records; right: records 0 and 1 are one person.
        let left = vec![0u32; n as usize];
        let right = [9, 9];
        let pairs = [pair(3, 0, 0.9), pair(n + 5, 1, 0.9)];
        let out = expand_by_person(&pairs, Some(&left), Some(&right), 0.826);
        assert_eq!(ids(&out), [(3, 0, 0.9), (n + 5, 1, 0.9)]);
    }
}
