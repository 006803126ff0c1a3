//! The `palermo` binary: one command-line entry point for every capability.
//!
//! Each subcommand lives in its own module under `cmd/` and exposes clap
//! arguments plus an async `run(ctx, args)`. This file only wires them up and
//! turns errors into the exit codes of the CLI contract:
//! 0 on success, 1 when the work failed, 2 on bad usage or bad input.

// The CLI is the one crate that writes reports to stdout.
#![allow(clippy::print_stdout)]

mod cmd;
mod exit;
mod output;
mod store;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::exit::CliError;
use crate::output::{Ctx, Format};

/// mimalloc instead of the system allocator: imports and exports allocate a
/// few short-lived strings per field, and the system allocator's locking and
/// trimming cost a fifth of their CPU time (measured in bench/import).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Palermo: a federated platform for enforcing human-trafficking law across borders.
#[derive(Debug, Parser)]
#[command(name = "palermo", version, about, long_about = None)]
struct Cli {
    /// Store URL: `sqlite://FILE` (embedded, the default) or `postgres://...`.
    #[arg(
        long,
        global = true,
        env = "PALERMO_DB",
        default_value = "sqlite://palermo.db"
    )]
    db: String,

    /// Output format of reporting commands.
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Import a CSV or FollowTheMoney JSON lines file into the store.
    Import(cmd::import::Args),
    /// Export the store as FollowTheMoney JSON lines.
    Export(cmd::export::Args),
    /// Count entities by schema, marking and role.
    Stats(cmd::stats::Args),
    /// Link two CSV files: write scored pairs (no database needed).
    Link(cmd::resolve::LinkArgs),
    /// Deduplicate one CSV file: write a cluster id per record (no database needed).
    Dedupe(cmd::resolve::DedupeArgs),
    /// Resolve the persons in the store into canonical entities (incremental).
    Resolve(cmd::resolve::ResolveArgs),
    /// Explain the match score of two records, field by field.
    Explain(cmd::resolve::ExplainArgs),
    /// Treaties, legal basis for cooperation, dual criminality and gaps.
    #[command(subcommand)]
    Law(cmd::law::Command),
    /// The node's tamper-evident ledger.
    #[command(subcommand)]
    Ledger(cmd::ledger::Command),
    /// Digital evidence and its chain of custody.
    #[command(subcommand)]
    Evidence(cmd::evidence::Command),
    /// The sharing policy: show, validate, test and explain decisions.
    #[command(subcommand)]
    Policy(cmd::policy::Command),
    /// Privacy-preserving record linkage: keyed Bloom-filter encodings and matching.
    #[command(subcommand)]
    Pprl(cmd::pprl::Command),
    /// Generate a synthetic multi-country trafficking scenario with ground truth.
    Sim(cmd::sim::Args),
    /// Run the whole story on a synthetic scenario.
    Demo(cmd::demo::Args),
    /// The federation's trust anchor: create it, revoke members, publish the signed directory.
    #[command(subcommand)]
    Federation(cmd::federation::FederationCommand),
    /// This node's federation identity: create, enrol, install a directory, show.
    #[command(subcommand)]
    Node(cmd::federation::NodeCommand),
    /// Hit/no-hit exchange: list hits, send queries, choose which peers are answered.
    Hits {
        #[command(subcommand)]
        command: Option<cmd::hits::Command>,
    },
    /// Federation messages: send one to a peer, list the outbox and the inbox.
    #[command(subcommand)]
    Peer(cmd::peer::Command),
    /// Run the node: the local HTTP API and, with `--node`, the federation peer side.
    Serve(cmd::serve::Args),
    /// Users of the node's API and their tokens: add, list, revoke.
    #[command(subcommand)]
    User(cmd::user::Command),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    let ctx = Ctx {
        db: cli.db,
        format: cli.format,
    };
    let outcome = runtime.block_on(async {
        let outcome = run(&ctx, cli.command).await;
        store::close_stores().await;
        outcome
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => err.report(),
    }
}

async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Import(args) => cmd::import::run(ctx, args).await,
        Command::Export(args) => cmd::export::run(ctx, args).await,
        Command::Stats(args) => cmd::stats::run(ctx, args).await,
        Command::Link(args) => cmd::resolve::run_link(ctx, args).await,
        Command::Dedupe(args) => cmd::resolve::run_dedupe(ctx, args).await,
        Command::Resolve(args) => cmd::resolve::run_resolve(ctx, args).await,
        Command::Explain(args) => cmd::resolve::run_explain(ctx, args).await,
        Command::Law(command) => cmd::law::run(ctx, command).await,
        Command::Ledger(command) => cmd::ledger::run(ctx, command).await,
        Command::Evidence(command) => cmd::evidence::run(ctx, command).await,
        Command::Policy(command) => cmd::policy::run(ctx, command).await,
        Command::Pprl(command) => cmd::pprl::run(ctx, command).await,
        Command::Sim(args) => cmd::sim::run(ctx, args).await,
        Command::Demo(args) => cmd::demo::run(ctx, args).await,
        Command::Federation(command) => cmd::federation::run_federation(ctx, command).await,
        Command::Node(command) => cmd::federation::run_node(ctx, command).await,
        Command::Peer(command) => cmd::peer::run(ctx, command).await,
        Command::Hits { command } => cmd::hits::run(ctx, command).await,
        Command::Serve(args) => cmd::serve::run(ctx, args).await,
        Command::User(command) => cmd::user::run(ctx, command).await,
    }
}

/// Logs go to stderr, filtered by `PALERMO_LOG` (default: warnings only).
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALERMO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
