//! Hit/no-hit benchmark between two nodes on loopback (mutual TLS, SQLite
//! stores): NL asks DE, which holds N encoded persons.
//!
//! - the first query, which loads DE's encodings from its store into memory;
//! - single-record queries, each timed from `send_query` to the answer stored
//!   at NL (delivery both ways, checks, matching, policy, stores and ledgers
//!   on both sides): `BENCH_CONCURRENCY` callers each send a query, wait for
//!   its answer ([`Node::settled_query`]) and send the next, until
//!   `BENCH_QUERIES` are answered: queries per second, p50 and p99;
//! - one batch of `BENCH_BATCH` (default 10,000) encodings, timed the same way;
//! - the resident memory of the process (now and peak) before and after DE
//!   loaded its set.
//!
//! Run with `cargo test --release -p palermo-federation --bench hits -- --bench`.
//! `BENCH_PERSONS` (default 20000), `BENCH_QUERIES` (default 400) and `BENCH_CONCURRENCY`
//! (default 8) change the sizes. `BENCH_STORE=FILE` keeps DE's SQLite store in
//! FILE and reuses it when it already holds the same persons (a setup stopped
//! after the records were imported reuses the import and only encodes). It
//! fails when a query is not answered or a known person is not found.
//!
//! By default both nodes and the callers share one process, so its CPU per
//! query is all of theirs. `BENCH_SPLIT=1` runs DE, the node under test, in
//! a process of its own (this binary again, with `BENCH_ROLE=answer`) and
//! reports that process's CPU per query and memory apart from the asking
//! side's (NL and the callers); `BENCH_PIN=1` with it pins DE's process to
//! CPU 1 and this one to CPU 0 (`taskset`), so that DE has one core of its own.

#![allow(clippy::unwrap_used, clippy::print_stdout)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use palermo_federation::hits::{BasisClaim, QueryRequest};
use palermo_federation::{Node, NodeConfig, TrustAnchor};
use palermo_ledger::NodeKey;
use palermo_model::{Entity, EntityId, Schema};
use palermo_pprl::{Clks, EncodeConfig, Encoder, Encodings, Person};
use palermo_resolve::Property;
use palermo_store::{AnyStore, BatchMeta, HitEncodingSet, ImportTx, InsertCounts, Store};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use uuid::Uuid;

/// The allocator of the `palermo` binary, which runs nodes in production
/// (`palermo-cli`'s `main.rs`), so that the figures are those of the
/// shipped node: with the system allocator, `malloc` and `free` were about
/// 15 % of a query's CPU here (`bench/federation/README.md`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const FIRST: [&str; 24] = [
    "Olena", "Dmytro", "Anna", "Jonas", "Maria", "Ahmed", "Dao", "Somchai", "Ivan", "Elena",
    "Lukas", "Fatima", "Nguyen", "Irina", "Pavel", "Aylin", "Mehmet", "Sara", "Tomas", "Ewa",
    "Kofi", "Amara", "Chen", "Lina",
];
const LAST: [&str; 24] = [
    "Kovalenko",
    "Shevchenko",
    "Weber",
    "Schmidt",
    "Garcia",
    "Al-Rashid",
    "Sukjai",
    "Petrov",
    "Ivanova",
    "Nowak",
    "Yilmaz",
    "Demir",
    "Mensah",
    "Okafor",
    "Tran",
    "Wong",
    "Popescu",
    "Horvat",
    "Novak",
    "Jansen",
    "de Vries",
    "Bakker",
    "Rossi",
    "Silva",
];

/// Synthetic person `i`: names from the tables, a birth date and a passport number from `i`.
fn person(i: u64) -> Person {
    let first = FIRST[(i % 24) as usize];
    let last = LAST[((i / 24) % 24) as usize];
    let day = 1 + (i / 576) % 28;
    let month = 1 + (i / 16_128) % 12;
    let year = 1950 + (i / 193_536) % 55;
    let date = format!("{year}-{month:02}-{day:02}");
    let passport = format!("P{:08}", i * 7_919 % 100_000_000);
    Person::from_values(&[
        (Property::FirstName, first),
        (Property::LastName, last),
        (Property::BirthDate, date.as_str()),
        (Property::PassportNumber, passport.as_str()),
    ])
}

/// A line of `/proc/PID/status` (`VmRSS`, `VmHWM`) in MB; `pid` is `self` or a number.
fn status_mb(pid: &str, field: &str) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn rss_mb() -> f64 {
    status_mb("self", "VmRSS:")
}

