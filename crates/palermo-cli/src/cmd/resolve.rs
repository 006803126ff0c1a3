//! `palermo link`, `dedupe`, `resolve` and `explain`.
//!
//! `link` and `dedupe` work file to file without a database (DESIGN.md §3); `explain`
//! explains a pair from the same files, or from the store with its stored model.
//! `resolve` resolves the store's persons into clusters (full or incremental runs,
//! human confirm/reject decisions, `show`) through `palermo_node::resolution`; `show` and
//! `explain` from the store show only records the sharing policy lets the principal view.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use palermo_resolve::{Config, Dataset, Evaluation, Mapping, Resolution, Stats};
use serde::Serialize;

use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;

/// Options shared by the file commands.
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    /// The column holding each record's unique id.
    #[arg(long)]
    id_column: String,
    /// Map a column to a property (`COLUMN=firstName`, or `COLUMN=ignore`); repeatable.
    /// Common headers are recognised without it.
    #[arg(long = "map", value_name = "COLUMN=PROPERTY")]
    maps: Vec<String>,
    /// Match probability at or above which two records are the same person.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Split blocks with more records than this by sub-keys, and skip sub-blocks still
    /// larger (they are too common to bound the work).
    #[arg(long, default_value_t = 400)]
    max_block: usize,
}

/// Arguments of `palermo link`.
#[derive(Debug, clap::Args)]
pub(crate) struct LinkArgs {
    /// The left CSV file.
    left: PathBuf,
    /// The right CSV file.
    right: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Where to write `left_id,right_id,score`.
    #[arg(long)]
    out: PathBuf,
    /// A `record_id,entity_id` file: also report blocking recall and precision/recall.
    #[arg(long)]
    truth: Option<PathBuf>,
}

/// Arguments of `palermo dedupe`.
#[derive(Debug, clap::Args)]
pub(crate) struct DedupeArgs {
    /// The input CSV file.
    input: PathBuf,
    #[command(flatten)]
    common: Common,
    /// Where to write `record_id,cluster_id` (one row per input record).
    #[arg(long)]
    out: PathBuf,
    /// Also write the scored pairs at or above the threshold (`left_id,right_id,score`).
    #[arg(long)]
    pairs_out: Option<PathBuf>,
    /// A `record_id,entity_id` file: also report blocking recall, pairwise and B-cubed quality.
    #[arg(long)]
    truth: Option<PathBuf>,
}

/// What `link` and `dedupe` report.
#[derive(Debug, Serialize)]
struct RunReport {
    command: &'static str,
    out: String,
    rows_written: usize,
    threshold: f64,
    seconds_total: f64,
    stats: Stats,
    model: palermo_resolve::Model,
    evaluation: Option<Evaluation>,
}

fn config(common: &Common) -> Result<Config, CliError> {
    if !(0.0..=1.0).contains(&common.threshold) || common.threshold.is_nan() {
        return Err(CliError::bad_input(format!(
            "--threshold {} is not a probability in [0, 1]",
            common.threshold
        )));
    }
    Ok(Config {
        threshold: common.threshold,
        max_block: common.max_block,
        ..Config::default()
    })
}

