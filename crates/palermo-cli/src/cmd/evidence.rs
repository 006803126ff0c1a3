//! `palermo evidence`: content-addressed evidence and its chain of custody.
//!
//! Files are copied into the vault (`--vault` / `PALERMO_VAULT`, default
//! `FILE.vault/` next to the SQLite database or `./palermo-vault`) under their
//! BLAKE3 digest, hashed with SHA-256 and BLAKE3 in the same streaming pass
//! (constant memory). Every custody event is a ledger entry; an item's chain
//! is the list of its `evidence-custody` entries.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};

use palermo_ledger::entry::NewEntry;
use palermo_ledger::evidence::{CustodyEvent, Digests, chain_problems, digest_reader, item_id};
use palermo_ledger::merkle::verify_inclusion;
use palermo_ledger::report::{self, CustodyReport, ProvenEntry, REPORT_FORMAT, ReportItem};
use palermo_ledger::{Entry, EntryBody};
use palermo_store::{AnyStore, EntryFilter, LedgerStore, StoredEntry, ledger_inclusion_proof};
use serde::Serialize;

use super::ledger::{
    KeyArgs, actor, append, close, key_path, read_key, read_public_key, sqlite_file,
};
use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Subcommands of `palermo evidence`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Hash files into the vault and record their intake on the ledger.
    Add(AddArgs),
    /// Record a custody event of an item (seized, imaged, transferred, ...).
    Custody(CustodyArgs),
    /// Re-hash vault items and check their chains of custody.
    Verify(VerifyArgs),
    /// Write a self-contained, offline-verifiable custody report for a case.
    Report(ReportArgs),
    /// Verify a custody report directory offline (no store needed).
    CheckReport(CheckReportArgs),
}

/// Where evidence bytes are kept.
#[derive(Debug, clap::Args)]
pub(crate) struct VaultArgs {
    /// The evidence vault directory; default: next to the SQLite file, or ./palermo-vault.
    #[arg(long, env = "PALERMO_VAULT", value_name = "DIR")]
    vault: Option<PathBuf>,
}

/// Arguments of `palermo evidence add`.
#[derive(Debug, clap::Args)]
pub(crate) struct AddArgs {
    /// The files to add.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The case the evidence belongs to.
    #[arg(long)]
    case: String,
    /// What the evidence is.
    #[arg(long)]
    description: String,
    /// Where it was seized.
    #[arg(long, value_name = "PLACE")]
    seized_at: Option<String>,
    /// When it was seized (ISO 8601 date, partial allowed).
    #[arg(long, value_name = "DATE")]
    seized_on: Option<String>,
    /// Who seized it.
    #[arg(long, value_name = "OFFICER")]
    by: Option<String>,
    /// Handling markings (repeatable; default TLP:AMBER).
    #[arg(long = "marking")]
    markings: Vec<String>,
    /// The acting user (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
    #[command(flatten)]
    vault: VaultArgs,
    #[command(flatten)]
    key: KeyArgs,
}

/// Custody event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EventKind {
    Seized,
    Imaged,
    Transferred,
    Analysed,
    Disclosed,
    Returned,
    Destroyed,
}

/// Arguments of `palermo evidence custody`.
#[derive(Debug, clap::Args)]
pub(crate) struct CustodyArgs {
    /// The item id (`ev-...`).
    item: String,
    /// What happened.
    #[arg(long, value_enum)]
    event: EventKind,
    /// Transferred from (node or person).
    #[arg(long)]
    from: Option<String>,
    /// Transferred / disclosed / returned to.
    #[arg(long)]
    to: Option<String>,
    /// Seized at (place).
    #[arg(long)]
    place: Option<String>,
    /// Seized on (date).
    #[arg(long)]
    on: Option<String>,
    /// Seized by (officer).
    #[arg(long)]
    by: Option<String>,
    /// Imaging or analysis tool.
    #[arg(long)]
    tool: Option<String>,
    /// Tool version.
    #[arg(long)]
    tool_version: Option<String>,
    /// SHA-256 of the image or analysis result (hex).
    #[arg(long)]
    result_sha256: Option<String>,
    /// Legal basis of a disclosure.
    #[arg(long)]
    legal_basis: Option<String>,
    /// How the item was destroyed.
    #[arg(long)]
    method: Option<String>,
    /// Free note (seal number, courier...).
    #[arg(long)]
    note: Option<String>,
    /// The acting user (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `palermo evidence verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// Only items of this case.
    #[arg(long)]
    case: Option<String>,
    #[command(flatten)]
    vault: VaultArgs,
}

