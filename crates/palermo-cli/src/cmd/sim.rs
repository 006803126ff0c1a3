//! `palermo sim`: generate a synthetic multi-country trafficking scenario
//! with ground truth (see the `palermo-sim` crate docs for the file formats).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Countries (ISO 3166-1 alpha-2, comma-separated), in corridor order: origin first, destination last.
    #[arg(long, default_value = "TH,MY,NL")]
    countries: String,
    /// Number of true persons, all countries together.
    #[arg(long, default_value_t = 10_000)]
    persons: u64,
    /// Random seed: the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output directory (created; must be empty unless --force).
    #[arg(long)]
    out: PathBuf,
    /// Overwrite the scenario in a non-empty output directory.
    #[arg(long)]
    force: bool,
}

/// What `palermo sim --format json` prints.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    pub(crate) out: String,
    pub(crate) seconds: f64,
    #[serde(flatten)]
    pub(crate) summary: palermo_sim::Summary,
}

/// Runs `palermo sim`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let config =
        palermo_sim::Config::parse(&args.countries, args.persons, args.seed).map_err(|err| {
            let flag = match err {
                palermo_sim::Error::NoPersons | palermo_sim::Error::TooManyPersons { .. } => {
                    "--persons"
                }
                _ => "--countries",
            };
            CliError::bad_input(format!("{flag}: {err}"))
        })?;
    let out = args.out.clone();
    let force = args.force;
    let report = tokio::task::spawn_blocking(move || generate(&config, &out, force))
        .await
        .context("the scenario generator stopped")??;
    ctx.report(&report, text)
}

/// Checks the output directory, then generates with a progress bar; shared with `palermo demo`.
pub(crate) fn generate(
    config: &palermo_sim::Config,
    out: &Path,
    force: bool,
) -> Result<Report, CliError> {
    palermo_sim::prepare_output(out, force).map_err(|err| match err {
        palermo_sim::Error::OutputNotEmpty { .. } => {
            CliError::bad_input(format!("--out: {err} (use --force to overwrite)"))
        }
        err => CliError::from(anyhow::Error::new(err)),
    })?;
    let started = Instant::now();
    let bar = ProgressBar::new(config.persons());
    bar.set_style(
        ProgressStyle::with_template("{spinner} generating {pos}/{len} persons {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let summary = palermo_sim::write_scenario(config, out, &mut |done, _| bar.set_position(done))
        .with_context(|| format!("writing the scenario to {}", out.display()))?;
    bar.finish_and_clear();
    Ok(Report {
        out: out.display().to_string(),
        seconds: started.elapsed().as_secs_f64(),
        summary,
    })
}

/// Formats a byte count as MB with one decimal.
pub(crate) fn megabytes(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / 1_000_000.0)
}

fn text(report: &Report) -> String {
    let s = &report.summary;
    let mut out = format!(
        "wrote a scenario of {} persons in {} countries (seed {}) to {} in {:.2} s, {}\n",
        s.persons,
        s.countries.len(),
        s.seed,
        report.out,
        report.seconds,
        megabytes(s.bytes)
    );
    for c in &s.countries {
        out.push_str(&format!(
            "  {}  {:>9} records, {:>5.1}% unrelated, {:>9}  ({})\n",
            c.code,
            c.records,
            c.unrelated_share * 100.0,
            megabytes(c.bytes),
            c.agency
        ));
    }
    let t = &s.truth;
    out.push_str(&format!(
        "truth: {} organisations, {} offenders, {} victims ({} children, {} on false documents), {} disrupted routes\n",
        t.organisations, t.offenders, t.victims, t.child_victims, t.victims_on_false_documents, t.disrupted_routes
    ));
    out.push_str(&format!(
        "import a view with: palermo import {}/<CC>/persons.csv --id-column id",
        report.out
    ));
    out
}
