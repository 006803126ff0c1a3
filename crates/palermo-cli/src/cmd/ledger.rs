//! `palermo ledger`: verify, inspect and prove the node's tamper-evident ledger.
//!
//! Also home of the node signing key handling shared with `palermo evidence`:
//! the key is a PKCS#8 PEM file given by `--key` / `PALERMO_KEY`, by default
//! next to the SQLite database (`FILE.key`) or `palermo-node.key` in the
//! working directory for PostgreSQL. It is generated on the first append to
//! an empty ledger (mode 0600), and a `key-change` entry announcing it is the
//! first entry of the log.

use std::io::Write;
use std::path::{Path, PathBuf};

use palermo_ledger::audit::Finding;
use palermo_ledger::entry::NewEntry;
use palermo_ledger::insider::{InsiderConfig, insider_report};
use palermo_ledger::merkle::{verify_consistency, verify_inclusion};
use palermo_ledger::{Entry, EntryBody, NodeKey, PublicKey, SignedTreeHead};
use palermo_store::{
    AnyStore, EntryFilter, LedgerStore, ledger_consistency_proof, ledger_inclusion_proof,
};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Subcommands of `palermo ledger`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Recompute every entry, hash, node and signed head; exit 1 naming the first bad entry.
    Verify(VerifyArgs),
    /// Print the latest signed tree head and the node's public key.
    Head(KeyArgs),
    /// Print an inclusion proof (`--entry N`) or a consistency proof (`--from OLD`).
    Proof(ProofArgs),
    /// List entries, oldest first, filtered and paged.
    Show(ShowArgs),
    /// Report unusual access: heavy queriers, queries outside assigned cases, off-hours access.
    Insider(InsiderArgs),
    /// Print the node's public key (PEM), to publish to courts and peer nodes.
    PublicKey(KeyArgs),
}

/// Where the node's signing key lives.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct KeyArgs {
    /// The node signing key (PKCS#8 PEM); default: next to the SQLite file, or ./palermo-node.key.
    #[arg(long, env = "PALERMO_KEY", value_name = "FILE")]
    pub(crate) key: Option<PathBuf>,
}

/// Arguments of `palermo ledger verify`.
#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// Trust only this public key (SPKI PEM) instead of the node's key file.
    #[arg(long, value_name = "PEM")]
    public_key: Option<PathBuf>,
}

/// Arguments of `palermo ledger proof`.
#[derive(Debug, clap::Args)]
pub(crate) struct ProofArgs {
    /// Prove that this entry is in the log.
    #[arg(long, conflicts_with = "from", required_unless_present = "from")]
    entry: Option<u64>,
    /// Prove that the log of this size is a prefix of the current one.
    #[arg(long)]
    from: Option<u64>,
    /// The tree size to prove against (default: the latest signed head).
    #[arg(long)]
    size: Option<u64>,
}

/// Arguments of `palermo ledger show`.
#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// Only this kind (query, disclosure, evidence-custody, key-change...).
    #[arg(long)]
    kind: Option<String>,
    /// Only this actor.
    #[arg(long)]
    actor: Option<String>,
    /// Only this case.
    #[arg(long)]
    case: Option<String>,
    /// Only this subject (evidence item id, entity id...).
    #[arg(long)]
    subject: Option<String>,
    /// Start at this entry.
    #[arg(long, default_value_t = 0)]
    from: u64,
    /// Entries per page.
    #[arg(long, default_value_t = 50)]
    limit: u64,
}

/// Arguments of `palermo ledger insider`.
#[derive(Debug, clap::Args)]
pub(crate) struct InsiderArgs {
    /// Flag users whose distinct persons exceed this multiple of the median user's.
    #[arg(long, default_value_t = 5.0)]
    factor: f64,
    /// ... and who looked up at least this many persons.
    #[arg(long, default_value_t = 20)]
    min_persons: u64,
    /// Working hours, local time, as START-END (END exclusive).
    #[arg(long, default_value = "7-20")]
    work_hours: String,
    /// The node's local time offset from UTC, in hours.
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    utc_offset: i8,
}

/// Runs a `palermo ledger` subcommand.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    if let Command::PublicKey(args) = &command {
        let key = read_key(&key_path(ctx, args)?)?;
        print!("{}", key.public().to_pem()?);
        return Ok(());
    }
    let store = open_store(ctx).await?;
    let res = match command {
        Command::Verify(args) => verify(ctx, &store, args).await,
        Command::Head(args) => head(ctx, &store, args).await,
        Command::Proof(args) => proof(ctx, &store, args).await,
        Command::Show(args) => show(ctx, &store, args).await,
        Command::Insider(args) => insider(ctx, &store, args).await,
        Command::PublicKey(_) => Ok(()),
    };
    close(store).await;
    res
}