/// Arguments of `palermo evidence report`.
#[derive(Debug, clap::Args)]
pub(crate) struct ReportArgs {
    /// The case.
    #[arg(long)]
    case: String,
    /// The output directory (created if missing).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `palermo evidence check-report`.
#[derive(Debug, clap::Args)]
pub(crate) struct CheckReportArgs {
    /// The report directory.
    dir: PathBuf,
    /// Require the report to be signed by this public key (SPKI PEM).
    #[arg(long, value_name = "PEM")]
    key: Option<PathBuf>,
}

/// Runs a `palermo evidence` subcommand.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match &command {
        Command::CheckReport(args) => return check_report(ctx, args),
        Command::Add(args) => validate_add(args)?,
        _ => {}
    }
    let store = open_store(ctx).await?;
    let res = match command {
        Command::Add(args) => add(ctx, &store, args).await,
        Command::Custody(args) => custody(ctx, &store, args).await,
        Command::Verify(args) => verify(ctx, &store, args).await,
        Command::Report(args) => write_report(ctx, &store, args).await,
        Command::CheckReport(_) => Ok(()),
    };
    close(store).await;
    res
}

/// A row of `evidence add` output.
#[derive(Debug, Serialize)]
struct Added {
    item: String,
    file: String,
    #[serde(flatten)]
    digests: Digests,
    entry: Option<u64>,
    already_recorded: bool,
}

async fn add(ctx: &Ctx, store: &AnyStore, args: AddArgs) -> Result<(), CliError> {
    let vault = vault_dir(ctx, &args.vault)?;
    std::fs::create_dir_all(&vault).map_err(|err| {
        CliError::failure(format!("creating the vault {}: {err}", vault.display()))
    })?;
    let actor = actor(args.user);
    let markings = if args.markings.is_empty() {
        vec!["TLP:AMBER".to_owned()]
    } else {
        args.markings
    };
    let mut added = Vec::new();
    let mut entries = Vec::new();
    for file in &args.files {
        let digests = store_in_vault(file, &vault)?;
        let item = item_id(&args.case, &digests);
        let file_name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        let already = !item_entries(store, &item).await?.is_empty()
            || added.iter().any(|a: &Added| a.item == item);
        if !already {
            entries.push(NewEntry {
                actor: actor.clone(),
                case: Some(args.case.clone()),
                time: None,
                body: EntryBody::EvidenceCustody {
                    item: item.clone(),
                    event: CustodyEvent::Intake {
                        file_name: file_name.clone(),
                        digests: digests.clone(),
                        description: args.description.clone(),
                        markings: markings.clone(),
                        seized_at: args.seized_at.clone(),
                        seized_on: args.seized_on.clone(),
                        seized_by: args.by.clone(),
                    },
                },
            });
        }
        added.push(Added {
            item,
            file: file.display().to_string(),
            digests,
            entry: None,
            already_recorded: already,
        });
    }
    let n_new = entries.len() as u64;
    if n_new > 0 {
        let head = append(ctx, store, &args.key, &actor, entries).await?;
        // The intakes are the last `n_new` entries of the batch.
        let first = head.head.size - n_new;
        for (seq, row) in (first..).zip(added.iter_mut().filter(|a| !a.already_recorded)) {
            row.entry = Some(seq);
        }
    }
    ctx.report(&added, |rows| {
        let mut text = String::new();
        for r in rows {
            let status = match r.entry {
                Some(seq) => format!("intake entry {seq}"),
                None => "already recorded".to_owned(),
            };
            text.push_str(&format!(
                "{}  {}  {} bytes  sha256 {}  blake3 {}  ({status})\n",
                r.item, r.file, r.digests.size, r.digests.sha256, r.digests.blake3
            ));
        }
        text
    })
}

