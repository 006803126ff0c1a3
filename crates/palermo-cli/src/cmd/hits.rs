//! `palermo hits`: the hit/no-hit exchange between nodes.
//!
//! - `list` (the default): hits in both directions with their status;
//! - `queries`: queries sent and received, with their outcome or refusal code;
//! - `allow` / `deny` / `peers`: which peers this node answers (none by default),
//!   stored in the node's store (`hit_peers`) and recorded on the ledger;
//! - `index`: encode this node's persons with the sharing group's secret into
//!   the store (what queries are matched against);
//! - `query`: send a batch of encodings to a peer (a running `palermo serve
//!   --node` delivers it and stores the answer).

use std::fmt::Write as _;
use std::path::PathBuf;

use palermo_federation::{BasisClaim, NodeIdentity, QueryRequest};
use palermo_ledger::EntryBody;
use palermo_ledger::entry::NewEntry;
use palermo_pprl::{EncodeConfig, Encoder, Person, codec};
use palermo_resolve::Property;
use palermo_store::{AnyStore, HitDirection, HitEncodingSet, HitPeer, HitQueryRecord, HitRecord};
use serde::Serialize;
use time::OffsetDateTime;

use crate::cmd::ledger::KeyArgs;
use crate::cmd::pprl::HardeningArg;
use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Subcommands of `palermo hits`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// List hits in both directions with their status (the default).
    List(ListArgs),
    /// List hit/no-hit queries sent and received, with their outcome.
    Queries(LimitArgs),
    /// Answer hit/no-hit queries from a peer (with its quotas).
    Allow(AllowArgs),
    /// Stop answering hit/no-hit queries from a peer.
    Deny(DenyArgs),
    /// List the peers this node answers, and the stored encoding sets.
    Peers,
    /// Encode this node's persons with the sharing group's secret, for answering queries.
    Index(IndexArgs),
    /// Send a batch of encodings to a peer as a hit/no-hit query.
    Query(QueryArgs),
}

/// Arguments of `palermo hits list`.
#[derive(Debug, Default, clap::Args)]
pub(crate) struct ListArgs {
    /// Only hits of queries this node sent, or received.
    #[arg(long, value_enum)]
    direction: Option<DirectionArg>,
    /// At most this many hits, newest first.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// A direction of the exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum DirectionArg {
    /// Queries this node sent.
    Sent,
    /// Queries this node answered.
    Received,
}

