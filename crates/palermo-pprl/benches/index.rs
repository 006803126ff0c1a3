//! The hit/no-hit index at national scale: synthesises `PALERMO_INDEX_N` (default 10
//! million) persons, encodes them with Palermo's field-level encoding (scored field by
//! field; `PALERMO_INDEX_LEVEL=record` for the record-level encoding), builds an
//! [`Index`], and measures single-record queries (one thread, then one caller per core), a
//! batch of 10,000 queries, memory, and recall against exhaustive search on a sample.
//! Asserts that batch and single answers agree, that every hit is one exhaustive search
//! finds, and that recall is at least `PALERMO_INDEX_MIN_RECALL` (default 0.95 for
//! field-level encodings; 0.75 for record-level ones, whose standard bands trade the pairs
//! just above the threshold for speed, see [`IndexConfig::standard`]).
//!
//! Run with: cargo bench -p palermo-pprl --bench index
//! (or `bench/pprl/index.sh`). Environment: `PALERMO_INDEX_N`, `PALERMO_INDEX_QUERIES`
//! (default 10,000), `PALERMO_INDEX_BANDS` / `PALERMO_INDEX_BITS` /
//! `PALERMO_INDEX_MAX_BUCKET` / `PALERMO_INDEX_FIELD_BANDS` (default
//! [`IndexConfig::standard`]), `PALERMO_INDEX_HARDENING` (default the encoding's),
//! `PALERMO_INDEX_THRESHOLD` (default `palermo pprl match`'s: 0.84 for balanced
//! field-level encodings, 0.9 for balanced record-level ones, else 0.8),
//! `PALERMO_INDEX_RECALL_SAMPLE` (default 200), `PALERMO_INDEX_DIAGNOSE` (print the
//! per-field Dice of every pair the bands missed).
//!
//! **The population.** Given names and surnames are made of syllables (4,000 and 30,000
//! of them, drawn with a Zipf–Mandelbrot law `1/(rank + c)`, `c` = 10 and 50: the most
//! common given name is 1.7 % of people, the most common surname 0.3 %), 1–2 given names and 1–2
//! surnames, a birth date for 90 % (1945–2008), sex for 95 %, one of 40 nationalities for
//! 90 %, a passport number for 40 %. Each person's raw filter is the OR of the raw filters
//! of its parts (exactly what encoding the whole person gives, see
//! [`Encoder::encode_raw`]), with the parts' filters computed once; hardening is applied
//! per person. Half the queries are people of the index with one or two changes (a typo
//! in a name, day and month swapped, date or passport missing, year off by one, names
//! reordered), half are people who are not in it.

#![allow(clippy::print_stdout, clippy::unwrap_used)]

use std::collections::HashMap;
use std::time::Instant;

use palermo_pprl::{
    BirthDate, Clks, EncodeConfig, Encoder, FieldBand, Hardening, Hit, Index, IndexConfig, Person,
};
use rayon::prelude::*;

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct Rng(u64);

