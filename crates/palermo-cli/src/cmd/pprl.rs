//! `palermo pprl encode` and `palermo pprl match`: privacy-preserving record linkage on
//! files (DESIGN.md §3), without a database.
//!
//! `encode` turns a CSV into keyed Bloom-filter encodings (Palermo JSON, which clkhash
//! tools also read); `match` compares two encodings files (Palermo or clkhash JSON) and
//! writes `left_id,right_id,score` with the Dice coefficient as the score.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use palermo_pprl::attack::{AttackConfig, AttackScore, Knowledge};
use palermo_pprl::{
    Blocking, Calibration, EncodeConfig, Encoder, Encodings, Hardening, Kernel, MatchConfig, codec,
};
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
    /// Fit a score → match-probability calibration on two encodings files with known truth.
    Calibrate(CalibrateArgs),
    /// Run the frequent-bit-pattern attack on encodings and score its re-identifications.
    Attack(AttackArgs),
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
    /// Keyed diffusion: each bit the XOR of 3 raw bits at keyed positions (resists pattern mining).
    Diffuse,
}

impl From<HardeningArg> for Hardening {
    fn from(arg: HardeningArg) -> Hardening {
        match arg {
            HardeningArg::None => Hardening::None,
            HardeningArg::Balance => Hardening::Balance,
            HardeningArg::XorFold => Hardening::XorFold,
            HardeningArg::Diffuse => Hardening::Diffuse,
        }
    }
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

/// The popcount kernel build for `match`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum KernelArg {
    /// Plain Rust, any CPU.
    Portable,
    /// AVX2 + POPCNT.
    Avx2,
    /// AVX-512F + AVX-512 VPOPCNTDQ.
    Avx512,
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
    /// Encode one record-level Bloom filter of this many raw bits (a multiple of 128;
    /// the version 1 encoding) instead of the standard field segments.
    #[arg(long)]
    bits: Option<usize>,
    /// Encode one record-level filter of 1024 raw bits (the version 1 encoding).
    #[arg(long)]
    record_level: bool,
    /// The sender's own entity resolution of the input: a `record_id,cluster_id` CSV
    /// (`palermo dedupe --out`). Each encoding then carries an opaque person number (a
    /// version 6 file), and `pprl match` links persons: a match of any two of their
    /// records stands for every record pair of the two persons. Field-level only.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["bits", "record_level"])]
    clusters: Option<PathBuf>,
}

/// Arguments of `palermo pprl match`.
#[derive(Debug, clap::Args)]
pub(crate) struct MatchArgs {
    /// The left encodings file.
    left: PathBuf,
    /// The right encodings file.
    right: PathBuf,
    /// Minimum score of a reported pair, in (0, 1]: the Dice coefficient, or the field
    /// score of field-level encodings. Default: 0.826 for balanced field-level encodings,
    /// 0.9 for balanced record-level ones (their complement bits raise every score), 0.8
    /// otherwise; clkhash CLKs are usually matched at 0.7. With persons (`encode
    /// --clusters`) the threshold applies to the best record pair of two persons, by
    /// default 0.83 for balanced field-level encodings. A calibration
    /// (`--calibration`) is the better guide.
    #[arg(long)]
    threshold: Option<f64>,
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
    /// A calibration file (`palermo pprl calibrate`): adds `probability,band` columns.
    #[arg(long, value_name = "FILE")]
    calibration: Option<PathBuf>,
    /// Keep only pairs whose calibrated probability reaches P (needs --calibration).
    #[arg(long, value_name = "P")]
    min_probability: Option<f64>,
    /// Force a popcount kernel build (default: the fastest this CPU has); for benchmarks.
    #[arg(long, value_enum)]
    kernel: Option<KernelArg>,
    /// Match record by record even when the files carry persons (`encode --clusters`).
    #[arg(long)]
    no_persons: bool,
}