async fn custody(ctx: &Ctx, store: &AnyStore, args: CustodyArgs) -> Result<(), CliError> {
    let need = |value: &Option<String>, flag: &str| {
        value
            .clone()
            .ok_or_else(|| CliError::bad_input(format!("--event {:?} needs --{flag}", args.event)))
    };
    let event = match args.event {
        EventKind::Seized => CustodyEvent::Seized {
            place: need(&args.place, "place")?,
            on: need(&args.on, "on")?,
            by: need(&args.by, "by")?,
        },
        EventKind::Imaged => CustodyEvent::Imaged {
            tool: need(&args.tool, "tool")?,
            version: need(&args.tool_version, "tool-version")?,
            image_sha256: sha256_arg(need(&args.result_sha256, "result-sha256")?)?,
        },
        EventKind::Transferred => CustodyEvent::Transferred {
            from: need(&args.from, "from")?,
            to: need(&args.to, "to")?,
            note: args.note.clone(),
        },
        EventKind::Analysed => CustodyEvent::Analysed {
            tool: need(&args.tool, "tool")?,
            version: need(&args.tool_version, "tool-version")?,
            result_sha256: sha256_arg(need(&args.result_sha256, "result-sha256")?)?,
        },
        EventKind::Disclosed => CustodyEvent::Disclosed {
            to: need(&args.to, "to")?,
            legal_basis: need(&args.legal_basis, "legal-basis")?,
        },
        EventKind::Returned => CustodyEvent::Returned {
            to: need(&args.to, "to")?,
        },
        EventKind::Destroyed => CustodyEvent::Destroyed {
            method: need(&args.method, "method")?,
        },
    };
    let chain = item_entries(store, &args.item).await?;
    let Some(first) = chain.first() else {
        return Err(CliError::bad_input(format!(
            "no evidence item {} on the ledger",
            args.item
        )));
    };
    let mut events: Vec<CustodyEvent> = chain
        .iter()
        .filter_map(|e| custody_event(e).ok().flatten().map(|(_, ev)| ev))
        .collect();
    events.push(event.clone());
    if let Some(problem) = chain_problems(&events).into_iter().next() {
        return Err(CliError::bad_input(format!(
            "item {}: {problem}",
            args.item
        )));
    }
    let actor = actor(args.user);
    let entry = NewEntry {
        actor: actor.clone(),
        case: first.case.clone(),
        time: None,
        body: EntryBody::EvidenceCustody {
            item: args.item.clone(),
            event,
        },
    };
    let head = append(ctx, store, &args.key, &actor, vec![entry]).await?;
    #[derive(Serialize)]
    struct Out {
        item: String,
        entry: u64,
        tree_size: u64,
    }
    let out = Out {
        item: args.item,
        entry: head.head.size - 1,
        tree_size: head.head.size,
    };
    ctx.report(&out, |o| {
        format!("recorded entry {} for {}", o.entry, o.item)
    })
}

/// One item's verification result.
#[derive(Debug, Serialize)]
struct ItemCheck {
    item: String,
    case: Option<String>,
    file_name: String,
    n_events: usize,
    problems: Vec<String>,
}

async fn verify(ctx: &Ctx, store: &AnyStore, args: VerifyArgs) -> Result<(), CliError> {
    let vault = vault_dir(ctx, &args.vault)?;
    let Some(head) = store.ledger_head().await? else {
        return Err(CliError::failure(
            "the ledger is empty: no evidence recorded",
        ));
    };
    let mut checks = Vec::new();
    for intake in intakes(store, args.case.as_deref()).await? {
        let Some(item) = intake.subject.clone() else {
            continue;
        };
        let chain = item_entries(store, &item).await?;
        let mut problems = Vec::new();
        let mut events = Vec::new();
        let mut expected: Option<(String, Digests)> = None;
        for entry in &chain {
            match custody_event(entry) {
                Ok(Some((_, event))) => {
                    if let CustodyEvent::Intake {
                        file_name, digests, ..
                    } = &event
                    {
                        expected = Some((file_name.clone(), digests.clone()));
                    }
                    events.push(event);
                }
                Ok(None) => {}
                Err(err) => problems.push(format!("entry {}: {err}", entry.seq)),
            }
            let proof = ledger_inclusion_proof(store, entry.seq, head.head.size).await?;
            if verify_inclusion(
                &palermo_ledger::leaf_hash(&entry.bytes),
                &proof,
                &head.head.root,
            )
            .is_err()
            {
                problems.push(format!(
                    "entry {} is not in the signed log (run `palermo ledger verify`)",
                    entry.seq
                ));
            }
        }
        problems.extend(chain_problems(&events));
        let file_name = expected
            .as_ref()
            .map_or_else(String::new, |(name, _)| name.clone());
        if let Some((_, digests)) = &expected {
            let path = vault.join(&digests.blake3);
            match File::open(&path) {
                Err(err) => problems.push(format!("vault file {}: {err}", path.display())),
                Ok(file) => {
                    let got = digest_reader(BufReader::new(file), &path.display().to_string())?;
                    if got != *digests {
                        problems.push(format!(
                            "vault file {} no longer matches its recorded hashes",
                            path.display()
                        ));
                    }
                }
            }
        }
        checks.push(ItemCheck {
            item,
            case: intake.case.clone(),
            file_name,
            n_events: events.len(),
            problems,
        });
    }
    let n_bad = checks.iter().filter(|c| !c.problems.is_empty()).count();
    ctx.report(&checks, |rows| {
        let mut text = String::new();
        for c in rows {
            let status = if c.problems.is_empty() {
                "ok".to_owned()
            } else {
                c.problems.join("; ")
            };
            text.push_str(&format!(
                "{}  {}  {} events  {status}\n",
                c.item, c.file_name, c.n_events
            ));
        }
        if text.is_empty() {
            text.push_str("no evidence items\n");
        }
        text
    })?;
    if n_bad > 0 {
        return Err(CliError::failure(format!(
            "{n_bad} of {} evidence items failed verification",
            checks.len()
        )));
    }
    Ok(())
}