impl Rng {
    fn new(seed: u64, i: u64) -> Rng {
        let mut s = seed ^ i.wrapping_mul(0xd1b5_4a32_d192_ed03);
        splitmix(&mut s);
        Rng(s)
    }
    fn next(&mut self) -> u64 {
        splitmix(&mut self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    /// A rank in `0..n` with probability about proportional to 1 / (rank + c)
    /// (Zipf–Mandelbrot; `c` flattens the head).
    fn zipf(&mut self, n: usize, c: f64) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        let x = c * ((n as f64 + c) / c).powf(u) - c;
        (x as usize).min(n - 1)
    }
}

const SYLLABLES: [&str; 48] = [
    "a", "ka", "ri", "mo", "na", "el", "an", "to", "sa", "li", "ve", "ro", "ma", "di", "en", "ha",
    "mi", "lo", "ne", "ta", "is", "or", "be", "ku", "ja", "ni", "so", "ra", "de", "la", "vi", "ko",
    "me", "us", "ar", "in", "pe", "zo", "ge", "fa", "yu", "te", "bo", "ch", "sh", "ov", "ski",
    "son",
];

const NATIONALITIES: [&str; 40] = [
    "th", "my", "nl", "de", "fr", "it", "es", "pl", "ro", "bg", "ua", "ru", "ng", "gh", "vn", "cn",
    "ph", "id", "in", "pk", "bd", "np", "lk", "af", "sy", "iq", "er", "et", "so", "sd", "ma", "dz",
    "tn", "eg", "tr", "al", "rs", "md", "by", "br",
];

fn word(rng: &mut Rng, min: u64, extra: u64) -> String {
    let n = min + rng.below(extra + 1);
    (0..n)
        .map(|_| SYLLABLES[rng.below(SYLLABLES.len() as u64) as usize])
        .collect()
}

/// One synthetic person, as indexes into the vocabularies.
#[derive(Clone)]
struct Spec {
    given: Vec<u32>,
    surname: Vec<u32>,
    birth: Option<(u16, u8, u8)>,
    sex: Option<u8>,
    nationality: Option<u8>,
    passport: Option<String>,
}

fn spec(rng: &mut Rng, n_given: usize, n_surnames: usize) -> Spec {
    let n_g = if rng.chance(0.3) { 2 } else { 1 };
    let n_s = if rng.chance(0.15) { 2 } else { 1 };
    Spec {
        given: (0..n_g).map(|_| rng.zipf(n_given, 10.0) as u32).collect(),
        surname: (0..n_s)
            .map(|_| rng.zipf(n_surnames, 50.0) as u32)
            .collect(),
        birth: rng.chance(0.9).then(|| {
            (
                1945 + rng.below(64) as u16,
                1 + rng.below(12) as u8,
                1 + rng.below(28) as u8,
            )
        }),
        sex: rng.chance(0.95).then(|| rng.below(2) as u8),
        nationality: rng
            .chance(0.9)
            .then(|| rng.zipf(NATIONALITIES.len(), 1.0) as u8),
        passport: rng.chance(0.4).then(|| {
            (0..9)
                .map(|_| {
                    let c = rng.below(36) as u8;
                    char::from(if c < 10 { b'0' + c } else { b'A' + c - 10 })
                })
                .collect()
        }),
    }
}

/// Raw filters of the parts, computed once.
struct Parts {
    raw: Encoder,
    encoder: Encoder,
    given: Vec<String>,
    surnames: Vec<String>,
    given_bits: Vec<Vec<u64>>,
    surname_bits: Vec<Vec<u64>>,
    dates: HashMap<(u16, u8, u8), Vec<u64>>,
    sex_bits: Vec<Vec<u64>>,
    nat_bits: Vec<Vec<u64>>,
}

impl Parts {
    fn new(config: EncodeConfig) -> Parts {
        let secret = b"index benchmark group secret";
        let encoder = Encoder::new(secret, config).unwrap();
        let raw = Encoder::new(
            secret,
            EncodeConfig {
                hardening: Hardening::None,
                ..config
            },
        )
        .unwrap();
        let mut rng = Rng::new(42, 0);
        let given: Vec<String> = (0..4_000).map(|_| word(&mut rng, 2, 1)).collect();
        let surnames: Vec<String> = (0..30_000).map(|_| word(&mut rng, 2, 2)).collect();
        let name_bits = |names: &[String]| -> Vec<Vec<u64>> {
            names
                .par_iter()
                .map(|n| raw.encode_raw(&name_person(n)))
                .collect()
        };
        let given_bits = name_bits(&given);
        let surname_bits = name_bits(&surnames);
        // Every date a person or a changed copy can have (years 1945–2009, days 1–28).
        let mut keys = Vec::new();
        for y in 1945..=2009u16 {
            for m in 1..=12u8 {
                for d in 1..=28u8 {
                    keys.push((y, m, d));
                }
            }
        }
        let dates = keys
            .par_iter()
            .map(|&(y, m, d)| {
                let birth = BirthDate {
                    year: y,
                    month: (m > 0).then_some(m),
                    day: (d > 0).then_some(d),
                };
                let p = Person {
                    birth: Some(birth),
                    ..Person::default()
                };
                ((y, m, d), raw.encode_raw(&p))
            })
            .collect();
        let one = |f: &dyn Fn(&mut Person)| {
            let mut p = Person::default();
            f(&mut p);
            raw.encode_raw(&p)
        };
        let sex_bits = ["m", "f"]
            .iter()
            .map(|s| one(&|p| p.sex = Some((*s).to_owned())))
            .collect();
        let nat_bits = NATIONALITIES
            .iter()
            .map(|c| one(&|p| p.nationality = Some((*c).to_owned())))
            .collect();
        Parts {
            raw,
            encoder,
            given,
            surnames,
            given_bits,
            surname_bits,
            dates,
            sex_bits,
            nat_bits,
        }
    }