/// A list limit.
#[derive(Debug, clap::Args)]
pub(crate) struct LimitArgs {
    /// At most this many, newest first.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// Arguments of `palermo hits allow`.
#[derive(Debug, clap::Args)]
pub(crate) struct AllowArgs {
    /// The peer node id (`<cc>-<agency>`).
    #[arg(long)]
    peer: String,
    /// Most queries per window (default: the node's, 100).
    #[arg(long)]
    max_queries: Option<u64>,
    /// Most encodings per window (default: the node's, 50000).
    #[arg(long)]
    max_encodings: Option<u64>,
    /// The quota window in seconds (default: the node's, 3600).
    #[arg(long)]
    window_secs: Option<u64>,
    /// Who decides (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `palermo hits deny`.
#[derive(Debug, clap::Args)]
pub(crate) struct DenyArgs {
    /// The peer node id.
    #[arg(long)]
    peer: String,
    /// Who decides (default: $USER).
    #[arg(long, env = "PALERMO_USER")]
    user: Option<String>,
    #[command(flatten)]
    key: KeyArgs,
}

/// Arguments of `palermo hits index`.
#[derive(Debug, clap::Args)]
pub(crate) struct IndexArgs {
    /// The file holding the sharing group's secret (at least 16 bytes).
    #[arg(long, value_name = "FILE", conflicts_with = "encodings")]
    secret_file: Option<PathBuf>,
    /// Load these Palermo encodings (`palermo pprl encode`) instead of encoding the store's persons.
    #[arg(long, value_name = "FILE")]
    encodings: Option<PathBuf>,
    /// Hardening (must match the group's).
    #[arg(long, value_enum, default_value_t = HardeningArg::Balance)]
    hardening: HardeningArg,
    /// Length of the raw Bloom filter in bits (must match the group's).
    #[arg(long, default_value_t = 1024)]
    bits: usize,
}

/// Arguments of `palermo hits query`.
#[derive(Debug, clap::Args)]
pub(crate) struct QueryArgs {
    /// The encodings to ask about (Palermo JSON from `palermo pprl encode`, at most 10000).
    file: PathBuf,
    /// The node directory of this node.
    #[arg(long, value_name = "NODE_DIR")]
    node: PathBuf,
    /// The node to ask.
    #[arg(long)]
    peer: String,
    /// The requesting case id.
    #[arg(long)]
    case: String,
    /// The purpose of the query (default: `case:CASE`).
    #[arg(long)]
    purpose: Option<String>,
    /// The legal basis claimed: `INSTRUMENT` or `INSTRUMENT:ARTICLE` as `palermo law basis` names them.
    #[arg(long, value_name = "INSTRUMENT[:ARTICLE]")]
    basis: String,
    /// The date the basis is claimed for (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    date: Option<String>,
}

/// Runs `palermo hits …`.
pub(crate) async fn run(ctx: &Ctx, command: Option<Command>) -> Result<(), CliError> {
    match command.unwrap_or(Command::List(ListArgs::default())) {
        Command::List(args) => list(ctx, args).await,
        Command::Queries(args) => {
            let store = open_store(ctx).await?;
            let rows = store.hit_queries(args.limit).await?;
            ctx.report(&rows, |rows| queries_text(rows))
        }
        Command::Allow(args) => {
            let quotas = [args.max_queries, args.max_encodings, args.window_secs];
            set_peer(ctx, &args.peer, true, quotas, args.user, &args.key).await
        }
        Command::Deny(args) => {
            set_peer(ctx, &args.peer, false, [None; 3], args.user, &args.key).await
        }
        Command::Peers => peers(ctx).await,
        Command::Index(args) => index(ctx, args).await,
        Command::Query(args) => query(ctx, args).await,
    }
}

async fn list(ctx: &Ctx, args: ListArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let direction = args.direction.map(|d| match d {
        DirectionArg::Sent => HitDirection::Sent,
        DirectionArg::Received => HitDirection::Received,
    });
    let rows = store.hits_list(direction, args.limit).await?;
    ctx.report(&rows, |rows| hits_text(rows))
}

fn hits_text(rows: &[HitRecord]) -> String {
    if rows.is_empty() {
        return "no hits\n".to_owned();
    }
    let mut out = String::new();
    for hit in rows {
        let _ = writeln!(
            out,
            "{} {:<8} {} peer={} case={} query={}#{} band={} records={} status={}",
            hit.at.date(),
            hit.direction.as_str(),
            hit.hit_ref,
            hit.peer,
            hit.case_id,
            hit.query_id,
            hit.query_index,
            hit.band,
            hit.record_ids.join(","),
            hit.status
        );
    }
    out
}

fn queries_text(rows: &[HitQueryRecord]) -> String {
    if rows.is_empty() {
        return "no hit queries\n".to_owned();
    }
    let mut out = String::new();
    for q in rows {
        let _ = writeln!(
            out,
            "{} {:<8} {} peer={} case={} basis={} encodings={} hits={} {}{}",
            q.at.date(),
            q.direction.as_str(),
            q.id,
            q.peer,
            q.case_id,
            q.basis,
            q.n_encodings,
            q.n_hits,
            q.status,
            q.code
                .as_deref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
    }
    out
}

async fn set_peer(
    ctx: &Ctx,
    peer: &str,
    enabled: bool,
    quotas: [Option<u64>; 3],
    user: Option<String>,
    key: &KeyArgs,
) -> Result<(), CliError> {
    let actor = crate::cmd::ledger::actor(user);
    let store = open_store(ctx).await?;
    let setting = palermo_federation::hits::set_peer(&store, peer, enabled, quotas, &actor)
        .await
        .map_err(|err| {
            if err.is_bad_input() {
                CliError::bad_input(err)
            } else {
                CliError::failure(err)
            }
        })?;
    let entry = NewEntry {
        actor: actor.clone(),
        case: None,
        time: None,
        body: EntryBody::PolicyDecision {
            request: format!("hit-answering {peer}"),
            decision: if enabled { "enable" } else { "disable" }.to_owned(),
            policies: Vec::new(),
        },
    };
    crate::cmd::ledger::append(ctx, &store, key, &actor, vec![entry]).await?;
    crate::cmd::ledger::close(store).await;
    ctx.report(&setting, peer_text)
}

fn peer_text(s: &HitPeer) -> String {
    let show = |v: Option<u64>| v.map_or_else(|| "default".to_owned(), |v| v.to_string());
    format!(
        "{} {} (max queries {}, max encodings {}, window {} s; by {})\n",
        s.peer,
        if s.enabled {
            "answered"
        } else {
            "not answered"
        },
        show(s.max_queries),
        show(s.max_encodings),
        show(s.window_secs),
        s.updated_by
    )
}

#[derive(Serialize)]
struct PeersReport {
    peers: Vec<HitPeer>,
    encodings: Vec<HitEncodingSet>,
}

async fn peers(ctx: &Ctx) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let report = PeersReport {
        peers: store.hit_peers().await?,
        encodings: store.hit_encoding_sets().await?,
    };
    ctx.report(&report, |r| {
        let mut out = String::new();
        if r.peers.is_empty() {
            out.push_str("no peer is answered (hit/no-hit is off)\n");
        }
        for p in &r.peers {
            out.push_str(&peer_text(p));
        }
        for set in &r.encodings {
            let _ = writeln!(
                out,
                "encodings: key id {} ({} bits, {}): {} persons",
                set.key_id, set.n_bits, set.hardening, set.records
            );
        }
        out
    })
}

async fn index(ctx: &Ctx, args: IndexArgs) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let (set, rows) = if let Some(path) = &args.encodings {
        let text = std::fs::read(path)
            .map_err(|err| CliError::bad_input(format!("reading {}: {err}", path.display())))?;
        let encodings =
            codec::parse(&text, &path.display().to_string()).map_err(CliError::bad_input)?;
        record_level(&encodings, path)?;
        let Some(key_id) = encodings.key_id.clone() else {
            return Err(CliError::bad_input(format!(
                "{}: no group key id (a clkhash file); encode with `palermo pprl encode`",
                path.display()
            )));
        };
        let rows: Vec<(String, Vec<u8>)> = (0..encodings.clks.len())
            .map(|i| (encodings.id(i), encodings.clks.bytes(i)))
            .collect();
        let set = HitEncodingSet {
            key_id,
            n_bits: encodings.clks.n_bits() as u64,
            hardening: encodings.hardening.clone().unwrap_or_default(),
            records: rows.len() as u64,
        };
        (set, rows)
    } else {
        let Some(secret_path) = &args.secret_file else {
            return Err(CliError::bad_input(
                "give --secret-file (encode the store's persons) or --encodings FILE",
            ));
        };
        let secret = std::fs::read(secret_path).map_err(|err| {
            CliError::bad_input(format!("reading {}: {err}", secret_path.display()))
        })?;
        let mut config = EncodeConfig::standard();
        config.n_bits = args.bits;
        config.hardening = args.hardening.into();
        let encoder = Encoder::new(&secret, config)
            .map_err(|err| CliError::bad_input(format!("{}: {err}", secret_path.display())))?;
        encode_store(&store, &encoder).await?
    };
    let stored = store.hit_encodings_replace(&set, &rows).await?;
    crate::cmd::ledger::close(store).await;
    let report = HitEncodingSet {
        records: stored,
        ..set
    };
    ctx.report(&report, |s| {
        format!(
            "stored {} encodings under group key id {} ({} bits, {})\n",
            s.records, s.key_id, s.n_bits, s.hardening
        )
    })
}

/// Refuses field-level encodings (the default of `palermo pprl encode`): the
/// exchange stores and matches record-level encodings, the kind `hits index
/// --secret-file` makes, and a query of the other kind could only be refused
/// by the peer as the wrong length.
fn record_level(
    encodings: &palermo_pprl::Encodings,
    path: &std::path::Path,
) -> Result<(), CliError> {
    if encodings.clks.scoring().is_some() {
        return Err(CliError::bad_input(format!(
            "{}: field-level encodings; the hit/no-hit exchange uses record-level ones \
             (encode with `palermo pprl encode --record-level`)",
            path.display()
        )));
    }
    Ok(())
}

/// Encodes every person in `store` with `encoder`: the set and `(record id, encoding)` rows.
pub(crate) async fn encode_store(
    store: &AnyStore,
    encoder: &Encoder,
) -> Result<(HitEncodingSet, Vec<(String, Vec<u8>)>), CliError> {
    let persons = store.resolution_persons_after(0).await?;
    let people: Vec<Person> = persons
        .iter()
        .map(|p| {
            let values: Vec<(Property, &str)> = p
                .properties
                .iter()
                .filter_map(|(k, v)| Property::parse(k).map(|prop| (prop, v.as_str())))
                .collect();
            Person::from_values(&values)
        })
        .collect();
    let clks = encoder.encode_all(&people);
    let rows: Vec<(String, Vec<u8>)> = persons
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), clks.bytes(i)))
        .collect();
    let set = HitEncodingSet {
        key_id: encoder.key_id().to_owned(),
        n_bits: clks.n_bits() as u64,
        hardening: encoder.config().hardening.name().to_owned(),
        records: rows.len() as u64,
    };
    Ok((set, rows))
}

