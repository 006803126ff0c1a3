//! Resolution inside a node's store, as pure logic: the store hands in records and
//! decisions, and gets back cluster ids and merge decisions to write.
//!
//! - [`resolve_all`] trains a model and clusters every record (`palermo resolve --full`
//!   and the first run);
//! - [`resolve_new`] matches new records against the clusters their blocking keys reach,
//!   with a stored model, without touching unrelated clusters;
//! - [`recluster`] clusters a few existing clusters again after a human decision.
//!
//! All three respect human decisions: a rejected pair never ends up in one cluster (the
//! check covers every member of both sides, so no chain can join them) and a confirmed
//! pair always does, unless that would join a rejected pair, which is reported as a
//! conflict. Cluster ids are stable: a new cluster takes the id of the previous cluster it
//! overlaps most (each previous id goes to one cluster), so a cluster keeps its id when
//! it grows, and the larger part keeps it when it is split.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::blocking;
use crate::cluster::Votes;
use crate::compare;
use crate::engine::{Config, Resolution, ScoredPair};
use crate::error::{Error, Result};
use crate::model::{self, Model};
use crate::read::Dataset;
use crate::record::Record;

/// Largest number of cross pairs scored when deciding whether two groups merge (as in
/// the file commands' clustering).
const MAX_CROSS_PAIRS: usize = 256;

/// What a human said about a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The two records are the same person.
    Confirmed,
    /// The two records are different persons.
    Rejected,
}

/// A human decision about two records, by record id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairDecision {
    /// One record id.
    pub left: String,
    /// The other record id.
    pub right: String,
    /// The decision.
    pub verdict: Verdict,
}

/// A merge the clustering made: the pair whose edge joined two groups.
#[derive(Debug, Clone, PartialEq)]
pub struct Merge {
    /// Record id on one side.
    pub left: String,
    /// Record id on the other side.
    pub right: String,
    /// Match weight in bits.
    pub bits: f64,
    /// Match probability.
    pub probability: f64,
    /// Per-field weights, e.g. `givenName=exact:+7.10 birthDate=exact:+9.80`.
    pub weights: String,
}

/// The outcome of a run over some records.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The cluster id of each record handed in (existing records first, then new ones,
    /// for [`resolve_new`]).
    pub cluster_ids: Vec<String>,
    /// Candidate pairs scored.
    pub candidate_pairs: u64,
    /// Merges made by the clustering (human confirmations are not counted).
    pub merges: Vec<Merge>,
    /// Clusters among the records handed in.
    pub clusters: usize,
    /// Clusters that did not exist before.
    pub new_clusters: usize,
    /// Clusters that kept their id and gained members.
    pub grown_clusters: usize,
    /// Confirmed pairs that could not be joined because that would join a rejected pair.
    pub conflicts: Vec<(String, String)>,
}

/// A full run: the outcome plus the trained model.
#[derive(Debug)]
pub struct FullRun {
    /// Cluster ids and counts.
    pub outcome: Outcome,
    /// The model trained on the records.
    pub model: Model,
    /// The records, with term frequencies filled in (for their keys and terms).
    pub records: Vec<Record>,
}

/// The blocking keys of a record, as stored integers (sorted, distinct).
///
/// The weak name keys (exact family name + given initial and the reverse) are left out:
/// in a store their blocks are large and reach many unrelated persons per new record (the
/// fan-out of an incremental run), while the file commands, which cap them at
/// [`crate::WEAK_MAX_BLOCK`], found no accepted match through them that other keys missed.
/// The name and date keys are stored with their sub-keys (birth year, exact full name,
/// ...), as sub-blocking splits their large blocks ([`crate::SUB_BLOCK_AT`]), so a new
/// record reaches the persons it could be paired with rather than every namesake.
pub fn blocking_keys(record: &Record) -> Vec<i64> {
    let mut keys = Vec::with_capacity(32);
    blocking::store_keys(record, &mut keys);
    let mut out: Vec<i64> = keys.into_iter().map(|k| k as i64).collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn fnv(tag: u8, text: &str) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ u64::from(tag);
    for &b in text.as_bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h as i64
}

