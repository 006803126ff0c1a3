//! Quality metrics on labelled data: pairwise and B-cubed precision/recall/F1, blocking
//! recall.

use std::collections::{HashMap, HashSet};

use serde::Serialize;

use crate::error::{Error, Result};

/// Reads a truth file (`record_id,entity_id` with a header) into record → entity.
pub fn read_truth<R: std::io::Read>(
    reader: R,
    source_name: &str,
) -> Result<HashMap<String, String>> {
    let mut csv = csv::ReaderBuilder::new().from_reader(reader);
    let err = |line: u64, reason: String| Error::Csv {
        source_name: source_name.to_owned(),
        line,
        reason,
    };
    let headers = csv.headers().map_err(|e| err(1, e.to_string()))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                err(
                    1,
                    format!("no column {name:?} (a truth file has record_id,entity_id)"),
                )
            })
    };
    let (rid, eid) = (col("record_id")?, col("entity_id")?);
    let mut out = HashMap::new();
    for row in csv.records() {
        let row =
            row.map_err(|e| err(e.position().map_or(0, csv::Position::line), e.to_string()))?;
        let line = row.position().map_or(0, csv::Position::line);
        match (row.get(rid), row.get(eid)) {
            (Some(r), Some(e)) if !r.trim().is_empty() => {
                out.insert(r.trim().to_owned(), e.trim().to_owned());
            }
            _ => return Err(err(line, "missing record_id or entity_id".to_owned())),
        }
    }
    Ok(out)
}

/// Precision, recall and F1.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Prf {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
}

impl Prf {
    /// From true positives, predicted positives and actual positives.
    pub fn from_counts(tp: f64, predicted: f64, actual: f64) -> Prf {
        let precision = if predicted > 0.0 { tp / predicted } else { 1.0 };
        let recall = if actual > 0.0 { tp / actual } else { 1.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        Prf {
            precision,
            recall,
            f1,
        }
    }
}

/// True pairs among records labelled by entity: all pairs within an entity (dedupe), or
/// pairs with one record per side (link, `n_left = Some(k)`: records `0..k` are left).
pub fn true_pairs(entity: &[Option<&str>], n_left: Option<usize>) -> HashSet<(u32, u32)> {
    let mut by_entity: HashMap<&str, Vec<u32>> = HashMap::new();
    for (i, e) in entity.iter().enumerate() {
        if let Some(e) = e {
            by_entity.entry(e).or_default().push(i as u32);
        }
    }
    let mut out = HashSet::new();
    for members in by_entity.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                let keep = match n_left {
                    None => true,
                    Some(k) => ((a as usize) < k) != ((b as usize) < k),
                };
                if keep {
                    out.insert((a.min(b), a.max(b)));
                }
            }
        }
    }
    out
}

/// Pairwise precision/recall/F1 of `predicted` pairs against `truth` pairs.
pub fn pairwise(predicted: &[(u32, u32)], truth: &HashSet<(u32, u32)>) -> Prf {
    let tp = predicted
        .iter()
        .filter(|(a, b)| truth.contains(&((*a).min(*b), (*a).max(*b))))
        .count();
    Prf::from_counts(tp as f64, predicted.len() as f64, truth.len() as f64)
}

/// All within-cluster pairs of a clustering (`cluster[i]` = cluster of record `i`).
pub fn cluster_pairs(cluster: &[u32]) -> Vec<(u32, u32)> {
    let mut groups: HashMap<u32, Vec<u32>> = HashMap::new();
    for (i, c) in cluster.iter().enumerate() {
        groups.entry(*c).or_default().push(i as u32);
    }
    let mut out = Vec::new();
    for members in groups.values() {
        for (x, &a) in members.iter().enumerate() {
            for &b in &members[x + 1..] {
                out.push((a, b));
            }
        }
    }
    out
}

/// B-cubed precision/recall/F1 of a clustering against entity labels (records without a
/// label are left out).
pub fn bcubed(cluster: &[u32], entity: &[Option<&str>]) -> Prf {
    let mut cl_size: HashMap<u32, f64> = HashMap::new();
    let mut ent_size: HashMap<&str, f64> = HashMap::new();
    let mut both: HashMap<(u32, &str), f64> = HashMap::new();
    for (c, e) in cluster.iter().zip(entity) {
        if let Some(e) = e {
            *cl_size.entry(*c).or_default() += 1.0;
            *ent_size.entry(e).or_default() += 1.0;
            *both.entry((*c, e)).or_default() += 1.0;
        }
    }
    let (mut p, mut r, mut n) = (0.0, 0.0, 0.0);
    for (c, e) in cluster.iter().zip(entity) {
        if let Some(e) = e {
            let shared = both[&(*c, *e)];
            p += shared / cl_size[c];
            r += shared / ent_size[e];
            n += 1.0;
        }
    }
    if n == 0.0 {
        return Prf::from_counts(0.0, 0.0, 0.0);
    }
    let (precision, recall) = (p / n, r / n);
    let f1 = 2.0 * precision * recall / (precision + recall);
    Prf {
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_on_a_small_example() {
        let entity = [Some("a"), Some("a"), Some("a"), Some("b"), None];
        let truth = true_pairs(&entity, None);
        assert_eq!(truth.len(), 3);
        let clusters = [0, 0, 2, 3, 4];
        let pw = pairwise(&cluster_pairs(&clusters), &truth);
        assert_eq!((pw.precision, pw.recall), (1.0, 1.0 / 3.0));
        let b = bcubed(&clusters, &entity);
        assert!((b.precision - 1.0).abs() < 1e-12);
        assert!((b.recall - (2.0 / 3.0 * 2.0 + 1.0 / 3.0 + 1.0) / 4.0).abs() < 1e-12);
        let link = true_pairs(&entity, Some(1));
        assert_eq!(link.len(), 2);
    }
}