    /// The hardened encoding of `s`, plus `typo` replacing the name token at that
    /// position (given names first) when set.
    fn encode(&self, s: &Spec, typo: Option<(usize, &str)>) -> Vec<u64> {
        let mut raw = vec![0u64; self.raw.config().n_bits / 64];
        let mut or = |bits: &[u64]| {
            for (r, b) in raw.iter_mut().zip(bits) {
                *r |= b;
            }
        };
        let tokens = s
            .given
            .iter()
            .map(|&g| &self.given_bits[g as usize])
            .chain(s.surname.iter().map(|&n| &self.surname_bits[n as usize]));
        for (k, bits) in tokens.enumerate() {
            match typo {
                Some((at, name)) if at == k => or(&self.raw.encode_raw(&name_person(name))),
                _ => or(bits),
            }
        }
        if let Some((y, m, d)) = s.birth {
            match self.dates.get(&(y, m, d)) {
                Some(bits) => or(bits),
                // A changed copy may move a year out of the table.
                None => or(&self.raw.encode_raw(&Person {
                    birth: Some(BirthDate {
                        year: y,
                        month: Some(m),
                        day: Some(d),
                    }),
                    ..Person::default()
                })),
            }
        }
        if let Some(x) = s.sex {
            or(&self.sex_bits[x as usize]);
        }
        if let Some(c) = s.nationality {
            or(&self.nat_bits[c as usize]);
        }
        if let Some(id) = &s.passport {
            or(&self.raw.encode_raw(&Person {
                identifiers: vec![id.clone()],
                ..Person::default()
            }));
        }
        self.encoder.harden(&raw)
    }

    fn name(&self, s: &Spec, k: usize) -> &str {
        if k < s.given.len() {
            &self.given[s.given[k] as usize]
        } else {
            &self.surnames[s.surname[k - s.given.len()] as usize]
        }
    }
}

fn name_person(name: &str) -> Person {
    Person {
        name_tokens: vec![name.to_owned()],
        ..Person::default()
    }
}

const POP_SEED: u64 = 7;
const FRESH_SEED: u64 = 8;

fn person_spec(parts: &Parts, seed: u64, i: u64) -> Spec {
    spec(
        &mut Rng::new(seed, i),
        parts.given.len(),
        parts.surnames.len(),
    )
}

/// A changed copy of `s` and the encoding: one or two of typo, day/month swap, date
/// missing, passport missing, year off by one, names reordered.
fn perturbed(parts: &Parts, s: &Spec, rng: &mut Rng) -> Vec<u64> {
    let mut s = s.clone();
    let mut typo: Option<(usize, String)> = None;
    for _ in 0..1 + rng.below(2) {
        match rng.below(6) {
            0 => {
                let k = rng.below((s.given.len() + s.surname.len()) as u64) as usize;
                let mut chars: Vec<char> = parts.name(&s, k).chars().collect();
                let at = rng.below(chars.len() as u64) as usize;
                chars[at] = char::from(b'a' + rng.below(26) as u8);
                typo = Some((k, chars.into_iter().collect()));
            }
            1 => {
                if let Some((y, m, d)) = s.birth
                    && d <= 12
                {
                    s.birth = Some((y, d, m));
                }
            }
            2 => s.birth = None,
            3 => s.passport = None,
            4 => {
                if let Some((y, m, d)) = s.birth {
                    s.birth = Some((y + 1, m, d));
                }
            }
            _ => s.given.reverse(),
        }
    }
    parts.encode(&s, typo.as_ref().map(|(k, n)| (*k, n.as_str())))
}

/// `N:field=bits,field=bits;N:…`, e.g. `12:name=20,birth_year=6;4:identifier=24`.
fn parse_field_bands(text: &str) -> &'static [FieldBand] {
    let families: Vec<FieldBand> = text
        .split(';')
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            let (bands, windows) = f.split_once(':').unwrap();
            let windows: Vec<(&'static str, usize)> = windows
                .split(',')
                .map(|w| {
                    let (field, bits) = w.split_once('=').unwrap();
                    let field: &'static str = Box::leak(field.trim().to_owned().into_boxed_str());
                    (field, bits.trim().parse().unwrap())
                })
                .collect();
            FieldBand {
                bands: bands.trim().parse().unwrap(),
                windows: Box::leak(windows.into_boxed_slice()),
            }
        })
        .collect();
    Box::leak(families.into_boxed_slice())
}