/// Arguments of `palermo pprl calibrate`.
#[derive(Debug, clap::Args)]
pub(crate) struct CalibrateArgs {
    /// The left encodings file.
    left: PathBuf,
    /// The right encodings file.
    right: PathBuf,
    /// Truth CSV `record_id,entity_id`: records with equal entity ids are the same person.
    #[arg(long)]
    truth: PathBuf,
    /// Where to write the calibration (JSON).
    #[arg(long)]
    out: PathBuf,
    /// Lowest Dice score of the labelled candidate pairs.
    #[arg(long, default_value_t = 0.5)]
    threshold: f64,
    /// Best candidates kept per left record.
    #[arg(long, default_value_t = 3)]
    top_k: usize,
}

/// Arguments of `palermo pprl attack`.
#[derive(Debug, clap::Args)]
pub(crate) struct AttackArgs {
    /// The encodings under attack (Palermo JSON, with ids).
    encodings: PathBuf,
    /// The plaintext CSV that was encoded: used only to score the attack, by id.
    #[arg(long)]
    truth: PathBuf,
    /// The attacker's knowledge: a plaintext CSV of a similar population.
    #[arg(long)]
    known: PathBuf,
    /// The id column of both CSVs.
    #[arg(long)]
    id_column: String,
    /// Map a column to a property (`COLUMN=firstName`); repeatable.
    #[arg(long = "map", value_name = "COLUMN=PROPERTY")]
    maps: Vec<String>,
    /// Containment fractions to try (the attacker keeps the best); comma-separated.
    #[arg(long, default_value = "0.95,0.9,0.8,0.7", value_delimiter = ',')]
    containment: Vec<f64>,
}

/// What `encode` reports.
#[derive(Debug, Serialize)]
struct EncodeReport {
    command: &'static str,
    records: usize,
    /// Persons of the `--clusters` file (`None` without it).
    persons: Option<usize>,
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
    kernel: &'static str,
    nominal_comparisons: u64,
    computed_comparisons: u64,
    candidates: u64,
    pairs_written: usize,
    /// Whether pairs were expanded to the persons of `encode --clusters`.
    by_person: bool,
    /// Pairs found record by record, before that expansion.
    record_pairs: usize,
    calibrated: bool,
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
        Command::Calibrate(args) => run_calibrate(ctx, args),
        Command::Attack(args) => run_attack(ctx, args),
    }
}

fn run_encode(ctx: &Ctx, args: EncodeArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let secret = std::fs::read(&args.secret_file)
        .with_context(|| format!("reading secret file {}", args.secret_file.display()))
        .bad_input()?;
    let hardening = Hardening::from(args.hardening);
    let config = if args.record_level || args.bits.is_some() {
        let base = EncodeConfig::standard();
        EncodeConfig {
            n_bits: args.bits.unwrap_or(base.n_bits),
            hardening,
            ..base
        }
    } else {
        EncodeConfig {
            hardening,
            ..EncodeConfig::field_level()
        }
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
    let persons = match &args.clusters {
        None => None,
        Some(path) => {
            let file = File::open(path)
                .with_context(|| format!("reading {}", path.display()))
                .bad_input()?;
            let persons = palermo_pprl::read_clusters(
                BufReader::new(file),
                &path.display().to_string(),
                &ids,
            )
            .bad_input()?;
            Some(persons)
        }
    };
    let clks = encoder.encode_all(&people);
    let json = codec::to_json_with_persons(
        &clks,
        &ids,
        encoder.key_id(),
        hardening.name(),
        persons.as_deref(),
    );
    std::fs::write(&args.out, json).with_context(|| format!("writing {}", args.out.display()))?;
    let report = EncodeReport {
        command: "pprl encode",
        records: ids.len(),
        persons: persons.as_ref().map(|p| {
            p.iter()
                .copied()
                .collect::<std::collections::HashSet<u32>>()
                .len()
        }),
        n_bits: clks.n_bits(),
        hardening: hardening.name(),
        key_id: encoder.key_id().to_owned(),
        out: args.out.display().to_string(),
        seconds: start.elapsed().as_secs_f64(),
    };
    ctx.report(&report, |r| {
        let persons = r
            .persons
            .map_or_else(String::new, |n| format!(" of {n} persons"));
        format!(
            "encoded {} records{persons} into {}-bit encodings (hardening {}, key id {}) → {} in {:.3} s",
            r.records, r.n_bits, r.hardening, r.key_id, r.out, r.seconds
        )
    })
}

fn load(path: &Path) -> Result<Encodings, CliError> {
    load_with_persons(path).map(|(encodings, _)| encodings)
}

/// An encodings file and its persons (version 6 files, `encode --clusters`).
fn load_with_persons(path: &Path) -> Result<(Encodings, Option<Vec<u32>>), CliError> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    codec::parse_with_persons(&bytes, &path.display().to_string()).bad_input()
}