async fn write_report(ctx: &Ctx, store: &AnyStore, args: ReportArgs) -> Result<(), CliError> {
    let key = read_key(&key_path(ctx, &args.key)?)?;
    let Some(head) = store.ledger_head().await? else {
        return Err(CliError::failure(
            "the ledger is empty: no evidence recorded",
        ));
    };
    if head.key_id != key.public().fingerprint() {
        return Err(CliError::failure(format!(
            "the latest tree head is signed by key {}, not by the node key",
            head.key_id
        )));
    }
    let mut items = Vec::new();
    for intake in intakes(store, Some(&args.case)).await? {
        let Some(item) = intake.subject.clone() else {
            continue;
        };
        let mut chain = Vec::new();
        for entry in item_entries(store, &item).await? {
            let proof = ledger_inclusion_proof(store, entry.seq, head.head.size).await?;
            let text = String::from_utf8(entry.bytes).map_err(|_| {
                CliError::failure(format!(
                    "entry {} is not UTF-8 (run `palermo ledger verify`)",
                    entry.seq
                ))
            })?;
            chain.push(ProvenEntry { entry: text, proof });
        }
        items.push(ReportItem { id: item, chain });
    }
    if items.is_empty() {
        return Err(CliError::bad_input(format!(
            "--case {}: no evidence recorded for this case",
            args.case
        )));
    }
    let report = CustodyReport {
        format: REPORT_FORMAT.to_owned(),
        case: args.case.clone(),
        node_key: key.public(),
        head,
        items,
    };
    let files = report::render(&report)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|err| CliError::failure(format!("creating {}: {err}", args.out.display())))?;
    for (name, bytes) in &files {
        let path = args.out.join(name);
        std::fs::write(&path, bytes)
            .map_err(|err| CliError::failure(format!("writing {}: {err}", path.display())))?;
    }
    #[derive(Serialize)]
    struct Out {
        case: String,
        out: String,
        files: Vec<String>,
        n_items: usize,
        tree_size: u64,
        key_fingerprint: String,
    }
    let out = Out {
        case: args.case,
        out: args.out.display().to_string(),
        files: files.keys().cloned().collect(),
        n_items: report.items.len(),
        tree_size: report.head.head.size,
        key_fingerprint: report.node_key.fingerprint(),
    };
    ctx.report(&out, |o| {
        format!(
            "wrote the custody report of case {} ({} items, tree size {}) to {}\nfiles: {}\nnode key fingerprint: {}",
            o.case, o.n_items, o.tree_size, o.out, o.files.join(", "), o.key_fingerprint
        )
    })
}

fn check_report(ctx: &Ctx, args: &CheckReportArgs) -> Result<(), CliError> {
    let expected_key = args.key.as_deref().map(read_public_key).transpose()?;
    let entries = std::fs::read_dir(&args.dir)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", args.dir.display())))?;
    let mut files = BTreeMap::new();
    for entry in entries {
        let entry = entry
            .map_err(|err| CliError::failure(format!("reading {}: {err}", args.dir.display())))?;
        if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
            let bytes = std::fs::read(entry.path()).map_err(|err| {
                CliError::failure(format!("reading {}: {err}", entry.path().display()))
            })?;
            files.insert(entry.file_name().to_string_lossy().into_owned(), bytes);
        }
    }
    let checked = report::check(&files, expected_key.as_ref())
        .map_err(|err| CliError::failure(format!("{}: {err}", args.dir.display())))?;
    ctx.report(&checked, |c| {
        format!(
            "ok: case {}, {} items, {} custody entries proven under the signed tree head of size {}\nroot: {}\nnode key fingerprint: {} (compare it with the one the node publishes)",
            c.case, c.n_items, c.n_entries, c.tree_size, c.root, c.key_fingerprint
        )
    })
}

/// The vault directory.
fn vault_dir(ctx: &Ctx, args: &VaultArgs) -> Result<PathBuf, CliError> {
    if let Some(dir) = &args.vault {
        return Ok(dir.clone());
    }
    if let Some(file) = sqlite_file(&ctx.db) {
        if file.is_empty() || file.contains(":memory:") {
            return Err(CliError::bad_input(
                "an in-memory database needs --vault DIR for evidence",
            ));
        }
        return Ok(PathBuf::from(format!("{file}.vault")));
    }
    Ok(PathBuf::from("palermo-vault"))
}

