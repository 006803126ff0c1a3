//! `palermo pprl encode` and `palermo pprl match`: privacy-preserving record linkage on
//! files (DESIGN.md §3), without a database.
//!
//! `encode` turns a CSV into keyed Bloom-filter encodings (Palermo JSON, which clkhash
//! tools also read); `match` compares two encodings files (Palermo or clkhash JSON) and
//! writes `left_id,right_id,score` with the Dice coefficient as the score.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use palermo_pprl::{Blocking, EncodeConfig, Encoder, Encodings, Hardening, MatchConfig, codec};
use palermo_resolve::Mapping;
use serde::Serialize;

use crate::exit::{CliError, ResultExt};
use crate::output::Ctx;

/// Subcommands of `palermo pprl`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Encode a CSV into keyed Bloom-filter encodings (CLKs) with the group secret.
    Encode(EncodeArgs),
    /// Match two encodings files (Palermo or clkhash JSON) by Dice coefficient.
    Match(MatchArgs),
}

/// Hardening of the encodings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum HardeningArg {
    /// The raw Bloom filter.
    None,
    /// The filter and its complement, permuted with the key (doubles the length).
    Balance,
    /// The filter folded once with XOR (halves the length).
    XorFold,
}

/// Candidate selection for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum BlockingArg {
    /// Exhaustive for small inputs, Hamming-LSH above 2·10⁹ pairs.
    Auto,
    /// Every pair the (exact) popcount filter lets through.
    Exhaustive,
    /// Hamming-LSH bit sampling (`--lsh-bands`, `--lsh-bits`).
    Lsh,
}

/// Arguments of `palermo pprl encode`.
#[derive(Debug, clap::Args)]
pub(crate) struct EncodeArgs {
    /// The input CSV file.
    input: PathBuf,
    /// The column holding each record's unique id.
    #[arg(long)]
    id_column: String,
    /// The file holding the group secret (at least 16 bytes; surrounding whitespace ignored).
    #[arg(long)]
    secret_file: PathBuf,
    /// Where to write the encodings (Palermo JSON).
    #[arg(long)]
    out: PathBuf,
    /// Map a column to a property (`COLUMN=firstName`, or `COLUMN=ignore`); repeatable.
    /// Common headers are recognised without it.
    #[arg(long = "map", value_name = "COLUMN=PROPERTY")]
    maps: Vec<String>,
    /// Hardening against frequency and pattern-mining attacks.
    #[arg(long, value_enum, default_value_t = HardeningArg::Balance)]
    hardening: HardeningArg,
    /// Length of the raw Bloom filter in bits (a multiple of 128).
    #[arg(long, default_value_t = 1024)]
    bits: usize,
}

/// Arguments of `palermo pprl match`.
#[derive(Debug, clap::Args)]
pub(crate) struct MatchArgs {
    /// The left encodings file.
    left: PathBuf,
    /// The right encodings file.
    right: PathBuf,
    /// Minimum Dice coefficient of a reported pair, in (0, 1]. The default suits Palermo's
    /// balanced encodings (it favours precision); clkhash CLKs are usually matched at 0.7.
    #[arg(long, default_value_t = 0.8)]
    threshold: f64,
    /// Where to write `left_id,right_id,score`.
    #[arg(long)]
    out: PathBuf,
    /// Keep at most K best pairs per left record.
    #[arg(long, value_name = "K")]
    top_k: Option<usize>,
    /// Keep a greedy one-to-one assignment (best score first), like anonlink's solver.
    #[arg(long)]
    one_to_one: bool,
    /// Candidate selection.
    #[arg(long, value_enum, default_value_t = BlockingArg::Auto)]
    blocking: BlockingArg,
    /// Hamming-LSH: number of bands.
    #[arg(long, default_value_t = 32)]
    lsh_bands: usize,
    /// Hamming-LSH: sampled bits per band (1 to 64).
    #[arg(long, default_value_t = 16)]
    lsh_bits: usize,
}

/// What `encode` reports.
#[derive(Debug, Serialize)]
struct EncodeReport {
    command: &'static str,
    records: usize,
    n_bits: usize,
    hardening: &'static str,
    key_id: String,
    out: String,
    seconds: f64,
}

/// What `match` reports.
#[derive(Debug, Serialize)]
struct MatchReport {
    command: &'static str,
    left_records: usize,
    right_records: usize,
    n_bits: usize,
    threshold: f64,
    blocking: &'static str,
    nominal_comparisons: u64,
    computed_comparisons: u64,
    candidates: u64,
    pairs_written: usize,
    out: String,
    match_seconds: f64,
    nominal_comparisons_per_second: f64,
    seconds_total: f64,
}

/// Runs `palermo pprl …`.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Encode(args) => run_encode(ctx, args),
        Command::Match(args) => run_match(ctx, args),
    }
}

