//! Run with: cargo run --release -p palermo-sim --example generate -- DIR [PERSONS] [COUNTRIES] [SEED]
//!
//! Generates a scenario without the CLI (used for the 1,000,000-person
//! timing under `/usr/bin/time -v`, see `bench/sim/run.sh`).

use std::path::PathBuf;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(
        args.next()
            .ok_or_else(|| anyhow::anyhow!("usage: generate DIR [PERSONS] [COUNTRIES] [SEED]"))?,
    );
    let persons: u64 = args.next().as_deref().unwrap_or("1000000").parse()?;
    let countries = args.next().unwrap_or_else(|| "TH,MY,NL".to_owned());
    let seed: u64 = args.next().as_deref().unwrap_or("42").parse()?;
    let config = palermo_sim::Config::parse(&countries, persons, seed)?;
    palermo_sim::prepare_output(&dir, true)?;
    let started = Instant::now();
    let summary = palermo_sim::write_scenario(&config, &dir, &mut |_, _| {})?;
    let seconds = started.elapsed().as_secs_f64();
    let records: u64 = summary.countries.iter().map(|c| c.records).sum();
    eprintln!(
        "{persons} persons, {} countries: {records} records, {:.1} MB in {seconds:.2} s",
        summary.countries.len(),
        summary.bytes as f64 / 1e6
    );
    Ok(())
}