/// Reads a persons file; `explained` keeps the raw values that only explanations show
/// (`palermo link` and `dedupe` write pairs and clusters and leave them out: at 1M records
/// about 45 MB of the peak, `read_csv_with_raw`).
fn load(path: &Path, common: &Common, explained: bool) -> Result<Dataset, CliError> {
    let mapping = Mapping::parse(&common.maps).bad_input()?;
    let file = File::open(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    // The file's length sizes the records list once (see `read_csv_sized`).
    let size = file.metadata().ok().map(|m| m.len());
    palermo_resolve::read_csv_with_raw(
        BufReader::new(file),
        &path.display().to_string(),
        &common.id_column,
        &mapping,
        size,
        explained,
    )
    .bad_input()
}

fn load_truth(path: Option<&Path>) -> Result<Option<HashMap<String, String>>, CliError> {
    let Some(path) = path else { return Ok(None) };
    let file = File::open(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    let truth =
        palermo_resolve::metrics::read_truth(BufReader::new(file), &path.display().to_string())
            .bad_input()?;
    Ok(Some(truth))
}

fn create(path: &Path) -> Result<BufWriter<File>, CliError> {
    let file = File::create(path).with_context(|| format!("writing {}", path.display()))?;
    Ok(BufWriter::new(file))
}

fn text_report(r: &RunReport) -> String {
    let s = &r.stats;
    let mut out = if r.command == "link" {
        format!(
            "linked {} × {} records: {} candidate pairs ({:.4}% of {}), {} pairs at p ≥ {} → {}\n",
            s.left_records,
            s.right_records,
            s.blocking.candidate_pairs,
            100.0 * s.blocking.candidate_pairs as f64 / s.blocking.possible_pairs.max(1.0),
            s.blocking.possible_pairs,
            r.rows_written,
            r.threshold,
            r.out
        )
    } else {
        format!(
            "deduplicated {} records into {} clusters: {} candidate pairs, {} pairs at p ≥ {} → {}\n",
            s.left_records,
            s.clusters.unwrap_or(0),
            s.blocking.candidate_pairs,
            s.pairs_at_threshold,
            r.threshold,
            r.out
        )
    };
    out.push_str(&format!(
        "match rate among candidates {:.4}, prior {:.3e}, EM iterations {}, {:.3} s\n",
        r.model.candidate_match_rate, r.model.prior, r.model.em_iterations, r.seconds_total
    ));
    if let Some(e) = &r.evaluation {
        out.push_str(&format!(
            "truth: {} labelled records, {} true pairs, blocking recall {:.4}\n",
            e.labelled_records, e.true_pairs, e.blocking_recall
        ));
        out.push_str(&format!(
            "pairs:    precision {:.4}  recall {:.4}  F1 {:.4}\n",
            e.pairs.precision, e.pairs.recall, e.pairs.f1
        ));
        if let (Some(p), Some(b)) = (&e.cluster_pairs, &e.cluster_bcubed) {
            out.push_str(&format!(
                "clusters: pairwise precision {:.4}  recall {:.4}  F1 {:.4}\n",
                p.precision, p.recall, p.f1
            ));
            out.push_str(&format!(
                "clusters: B-cubed  precision {:.4}  recall {:.4}  F1 {:.4}\n",
                b.precision, b.recall, b.f1
            ));
        }
    }
    out
}

/// Runs `palermo link`.
pub(crate) async fn run_link(ctx: &Ctx, args: LinkArgs) -> Result<(), CliError> {
    let run = Run::begin("link", &args.out, &args.common, args.truth.as_deref())?;
    let left = load(&args.left, &args.common, false)?;
    let right = load(&args.right, &args.common, false)?;
    let res = Resolution::link(left, right, &run.config).bad_input()?;
    let rows = res.write_pairs(create(&args.out)?)?;
    run.finish(ctx, res, rows)
}

/// A `link` or `dedupe` run: what its report needs besides the resolution.
struct Run<'a> {
    command: &'static str,
    out: &'a Path,
    start: Instant,
    config: Config,
    truth: Option<HashMap<String, String>>,
}

impl<'a> Run<'a> {
    /// Starts the clock, then checks the options and reads the truth file (`--truth`),
    /// before any data is read.
    fn begin(
        command: &'static str,
        out: &'a Path,
        common: &Common,
        truth: Option<&Path>,
    ) -> Result<Run<'a>, CliError> {
        let start = Instant::now();
        let config = config(common)?;
        let truth = load_truth(truth)?;
        Ok(Run {
            command,
            out,
            start,
            config,
            truth,
        })
    }

    /// Reports the run, which wrote `rows_written` rows: the time is taken before the
    /// scoring against the truth, so it is the run's alone. `res` is left to the end of
    /// the process.
    fn finish(self, ctx: &Ctx, res: Resolution, rows_written: usize) -> Result<(), CliError> {
        let report = RunReport {
            command: self.command,
            out: self.out.display().to_string(),
            rows_written,
            threshold: self.config.threshold,
            seconds_total: self.start.elapsed().as_secs_f64(),
            stats: res.stats().clone(),
            model: res.model().clone(),
            evaluation: self.truth.map(|t| res.evaluate(&t)),
        };
        exit_without_freeing(res);
        ctx.report(&report, text_report)
    }
}

/// Leaves the records to the end of the process rather than freeing them: the command
/// ends after its report, and freeing them one heap block at a time, on one thread, was
/// about 1% of a 1M-record `palermo dedupe` (0.1 s before the process could exit).
fn exit_without_freeing(res: Resolution) {
    std::mem::forget(res);
}

/// Runs `palermo dedupe`.
pub(crate) async fn run_dedupe(ctx: &Ctx, args: DedupeArgs) -> Result<(), CliError> {
    let run = Run::begin("dedupe", &args.out, &args.common, args.truth.as_deref())?;
    let data = load(&args.input, &args.common, false)?;
    let res = Resolution::dedupe(data, &run.config).bad_input()?;
    let rows = res.write_clusters(create(&args.out)?)?;
    if let Some(path) = &args.pairs_out {
        res.write_pairs(create(path)?)?;
    }
    run.finish(ctx, res, rows)
}

/// Arguments of `palermo explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {
    /// The first record id (on the left side when linking).
    id1: String,
    /// The second record id (on the right side when linking).
    id2: String,
    /// Explain within one file (the model is trained as by `palermo dedupe`).
    #[arg(long, conflicts_with_all = ["left", "right"])]
    input: Option<PathBuf>,
    /// Explain across two files (the model is trained as by `palermo link`).
    #[arg(long, requires = "right")]
    left: Option<PathBuf>,
    /// The right file when linking.
    #[arg(long, requires = "left")]
    right: Option<PathBuf>,
    /// The column holding each record's unique id (files only).
    #[arg(long)]
    id_column: Option<String>,
    /// Map a column to a property (`COLUMN=firstName`, or `COLUMN=ignore`); repeatable
    /// (files only).
    #[arg(long = "map", value_name = "COLUMN=PROPERTY")]
    maps: Vec<String>,
    /// Match probability at or above which two records are the same person (files only).
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Split blocks with more records than this by sub-keys, skip larger sub-blocks (files
    /// only).
    #[arg(long, default_value_t = 400)]
    max_block: usize,
    /// Who asks, when explaining from the store (both records must be viewable).
    #[command(flatten)]
    access: crate::cmd::policy::AccessArgs,
}

