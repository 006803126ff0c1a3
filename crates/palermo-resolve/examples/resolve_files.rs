//! Runs the engine on CSV files without the CLI (handy while the CLI's other
//! dependencies are being built): `resolve_files link A B OUT [TRUTH]` or
//! `resolve_files dedupe IN OUT [TRUTH]`, id column `rec_id` unless `ID_COLUMN` is set.
#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufReader, BufWriter};

use palermo_resolve::{Config, Mapping, Resolution, read_csv};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let id = std::env::var("ID_COLUMN").unwrap_or_else(|_| "rec_id".to_owned());
    let threshold = std::env::var("THRESHOLD")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0.5);
    let load = |p: &str| {
        read_csv(
            BufReader::new(File::open(p).unwrap()),
            p,
            &id,
            &Mapping::default(),
        )
        .unwrap()
    };
    let config = Config {
        threshold,
        ..Config::default()
    };
    let t = std::time::Instant::now();
    let (res, out, truth) = match args[1].as_str() {
        "link" => {
            let r = Resolution::link(load(&args[2]), load(&args[3]), &config).unwrap();
            r.write_pairs(BufWriter::new(File::create(&args[4]).unwrap()))
                .unwrap();
            (r, &args[4], args.get(5))
        }
        _ => {
            let r = Resolution::dedupe(load(&args[2]), &config).unwrap();
            r.write_clusters(BufWriter::new(File::create(&args[3]).unwrap()))
                .unwrap();
            (r, &args[3], args.get(4))
        }
    };
    println!("wrote {out} in {:.3}s", t.elapsed().as_secs_f64());
    println!("{}", serde_json::to_string(res.stats()).unwrap());
    println!("{}", serde_json::to_string(res.model()).unwrap());
    if let Some(t) = truth {
        let truth = palermo_resolve::metrics::read_truth(File::open(t).unwrap(), t).unwrap();
        println!("{}", serde_json::to_string(&res.evaluate(&truth)).unwrap());
    }
    if let Ok(pair) = std::env::var("EXPLAIN") {
        let (a, b) = pair.split_once(',').unwrap();
        println!("{}", res.explain(a, b).unwrap().to_text());
    }
}