/// The term keys of a record's given and family name (for name term frequencies).
pub fn term_hashes(record: &Record) -> [Option<i64>; 2] {
    let g = (!record.given.is_empty()).then(|| fnv(b'g', &record.given.joined));
    let f = (!record.family.is_empty()).then(|| fnv(b'f', &record.family.joined));
    [g, f]
}

/// The term key of a record's full name (given and family, in either order), for the
/// joint name frequency; `None` unless both parts are known.
pub fn name_term_hash(record: &Record) -> Option<i64> {
    record.full_name_key().map(|k| fnv(b'n', &k))
}

/// Sets how many records carry this record's given and family name.
pub fn set_term_counts(record: &mut Record, counts: [u32; 2]) {
    record.given.freq = counts[0];
    record.family.freq = counts[1];
}

/// Sets how many records carry this record's full name (see [`name_term_hash`]); without
/// it (0, the default) given and family names are weighed as if independent.
pub fn set_name_count(record: &mut Record, count: u32) {
    record.name_freq = count;
}

/// Counts the term keys of `records`: given and family names ([`term_hashes`]) and full
/// names ([`name_term_hash`]).
pub fn term_counts(records: &[Record]) -> HashMap<i64, u32> {
    let mut counts = HashMap::new();
    for r in records {
        for h in term_hashes(r)
            .into_iter()
            .chain([name_term_hash(r)])
            .flatten()
        {
            *counts.entry(h).or_default() += 1;
        }
    }
    counts
}

