//! Run with: cargo run --release -p palermo-ingest --example import_bench -- ROWS DB_URL WORK_DIR
//!
//! Generates ROWS person rows as CSV in WORK_DIR (once, reused), imports them
//! into a fresh store at DB_URL, exports the store back to FtM JSON lines,
//! checks the counts and prints one JSON line with the timings and the peak
//! resident set size. `bench/import/run.sh` runs it repeatedly and reports
//! medians.

// An example prints its result; that is its job.
#![allow(clippy::print_stdout)]

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use palermo_ingest::{ImportConfig, MarkingConfig, export_ftm, import_file};
use palermo_model::Schema;
use palermo_store::Store;

/// The allocator the `palermo` binary ships with, so the store figures here
/// are the ones a user's import gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FIRST: &[&str] = &[
    "Ahmed", "Somchai", "Anna", "Nguyen", "Olena", "Maria", "Jan", "Siti", "Dao", "Ivan",
];
const LAST: &[&str] = &[
    "Al-Rashid",
    "Srisuk",
    "de Vries",
    "Tran",
    "Kovalenko",
    "Santos",
    "Jansen",
    "Binti Ali",
    "Sukjai",
    "Petrov",
];
const COUNTRIES: &[&str] = &["TH", "MY", "NL", "UA", "VN", "PH"];

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, rows, url, work] = args.as_slice() else {
        return Err("usage: import_bench ROWS DB_URL WORK_DIR".into());
    };
    let rows: u64 = rows.parse()?;
    let work = PathBuf::from(work);
    std::fs::create_dir_all(&work)?;
    let csv = work.join(format!("persons-{rows}.csv"));
    if !csv.exists() {
        generate(&csv, rows)?;
    }
    let store = palermo_store::open(url).await?;
    let config = ImportConfig {
        format: None,
        schema: Schema::Person,
        id_column: Some("id".to_owned()),
        maps: Vec::new(),
        markings: MarkingConfig {
            tlp: None,
            victim_tlp: None,
            purpose: None,
            retain_until: None,
            originator: None,
            onward_sharing: false,
            handling: None,
        },
        imported_by: "bench".to_owned(),
    };
    let cpu_before = cpu_s();
    let started = Instant::now();
    let summary = import_file(&store, &csv, &config, &mut |_| {}).await?;
    let import_s = started.elapsed().as_secs_f64();
    let import_cpu_s = cpu_s() - cpu_before;
    // The import's own peak, then the high-water mark is reset (Linux
    // `clear_refs`) so that the export's is measured on its own.
    let import_rss_mb = peak_rss_mb();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    assert_eq!(summary.new, rows, "every generated row is new");

    let out = work.join("export.jsonl");
    let started = Instant::now();
    let writer = BufWriter::with_capacity(1 << 20, std::fs::File::create(&out)?);
    let (_, exported) = export_ftm(&store, writer, &out).await?;
    let export_s = started.elapsed().as_secs_f64();
    let export_cpu_s = cpu_s() - cpu_before - import_cpu_s;
    let export_rss_mb = peak_rss_mb();
    assert_eq!(exported, rows, "the export has every row");
    let backend = format!("{:?}", store.backend()).to_lowercase();
    println!(
        "{{\"backend\":\"{backend}\",\"rows\":{rows},\"import_s\":{import_s:.3},\"export_s\":{export_s:.3},\"import_cpu_s\":{import_cpu_s:.2},\"export_cpu_s\":{export_cpu_s:.2},\"csv_mb\":{:.1},\"import_rss_mb\":{import_rss_mb:.1},\"export_rss_mb\":{export_rss_mb:.1},\"peak_rss_mb\":{:.1}}}",
        std::fs::metadata(&csv)?.len() as f64 / 1e6,
        import_rss_mb.max(export_rss_mb)
    );
    Ok(())
}

/// Writes `rows` varied person rows (names, dates, passports, phones, roles).
fn generate(path: &Path, rows: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(
        out,
        "id,first_name,surname,dob,passport,phone,nationality,city,role"
    )?;
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut line = String::with_capacity(160);
    for i in 0..rows {
        // SplitMix64: fast, deterministic, good enough for test data.
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        let r = z ^ (z >> 31);
        let pick = |shift: u32, n: usize| ((r >> shift) as usize) % n;
        line.clear();
        let _ = write!(
            line,
            "p{i},{},{},{}-{:02}-{:02},P{:07},+316{:08},{},City {},{}",
            FIRST[pick(0, FIRST.len())],
            LAST[pick(8, LAST.len())],
            1950 + pick(16, 55),
            1 + pick(24, 12),
            1 + pick(32, 28),
            i,
            (r >> 20) % 100_000_000,
            COUNTRIES[pick(40, COUNTRIES.len())],
            pick(44, 500),
            if pick(52, 20) == 0 {
                "victim"
            } else {
                "suspect"
            },
        );
        writeln!(out, "{line}")?;
    }
    out.flush()
}

/// CPU time (user + system) of this process so far, in seconds (Linux
/// `/proc/self/stat`, in clock ticks of 10 ms): on a shared machine the
/// steadier figure beside the wall time.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            // The fields after the command name, which is in parentheses.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            // utime and stime are fields 14 and 15 of the whole line.
            let user: f64 = fields.get(11)?.parse().ok()?;
            let system: f64 = fields.get(12)?.parse().ok()?;
            Some((user + system) / 100.0)
        })
        .unwrap_or(0.0)
}

/// Peak resident set size of this process (Linux `VmHWM`), in MB.
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|kb| kb.parse::<f64>().ok())
                })
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