async fn verify(ctx: &Ctx, store: &AnyStore, args: VerifyArgs) -> Result<(), CliError> {
    let trusted = match &args.public_key {
        Some(path) => Some(read_public_key(path)?),
        None => {
            let path = key_path(ctx, &args.key)?;
            if path.exists() {
                Some(read_key(&path)?.public())
            } else {
                None
            }
        }
    };
    #[derive(Serialize)]
    struct Out {
        ok: bool,
        n_entries: u64,
        n_nodes: u64,
        n_heads: u64,
        head: Option<SignedTreeHead>,
        finding: Option<Finding>,
    }
    match store.ledger_audit(trusted).await? {
        Ok(summary) => {
            let out = Out {
                ok: true,
                n_entries: summary.n_entries,
                n_nodes: summary.n_nodes,
                n_heads: summary.n_heads,
                head: summary.head,
                finding: None,
            };
            ctx.report(&out, |o| {
                let root = o.head.as_ref().map_or_else(|| "(empty log)".to_owned(), |h| h.head.root.to_hex());
                format!(
                    "ok: {} entries, {} subtree nodes and {} signed tree heads recomputed\nroot: {root}",
                    o.n_entries, o.n_nodes, o.n_heads
                )
            })
        }
        Err(finding) => {
            let message = finding.message.clone();
            let out = Out {
                ok: false,
                n_entries: 0,
                n_nodes: 0,
                n_heads: 0,
                head: None,
                finding: Some(finding),
            };
            if ctx.format == crate::output::Format::Json {
                ctx.report(&out, |_| String::new())?;
            }
            Err(CliError::failure(format!(
                "ledger verification failed: {message}"
            )))
        }
    }
}

async fn head(ctx: &Ctx, store: &AnyStore, args: KeyArgs) -> Result<(), CliError> {
    let Some(head) = store.ledger_head().await? else {
        return Err(CliError::failure("the ledger is empty: no tree head yet"));
    };
    let public_key = key_path(ctx, &args)
        .ok()
        .filter(|p| p.exists())
        .map(|p| read_key(&p))
        .transpose()?
        .map(|k| k.public());
    #[derive(Serialize)]
    struct Out {
        #[serde(flatten)]
        head: SignedTreeHead,
        public_key: Option<PublicKey>,
    }
    ctx.report(&Out { head, public_key }, |o| {
        format!(
            "size: {}\nroot: {}\ntimestamp_ms: {}\nkey: {}\nsignature: {}",
            o.head.head.size,
            o.head.head.root,
            o.head.head.timestamp_ms,
            o.head.key_id,
            o.head.signature
        )
    })
}

async fn proof(ctx: &Ctx, store: &AnyStore, args: ProofArgs) -> Result<(), CliError> {
    let heads = store.ledger_heads().await?;
    let Some(latest) = heads.last() else {
        return Err(CliError::failure("the ledger is empty: nothing to prove"));
    };
    let size = args.size.unwrap_or(latest.head.size);
    let Some(head) = heads.iter().find(|h| h.head.size == size) else {
        return Err(CliError::bad_input(format!(
            "--size {size}: there is no signed tree head of that size"
        )));
    };
    if let Some(entry) = args.entry {
        if entry >= size {
            return Err(CliError::bad_input(format!(
                "--entry {entry}: the tree of size {size} has entries 0..{size}"
            )));
        }
        let proof = ledger_inclusion_proof(store, entry, size).await?;
        let stored = store.ledger_entries(&filter_one(entry)).await?;
        let Some(stored) = stored.first() else {
            return Err(CliError::failure(format!(
                "entry {entry} is missing from the store"
            )));
        };
        verify_inclusion(&stored.leaf, &proof, &head.head.root).map_err(|err| {
            CliError::failure(format!(
                "entry {entry}: {err} (run `palermo ledger verify`)"
            ))
        })?;
        #[derive(Serialize)]
        struct Out<'a> {
            entry: serde_json::Value,
            leaf: palermo_ledger::Hash,
            proof: palermo_ledger::InclusionProof,
            head: &'a SignedTreeHead,
        }
        let entry_json = serde_json::from_slice(&stored.bytes).unwrap_or(serde_json::Value::Null);
        return ctx.report(
            &Out {
                entry: entry_json,
                leaf: stored.leaf,
                proof,
                head,
            },
            |o| {
                let mut text = format!(
                    "entry {} of {} (leaf {})\nroot: {}\npath:\n",
                    o.proof.index, o.proof.size, o.leaf, o.head.head.root
                );
                for hash in &o.proof.path {
                    text.push_str(&format!("  {hash}\n"));
                }
                text
            },
        );
    }
    let from = args.from.unwrap_or(0);
    let Some(old) = heads.iter().find(|h| h.head.size == from) else {
        return Err(CliError::bad_input(format!(
            "--from {from}: there is no signed tree head of that size"
        )));
    };
    if from > size {
        return Err(CliError::bad_input(format!(
            "--from {from} is larger than --size {size}"
        )));
    }
    let proof = ledger_consistency_proof(store, from, size).await?;
    verify_consistency(&proof, &old.head.root, &head.head.root)
        .map_err(|err| CliError::failure(format!("{err} (run `palermo ledger verify`)")))?;
    #[derive(Serialize)]
    struct Out<'a> {
        proof: palermo_ledger::ConsistencyProof,
        old_head: &'a SignedTreeHead,
        head: &'a SignedTreeHead,
    }
    ctx.report(
        &Out {
            proof,
            old_head: old,
            head,
        },
        |o| {
            let mut text = format!(
                "tree {} (root {}) is a prefix of tree {} (root {})\npath:\n",
                o.proof.old_size, o.old_head.head.root, o.proof.new_size, o.head.head.root
            );
            for hash in &o.proof.path {
                text.push_str(&format!("  {hash}\n"));
            }
            text
        },
    )
}