fn run_encode(ctx: &Ctx, args: EncodeArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let secret = std::fs::read(&args.secret_file)
        .with_context(|| format!("reading secret file {}", args.secret_file.display()))
        .bad_input()?;
    let hardening = match args.hardening {
        HardeningArg::None => Hardening::None,
        HardeningArg::Balance => Hardening::Balance,
        HardeningArg::XorFold => Hardening::XorFold,
    };
    let config = EncodeConfig {
        n_bits: args.bits,
        hardening,
        ..EncodeConfig::standard()
    };
    let encoder = Encoder::new(&secret, config)
        .with_context(|| format!("secret file {}", args.secret_file.display()))
        .bad_input()?;
    let mapping = Mapping::parse(&args.maps).bad_input()?;
    let file = File::open(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))
        .bad_input()?;
    let (ids, people) = palermo_pprl::read_csv(
        BufReader::new(file),
        &args.input.display().to_string(),
        &args.id_column,
        &mapping,
    )
    .bad_input()?;
    let clks = encoder.encode_all(&people);
    let json = codec::to_json(&clks, &ids, encoder.key_id(), hardening.name());
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    let report = EncodeReport {
        command: "pprl encode",
        records: ids.len(),
        n_bits: clks.n_bits(),
        hardening: hardening.name(),
        key_id: encoder.key_id().to_owned(),
        out: args.out.display().to_string(),
        seconds: start.elapsed().as_secs_f64(),
    };
    ctx.report(&report, |r| {
        format!(
            "encoded {} records into {}-bit encodings (hardening {}, key id {}) → {} in {:.3} s",
            r.records, r.n_bits, r.hardening, r.key_id, r.out, r.seconds
        )
    })
}

fn load(path: &Path) -> Result<Encodings, CliError> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    codec::parse(&bytes, &path.display().to_string()).bad_input()
}

fn run_match(ctx: &Ctx, args: MatchArgs) -> Result<(), CliError> {
    let start = Instant::now();
    if !(args.threshold > 0.0 && args.threshold <= 1.0) {
        return Err(CliError::bad_input(format!(
            "--threshold {} is not a Dice coefficient in (0, 1]",
            args.threshold
        )));
    }
    let left = load(&args.left)?;
    let right = load(&args.right)?;
    let (left_name, right_name) = (
        args.left.display().to_string(),
        args.right.display().to_string(),
    );
    palermo_pprl::check_compatible(&left, &left_name, &right, &right_name).bad_input()?;
    let blocking = match args.blocking {
        BlockingArg::Auto => Blocking::Auto,
        BlockingArg::Exhaustive => Blocking::Exhaustive,
        BlockingArg::Lsh => Blocking::Lsh {
            bands: args.lsh_bands,
            bits_per_band: args.lsh_bits,
        },
    };
    let config = MatchConfig {
        threshold: args.threshold,
        top_k: args.top_k,
        one_to_one: args.one_to_one,
        blocking,
    };
    let match_start = Instant::now();
    let (pairs, stats) = palermo_pprl::match_clks(&left.clks, &right.clks, &config).bad_input()?;
    let match_seconds = match_start.elapsed().as_secs_f64();
    let file =
        File::create(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let mut w = BufWriter::new(file);
    let write_err = || format!("writing {}", args.out.display());
    writeln!(w, "left_id,right_id,score").with_context(write_err)?;
    for p in &pairs {
        let (l, r) = (left.id(p.left as usize), right.id(p.right as usize));
        writeln!(w, "{},{},{:.6}", csv_field(&l), csv_field(&r), p.score)
            .with_context(write_err)?;
    }
    w.flush().with_context(write_err)?;
    let report = MatchReport {
        command: "pprl match",
        left_records: left.clks.len(),
        right_records: right.clks.len(),
        n_bits: left.clks.n_bits(),
        threshold: args.threshold,
        blocking: if stats.lsh { "lsh" } else { "exhaustive" },
        nominal_comparisons: stats.nominal_comparisons,
        computed_comparisons: stats.computed_comparisons,
        candidates: stats.candidates,
        pairs_written: pairs.len(),
        out: args.out.display().to_string(),
        match_seconds,
        nominal_comparisons_per_second: stats.nominal_comparisons as f64 / match_seconds.max(1e-9),
        seconds_total: start.elapsed().as_secs_f64(),
    };
    ctx.report(&report, |r| {
        format!(
            "matched {} × {} encodings ({} bits, {}): {} comparisons computed of {}, {} candidates at dice ≥ {}, {} pairs → {}\n\
             match {:.3} s ({:.3e} nominal comparisons/s), total {:.3} s\n",
            r.left_records,
            r.right_records,
            r.n_bits,
            r.blocking,
            r.computed_comparisons,
            r.nominal_comparisons,
            r.candidates,
            r.threshold,
            r.pairs_written,
            r.out,
            r.match_seconds,
            r.nominal_comparisons_per_second,
            r.seconds_total
        )
    })
}

/// Quotes a CSV field when it needs it.
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}