/// One line of per-field weights of a pair under `model`.
pub fn weights_summary(model: &Model, a: &Record, b: &Record) -> String {
    let g = compare::compare(a, b, &model.active);
    model
        .parts(&g)
        .iter()
        .map(|p| {
            let level = p
                .field
                .levels()
                .get(usize::from(g.levels[p.field.index()]))
                .copied()
                .unwrap_or("missing");
            format!("{}={}:{:+.2}", p.field.name(), level, p.weight)
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Trains a model on `records` and clusters them all. `previous[i]` is record `i`'s
/// cluster id before this run, if any; `new_id` makes ids for new clusters.
pub fn resolve_all(
    records: Vec<Record>,
    previous: &[Option<String>],
    decisions: &[PairDecision],
    config: &Config,
    new_id: &mut dyn FnMut() -> String,
) -> Result<FullRun> {
    check_distinct(&records)?;
    let res = Resolution::dedupe(Dataset::from_records("store", records), config)?;
    let candidate_pairs = res.stats().blocking.candidate_pairs;
    let edges: Vec<ScoredPair> = res.pairs().collect();
    let (records, model) = res.into_records_and_model();
    let pins = vec![None; records.len()];
    let mut outcome = cluster_and_name(
        &records,
        &model,
        &edges,
        config.threshold,
        decisions,
        &pins,
        previous,
        new_id,
    );
    outcome.candidate_pairs = candidate_pairs;
    Ok(FullRun {
        outcome,
        model,
        records,
    })
}

/// Matches `new` records against `existing` ones (the members of every cluster the new
/// records' blocking keys reach, with their cluster ids) using a stored `model`.
///
/// Existing clusters are never merged with each other here (only a human confirmation
/// or a full run does that); a new record joins the cluster it matches on average, or
/// starts a new one with other new records. Records need their term counts set.
pub fn resolve_new(
    model: &Model,
    existing: Vec<(Record, String)>,
    new: Vec<Record>,
    decisions: &[PairDecision],
    config: &Config,
    new_id: &mut dyn FnMut() -> String,
) -> Result<Outcome> {
    let n_existing = existing.len();
    let mut labels: HashMap<String, u32> = HashMap::new();
    let mut pins = Vec::with_capacity(n_existing + new.len());
    let mut previous = Vec::with_capacity(n_existing + new.len());
    let mut records = Vec::with_capacity(n_existing + new.len());
    for (r, cluster) in existing {
        let next = labels.len() as u32;
        pins.push(Some(*labels.entry(cluster.clone()).or_insert(next)));
        previous.push(Some(cluster));
        records.push(r);
    }
    for r in new {
        pins.push(None);
        previous.push(None);
        records.push(r);
    }
    check_distinct(&records)?;
    let touching = blocking::candidates_touching(&records, n_existing, config.max_block.max(2));
    let edges = score_pairs(&records, model, &touching, config.threshold);
    let mut outcome = cluster_and_name(
        &records,
        model,
        &edges,
        config.threshold,
        decisions,
        &pins,
        &previous,
        new_id,
    );
    outcome.candidate_pairs = touching.len() as u64;
    Ok(outcome)
}

/// Clusters `records` (with their current cluster ids) again from scratch with a stored
/// model, e.g. the two clusters of a pair a human just confirmed or rejected.
pub fn recluster(
    model: &Model,
    records: Vec<(Record, String)>,
    decisions: &[PairDecision],
    config: &Config,
    new_id: &mut dyn FnMut() -> String,
) -> Result<Outcome> {
    let (records, previous): (Vec<Record>, Vec<Option<String>>) =
        records.into_iter().map(|(r, c)| (r, Some(c))).unzip();
    check_distinct(&records)?;
    let (pairs, _) = blocking::candidates(&records, None, config.max_block.max(2));
    let edges = score_pairs(&records, model, &pairs, config.threshold);
    let pins = vec![None; records.len()];
    let mut outcome = cluster_and_name(
        &records,
        model,
        &edges,
        config.threshold,
        decisions,
        &pins,
        &previous,
        new_id,
    );
    outcome.candidate_pairs = pairs.len() as u64;
    Ok(outcome)
}

fn check_distinct(records: &[Record]) -> Result<()> {
    let mut seen = HashSet::with_capacity(records.len());
    for r in records {
        if !seen.insert(r.id.as_str()) {
            return Err(Error::RepeatedId(r.id.clone()));
        }
    }
    Ok(())
}

fn score_pairs(
    records: &[Record],
    model: &Model,
    pairs: &[u64],
    threshold: f64,
) -> Vec<ScoredPair> {
    pairs
        .par_iter()
        .filter_map(|&p| {
            let (i, j) = ((p >> 32) as u32, (p & 0xFFFF_FFFF) as u32);
            let g = compare::compare(&records[i as usize], &records[j as usize], &model.active);
            let bits = model.bits(&g);
            let probability = model::probability(bits);
            (probability >= threshold).then_some(ScoredPair {
                left: i,
                right: j,
                bits,
                probability,
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn cluster_and_name(
    records: &[Record],
    model: &Model,
    edges: &[ScoredPair],
    threshold: f64,
    decisions: &[PairDecision],
    pins: &[Option<u32>],
    previous: &[Option<String>],
    new_id: &mut dyn FnMut() -> String,
) -> Outcome {
    let index: HashMap<&str, u32> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u32))
        .collect();
    let local: Vec<(u32, u32, Verdict)> = decisions
        .iter()
        .filter_map(|d| {
            Some((
                *index.get(d.left.as_str())?,
                *index.get(d.right.as_str())?,
                d.verdict,
            ))
        })
        .collect();
    let c = cluster_constrained(records, model, edges, threshold, &local, pins);
    let named = assign_ids(&c.group, previous, new_id);
    let id = |i: u32| records[i as usize].id.clone();
    Outcome {
        cluster_ids: named.ids,
        candidate_pairs: 0,
        merges: c
            .merges
            .iter()
            .map(|p| Merge {
                left: id(p.left),
                right: id(p.right),
                bits: p.bits,
                probability: p.probability,
                weights: weights_summary(
                    model,
                    &records[p.left as usize],
                    &records[p.right as usize],
                ),
            })
            .collect(),
        clusters: named.clusters,
        new_clusters: named.new_clusters,
        grown_clusters: named.grown_clusters,
        conflicts: c.conflicts.iter().map(|&(a, b)| (id(a), id(b))).collect(),
    }
}

/// Groups found by [`cluster_constrained`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Constrained {
    /// Each record's group representative.
    pub(crate) group: Vec<u32>,
    /// The edges that joined two groups, in merge order.
    pub(crate) merges: Vec<ScoredPair>,
    /// Confirmed pairs refused because of a rejected pair.
    pub(crate) conflicts: Vec<(u32, u32)>,
}

fn find(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        let p = parent[parent[x as usize] as usize];
        parent[x as usize] = p;
        x = p;
    }
    x
}

/// Average-linkage clustering (as in the file commands, with the same merge rule,
/// [`Votes`]) with must-link (confirmed), cannot-link (rejected) and pinned groups:
/// records with the same pin start together, and two groups that both hold pinned
/// records are only joined by a confirmation.
pub(crate) fn cluster_constrained(
    records: &[Record],
    model: &Model,
    edges: &[ScoredPair],
    threshold: f64,
    decisions: &[(u32, u32, Verdict)],
    pins: &[Option<u32>],
) -> Constrained {
    let n = records.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut members: Vec<Vec<u32>> = (0..n as u32).map(|i| vec![i]).collect();
    let mut pinned: Vec<bool> = pins.iter().map(Option::is_some).collect();
    pinned.resize(n, false);
    let mut rejects: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(a, b, v) in decisions {
        if v == Verdict::Rejected && a != b {
            rejects.entry(a).or_default().push(b);
            rejects.entry(b).or_default().push(a);
        }
    }
    fn union(parent: &mut [u32], members: &mut [Vec<u32>], pinned: &mut [bool], a: u32, b: u32) {
        let (keep, drop) = (a.min(b), a.max(b));
        parent[drop as usize] = keep;
        let moved = std::mem::take(&mut members[drop as usize]);
        members[keep as usize].extend(moved);
        pinned[keep as usize] |= pinned[drop as usize];
    }
    fn conflicting(
        parent: &mut [u32],
        members: &[Vec<u32>],
        rejects: &HashMap<u32, Vec<u32>>,
        ra: u32,
        rb: u32,
    ) -> bool {
        let (small, other) = if members[ra as usize].len() <= members[rb as usize].len() {
            (ra, rb)
        } else {
            (rb, ra)
        };
        for &x in &members[small as usize] {
            for &y in rejects.get(&x).map(Vec::as_slice).unwrap_or_default() {
                if find(parent, y) == other {
                    return true;
                }
            }
        }
        false
    }
    // Pinned groups first: records of one existing cluster start together.
    let mut first: HashMap<u32, u32> = HashMap::new();
    for (i, pin) in pins.iter().enumerate() {
        if let Some(label) = pin {
            match first.get(label) {
                Some(&r) => {
                    let (ra, rb) = (find(&mut parent, r), find(&mut parent, i as u32));
                    if ra != rb {
                        union(&mut parent, &mut members, &mut pinned, ra, rb);
                    }
                }
                None => {
                    first.insert(*label, i as u32);
                }
            }
        }
    }
    let mut conflicts = Vec::new();
    for &(a, b, v) in decisions {
        if v != Verdict::Confirmed {
            continue;
        }
        let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
        if ra == rb {
            continue;
        }
        if conflicting(&mut parent, &members, &rejects, ra, rb) {
            conflicts.push((a.min(b), a.max(b)));
        } else {
            union(&mut parent, &mut members, &mut pinned, ra, rb);
        }
    }
    let mut sorted: Vec<ScoredPair> = edges
        .iter()
        .filter(|e| e.probability >= threshold && e.left != e.right)
        .copied()
        .collect();
    sorted.sort_unstable_by(|a, b| {
        b.bits
            .total_cmp(&a.bits)
            .then(a.left.cmp(&b.left))
            .then(a.right.cmp(&b.right))
    });
    let known: HashMap<(u32, u32), f64> = sorted
        .iter()
        .map(|e| ((e.left.min(e.right), e.left.max(e.right)), e.probability))
        .collect();
    let score = |x: u32, y: u32| {
        let g = compare::compare(&records[x as usize], &records[y as usize], &model.active);
        model::probability(model.bits(&g))
    };
    let mut refused: HashSet<(u32, u32, usize, usize)> = HashSet::new();
    let mut merges = Vec::new();
    for e in &sorted {
        let (ri, rj) = (find(&mut parent, e.left), find(&mut parent, e.right));
        if ri == rj || (pinned[ri as usize] && pinned[rj as usize]) {
            continue;
        }
        let (lo, hi) = (ri.min(rj), ri.max(rj));
        let state = (
            lo,
            hi,
            members[lo as usize].len(),
            members[hi as usize].len(),
        );
        if refused.contains(&state) {
            continue;
        }
        if conflicting(&mut parent, &members, &rejects, ri, rj) {
            refused.insert(state);
            continue;
        }
        let (a, b) = (&members[ri as usize], &members[rj as usize]);
        let merge = if a.len() == 1 && b.len() == 1 {
            true
        } else {
            let total = a.len() * b.len();
            let step = total.div_ceil(MAX_CROSS_PAIRS).max(1);
            let mut votes = Votes::new(threshold);
            for k in (0..total).step_by(step) {
                let (x, y) = (a[k / b.len()], b[k % b.len()]);
                votes.add(
                    known
                        .get(&(x.min(y), x.max(y)))
                        .copied()
                        .unwrap_or_else(|| score(x, y)),
                );
            }
            votes.merge()
        };
        if merge {
            union(&mut parent, &mut members, &mut pinned, ri, rj);
            merges.push(*e);
        } else {
            refused.insert(state);
        }
    }
    Constrained {
        group: (0..n as u32).map(|i| find(&mut parent, i)).collect(),
        merges,
        conflicts,
    }
}

/// Cluster ids for groups, reusing previous ids by largest overlap.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Named {
    pub(crate) ids: Vec<String>,
    pub(crate) clusters: usize,
    pub(crate) new_clusters: usize,
    pub(crate) grown_clusters: usize,
}

pub(crate) fn assign_ids(
    group: &[u32],
    previous: &[Option<String>],
    new_id: &mut dyn FnMut() -> String,
) -> Named {
    let mut overlap: HashMap<(u32, &str), usize> = HashMap::new();
    for (i, &g) in group.iter().enumerate() {
        if let Some(Some(p)) = previous.get(i) {
            *overlap.entry((g, p.as_str())).or_default() += 1;
        }
    }
    let mut candidates: Vec<(usize, u32, &str)> =
        overlap.into_iter().map(|((g, p), c)| (c, g, p)).collect();
    candidates.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.2.cmp(b.2)).then(a.1.cmp(&b.1)));
    let mut named: HashMap<u32, String> = HashMap::new();
    let mut used: HashSet<&str> = HashSet::new();
    for (_, g, p) in candidates {
        if !named.contains_key(&g) && !used.contains(p) {
            named.insert(g, p.to_owned());
            used.insert(p);
        }
    }
    let kept: HashSet<u32> = named.keys().copied().collect();
    let mut grown: HashSet<u32> = HashSet::new();
    let mut new_clusters = 0;
    for (i, &g) in group.iter().enumerate() {
        if let std::collections::hash_map::Entry::Vacant(slot) = named.entry(g) {
            slot.insert(new_id());
            new_clusters += 1;
        }
        if kept.contains(&g) {
            let same = previous
                .get(i)
                .and_then(Option::as_deref)
                .is_some_and(|p| named.get(&g).is_some_and(|id| id == p));
            if !same {
                grown.insert(g);
            }
        }
    }
    let ids: Vec<String> = group
        .iter()
        .map(|g| named.get(g).cloned().unwrap_or_default())
        .collect();
    Named {
        ids,
        clusters: named.len(),
        new_clusters,
        grown_clusters: grown.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::Property;

    const MODEL: &str = r#"{"format":1,"prior":0.0001,"candidate_match_rate":0.5,"em_iterations":1,"tf_records":100,
      "fields":[
        {"field":"givenName","levels":["exact","variant","close","partial","different"],"m":[0.7,0.15,0.08,0.04,0.03],"u":[0.002,0.004,0.01,0.05,0.934]},
        {"field":"familyName","levels":["exact","variant","close","partial","different"],"m":[0.7,0.15,0.08,0.04,0.03],"u":[0.001,0.003,0.01,0.05,0.936]},
        {"field":"birthDate","levels":["exact","close","partial","year","different"],"m":[0.85,0.05,0.04,0.03,0.03],"u":[0.0001,0.0005,0.002,0.02,0.9774]},
        {"field":"passportNumber","levels":["exact","one-edit","two-edits","different"],"m":[0.9,0.05,0.02,0.03],"u":[0.00001,0.0001,0.001,0.99889]}
      ]}"#;

    fn model() -> Model {
        Model::from_json(MODEL).unwrap()
    }

    fn person(id: &str, name: &str, birth: &str, passport: &str) -> Record {
        let mut values = vec![
            (Property::Name, name.to_owned()),
            (Property::BirthDate, birth.to_owned()),
        ];
        if !passport.is_empty() {
            values.push((Property::PassportNumber, passport.to_owned()));
        }
        Record::new(id, values)
    }

    fn counter() -> impl FnMut() -> String {
        let mut n = 0;
        move || {
            n += 1;
            format!("new-{n}")
        }
    }

    fn existing() -> Vec<(Record, String)> {
        vec![
            (
                person("a1", "Ahmed Al-Rashid", "1984-03-02", "P1234567"),
                "A".into(),
            ),
            (
                person("a2", "Achmed Alrasheed", "1984-03-02", ""),
                "A".into(),
            ),
            (
                person("b1", "Maria Kowalski", "1975-11-30", "K5550001"),
                "B".into(),
            ),
        ]
    }

    #[test]
    fn model_round_trips_through_json() {
        let m = model();
        let again = Model::from_json(&m.to_json()).unwrap();
        assert_eq!(again.to_json(), m.to_json());
        let (a, b) = (existing().remove(0).0, existing().remove(1).0);
        assert_eq!(weights_summary(&m, &a, &b), weights_summary(&again, &a, &b));
    }

    #[test]
    fn a_new_record_joins_the_right_cluster() {
        let new = vec![
            person("n1", "AL RASHID Ahmed", "02/03/1984", "P 123 4567"),
            person("n2", "Juri Juschtschenko", "1961-07-11", ""),
        ];
        let o = resolve_new(
            &model(),
            existing(),
            new,
            &[],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_eq!(o.cluster_ids, ["A", "A", "B", "A", "new-1"]);
        assert_eq!((o.new_clusters, o.grown_clusters, o.clusters), (1, 1, 3));
        assert_eq!(o.merges.len(), 1);
        assert!(o.merges[0].right == "n1" || o.merges[0].left == "n1");
        assert!(
            o.merges[0].weights.contains("passportNumber=exact"),
            "{:?}",
            o.merges[0]
        );
    }

    #[test]
    fn a_rerun_with_nothing_new_is_a_no_op() {
        let o = resolve_new(
            &model(),
            existing(),
            Vec::new(),
            &[],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_eq!(o.cluster_ids, ["A", "A", "B"]);
        assert_eq!(
            (o.new_clusters, o.grown_clusters, o.merges.len()),
            (0, 0, 0)
        );
        assert_eq!(o.candidate_pairs, 0);
    }

    #[test]
    fn a_rejected_pair_stays_split() {
        let reject = |l: &str, r: &str| PairDecision {
            left: l.into(),
            right: r.into(),
            verdict: Verdict::Rejected,
        };
        // The new record matches cluster A, but a reviewer rejected it against a2.
        let new = vec![person("n1", "AL RASHID Ahmed", "02/03/1984", "P 123 4567")];
        let o = resolve_new(
            &model(),
            existing(),
            new,
            &[reject("a2", "n1")],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_eq!(o.cluster_ids, ["A", "A", "B", "new-1"]);
        // Transitively: x–y and y–z match strongly, x/z rejected: x and z never share a
        // cluster, whichever way the chain would run.
        let chain = vec![
            (
                person("x", "Ivan Petrov", "1970-01-01", "X1111111"),
                "C".to_owned(),
            ),
            (
                person("y", "Ivan Petrov", "1970-01-01", "X1111111"),
                "C".to_owned(),
            ),
            (
                person("z", "Ivan Petrov", "1970-01-01", "X1111111"),
                "C".to_owned(),
            ),
        ];
        let o = recluster(
            &model(),
            chain,
            &[reject("x", "z")],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_ne!(o.cluster_ids[0], o.cluster_ids[2]);
        // The larger part keeps the id.
        assert_eq!(o.cluster_ids.iter().filter(|c| *c == "C").count(), 2);
    }

    #[test]
    fn a_confirmed_pair_is_kept_together() {
        let records = vec![
            (
                person("p", "Anna Schmidt", "1990-01-01", ""),
                "P".to_owned(),
            ),
            (
                person("q", "Olga Ivanova", "1955-05-05", ""),
                "Q".to_owned(),
            ),
        ];
        let confirm = PairDecision {
            left: "q".into(),
            right: "p".into(),
            verdict: Verdict::Confirmed,
        };
        let o = recluster(
            &model(),
            records,
            &[confirm],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_eq!(o.cluster_ids[0], o.cluster_ids[1]);
        assert_eq!(o.clusters, 1);
    }

    #[test]
    fn cluster_ids_are_stable_across_runs() {
        // Reclustering unchanged clusters keeps every id; growing keeps it too.
        let o = recluster(
            &model(),
            existing(),
            &[],
            &Config::default(),
            &mut counter(),
        )
        .unwrap();
        assert_eq!(o.cluster_ids, ["A", "A", "B"]);
        assert_eq!((o.new_clusters, o.grown_clusters), (0, 0));
        let mut grown = existing();
        grown.push((
            person("a3", "Ahmad Alrashid", "1984-03-02", "P1234567"),
            "new".into(),
        ));
        let o = recluster(&model(), grown, &[], &Config::default(), &mut counter()).unwrap();
        assert_eq!(o.cluster_ids, ["A", "A", "B", "A"]);
        assert_eq!(o.grown_clusters, 1);
    }

    #[test]
    fn ids_go_to_the_largest_overlap() {
        let prev = |s: &str| Some(s.to_owned());
        let named = assign_ids(
            &[0, 1, 1, 1, 1],
            &[prev("X"), prev("X"), prev("X"), prev("X"), None],
            &mut counter(),
        );
        assert_eq!(named.ids, ["new-1", "X", "X", "X", "X"]);
        assert_eq!(
            (named.new_clusters, named.grown_clusters, named.clusters),
            (1, 1, 2)
        );
    }

    #[test]
    fn repeated_ids_are_refused() {
        let mut e = existing();
        e.push((person("a1", "Someone Else", "2000-01-01", ""), "Z".into()));
        assert!(matches!(
            recluster(&model(), e, &[], &Config::default(), &mut counter()),
            Err(Error::RepeatedId(id)) if id == "a1"
        ));
    }
}
