//! `palermo import`: a CSV or FtM JSON lines file into the store, all or nothing.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use palermo_ingest::{
    ImportConfig, ImportSummary, InputFormat, MarkingConfig, import_file, read_entities,
};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_model::{HandlingCode, Markings, Originator, Purpose, Schema, Tlp};

use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;
use crate::store::open_store;

/// Arguments of `palermo import`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The file to import (`.csv`/`.tsv`, or `.jsonl`/`.ndjson` for FtM).
    file: PathBuf,
    /// Input format; guessed from the extension when omitted.
    #[arg(long, value_enum)]
    input_format: Option<FormatArg>,
    /// Schema of CSV records.
    #[arg(long, default_value = "Person")]
    schema: String,
    /// CSV column holding the record id (default: `id`, `record_id` or `rec_id`).
    #[arg(long)]
    id_column: Option<String>,
    /// Map a CSV column to a property (`COLUMN=property`, `COLUMN=-` to ignore); repeatable.
    #[arg(long = "map", value_name = "COLUMN=PROPERTY")]
    maps: Vec<String>,
    /// TLP level for records that are not victims (default TLP:AMBER).
    #[arg(long, value_name = "TLP")]
    marking: Option<String>,
    /// TLP level for victims (default TLP:RED, never shared onward).
    #[arg(long, value_name = "TLP")]
    victim_marking: Option<String>,
    /// Purpose limitation: `case:ID` or free text.
    #[arg(long)]
    purpose: Option<String>,
    /// Retention end date (YYYY-MM-DD).
    #[arg(long)]
    retain_until: Option<String>,
    /// Originating node id.
    #[arg(long, requires = "originator_agency")]
    originator_node: Option<String>,
    /// Originating agency name.
    #[arg(long, requires = "originator_node")]
    originator_agency: Option<String>,
    /// Allow recipients to share these records onward.
    #[arg(long)]
    onward_sharing: bool,
    /// Europol-style handling code (H0-H3).
    #[arg(long)]
    handling: Option<String>,
    #[command(flatten)]
    key: crate::cmd::ledger::KeyArgs,
    /// Check every record without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// The importing user recorded in provenance (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Csv,
    Ftm,
}

/// Runs `palermo import`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let config = config(&args).bad_input()?;
    if args.dry_run {
        return dry_run(ctx, &args, &config);
    }
    let store = open_store(ctx).await?;
    let total = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    let bar = progress_bar(total);
    let mut progress = |bytes: u64| bar.set_position(bytes);
    let result = import_file(&store, &args.file, &config, &mut progress).await;
    bar.finish_and_clear();
    let summary = match result {
        Ok(summary) => summary,
        Err(err) if err.is_bad_input() => return Err(CliError::bad_input(err)),
        Err(err) => return Err(err.into()),
    };
    for warning in &summary.warnings {
        eprintln!("warning: {warning}");
    }
    // Every import batch goes on the ledger. The import has committed by
    // now; if this step fails the batch is in the store but not yet on the
    // ledger, and the error says so (exit 1).
    let entry = NewEntry {
        actor: config.imported_by.clone(),
        case: None,
        time: None,
        body: EntryBody::ImportBatch {
            source: format!("{} (batch {})", summary.file, summary.batch_id),
            n_records: summary.records,
            sha256: None,
        },
    };
    crate::cmd::ledger::append(ctx, &store, &args.key, &config.imported_by, vec![entry])
        .await
        .map_err(|err| {
            CliError::failure(format!(
                "batch {} was imported but could not be recorded on the ledger: {:#}",
                summary.batch_id, err.error
            ))
        })?;
    ctx.report(&summary, text)
}

/// Validates the file without a store.
fn dry_run(ctx: &Ctx, args: &Args, config: &ImportConfig) -> Result<(), CliError> {
    let file = std::fs::File::open(&args.file)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", args.file.display())))?;
    let input = std::io::BufReader::new(file);
    let (records, warnings) =
        read_entities(input, &args.file, config, &mut |_| {}).map_err(CliError::bad_input)?;
    for warning in &warnings {
        eprintln!("warning: {warning}");
    }
    let report = serde_json::json!({ "file": args.file.display().to_string(), "records": records, "dry_run": true });
    ctx.report(&report, |_| {
        format!(
            "{}: {records} valid records (dry run, nothing written)",
            args.file.display()
        )
    })
}

fn text(summary: &ImportSummary) -> String {
    format!(
        "imported {}: {} records ({} new, {} unchanged) in {:.2} s, batch {}",
        summary.file,
        summary.records,
        summary.new,
        summary.unchanged,
        summary.seconds,
        summary.batch_id
    )
}

fn config(args: &Args) -> anyhow::Result<ImportConfig> {
    let schema: Schema = args.schema.parse()?;
    let maps = args
        .maps
        .iter()
        .map(|pair| {
            pair.split_once('=')
                .map(|(c, p)| (c.trim().to_owned(), p.trim().to_owned()))
                .ok_or_else(|| anyhow::anyhow!("--map {pair:?}: expected COLUMN=property"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tlp = args.marking.as_deref().map(str::parse::<Tlp>).transpose()?;
    let victim_tlp = args
        .victim_marking
        .as_deref()
        .map(str::parse::<Tlp>)
        .transpose()?;
    let purpose = args
        .purpose
        .as_deref()
        .map(str::parse::<Purpose>)
        .transpose()?;
    let retain_until = args
        .retain_until
        .as_deref()
        .map(Markings::parse_retain_until)
        .transpose()?;
    let handling = args
        .handling
        .as_deref()
        .map(str::parse::<HandlingCode>)
        .transpose()?;
    let originator = match (&args.originator_node, &args.originator_agency) {
        (Some(node), Some(agency)) => Some(Originator {
            node: node.clone(),
            agency: agency.clone(),
        }),
        _ => None,
    };
    let imported_by = args
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned());
    Ok(ImportConfig {
        format: args.input_format.map(|f| match f {
            FormatArg::Csv => InputFormat::Csv,
            FormatArg::Ftm => InputFormat::Ftm,
        }),
        schema,
        id_column: args.id_column.clone(),
        maps,
        markings: MarkingConfig {
            tlp,
            victim_tlp,
            purpose,
            retain_until,
            originator,
            onward_sharing: args.onward_sharing,
            handling,
        },
        imported_by,
    })
}

/// A byte progress bar on stderr, drawn only when stderr is a terminal and
/// only once the work has run for a second.
pub(crate) fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let visible = bar.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(1));
        if !visible.is_finished() {
            visible.set_draw_target(ProgressDrawTarget::stderr());
            visible.enable_steady_tick(Duration::from_millis(200));
        }
    });
    bar
}