/// The Dice coefficient of each field segment of query `q` and indexed row `j` (`-`
/// where a side lacks the field).
fn field_dice(queries: &Clks, q: usize, rows: &Option<Clks>, j: usize) -> String {
    let Some(rows) = rows else {
        return String::new();
    };
    let Some(scoring) = rows.scoring() else {
        return String::new();
    };
    let (a, b) = (queries.row(q), rows.row(j));
    let mut start = 0;
    let mut out = Vec::new();
    for f in &scoring.fields {
        let (x, y) = (&a[start..start + f.words], &b[start..start + f.words]);
        start += f.words;
        let present = |s: &[u64]| s.iter().any(|&w| w != 0);
        out.push(if present(x) && present(y) {
            format!("{} {:.2}", f.field, palermo_pprl::dice(x, y))
        } else {
            format!("{} -", f.field)
        });
    }
    out.join(", ")
}

fn rows_to_clks(n_bits: usize, rows: Vec<u64>) -> Clks {
    Clks::from_words(n_bits, rows).unwrap()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU time this thread has run, in nanoseconds (`/proc/thread-self/schedstat`; 0 where
/// it cannot be read).
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// FNV-1a over every answer's positions and scores (bit for bit), to compare two builds'
/// answers without writing them out.
fn digest(answers: &[Vec<Hit>]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |x: u64| {
        for b in x.to_le_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    };
    for (q, hits) in answers.iter().enumerate() {
        eat(q as u64);
        for hit in hits {
            eat(u64::from(hit.position));
            eat(hit.dice.to_bits());
        }
    }
    h
}

/// CPU seconds (user + system) of the whole process so far, from `/proc/self/stat` in
/// clock ticks of 10 ms (NaN where it cannot be read); unlike wall-clock time it does not
/// follow other processes' load.
fn process_cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // Fields after the command name, which is in parentheses: utime and stime are
            // the 12th and 13th of them.
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is read from the command line.
    let n: usize = env("PALERMO_INDEX_N", 10_000_000);
    let n_queries: usize = env("PALERMO_INDEX_QUERIES", 10_000);
    let sample: usize = env("PALERMO_INDEX_RECALL_SAMPLE", 200);
    // `PALERMO_INDEX_LEVEL=record`: the record-level encoding the exchange stores today;
    // by default the field-level one, scored field by field.
    let record_level = std::env::var("PALERMO_INDEX_LEVEL").is_ok_and(|v| v == "record");
    let base = if record_level {
        EncodeConfig::standard()
    } else {
        EncodeConfig::field_level()
    };
    let hardening = std::env::var("PALERMO_INDEX_HARDENING")
        .ok()
        .and_then(|h| Hardening::parse(&h))
        .unwrap_or(base.hardening);
    let config = EncodeConfig { hardening, ..base };
    // The defaults of `palermo pprl match`.
    let default_t = match (hardening == Hardening::Balance, record_level) {
        (true, false) => 0.84,
        (true, true) => 0.9,
        _ => 0.8,
    };
    let threshold: f64 = env("PALERMO_INDEX_THRESHOLD", default_t);
    let field_bands = std::env::var("PALERMO_INDEX_FIELD_BANDS")
        .ok()
        .map_or(IndexConfig::standard().field_bands, |v| {
            parse_field_bands(&v)
        });
    let index_config = IndexConfig {
        bands: env("PALERMO_INDEX_BANDS", IndexConfig::standard().bands),
        bits_per_band: env("PALERMO_INDEX_BITS", IndexConfig::standard().bits_per_band),
        max_bucket: env(
            "PALERMO_INDEX_MAX_BUCKET",
            IndexConfig::standard().max_bucket,
        ),
        field_bands,
        ..IndexConfig::standard()
    };
    let top_k = 10;
    let n_bits = config.out_bits();
    let w = n_bits / 64;
    let bands = if record_level {
        format!(
            "{} bands of {} bits",
            index_config.bands, index_config.bits_per_band
        )
    } else {
        let families: Vec<String> = index_config
            .field_bands
            .iter()
            .map(|f| format!("{}×{:?}", f.bands, f.windows))
            .collect();
        format!("field bands {}", families.join(" "))
    };
    println!(
        "index benchmark: {n} persons, {} {} encodings of {n_bits} bits, threshold {threshold}, {bands}, max bucket {}, {} threads",
        if record_level {
            "record-level"
        } else {
            "field-level"
        },
        hardening.name(),
        index_config.max_bucket,
        rayon::current_num_threads()
    );

    let t = Instant::now();
    let parts = Parts::new(config);
    let mut rows = vec![0u64; n * w];
    rows.par_chunks_mut(w * 4096)
        .enumerate()
        .for_each(|(chunk, out)| {
            for (k, row) in out.chunks_exact_mut(w).enumerate() {
                let i = (chunk * 4096 + k) as u64;
                row.copy_from_slice(&parts.encode(&person_spec(&parts, POP_SEED, i), None));
            }
        });
    let mut clks = rows_to_clks(n_bits, rows);
    if let Some(scoring) = parts.encoder.scoring() {
        clks = clks.with_scoring(scoring).unwrap();
    }
    let pc: Vec<u32> = clks.popcounts().to_vec();
    let mean_pc = pc.iter().map(|&p| f64::from(p)).sum::<f64>() / n.max(1) as f64;
    println!(
        "synthesised and encoded {n} in {:.1} s (mean popcount {mean_pc:.0} of {n_bits})",
        t.elapsed().as_secs_f64()
    );

    // Queries: even ones are changed copies of index members, odd ones are not in it.
    let mut qrows = Vec::with_capacity(n_queries * w);
    let mut source = Vec::with_capacity(n_queries);
    for q in 0..n_queries as u64 {
        let mut rng = Rng::new(99, q);
        if q % 2 == 0 {
            let i = rng.below(n as u64);
            qrows.extend(perturbed(
                &parts,
                &person_spec(&parts, POP_SEED, i),
                &mut rng,
            ));
            source.push(Some(i as u32));
        } else {
            qrows.extend(parts.encode(&person_spec(&parts, FRESH_SEED, q), None));
            source.push(None);
        }
    }
    let queries = rows_to_clks(n_bits, qrows);
    drop(pc);

    let index_rows = if std::env::var_os("PALERMO_INDEX_DIAGNOSE").is_some() {
        Some(clks.clone())
    } else {
        None
    };
    let t = Instant::now();
    let cpu = process_cpu_s();
    let index = Index::build(clks, &index_config).unwrap();
    let build_s = t.elapsed().as_secs_f64();
    let build_cpu = process_cpu_s() - cpu;
    println!(
        "built the index in {build_s:.1} s: {:.0} MiB on the heap (rows {:.0} MiB), process RSS {:.0} MiB, peak {:.0} MiB",
        index.heap_bytes() as f64 / (1 << 20) as f64,
        (n * w * 8) as f64 / (1 << 20) as f64,
        rss_mb("VmRSS:"),
        rss_mb("VmHWM:")
    );

    let mut cands: Vec<usize> = (0..queries.len())
        .map(|q| index.candidates(queries.row(q)))
        .collect();
    cands.sort_unstable();
    println!(
        "candidates per query (verified with the kernel): mean {:.0}, p50 {}, p99 {}",
        cands.iter().sum::<usize>() as f64 / cands.len().max(1) as f64,
        cands[cands.len() / 2],
        cands[(cands.len() - 1) * 99 / 100]
    );

    // Single-record queries, one at a time on one thread.
    let mut lat = Vec::with_capacity(n_queries);
    let mut single: Vec<Vec<Hit>> = Vec::with_capacity(n_queries);
    let cpu = thread_cpu_ns();
    let t = Instant::now();
    for q in 0..queries.len() {
        let s = Instant::now();
        single.push(index.query(queries.row(q), threshold, top_k).unwrap());
        lat.push(s.elapsed().as_secs_f64() * 1e3);
    }
    let one_thread = queries.len() as f64 / t.elapsed().as_secs_f64();
    // Queries per second of CPU time on this thread: what one core of its own would
    // answer, which unlike the wall-clock rate does not follow other processes' load.
    let per_cpu = queries.len() as f64 / ((thread_cpu_ns() - cpu) as f64 / 1e9).max(1e-9);
    lat.sort_by(f64::total_cmp);
    let single_p50 = percentile(&lat, 0.5);
    println!(
        "single-record queries, 1 caller: {one_thread:.0}/s ({per_cpu:.0} per CPU second), p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );

    // Single-record queries from one caller per core (how a server answers peers).
    let callers = rayon::current_num_threads().max(1);
    let t = Instant::now();
    let mut lat: Vec<f64> = (0..callers)
        .into_par_iter()
        .flat_map_iter(|c| {
            (c..queries.len())
                .step_by(callers)
                .map(|q| {
                    let s = Instant::now();
                    let hits = index.query(queries.row(q), threshold, top_k).unwrap();
                    assert_eq!(hits, single[q]);
                    s.elapsed().as_secs_f64() * 1e3
                })
                .collect::<Vec<_>>()
        })
        .collect();
    let many = queries.len() as f64 / t.elapsed().as_secs_f64();
    lat.sort_by(f64::total_cmp);
    println!(
        "single-record queries, {callers} callers: {many:.0}/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        lat[lat.len() - 1]
    );

    let t = Instant::now();
    let cpu = process_cpu_s();
    let batch = index.query_batch(&queries, threshold, top_k).unwrap();
    let batch_s = t.elapsed().as_secs_f64();
    let batch_cpu = process_cpu_s() - cpu;
    assert_eq!(batch, single, "batch and single answers differ");
    let hits = batch.iter().filter(|h| !h.is_empty()).count();
    let own = source
        .iter()
        .zip(&batch)
        .filter(|(s, h)| s.is_some_and(|i| h.iter().any(|x| x.position == i)))
        .count();
    let members = source.iter().filter(|s| s.is_some()).count();
    println!(
        "batch of {}: {batch_s:.3} s; {hits} queries hit; {own} of {members} changed members found their record; answers digest {:016x}",
        queries.len(),
        digest(&batch)
    );

    // Recall against exhaustive search on a sample (members and strangers alike).
    // `PALERMO_INDEX_DIAGNOSE=1` prints the per-field Dice of every pair missed.
    let diagnose = std::env::var_os("PALERMO_INDEX_DIAGNOSE").is_some();
    let t = Instant::now();
    let sample = sample.min(queries.len());
    let (mut exact_pairs, mut found_pairs) = (0usize, 0usize);
    let mut lowest_missed = f64::INFINITY;
    for q in 0..sample {
        let exact = index
            .query_exhaustive(queries.row(q), threshold, usize::MAX)
            .unwrap();
        let got = index.query(queries.row(q), threshold, usize::MAX).unwrap();
        assert!(
            got.iter().all(|h| exact.contains(h)),
            "query {q}: a hit exhaustive search lacks"
        );
        exact_pairs += exact.len();
        found_pairs += got.len();
        for h in exact.iter().filter(|h| !got.contains(h)) {
            lowest_missed = lowest_missed.min(h.dice);
            if diagnose {
                println!(
                    "  missed query {q} position {} score {:.3}: per-field Dice {}",
                    h.position,
                    h.dice,
                    field_dice(&queries, q, &index_rows, h.position as usize)
                );
            }
        }
    }
    let recall = found_pairs as f64 / exact_pairs.max(1) as f64;
    println!(
        "recall against exhaustive search on {sample} queries: {found_pairs} of {exact_pairs} pairs = {recall:.4} (exhaustive {:.2} s/query{})",
        t.elapsed().as_secs_f64() / sample.max(1) as f64,
        if lowest_missed.is_finite() {
            format!("; missed pairs from Dice {lowest_missed:.3}")
        } else {
            String::new()
        }
    );
    println!(
        "INDEX n={n} build_s={build_s:.2} build_cpu_s={build_cpu:.2} batch_cpu_s={batch_cpu:.2} qps1={one_thread:.0} qps1_cpu={per_cpu:.0} p50_ms={:.3} qps={many:.0} batch_s={batch_s:.3} recall={recall:.4} heap_mib={:.0} peak_rss_mib={:.0} digest={:016x}",
        single_p50,
        index.heap_bytes() as f64 / (1 << 20) as f64,
        rss_mb("VmHWM:"),
        digest(&batch)
    );
    let min_recall: f64 = env(
        "PALERMO_INDEX_MIN_RECALL",
        if record_level { 0.75 } else { 0.95 },
    );
    assert!(
        recall >= min_recall,
        "recall {recall:.4} below {min_recall}"
    );
}
