//! `palermo serve`: the node's local HTTP API and, with `--node`, its
//! federation side (the mutual-TLS peer endpoint, the sender with retries, the
//! ledger recorder and the periodic tree-head exchange), until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use palermo_federation::{NodeConfig, NodeIdentity};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cmd::ledger::{KeyArgs, append, key_path, read_key};
use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Arguments of `palermo serve`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address of the local HTTP API.
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    listen: String,
    /// The node directory (from `palermo node init` / `enroll`): also run the federation peer side.
    #[arg(long, value_name = "NODE_DIR")]
    node: Option<PathBuf>,
    /// Address of the mutual-TLS peer endpoint; default: all interfaces, on the port of the node's endpoint.
    #[arg(long, value_name = "ADDR")]
    peer_listen: Option<String>,
    /// Largest accepted difference between a message's creation time and this node's clock, in seconds.
    #[arg(long, default_value_t = 300)]
    max_skew: u32,
    /// Seconds between two sendings of this node's ledger head to its peers.
    #[arg(long, default_value_t = 60)]
    tree_head_interval: u64,
    /// Most messages per delivery POST to one peer.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u32).range(1..))]
    batch_size: u32,
    /// A Cedar policy file for the local API (default: the node's active set, see palermo policy load).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Largest accepted request body of the local API, in bytes.
    #[arg(long, value_name = "BYTES")]
    body_limit: Option<usize>,
    #[command(flatten)]
    key: KeyArgs,
}

/// Runs `palermo serve`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let identity = match &args.node {
        Some(dir) => Some(
            NodeIdentity::load(dir)
                .map_err(|err| CliError::bad_input(format!("{}: {err}", dir.display())))?,
        ),
        None => None,
    };
    let name = identity
        .as_ref()
        .map_or_else(|| "palermo".to_owned(), |id| id.node_id.clone());
    // Creates the ledger key (and its key-change entry) on a fresh node.
    append(ctx, &store, &args.key, &name, Vec::new()).await?;
    let ledger_key = read_key(&key_path(ctx, &args.key)?)?;

    let (stop_tx, stop_rx) = watch::channel(false);
    let api_listener = bind(&args.listen, "--listen").await?;
    eprintln!("local API on http://{}", local(&api_listener));
    let mut config = palermo_server::ServerConfig::new(name.clone(), ledger_key.clone());
    if let Some(identity) = &identity {
        config.jurisdiction = identity.jurisdiction.clone();
        config.agency = identity.agency.clone();
    }
    if let Some(path) = &args.policy {
        config.policies = Some(
            std::fs::read_to_string(path)
                .map_err(|err| CliError::bad_input(format!("{}: {err}", path.display())))?,
        );
    }
    if let Some(limit) = args.body_limit {
        config.body_limit = limit;
    }
    let state = palermo_server::ServerState::new(store.clone(), config)
        .await
        .map_err(|err| match err {
            palermo_server::Error::Policy(_) => CliError::bad_input(format!(
                "{}: {err}",
                args.policy
                    .as_deref()
                    .map_or_else(|| "shipped policies".into(), |p| p.display().to_string())
            )),
            other => CliError::failure(format!("starting the API: {other}")),
        })?;
    let api = tokio::spawn(palermo_server::serve(
        api_listener,
        state,
        stopped(stop_rx.clone()),
    ));

    let node = match (&args.node, &identity) {
        (Some(dir), Some(identity)) => {
            let addr = match &args.peer_listen {
                Some(addr) => addr.clone(),
                None => {
                    let (_, port) = palermo_federation::pki::parse_endpoint(&identity.endpoint)
                        .map_err(|err| CliError::bad_input(format!("{}: {err}", dir.display())))?;
                    format!("0.0.0.0:{port}")
                }
            };
            let listener = bind(&addr, "--peer-listen").await?;
            eprintln!(
                "node {} peer endpoint on https://{}",
                identity.node_id,
                local(&listener)
            );
            let mut config = NodeConfig::new(dir, ledger_key);
            config.max_skew = time::Duration::seconds(i64::from(args.max_skew));
            config.tree_head_interval = Duration::from_secs(args.tree_head_interval.max(1));
            config.batch_size = args.batch_size;
            let node = palermo_federation::Node::open(config, store.clone()).map_err(|err| {
                if err.is_bad_input() {
                    CliError::bad_input(err)
                } else {
                    CliError::failure(err)
                }
            })?;
            Some(tokio::spawn(node.run(listener, stopped(stop_rx))))
        }
        _ => None,
    };

    shutdown_signal().await;
    eprintln!("shutting down");
    let _ = stop_tx.send(true);
    if let Some(node) = node {
        node.await
            .map_err(|err| CliError::failure(format!("node task: {err}")))?
            .map_err(CliError::failure)?;
    }
    api.await
        .map_err(|err| CliError::failure(format!("API task: {err}")))??;
    crate::cmd::ledger::close(store).await;
    Ok(())
}

async fn bind(addr: &str, flag: &str) -> Result<TcpListener, CliError> {
    let parsed: SocketAddr = addr
        .parse()
        .map_err(|err| CliError::bad_input(format!("{flag} {addr}: {err}")))?;
    TcpListener::bind(parsed)
        .await
        .map_err(|err| CliError::failure(format!("listening on {addr}: {err}")))
}

fn local(listener: &TcpListener) -> String {
    listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string())
}

async fn stopped(mut stop: watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(term) => term,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