async fn show(ctx: &Ctx, store: &AnyStore, args: ShowArgs) -> Result<(), CliError> {
    if args.limit == 0 {
        return Err(CliError::bad_input("--limit must be at least 1"));
    }
    let filter = EntryFilter {
        kind: args.kind,
        actor: args.actor,
        case: args.case,
        subject: args.subject,
        from_seq: args.from,
        limit: args.limit + 1,
    };
    let mut rows = store.ledger_entries(&filter).await?;
    let next = if rows.len() as u64 > args.limit {
        rows.pop()
            .map(|_| rows.last().map_or(args.from, |r| r.seq + 1))
    } else {
        None
    };
    #[derive(Serialize)]
    struct Row {
        seq: u64,
        time: String,
        kind: String,
        actor: String,
        case: Option<String>,
        subject: Option<String>,
        leaf: palermo_ledger::Hash,
        entry: serde_json::Value,
    }
    #[derive(Serialize)]
    struct Out {
        entries: Vec<Row>,
        next: Option<u64>,
    }
    let entries = rows
        .into_iter()
        .map(|r| Row {
            entry: serde_json::from_slice(&r.bytes).unwrap_or(serde_json::Value::Null),
            seq: r.seq,
            time: r.time,
            kind: r.kind,
            actor: r.actor,
            case: r.case,
            subject: r.subject,
            leaf: r.leaf,
        })
        .collect();
    ctx.report(&Out { entries, next }, |o| {
        let mut text = String::new();
        for r in &o.entries {
            text.push_str(&format!(
                "{:>6}  {}  {:<16}  {:<14}  {:<12}  {}\n",
                r.seq,
                r.time,
                r.kind,
                r.actor,
                r.case.as_deref().unwrap_or("-"),
                r.subject.as_deref().unwrap_or("-")
            ));
        }
        if let Some(next) = o.next {
            text.push_str(&format!("(more: --from {next})\n"));
        }
        if text.is_empty() {
            text.push_str("no entries\n");
        }
        text
    })
}

async fn insider(ctx: &Ctx, store: &AnyStore, args: InsiderArgs) -> Result<(), CliError> {
    let (start, end) = args
        .work_hours
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?)))
        .filter(|(a, b)| a < b && *b <= 24)
        .ok_or_else(|| {
            CliError::bad_input(format!(
                "--work-hours {:?}: expected START-END with 0 <= START < END <= 24",
                args.work_hours
            ))
        })?;
    let config = InsiderConfig {
        volume_factor: args.factor,
        min_persons: args.min_persons,
        work_start_hour: start,
        work_end_hour: end,
        utc_offset_hours: args.utc_offset,
    };
    let mut entries = Vec::new();
    for kind in ["case-assignment", "query"] {
        let mut from = 0;
        loop {
            let filter = EntryFilter {
                kind: Some(kind.to_owned()),
                actor: None,
                case: None,
                subject: None,
                from_seq: from,
                limit: 10_000,
            };
            let page = store.ledger_entries(&filter).await?;
            let Some(last) = page.last() else { break };
            from = last.seq + 1;
            for row in page {
                let entry = Entry::from_bytes(&row.bytes).map_err(|err| {
                    CliError::failure(format!(
                        "entry {}: {err} (run `palermo ledger verify`)",
                        row.seq
                    ))
                })?;
                entries.push(entry);
            }
        }
    }
    entries.sort_by_key(|e| e.seq);
    let report = insider_report(&entries, &config);
    ctx.report(&report, |r| {
        let mut text = format!(
            "{} querying users; median distinct persons {}\n",
            r.users.len(),
            r.median_persons
        );
        if r.signals.is_empty() {
            text.push_str("no signals\n");
        }
        for s in &r.signals {
            text.push_str(&format!(
                "{:<14} {:<13} {} (entries {:?})\n",
                s.user, s.kind, s.detail, s.entries
            ));
        }
        text
    })
}