/// Runs `palermo explain`: from files when `--input` or `--left/--right` are given,
/// otherwise from the store (`--db`) with its stored model.
pub(crate) async fn run_explain(ctx: &Ctx, args: ExplainArgs) -> Result<(), CliError> {
    if args.input.is_none() && args.left.is_none() {
        return store::explain(ctx, &args.id1, &args.id2, &args.access).await;
    }
    let Some(id_column) = args.id_column.clone() else {
        return Err(CliError::bad_input(
            "--id-column is required when explaining from files",
        ));
    };
    let common = Common {
        id_column,
        maps: args.maps.clone(),
        threshold: args.threshold,
        max_block: args.max_block,
    };
    let config = config(&common)?;
    let res = match (&args.input, &args.left, &args.right) {
        (Some(input), _, _) => {
            Resolution::dedupe(load(input, &common, true)?, &config).bad_input()?
        }
        (None, Some(left), Some(right)) => {
            let (l, r) = (load(left, &common, true)?, load(right, &common, true)?);
            Resolution::link(l, r, &config).bad_input()?
        }
        _ => {
            return Err(CliError::bad_input(
                "pass --input FILE, or --left A --right B, or neither to explain from the store",
            ));
        }
    };
    let explanation = res.explain(&args.id1, &args.id2).bad_input()?;
    ctx.report(&explanation, palermo_resolve::Explanation::to_text)
}

/// Arguments of `palermo resolve`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct ResolveArgs {
    #[command(subcommand)]
    action: Option<ResolveAction>,
    /// Recompute everything from scratch (retrain the model, recluster every person);
    /// human decisions are kept.
    #[arg(long)]
    full: bool,
    /// Match probability at or above which two records are the same person.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Skip blocking keys shared by more records than this.
    #[arg(long, default_value_t = 400)]
    max_block: usize,
    #[command(flatten)]
    key: crate::cmd::ledger::KeyArgs,
    /// The user recorded on the run (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
}

/// `palermo resolve` subcommands.
#[derive(Debug, clap::Subcommand)]
enum ResolveAction {
    /// Record that two records are the same person (they are kept together).
    Confirm(DecideArgs),
    /// Record that two records are different persons (they are kept apart).
    Reject(RejectArgs),
    /// Show the cluster of a record: its members and the decisions about them.
    Show(ShowArgs),
}

/// Arguments of `palermo resolve confirm`.
#[derive(Debug, clap::Args)]
struct DecideArgs {
    /// One record id.
    id1: String,
    /// The other record id.
    id2: String,
    /// Why (kept with the decision).
    #[arg(long)]
    note: Option<String>,
    /// Match probability at or above which two records are the same person.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    #[command(flatten)]
    key: crate::cmd::ledger::KeyArgs,
    /// The deciding user (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
}

/// Arguments of `palermo resolve reject` (a note is required).
#[derive(Debug, clap::Args)]
struct RejectArgs {
    /// One record id.
    id1: String,
    /// The other record id.
    id2: String,
    /// Why the two are different persons (required, kept with the decision).
    #[arg(long)]
    note: String,
    /// Match probability at or above which two records are the same person.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    #[command(flatten)]
    key: crate::cmd::ledger::KeyArgs,
    /// The deciding user (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
}

/// Arguments of `palermo resolve show`.
#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// A record id.
    id: String,
    /// Who asks: members the principal may not view are left out.
    #[command(flatten)]
    access: crate::cmd::policy::AccessArgs,
}

/// Runs `palermo resolve` and its subcommands.
pub(crate) async fn run_resolve(ctx: &Ctx, args: ResolveArgs) -> Result<(), CliError> {
    match args.action {
        None => store::run(ctx, &args).await,
        Some(ResolveAction::Confirm(d)) => {
            let decision = store::Decision {
                id1: d.id1,
                id2: d.id2,
                verdict: palermo_resolve::incremental::Verdict::Confirmed,
                note: d.note,
                threshold: d.threshold,
                user: d.user,
            };
            store::decide(ctx, decision, &d.key).await
        }
        Some(ResolveAction::Reject(d)) => {
            let decision = store::Decision {
                id1: d.id1,
                id2: d.id2,
                verdict: palermo_resolve::incremental::Verdict::Rejected,
                note: Some(d.note),
                threshold: d.threshold,
                user: d.user,
            };
            store::decide(ctx, decision, &d.key).await
        }
        Some(ResolveAction::Show(s)) => store::show(ctx, &s.id, &s.access).await,
    }
}

mod store;