#[derive(Serialize)]
struct QuerySent {
    query: String,
    peer: String,
    case: String,
    basis: String,
    encodings: usize,
}

async fn query(ctx: &Ctx, args: QueryArgs) -> Result<(), CliError> {
    let Some(basis) = BasisClaim::parse(&args.basis) else {
        return Err(CliError::bad_input(
            "--basis: expected INSTRUMENT or INSTRUMENT:ARTICLE",
        ));
    };
    let date = match &args.date {
        Some(text) => palermo_law::Date::parse(text)
            .map_err(|err| CliError::bad_input(format!("--date: {err}")))?,
        None => palermo_law::Date::from_unix_days(
            OffsetDateTime::now_utc()
                .unix_timestamp()
                .div_euclid(86_400),
        ),
    };
    let text = std::fs::read(&args.file)
        .map_err(|err| CliError::bad_input(format!("reading {}: {err}", args.file.display())))?;
    let encodings =
        codec::parse(&text, &args.file.display().to_string()).map_err(CliError::bad_input)?;
    record_level(&encodings, &args.file)?;
    let identity = NodeIdentity::load(&args.node)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", args.node.display())))?;
    if !identity.is_enrolled() {
        return Err(CliError::bad_input(format!(
            "node {} is not enrolled (run `palermo node enroll`)",
            identity.node_id
        )));
    }
    let n = encodings.clks.len();
    let request = QueryRequest {
        peer: args.peer.clone(),
        case: args.case.clone(),
        purpose: args
            .purpose
            .clone()
            .unwrap_or_else(|| format!("case:{}", args.case.trim())),
        basis: basis.clone(),
        date,
        encodings,
    };
    let store = open_store(ctx).await?;
    let id = palermo_federation::send_query(&store, &identity, &request, OffsetDateTime::now_utc())
        .await
        .map_err(|err| {
            if err.is_bad_input() {
                CliError::bad_input(err)
            } else {
                CliError::failure(err)
            }
        })?;
    crate::cmd::ledger::close(store).await;
    let sent = QuerySent {
        query: id.to_string(),
        peer: args.peer,
        case: args.case,
        basis: basis.text(),
        encodings: n,
    };
    ctx.report(&sent, |s| {
        format!(
            "enqueued hit query {} to {} ({} encodings, case {}, basis {})\n",
            s.query, s.peer, s.encodings, s.case, s.basis
        )
    })
}

