//! Run with: cargo run --release --example dedupe -p palermo-resolve -- IN.csv ID_COLUMN OUT.csv [TRUTH.csv [ERRORS.tsv]]
//!
//! Deduplicates a CSV file of person records (as `palermo dedupe` does, without the CLI and
//! its dependencies, so it builds in seconds), writes `record_id,cluster_id`, and prints the
//! phase timings, the trained model's match rate and prior and, with a `record_id,entity_id`
//! truth file, blocking recall and pairwise and B-cubed quality. With ERRORS.tsv it also
//! writes every wrongly split or wrongly merged pair of records with its score, whether
//! blocking paired it, and each field's level and weight (for error analysis).

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::time::Instant;

use anyhow::{Context, bail};
use palermo_resolve::{Config, Mapping, Resolution, metrics, read_csv_with_raw};

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, id_column, out, rest @ ..] = args.as_slice() else {
        bail!("usage: dedupe IN.csv ID_COLUMN OUT.csv [TRUTH.csv]");
    };
    let start = Instant::now();
    let mapping = Mapping::parse::<&str>(&[])?;
    let file = File::open(input).with_context(|| format!("reading {input}"))?;
    let size = file.metadata().ok().map(|m| m.len());
    let data = read_csv_with_raw(
        BufReader::new(file),
        input,
        id_column,
        &mapping,
        size,
        false,
    )?;
    let read = start.elapsed().as_secs_f64();
    let config = Config::default();
    let res = Resolution::dedupe(data, &config)?;
    let file = File::create(out).with_context(|| format!("writing {out}"))?;
    res.write_clusters(BufWriter::new(file))?;
    let stats = res.stats();
    let model = res.model();
    eprintln!(
        "{} records, {} candidate pairs, {} at p >= {}, {} clusters; read {read:.2} s, total {:.2} s",
        stats.left_records,
        stats.blocking.candidate_pairs,
        stats.pairs_at_threshold,
        config.threshold,
        stats.clusters.unwrap_or(0),
        start.elapsed().as_secs_f64()
    );
    eprintln!(
        "match rate among candidates {:.4}, prior {:.3e}",
        model.candidate_match_rate, model.prior
    );
    for (phase, s) in &stats.seconds {
        eprint!("{phase} {s:.2}  ");
    }
    eprintln!();
    for f in &model.fields {
        let levels: Vec<String> = f
            .levels
            .iter()
            .zip(f.m.iter().zip(&f.u))
            .map(|(l, (m, u))| format!("{l}:{m:.3}/{u:.2e}"))
            .collect();
        eprintln!("  {:?}: {}", f.field, levels.join(" "));
    }
    for (kind, n) in &stats.blocking.pairs_by_key {
        if *n > 0 {
            eprint!("{kind}={n} ");
        }
    }
    eprintln!();
    eprintln!(
        "blocks split {}, (sub-)blocks left unpaired as too large {}",
        stats.blocking.split_blocks, stats.blocking.skipped_blocks
    );
    if let Some(truth) = rest.first() {
        let file = File::open(truth).with_context(|| format!("reading {truth}"))?;
        let truth = metrics::read_truth(BufReader::new(file), truth)?;
        let e = res.evaluate(&truth);
        eprintln!(
            "blocking recall {:.4}; pairs P {:.4} R {:.4} F1 {:.4}",
            e.blocking_recall, e.pairs.precision, e.pairs.recall, e.pairs.f1
        );
        if let (Some(p), Some(b)) = (&e.cluster_pairs, &e.cluster_bcubed) {
            eprintln!(
                "clusters: pairwise P {:.4} R {:.4} F1 {:.4}; B-cubed P {:.4} R {:.4} F1 {:.4}",
                p.precision, p.recall, p.f1, b.precision, b.recall, b.f1
            );
        }
        if let Some(path) = rest.get(1) {
            write_errors(&res, &truth, path)?;
        }
    }
    Ok(())
}

/// Writes `kind  left  right  candidate  probability  field:level:bits ...` for every pair
/// the clusters get wrong (`fn`: same person, different clusters; `fp`: the reverse).
fn write_errors(
    res: &Resolution,
    truth: &std::collections::HashMap<String, String>,
    path: &str,
) -> anyhow::Result<()> {
    use std::collections::HashMap;
    use std::io::Write;
    let records = res.records();
    let clusters = res.clusters().unwrap_or_default();
    let mut by_entity: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_cluster: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        if let Some(e) = truth.get(&r.id) {
            by_entity.entry(e.as_str()).or_default().push(i);
        }
        by_cluster.entry(clusters[i]).or_default().push(i);
    }
    let mut out = BufWriter::new(File::create(path).with_context(|| format!("writing {path}"))?);
    let mut write = |kind: &str, i: usize, j: usize| -> anyhow::Result<()> {
        let e = res.explain_indices(i, j);
        let fields: Vec<String> = e
            .fields
            .iter()
            .map(|f| format!("{}:{}:{:.1}", f.field, f.level, f.bits))
            .collect();
        writeln!(
            out,
            "{kind}\t{}\t{}\t{}\t{:.4}\t{:.1}\t{}",
            e.left_id,
            e.right_id,
            e.candidate,
            e.probability,
            e.total_bits,
            fields.join(" ")
        )?;
        Ok(())
    };
    for members in by_entity.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if clusters[i] != clusters[j] {
                    write("fn", i, j)?;
                }
            }
        }
    }
    for members in by_cluster.values() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if truth.get(&records[i].id) != truth.get(&records[j].id) {
                    write("fp", i, j)?;
                }
            }
        }
    }
    Ok(())
}