fn filter_one(seq: u64) -> EntryFilter {
    EntryFilter {
        kind: None,
        actor: None,
        case: None,
        subject: None,
        from_seq: seq,
        limit: 1,
    }
}

/// The key file: `--key`, or next to the SQLite file, or `./palermo-node.key`.
pub(crate) fn key_path(ctx: &Ctx, args: &KeyArgs) -> Result<PathBuf, CliError> {
    if let Some(path) = &args.key {
        return Ok(path.clone());
    }
    if let Some(file) = sqlite_file(&ctx.db) {
        if file.is_empty() || file.contains(":memory:") {
            return Err(CliError::bad_input(
                "an in-memory database needs --key FILE for the node signing key",
            ));
        }
        return Ok(PathBuf::from(format!("{file}.key")));
    }
    Ok(PathBuf::from("palermo-node.key"))
}

/// The file path of a `sqlite:` URL, without query parameters.
pub(crate) fn sqlite_file(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    Some(rest.split('?').next().unwrap_or(rest))
}

/// Reads a PKCS#8 PEM signing key.
pub(crate) fn read_key(path: &Path) -> Result<NodeKey, CliError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        CliError::bad_input(format!("reading the node key {}: {err}", path.display()))
    })?;
    NodeKey::from_pem(&text)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", path.display())))
}

/// Reads an SPKI PEM public key.
pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey, CliError> {
    let text = std::fs::read_to_string(path).map_err(|err| {
        CliError::bad_input(format!("reading the public key {}: {err}", path.display()))
    })?;
    PublicKey::from_pem(&text)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", path.display())))
}

/// Appends `entries` signed by the node key, creating the key (and its
/// key-change entry) on the first append to an empty ledger.
pub(crate) async fn append(
    ctx: &Ctx,
    store: &AnyStore,
    args: &KeyArgs,
    actor: &str,
    entries: Vec<NewEntry>,
) -> Result<SignedTreeHead, CliError> {
    let path = key_path(ctx, args)?;
    let size = store.ledger_size().await?;
    let mut batch = Vec::with_capacity(entries.len() + 1);
    let key = if path.exists() {
        let key = read_key(&path)?;
        let fingerprint = key.public().fingerprint();
        let filter = EntryFilter {
            kind: Some("key-change".into()),
            actor: None,
            case: None,
            subject: Some(fingerprint.clone()),
            from_seq: 0,
            limit: 1,
        };
        if store.ledger_entries(&filter).await?.is_empty() {
            let previous = store.ledger_head().await?.map(|h| h.key_id);
            let reason = if previous.is_some() {
                "key replaced"
            } else {
                "key created"
            };
            batch.push(key_change(&key, actor, previous, reason));
        }
        key
    } else if size == 0 {
        let key = NodeKey::generate();
        write_key(&path, &key)?;
        batch.push(key_change(&key, actor, None, "key created"));
        key
    } else {
        return Err(CliError::failure(format!(
            "the ledger has {size} entries but the node key {} is missing; restore it or pass --key",
            path.display()
        )));
    };
    batch.extend(entries);
    store
        .ledger_append(batch, &key)
        .await?
        .ok_or_else(|| CliError::failure("the append wrote nothing"))
}

fn key_change(key: &NodeKey, actor: &str, previous: Option<String>, reason: &str) -> NewEntry {
    NewEntry {
        actor: actor.to_owned(),
        case: None,
        time: None,
        body: EntryBody::KeyChange {
            public_key: key.public().to_base64(),
            fingerprint: key.public().fingerprint(),
            previous,
            reason: reason.to_owned(),
        },
    }
}

fn write_key(path: &Path, key: &NodeKey) -> Result<(), CliError> {
    let pem = key.to_pem()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|err| {
        CliError::bad_input(format!("creating the node key {}: {err}", path.display()))
    })?;
    file.write_all(pem.as_bytes())?;
    file.sync_all()?;
    tracing::info!(path = %path.display(), fingerprint = %key.public().fingerprint(), "created the node signing key");
    Ok(())
}

/// Closes the store's connections, so that SQLite checkpoints its
/// write-ahead log into the database file before the process exits.
pub(crate) async fn close(store: AnyStore) {
    match store {
        AnyStore::Sqlite(s) => s.pool().close().await,
        AnyStore::Postgres(s) => s.pool().close().await,
    }
}

/// The acting user: `--user`, `PALERMO_USER`, `$USER`, or `unknown`.
pub(crate) fn actor(user: Option<String>) -> String {
    user.or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "unknown".to_owned())
}