/// The threshold `palermo pprl match` uses when none is given.
///
/// Record-level encodings are cut on Dice. Balanced encodings set the complement of
/// every bit, so unrelated records already share half their bits: on the simulated
/// cross-border population (TH, MY, NL; 10,000 persons) balanced encodings cut at 0.8
/// gave F1 0.19, at 0.9 F1 0.84, while unhardened encodings cut at 0.8 gave F1 0.83.
///
/// Field-level encodings (version 5 files) are cut on the field score less the namesake
/// term (`palermo_pprl::scoring`): 0.826 is the best cut for balanced segments on the same
/// population (20,000 persons: 0.827 with seed 7, 0.826 with seed 9; 10,000 persons:
/// 0.826 and 0.828).
///
/// Linking persons (`encode --clusters`, `by_person`), a pair of persons is cut on its best
/// record pair's score at 0.83: every record pair of the two persons is written, so a
/// false match costs more pairs than one record's, and the best cut for persons resolved
/// by `palermo dedupe` was 0.83 (seed 7: F1 0.9615 at 0.83, 0.9557 at 0.826; seed 9:
/// 0.9616 and 0.9559).
fn default_threshold(hardening: Option<&str>, fields: bool, by_person: bool) -> f64 {
    match (hardening, fields) {
        (Some("balance"), true) if by_person => 0.83,
        (Some("balance"), true) => 0.826,
        (_, true) => 0.8,
        (Some("balance"), false) => 0.9,
        (_, false) => 0.8,
    }
}

