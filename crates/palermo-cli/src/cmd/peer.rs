//! `palermo peer`: send a federation message, and list the outbox and inbox.

use std::fmt::Write as _;
use std::path::PathBuf;

use palermo_federation::{Kind, NodeIdentity};
use palermo_store::{FederationStore, InboxRow, OutboxRow};
use serde::Serialize;

use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// `palermo peer …`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Enqueue a signed message to a peer (a running `palermo serve --node` delivers it).
    Send(SendArgs),
    /// List outgoing messages, newest first, with their delivery status.
    Outbox(ListArgs),
    /// List received messages, newest first, with the result of applying them.
    Inbox(ListArgs),
}

/// Arguments of `palermo peer send`.
#[derive(Debug, clap::Args)]
pub(crate) struct SendArgs {
    /// The node directory of the sender.
    #[arg(long, value_name = "NODE_DIR")]
    node: PathBuf,
    /// The recipient node id (`<cc>-<agency>`).
    #[arg(long, value_name = "NODE_ID")]
    to: String,
    /// The message kind: ping, hit-query, request...
    #[arg(long, default_value = "ping")]
    kind: String,
    /// The payload (JSON).
    #[arg(long, default_value = "{}")]
    payload: String,
    /// Send this many messages (each with its own id).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
}

/// Arguments of `palermo peer outbox` and `palermo peer inbox`.
#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// At most this many messages.
    #[arg(long, default_value_t = 50)]
    limit: u32,
}

#[derive(Serialize)]
struct Sent {
    to: String,
    kind: String,
    ids: Vec<String>,
}

/// Runs `palermo peer …`.
pub(crate) async fn run(ctx: &Ctx, command: Command) -> Result<(), CliError> {
    match command {
        Command::Send(args) => send(ctx, args).await,
        Command::Outbox(args) => {
            let store = open_store(ctx).await?;
            let rows = store.outbox_list(args.limit).await?;
            ctx.report(&rows, |rows| outbox_text(rows.as_slice()))
        }
        Command::Inbox(args) => {
            let store = open_store(ctx).await?;
            let rows = store.inbox_list(args.limit).await?;
            ctx.report(&rows, |rows| inbox_text(rows.as_slice()))
        }
    }
}

async fn send(ctx: &Ctx, args: SendArgs) -> Result<(), CliError> {
    let kind: Kind = args
        .kind
        .parse()
        .map_err(|err| CliError::bad_input(format!("--kind: {err}")))?;
    let payload: serde_json::Value = serde_json::from_str(&args.payload)
        .map_err(|err| CliError::bad_input(format!("--payload is not JSON: {err}")))?;
    let identity = NodeIdentity::load(&args.node)
        .map_err(|err| CliError::bad_input(format!("{}: {err}", args.node.display())))?;
    if !identity.is_enrolled() {
        return Err(CliError::bad_input(format!(
            "node {} is not enrolled (run `palermo node enroll`)",
            identity.node_id
        )));
    }
    let store = open_store(ctx).await?;
    let mut ids = Vec::with_capacity(args.repeat as usize);
    for _ in 0..args.repeat {
        let id = palermo_federation::send(&store, &identity, &args.to, kind, payload.clone())
            .await
            .map_err(|err| {
                if err.is_bad_input() {
                    CliError::bad_input(err)
                } else {
                    CliError::failure(err)
                }
            })?;
        ids.push(id.to_string());
    }
    crate::cmd::ledger::close(store).await;
    let sent = Sent {
        to: args.to,
        kind: kind.as_str().to_owned(),
        ids,
    };
    ctx.report(&sent, |s| {
        format!(
            "enqueued {} {} message(s) to {}\n{}\n",
            s.ids.len(),
            s.kind,
            s.to,
            s.ids.join("\n")
        )
    })
}

fn outbox_text(rows: &[OutboxRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("the outbox is empty\n");
    }
    for row in rows {
        let _ = write!(
            out,
            "{}  {:<9} {:<18} to {:<20} attempts {}",
            row.id,
            format!("{:?}", row.status).to_lowercase(),
            row.kind,
            row.recipient,
            row.attempts
        );
        if let Some(error) = &row.last_error {
            let _ = write!(out, "  last error: {error}");
        }
        out.push('\n');
    }
    out
}

fn inbox_text(rows: &[InboxRow]) -> String {
    let mut out = String::new();
    if rows.is_empty() {
        out.push_str("the inbox is empty\n");
    }
    for row in rows {
        let _ = writeln!(
            out,
            "{}  {:<18} from {:<20} {}{}",
            row.id,
            row.kind,
            row.sender,
            row.result,
            if row.ledgered {
                ""
            } else {
                "  (not on the ledger yet)"
            }
        );
    }
    out
}