/// Which encodings of a node's person records to send when asking about its
/// resolved persons: the rows of `clks`, in order, leaving out a record whose
/// encoding is near-identical (Dice ≥ `near`) to one already kept for the same
/// resolved person (`person[i]`, `None` for a record resolution left alone).
///
/// Near-identical encodings of one person cannot find anything the first did
/// not, and a batch full of them is exactly what the answering node's probing
/// detection looks for. Encodings that differ (an alias, another script, a
/// second passport) are all kept, so every identity of the person is asked about.
pub(crate) fn distinct_per_person(
    clks: &palermo_pprl::Clks,
    person: &[Option<u32>],
    near: f64,
) -> Vec<usize> {
    let mut kept_of: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    let mut out = Vec::with_capacity(clks.len());
    for i in 0..clks.len() {
        let Some(p) = person.get(i).copied().flatten() else {
            out.push(i);
            continue;
        };
        let kept = kept_of.entry(p).or_default();
        if kept
            .iter()
            .all(|&j| palermo_pprl::dice(clks.row(i), clks.row(j)) < near)
        {
            kept.push(i);
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clks(rows: &[&[u64]]) -> palermo_pprl::Clks {
        let mut clks = palermo_pprl::Clks::new(64 * rows[0].len());
        for row in rows {
            assert!(clks.push_words(row));
        }
        clks
    }

    #[test]
    fn near_identical_encodings_of_one_person_are_sent_once() {
        let a = 0x00ff_00ff_00ff_00ffu64;
        let a_typo = a ^ 1; // Dice 31/32 with `a`
        let alias = 0xff00_ff00_ff00_ff00u64; // disjoint from `a`
        let c = clks(&[&[a], &[a_typo], &[alias], &[a]]);
        // Rows 0-2 are one resolved person; row 3 is a namesake resolution kept apart.
        let person = [Some(7), Some(7), Some(7), None];
        assert_eq!(distinct_per_person(&c, &person, 0.9), vec![0, 2, 3]);
        // At a stricter cut the typo counts as a different encoding.
        assert_eq!(distinct_per_person(&c, &person, 0.99), vec![0, 1, 2, 3]);
        // Two persons with identical encodings are both asked about.
        assert_eq!(
            distinct_per_person(&c, &[Some(1), Some(2), None, None], 0.9),
            vec![0, 1, 2, 3]
        );
    }
}