fn run_match(ctx: &Ctx, args: MatchArgs) -> Result<(), CliError> {
    let start = Instant::now();
    let (left, left_persons) = load_with_persons(&args.left)?;
    let (right, right_persons) = load_with_persons(&args.right)?;
    let by_person = !args.no_persons && (left_persons.is_some() || right_persons.is_some());
    if by_person && (args.one_to_one || args.top_k.is_some()) {
        return Err(CliError::bad_input(
            "--one-to-one and --top-k keep records one by one, and the encodings carry persons \
             (encode --clusters), whose every record pair is reported: add --no-persons",
        ));
    }
    let threshold = args.threshold.unwrap_or_else(|| {
        default_threshold(
            left.hardening.as_deref(),
            left.clks.scoring().is_some(),
            by_person,
        )
    });
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(CliError::bad_input(format!(
            "--threshold {threshold} is not a Dice coefficient in (0, 1]"
        )));
    }
    let (left_name, right_name) = (
        args.left.display().to_string(),
        args.right.display().to_string(),
    );
    palermo_pprl::check_compatible(&left, &left_name, &right, &right_name).bad_input()?;
    let calibration = match &args.calibration {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("reading {}", path.display()))
                .bad_input()?;
            let c = Calibration::from_json(&bytes, &path.display().to_string()).bad_input()?;
            c.check(
                left.clks.n_bits(),
                left.hardening.as_deref(),
                &path.display().to_string(),
            )
            .bad_input()?;
            Some(c)
        }
    };
    if let Some(p) = args.min_probability {
        if !(0.0..=1.0).contains(&p) {
            return Err(CliError::bad_input(format!(
                "--min-probability {p} is not a probability in [0, 1]"
            )));
        }
        if calibration.is_none() {
            return Err(CliError::bad_input(
                "--min-probability needs --calibration FILE (see palermo pprl calibrate)",
            ));
        }
    }
    let blocking = match args.blocking {
        BlockingArg::Auto => Blocking::Auto,
        BlockingArg::Exhaustive => Blocking::Exhaustive,
        BlockingArg::Lsh => Blocking::Lsh {
            bands: args.lsh_bands,
            bits_per_band: args.lsh_bits,
        },
    };
    let config = MatchConfig {
        threshold,
        top_k: args.top_k,
        one_to_one: args.one_to_one,
        blocking,
        kernel: args.kernel.map(|k| match k {
            KernelArg::Portable => Kernel::Portable,
            KernelArg::Avx2 => Kernel::Avx2,
            KernelArg::Avx512 => Kernel::Avx512,
        }),
    };
    let match_start = Instant::now();
    let (mut pairs, stats) =
        palermo_pprl::match_clks(&left.clks, &right.clks, &config).bad_input()?;
    let record_pairs = pairs.len();
    if by_person {
        pairs = palermo_pprl::expand_by_person(
            &pairs,
            left_persons.as_deref(),
            right_persons.as_deref(),
            threshold,
        );
    }
    let match_seconds = match_start.elapsed().as_secs_f64();
    if let (Some(c), Some(p)) = (&calibration, args.min_probability) {
        pairs.retain(|pair| c.probability(pair.score) >= p);
    }
    let file =
        File::create(&args.out).with_context(|| format!("writing {}", args.out.display()))?;
    let mut w = BufWriter::new(file);
    let write_err = || format!("writing {}", args.out.display());
    let header = if calibration.is_some() {
        "left_id,right_id,score,probability,band"
    } else {
        "left_id,right_id,score"
    };
    writeln!(w, "{header}").with_context(write_err)?;
    for p in &pairs {
        let (l, r) = (left.id(p.left as usize), right.id(p.right as usize));
        write!(w, "{},{},{:.6}", csv_field(&l), csv_field(&r), p.score).with_context(write_err)?;
        if let Some(c) = &calibration {
            let prob = c.probability(p.score);
            write!(w, ",{prob:.4},{}", c.band(prob).name()).with_context(write_err)?;
        }
        writeln!(w).with_context(write_err)?;
    }
    w.flush().with_context(write_err)?;
    let report = MatchReport {
        command: "pprl match",
        left_records: left.clks.len(),
        right_records: right.clks.len(),
        n_bits: left.clks.n_bits(),
        threshold,
        blocking: if stats.lsh { "lsh" } else { "exhaustive" },
        kernel: config.kernel.unwrap_or_else(Kernel::detect).name(),
        nominal_comparisons: stats.nominal_comparisons,
        computed_comparisons: stats.computed_comparisons,
        candidates: stats.candidates,
        pairs_written: pairs.len(),
        by_person,
        record_pairs,
        calibrated: calibration.is_some(),
        out: args.out.display().to_string(),
        match_seconds,
        nominal_comparisons_per_second: stats.nominal_comparisons as f64 / match_seconds.max(1e-9),
        seconds_total: start.elapsed().as_secs_f64(),
    };
    ctx.report(&report, |r| {
        let persons = if r.by_person {
            format!(" (by person, from {} record pairs)", r.record_pairs)
        } else {
            String::new()
        };
        format!(
            "matched {} × {} encodings ({} bits, {}, {} kernel): {} comparisons computed of {}, {} candidates at dice ≥ {}, {} pairs{persons} → {}\n\
             match {:.3} s ({:.3e} nominal comparisons/s), total {:.3} s\n",
            r.left_records,
            r.right_records,
            r.n_bits,
            r.blocking,
            r.kernel,
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

/// What `calibrate` reports.
#[derive(Debug, Serialize)]
struct CalibrateReport {
    command: &'static str,
    pairs: usize,
    positives: usize,
    true_pairs: usize,
    points: usize,
    score_for_medium: f64,
    score_for_high: f64,
    f1_at_medium: f64,
    out: String,
}

/// Reads a truth CSV `record_id,entity_id` into record id → entity id.
fn read_truth(path: &Path) -> Result<HashMap<String, String>, CliError> {
    let file = File::open(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    palermo_pprl::read_truth(BufReader::new(file), &path.display().to_string()).bad_input()
}

fn run_calibrate(ctx: &Ctx, args: CalibrateArgs) -> Result<(), CliError> {
    if !(args.threshold > 0.0 && args.threshold <= 1.0) || args.top_k == 0 {
        return Err(CliError::bad_input(format!(
            "--threshold {} must be in (0, 1] and --top-k {} at least 1",
            args.threshold, args.top_k
        )));
    }
    let left = load(&args.left)?;
    let right = load(&args.right)?;
    let (left_name, right_name) = (
        args.left.display().to_string(),
        args.right.display().to_string(),
    );
    palermo_pprl::check_compatible(&left, &left_name, &right, &right_name).bad_input()?;
    let truth = read_truth(&args.truth)?;
    let entity = |id: &str| truth.get(id).filter(|e| !e.is_empty());
    // All true cross pairs, to report recall.
    let mut right_by_entity: HashMap<&str, usize> = HashMap::new();
    for j in 0..right.clks.len() {
        if let Some(e) = entity(&right.id(j)) {
            *right_by_entity.entry(e.as_str()).or_default() += 1;
        }
    }
    let true_pairs: usize = (0..left.clks.len())
        .filter_map(|i| entity(&left.id(i)))
        .map(|e| right_by_entity.get(e.as_str()).copied().unwrap_or(0))
        .sum();
    let config = MatchConfig {
        threshold: args.threshold,
        top_k: Some(args.top_k),
        one_to_one: false,
        blocking: Blocking::Auto,
        kernel: None,
    };
    let (pairs, _) = palermo_pprl::match_clks(&left.clks, &right.clks, &config).bad_input()?;
    let labelled: Vec<(f64, bool)> = pairs
        .iter()
        .map(|p| {
            let same = match (
                entity(&left.id(p.left as usize)),
                entity(&right.id(p.right as usize)),
            ) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            };
            (p.score, same)
        })
        .collect();
    let fitted_on = format!(
        "{} x {} (truth {}), Dice >= {}, top {}",
        args.left.display(),
        args.right.display(),
        args.truth.display(),
        args.threshold,
        args.top_k
    );
    let calibration = Calibration::fit(
        &labelled,
        left.clks.n_bits(),
        left.hardening.as_deref().unwrap_or("none"),
        &fitted_on,
    )
    .bad_input()?;
    std::fs::write(&args.out, calibration.to_json())
        .with_context(|| format!("writing {}", args.out.display()))?;
    let (tp, found) = labelled
        .iter()
        .filter(|(s, _)| calibration.probability(*s) >= calibration.medium)
        .fold((0usize, 0usize), |(tp, n), (_, y)| {
            (tp + usize::from(*y), n + 1)
        });
    let f1 = if found + true_pairs == 0 {
        0.0
    } else {
        2.0 * tp as f64 / (found + true_pairs) as f64
    };
    let report = CalibrateReport {
        command: "pprl calibrate",
        pairs: calibration.pairs,
        positives: calibration.positives,
        true_pairs,
        points: calibration.points.len(),
        score_for_medium: calibration.score_for(calibration.medium),
        score_for_high: calibration.score_for(calibration.high),
        f1_at_medium: f1,
        out: args.out.display().to_string(),
    };
    ctx.report(&report, |r| {
        format!(
            "calibrated on {} labelled pairs ({} matches of {} true pairs): {} points; probability 0.5 at Dice {:.3}, 0.9 at Dice {:.3}; F1 at probability >= 0.5 (top {}): {:.4} → {}",
            r.pairs,
            r.positives,
            r.true_pairs,
            r.points,
            r.score_for_medium,
            r.score_for_high,
            args.top_k,
            r.f1_at_medium,
            r.out
        )
    })
}

/// What `attack` reports.
#[derive(Debug, Serialize)]
struct AttackReport {
    command: &'static str,
    hardening: String,
    n_bits: usize,
    known_records: usize,
    containment: f64,
    #[serde(flatten)]
    score: AttackScore,
    seconds: f64,
}

fn read_people(
    path: &Path,
    id_column: &str,
    mapping: &Mapping,
) -> Result<(Vec<String>, Vec<palermo_pprl::Person>), CliError> {
    let file = File::open(path)
        .with_context(|| format!("reading {}", path.display()))
        .bad_input()?;
    palermo_pprl::read_csv(
        BufReader::new(file),
        &path.display().to_string(),
        id_column,
        mapping,
    )
    .bad_input()
}

fn run_attack(ctx: &Ctx, args: AttackArgs) -> Result<(), CliError> {
    let start = Instant::now();
    if args.containment.iter().any(|c| !(*c > 0.0 && *c <= 1.0)) {
        return Err(CliError::bad_input(
            "--containment values must be in (0, 1]",
        ));
    }
    let target = load(&args.encodings)?;
    let hardening_name = target
        .hardening
        .clone()
        .unwrap_or_else(|| "none".to_owned());
    let hardening = Hardening::parse(&hardening_name).ok_or_else(|| {
        CliError::bad_input(format!(
            "{}: unknown hardening {hardening_name:?}",
            args.encodings.display()
        ))
    })?;
    let out_bits = target.clks.n_bits();
    let raw_bits = match hardening {
        Hardening::Balance => out_bits / 2,
        Hardening::XorFold => out_bits * 2,
        Hardening::None | Hardening::Diffuse => out_bits,
    };
    // The attacker knows the encoding method (Kerckhoffs): field-level files carry their
    // segments, record-level ones their length.
    let encode_config = if target.clks.scoring().is_some() {
        EncodeConfig {
            hardening,
            ..EncodeConfig::field_level()
        }
    } else {
        EncodeConfig {
            n_bits: raw_bits,
            hardening,
            ..EncodeConfig::standard()
        }
    };
    let mapping = Mapping::parse(&args.maps).bad_input()?;
    let (truth_ids, truth_people) = read_people(&args.truth, &args.id_column, &mapping)?;
    let by_id: HashMap<&str, usize> = truth_ids
        .iter()
        .enumerate()
        .map(|(i, id)| (id.as_str(), i))
        .collect();
    let mut truth = Vec::with_capacity(target.clks.len());
    for i in 0..target.clks.len() {
        let id = target.id(i);
        let idx = by_id.get(id.as_str()).ok_or_else(|| {
            CliError::bad_input(format!(
                "{}: encoding {i} has id {id:?}, which is not in {}",
                args.encodings.display(),
                args.truth.display()
            ))
        })?;
        truth.push(truth_people[*idx].clone());
    }
    let (_, known_people) = read_people(&args.known, &args.id_column, &mapping)?;
    let knowledge = Knowledge::from_people(&known_people, &encode_config);
    let mut best: Option<(f64, AttackScore)> = None;
    for &containment in &args.containment {
        let config = AttackConfig {
            containment,
            ..AttackConfig::default()
        };
        let result = palermo_pprl::attack::attack(&target.clks, &knowledge, &config);
        let score = palermo_pprl::attack::score(&result, &truth);
        if best
            .as_ref()
            .is_none_or(|(_, b)| score.reidentified > b.reidentified)
        {
            best = Some((containment, score));
        }
    }
    let Some((containment, score)) = best else {
        return Err(CliError::bad_input(
            "--containment needs at least one value",
        ));
    };
    let report = AttackReport {
        command: "pprl attack",
        hardening: hardening_name,
        n_bits: out_bits,
        known_records: known_people.len(),
        containment,
        score,
        seconds: start.elapsed().as_secs_f64(),
    };
    ctx.report(&report, |r| {
        format!(
            "attack on {} {}-bit encodings (hardening {}), knowing {} plaintext records: {} footprints, {} aligned; \
             re-identified {} of {} records ({:.2}%), name tokens {} right of {} guessed ({} in all); best containment {} in {:.1} s",
            r.score.records,
            r.n_bits,
            r.hardening,
            r.known_records,
            r.score.footprints,
            r.score.aligned,
            r.score.reidentified,
            r.score.records,
            100.0 * r.score.reidentification_rate,
            r.score.tokens_correct,
            r.score.tokens_guessed,
            r.score.tokens_total,
            r.containment,
            r.seconds
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