fn peak_mb() -> f64 {
    status_mb("self", "VmHWM:")
}

/// CPU seconds process `pid` (`self` or a number) used so far (user and
/// system; clock ticks of 10 ms).
fn cpu_seconds_of(pid: &str) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// CPU seconds this process used so far.
fn cpu_seconds() -> f64 {
    cpu_seconds_of("self")
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

struct Pair {
    nl: Node,
    de_id: String,
    stop: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// DE's process, when it runs in a process of its own (`BENCH_SPLIT=1`).
    answer: Option<AnswerProcess>,
    _tmp: tempfile::TempDir,
}

/// Opens (or creates) DE's store `db` with its `n_persons` persons and their
/// encodings, and lets `nl_id` ask it.
async fn de_store(db: &Path, encoder: &Encoder, n_persons: u64, nl_id: &str) -> AnyStore {
    let now = OffsetDateTime::now_utc();
    let url = format!("sqlite://{}", db.display());
    let store = palermo_store::open(&url).await.unwrap();
    let prepared = store
        .hit_encoding_sets()
        .await
        .unwrap()
        .iter()
        .any(|set| set.key_id == encoder.key_id() && set.records == n_persons);
    if prepared {
        println!("reusing the {n_persons} persons stored in {}", db.display());
    }
    // An import is one transaction: when the last person is stored, all are
    // (a setup stopped after the import keeps it).
    let imported = !prepared
        && store
            .get(&format!("de-{}", n_persons.saturating_sub(1)))
            .await
            .unwrap()
            .is_some();
    if !prepared && !imported {
        // DE holds the persons: records (which the policy decides on) and their encodings.
        let meta = BatchMeta {
            id: Uuid::now_v7(),
            source_file: "bench".to_owned(),
            input_format: "csv".to_owned(),
            imported_by: "bench".to_owned(),
            started_at: now,
        };
        let mut tx = store.begin_import(&meta).await.unwrap();
        let mut counts = InsertCounts::default();
        for start in (0..n_persons).step_by(10_000) {
            let chunk: Vec<Entity> = (start..(start + 10_000).min(n_persons))
                .map(|i| Entity::new(EntityId::new(&format!("de-{i}")).unwrap(), Schema::Person))
                .collect();
            let c = tx.insert(&chunk).await.unwrap();
            counts.new += c.new;
            counts.unchanged += c.unchanged;
        }
        tx.commit(n_persons, counts).await.unwrap();
    }
    if !prepared {
        // Encoded a chunk of persons at a time, so that the persons and a
        // second copy of their encodings are never all in memory (at 10
        // million they were more than 11 GB).
        let mut rows: Vec<(String, Vec<u8>)> = Vec::with_capacity(n_persons as usize);
        let mut n_bits = 0;
        for start in (0..n_persons).step_by(100_000) {
            let people: Vec<Person> = (start..(start + 100_000).min(n_persons))
                .map(person)
                .collect();
            let clks = encoder.encode_all(&people);
            n_bits = clks.n_bits();
            rows.extend(
                (0..clks.len()).map(|i| (format!("de-{}", start + i as u64), clks.bytes(i))),
            );
        }
        let set = HitEncodingSet {
            key_id: encoder.key_id().to_owned(),
            n_bits: n_bits as u64,
            hardening: encoder.config().hardening.name().to_owned(),
            records: rows.len() as u64,
        };
        store.hit_encodings_replace(&set, &rows).await.unwrap();
    }
    palermo_federation::hits::set_peer(&store, nl_id, true, [None; 3], "bench")
        .await
        .unwrap();
    store
}

/// DE's store file: `BENCH_STORE`, or one in its node directory.
fn de_db(dir: &Path) -> PathBuf {
    std::env::var_os("BENCH_STORE").map_or_else(|| dir.join("node.db"), PathBuf::from)
}

/// Opens the node of directory `dir` on `store` and serves it on `listener`
/// until the returned sender is used (or dropped).
fn start(
    dir: &Path,
    store: AnyStore,
    listener: TcpListener,
) -> (
    Node,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    let mut config = NodeConfig::new(dir, NodeKey::generate());
    config.tree_head_interval = Duration::from_secs(3600);
    config.hits.max_queries = u64::MAX;
    config.hits.max_encodings = u64::MAX;
    let node = Node::open(config, store).unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let serving = node.clone();
    let task = tokio::spawn(async move {
        serving
            .run(listener, async move {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    (node, tx, task)
}

fn new_anchor() -> TrustAnchor {
    let now = OffsetDateTime::now_utc();
    TrustAnchor::create("bench", now - time::Duration::days(1), 365).unwrap()
}

async fn pair(encoder: &Encoder, n_persons: u64) -> Pair {
    let tmp = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let mut anchor = new_anchor();
    let mut nodes = Vec::new();
    for (cc, agency) in [("NL", "KNP"), ("DE", "BKA")] {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let (dir, identity) = support::enroll(&mut anchor, tmp.path(), cc, agency, port);
        nodes.push((dir, identity, listener));
    }
    let signed = anchor.publish(now, 7).unwrap();
    let nl_id = nodes[0].1.node_id.clone();
    let de_id = nodes[1].1.node_id.clone();
    let mut stop = Vec::new();
    let mut tasks = Vec::new();
    let mut handles = Vec::new();
    for (dir, identity, listener) in nodes {
        signed
            .save(&dir.join(palermo_federation::pki::DIRECTORY_FILE))
            .unwrap();
        let store = if identity.node_id == de_id {
            de_store(&de_db(&dir), encoder, n_persons, &nl_id).await
        } else {
            let url = format!("sqlite://{}", dir.join("node.db").display());
            palermo_store::open(&url).await.unwrap()
        };
        let (node, tx, task) = start(&dir, store, listener);
        handles.push(node);
        tasks.push(task);
        stop.push(tx);
    }
    Pair {
        nl: handles.swap_remove(0),
        de_id,
        stop,
        tasks,
        answer: None,
        _tmp: tmp,
    }
}

/// The answering node (DE) in a process of its own: this bench binary run
/// again with `BENCH_ROLE=answer` (see [`answer_main`]), its stdin and stdout
/// piped. Killed when dropped before [`AnswerProcess::stop`] (a panicking
/// bench leaves no orphan); the child also stops when its stdin closes.
struct AnswerProcess {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stdout: Option<BufReader<std::process::ChildStdout>>,
}

impl AnswerProcess {
    /// Starts the child, on CPU 1 only when `pin` (through `taskset`, which
    /// execs the bench, so the pid is the bench's).
    fn spawn(pin: bool) -> AnswerProcess {
        let exe = std::env::current_exe().unwrap();
        let mut command = if pin {
            let mut c = Command::new("taskset");
            c.args(["-c", "1"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let mut child = command
            .args(std::env::args_os().skip(1))
            .env("BENCH_ROLE", "answer")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        AnswerProcess {
            stdin: child.stdin.take(),
            stdout: child.stdout.take().map(BufReader::new),
            child,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The child's next protocol line, printing its other lines (what DE's
    /// setup reports) as they come. Panics when the child ends first.
    async fn expect(&mut self, word: &str) -> String {
        let mut stdout = self.stdout.take().unwrap();
        let word = word.to_owned();
        let (stdout, line) = tokio::task::spawn_blocking(move || {
            loop {
                let mut line = String::new();
                let n = stdout.read_line(&mut line).unwrap();
                assert!(n > 0, "the answering process ended before `{word}`");
                match line.trim_end().strip_prefix(&format!("{word} ")) {
                    Some(rest) => return (stdout, rest.to_owned()),
                    None => print!("  DE process: {line}"),
                }
            }
        })
        .await
        .unwrap();
        self.stdout = Some(stdout);
        line
    }

    fn send(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Closes the child's stdin, which stops its node cleanly, and waits for it.
    async fn stop(mut self) {
        let status = tokio::task::spawn_blocking(move || {
            self.stdin = None;
            self.child.wait()
        })
        .await
        .unwrap()
        .unwrap();
        assert!(status.success(), "the answering process: {status}");
    }
}

impl Drop for AnswerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `BENCH_SPLIT=1`: NL and the callers here, DE in a child process.
/// The child binds its port first; this process enrolls both nodes (DE's
/// identity saved where the child reads it), publishes the directory into
/// both node directories and hands the child its directory and NL's id.
async fn pair_split(pin: bool) -> Pair {
    let mut answer = AnswerProcess::spawn(pin);
    let de_port: u16 = answer.expect("port").await.parse().unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let now = OffsetDateTime::now_utc();
    let mut anchor = new_anchor();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let nl_port = listener.local_addr().unwrap().port();
    let (nl_dir, nl) = support::enroll(&mut anchor, tmp.path(), "NL", "KNP", nl_port);
    let (de_dir, de) = support::enroll(&mut anchor, tmp.path(), "DE", "BKA", de_port);
    let signed = anchor.publish(now, 7).unwrap();
    for dir in [&nl_dir, &de_dir] {
        signed
            .save(&dir.join(palermo_federation::pki::DIRECTORY_FILE))
            .unwrap();
    }
    answer.send(de_dir.to_str().unwrap());
    answer.send(&nl.node_id);
    let url = format!("sqlite://{}", nl_dir.join("node.db").display());
    let store = palermo_store::open(&url).await.unwrap();
    let (node, tx, task) = start(&nl_dir, store, listener);
    answer.expect("ready").await;
    Pair {
        nl: node,
        de_id: de.node_id,
        stop: vec![tx],
        tasks: vec![task],
        answer: Some(answer),
        _tmp: tmp,
    }
}

/// `BENCH_ROLE=answer`: DE alone. Prints `port P` once its listener is bound,
/// reads its node directory and NL's node id (a line each) from stdin, opens
/// or builds its store, serves, prints `ready`, and stops cleanly when stdin
/// closes. Its other output is forwarded by the parent.
async fn answer_main(encoder: &Encoder, n_persons: u64) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("port {}", listener.local_addr().unwrap().port());
    let (lines_tx, mut lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    // Stdin is read by a thread of its own; its end (the parent stopped or
    // died) ends the channel.
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    let dir = PathBuf::from(lines.recv().await.unwrap());
    let nl_id = lines.recv().await.unwrap();
    let store = de_store(&de_db(&dir), encoder, n_persons, &nl_id).await;
    let (_node, tx, task) = start(&dir, store, listener);
    println!("ready {}", std::process::id());
    while lines.recv().await.is_some() {}
    let _ = tx.send(());
    task.await.unwrap();
}

fn today() -> palermo_law::Date {
    palermo_law::Date::from_unix_days(
        OffsetDateTime::now_utc()
            .unix_timestamp()
            .div_euclid(86_400),
    )
}

impl Pair {
    /// Sends one query of `people` and returns its id.
    async fn ask(&self, encoder: &Encoder, people: &[Person]) -> Uuid {
        let clks: Clks = encoder.encode_all(people);
        let request = QueryRequest {
            peer: self.de_id.clone(),
            case: "BENCH-1".to_owned(),
            purpose: "case:BENCH-1".to_owned(),
            basis: BasisClaim::parse("PALERMO_TIP").unwrap(),
            date: today(),
            encodings: Encodings {
                ids: Some((0..clks.len()).map(|i| format!("nl-{i}")).collect()),
                clks,
                key_id: Some(encoder.key_id().to_owned()),
                hardening: Some(encoder.config().hardening.name().to_owned()),
            },
        };
        self.nl.send_query(&request).await.unwrap()
    }

    /// Waits until query `id` is settled; panics unless it was answered.
    /// Returns how many encodings of the batch hit.
    async fn answered(&self, id: Uuid) -> u64 {
        let query = self
            .nl
            .settled_query(id, Duration::from_secs(300))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            query.status, "answered",
            "query {id}: {} {:?}",
            query.status, query.code
        );
        query.n_hits
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Pins every thread of this process to CPU 0 (`taskset -a -p`); threads
/// started later inherit it.
fn pin_self_to_cpu0() {
    let status = Command::new("taskset")
        .args(["-a", "-p", "-c", "0"])
        .arg(std::process::id().to_string())
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success(), "taskset: {status}");
}

/// The answering process's CPU seconds and memory, when it has its own.
struct De(Option<String>);

impl De {
    fn cpu(&self) -> f64 {
        self.0.as_deref().map_or(0.0, cpu_seconds_of)
    }

    /// ", DE process resident N MB (peak M MB)", or nothing.
    fn memory(&self) -> String {
        self.0.as_deref().map_or(String::new(), |pid| {
            format!(
                "; DE process resident {:.0} MB (peak {:.0} MB)",
                status_mb(pid, "VmRSS:"),
                status_mb(pid, "VmHWM:")
            )
        })
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n_persons = env("BENCH_PERSONS", 20_000);
    let n_queries = env("BENCH_QUERIES", 400);
    let concurrency = env("BENCH_CONCURRENCY", 8).max(1);
    let encoder = Encoder::new(
        b"a benchmark group secret, 32 bytes",
        EncodeConfig::standard(),
    )
    .unwrap();
    if std::env::var_os("BENCH_ROLE").is_some_and(|role| role == "answer") {
        answer_main(&encoder, n_persons).await;
        return;
    }
    let split = env("BENCH_SPLIT", 0) != 0;
    let pin = split && env("BENCH_PIN", 0) != 0;
    if pin {
        pin_self_to_cpu0();
    }
    let rss_before = rss_mb();
    let started = Instant::now();
    let pair = if split {
        pair_split(pin).await
    } else {
        pair(&encoder, n_persons).await
    };
    let de = De(pair.answer.as_ref().map(|a| a.pid().to_string()));
    println!(
        "setup: {n_persons} persons encoded and stored at DE in {:.1} s{}",
        started.elapsed().as_secs_f64(),
        match (split, pin) {
            (false, _) => "",
            (true, false) => " (DE in a process of its own)",
            (true, true) => " (DE in a process of its own on CPU 1, NL and the callers on CPU 0)",
        }
    );

    let t = Instant::now();
    let id = pair.ask(&encoder, &[person(1)]).await;
    pair.answered(id).await;
    println!(
        "first query (loads DE's set into memory): {:.0} ms; resident memory {:.0} MB -> {:.0} MB (peak {:.0} MB){}",
        t.elapsed().as_secs_f64() * 1e3,
        rss_before,
        rss_mb(),
        peak_mb(),
        de.memory()
    );

    // Closed loop: each caller sends its next query when the last is answered.
    let pair = std::sync::Arc::new(pair);
    let encoder = std::sync::Arc::new(encoder);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let load_before = loadavg();
    let cpu_before = cpu_seconds();
    let de_before = de.cpu();
    let t = Instant::now();
    let mut callers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (pair, encoder, next) = (pair.clone(), encoder.clone(), next.clone());
        callers.spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= n_queries {
                    return latencies;
                }
                let started = Instant::now();
                let id = pair.ask(&encoder, &[person(i * 37 % n_persons)]).await;
                assert_eq!(pair.answered(id).await, 1, "a stored person was not found");
                latencies.push(started.elapsed().as_secs_f64() * 1e3);
            }
        });
    }
    let mut latencies = Vec::with_capacity(n_queries as usize);
    while let Some(done) = callers.join_next().await {
        latencies.extend(done.unwrap());
    }
    let seconds = t.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let cpu = cpu_seconds() - cpu_before;
    let de_cpu = de.cpu() - de_before;
    println!(
        "single-record queries: {n_queries} in {seconds:.2} s = {:.0} queries/s ({concurrency} callers); \
         latency p50 {:.1} ms, p99 {:.1} ms; load average {load_before} -> {}",
        n_queries as f64 / seconds,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        loadavg()
    );
    // On a shared machine the wall-clock figures follow the load; the CPU
    // time both nodes spent per query does not.
    let per_query = |cpu: f64| {
        format!(
            "{:.3} ms per query = {:.0} queries/s per core",
            cpu * 1e3 / n_queries as f64,
            n_queries as f64 / cpu.max(1e-9)
        )
    };
    if split {
        println!("  CPU of the answering process (DE): {}", per_query(de_cpu));
        println!(
            "  CPU of the asking process (NL and the callers): {}",
            per_query(cpu)
        );
        println!(
            "  CPU (both nodes and the callers): {}",
            per_query(cpu + de_cpu)
        );
    } else {
        println!(
            "  CPU (both nodes and the callers): {:.2} ms per query = {:.0} queries/s per core",
            cpu * 1e3 / n_queries as f64,
            n_queries as f64 / cpu.max(1e-9)
        );
    }

    let n_batch = env("BENCH_BATCH", 10_000).min(n_persons);
    let batch: Vec<Person> = (0..n_batch).map(|i| person(i * 13 % n_persons)).collect();
    let de_before = de.cpu();
    let t = Instant::now();
    let id = pair.ask(&encoder, &batch).await;
    let n_hits = pair.answered(id).await;
    println!(
        "one batch of {n_batch} encodings: {:.2} s (encoding at NL included), {n_hits} hit{}",
        t.elapsed().as_secs_f64(),
        if split {
            format!(" ({:.2} s CPU in the DE process)", de.cpu() - de_before)
        } else {
            String::new()
        }
    );
    assert_eq!(n_hits, n_batch, "stored persons were not found");
    println!(
        "resident memory {:.0} MB, peak {:.0} MB{}",
        rss_mb(),
        peak_mb(),
        de.memory()
    );
    let Ok(pair) = std::sync::Arc::try_unwrap(pair) else {
        panic!("a caller still holds the pair");
    };
    // DE's process first, while NL still answers it.
    if let Some(answer) = pair.answer {
        answer.stop().await;
    }
    for tx in pair.stop {
        let _ = tx.send(());
    }
    for task in pair.tasks {
        task.await.unwrap();
    }
}