/// Checks every file and flag before touching the store or the vault.
fn validate_add(args: &AddArgs) -> Result<(), CliError> {
    for file in &args.files {
        let meta = std::fs::metadata(file)
            .map_err(|err| CliError::bad_input(format!("{}: {err}", file.display())))?;
        if !meta.is_file() {
            return Err(CliError::bad_input(format!(
                "{}: not a regular file",
                file.display()
            )));
        }
        File::open(file)
            .map_err(|err| CliError::bad_input(format!("{}: {err}", file.display())))?;
    }
    if let Some(on) = &args.seized_on {
        palermo_model::PartialDate::parse(on)
            .map_err(|err| CliError::bad_input(format!("--seized-on {on:?}: {err}")))?;
    }
    if args.case.trim().is_empty() {
        return Err(CliError::bad_input("--case must not be empty"));
    }
    Ok(())
}

/// Copies `file` into the vault while hashing it, and names the copy by its BLAKE3 digest.
fn store_in_vault(file: &Path, vault: &Path) -> Result<Digests, CliError> {
    let source = File::open(file)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", file.display())))?;
    let tmp = vault.join(format!(".incoming-{}", std::process::id()));
    let target = File::create(&tmp)
        .map_err(|err| CliError::failure(format!("writing {}: {err}", tmp.display())))?;
    let mut tee = Tee {
        reader: BufReader::with_capacity(1 << 20, source),
        writer: std::io::BufWriter::with_capacity(1 << 20, target),
    };
    let digests = digest_reader(&mut tee, &file.display().to_string())?;
    let target = tee
        .writer
        .into_inner()
        .map_err(|err| CliError::failure(format!("writing {}: {err}", tmp.display())))?;
    target.sync_all()?;
    let path = vault.join(&digests.blake3);
    std::fs::rename(&tmp, &path)
        .map_err(|err| CliError::failure(format!("moving into {}: {err}", path.display())))?;
    Ok(digests)
}

/// A reader that writes everything it reads into `writer` (copy while hashing).
struct Tee<R, W> {
    reader: R,
    writer: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.reader.read(buf)?;
        self.writer.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Every `evidence-custody` entry of an item, in order.
async fn item_entries(store: &AnyStore, item: &str) -> Result<Vec<StoredEntry>, CliError> {
    all_entries(
        store,
        EntryFilter {
            kind: Some("evidence-custody".to_owned()),
            actor: None,
            case: None,
            subject: Some(item.to_owned()),
            from_seq: 0,
            limit: 10_000,
        },
    )
    .await
}

/// The first entry of every item (optionally of one case).
async fn intakes(store: &AnyStore, case: Option<&str>) -> Result<Vec<StoredEntry>, CliError> {
    let all = all_entries(
        store,
        EntryFilter {
            kind: Some("evidence-custody".to_owned()),
            actor: None,
            case: case.map(str::to_owned),
            subject: None,
            from_seq: 0,
            limit: 10_000,
        },
    )
    .await?;
    let mut seen = std::collections::BTreeSet::new();
    Ok(all
        .into_iter()
        .filter(|e| e.subject.as_ref().is_some_and(|s| seen.insert(s.clone())))
        .collect())
}

async fn all_entries(
    store: &AnyStore,
    mut filter: EntryFilter,
) -> Result<Vec<StoredEntry>, CliError> {
    let mut out = Vec::new();
    loop {
        let page = store.ledger_entries(&filter).await?;
        let Some(last) = page.last() else { break };
        filter.from_seq = last.seq + 1;
        let full = page.len() as u64 == filter.limit;
        out.extend(page);
        if !full {
            break;
        }
    }
    Ok(out)
}

/// The custody event of a stored entry (`None` for other kinds).
fn custody_event(entry: &StoredEntry) -> palermo_ledger::Result<Option<(String, CustodyEvent)>> {
    let parsed = Entry::from_bytes(&entry.bytes)?;
    Ok(match parsed.body {
        EntryBody::EvidenceCustody { item, event } => Some((item, event)),
        _ => None,
    })
}

fn sha256_arg(text: String) -> Result<String, CliError> {
    let lower = text.trim().to_ascii_lowercase();
    if lower.len() == 64 && lower.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(lower)
    } else {
        Err(CliError::bad_input(format!(
            "--result-sha256 {text:?}: expected 64 hex digits"
        )))
    }
}
