//! `palermo export`: the store as FollowTheMoney JSON lines, as far as the
//! sharing policy lets the principal export it.
//!
//! Every record is decided (Cedar action `export`) for the principal (`--as
//! USER`, or the local operator) in chunks; denied records are left out and
//! counted on stderr. Like decisions share one ledger entry that names
//! every record (`export records:ID,...`), so the ledger grows by a few
//! entries per 4,096 records rather than one per record. All decisions go on
//! the ledger in one append before the output file is renamed into place, so
//! a failed export leaves neither a partial file nor a half-recorded ledger.
//! Reading the store and deciding and writing run on two threads.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use anyhow::Context as _;
use palermo_model::{Entity, to_ftm_json};
use palermo_policy::Action;
use palermo_store::{AnyStore, Store};

use crate::cmd::policy::{Access, AccessArgs, access};
use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Arguments of `palermo export`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Write to this file instead of stdout (written to a temporary file and
    /// renamed, so a failed export never leaves a partial file).
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    access: AccessArgs,
}

/// Records decided per policy batch.
const CHUNK: usize = 4096;

/// Chunks read ahead of the writer at most: memory holds this many plus the
/// one being filled and the one being written, whatever the store's size.
const AHEAD: usize = 2;

/// Runs `palermo export`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let access = access(&store, &args.access).await?.bulk();
    let (access, n) = match &args.out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let out = BufWriter::with_capacity(1 << 20, file);
            let written = async {
                let (mut access, out, n) = export(&store, access, out, path.clone()).await?;
                out.into_inner()
                    .map_err(|err| anyhow::anyhow!("writing {}: {}", tmp.display(), err.error()))?
                    .sync_all()
                    .with_context(|| format!("writing {}", tmp.display()))?;
                access
                    .record(ctx, &store, &args.access.key, Vec::new())
                    .await?;
                Ok::<(Access, u64), CliError>((access, n))
            }
            .await;
            let written = match written {
                Ok(written) => written,
                Err(err) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(err);
                }
            };
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming to {}", path.display()))?;
            written
        }
        None => {
            let out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            let (mut access, mut out, n) =
                export(&store, access, out, PathBuf::from("stdout")).await?;
            out.flush().context("writing stdout")?;
            access
                .record(ctx, &store, &args.access.key, Vec::new())
                .await?;
            (access, n)
        }
    };
    eprintln!(
        "exported {n} entities as {}; {} left out by the sharing policy",
        access.principal(),
        access.denied()
    );
    Ok(())
}

/// Streams the store through the policy into `out`; returns the policy
/// context (holding every decision, for the ledger), the writer and how many
/// entities were written.
///
/// Two threads share the work: this task reads and decodes stored rows into
/// chunks of [`CHUNK`] entities, and a writer thread decides each chunk
/// (the gate) and encodes and writes what is allowed, so reading the store
/// overlaps with deciding and encoding. The channel between them is bounded
/// ([`AHEAD`] chunks): when the writer falls behind, the reader waits.
/// Waiting blocks this runtime thread, which is harmless here: the writer
/// never needs the runtime, and nothing else runs during an export.
async fn export<W: Write + Send + 'static>(
    store: &AnyStore,
    access: Access,
    out: W,
    path: PathBuf,
) -> Result<(Access, W, u64), CliError> {
    let (chunks, inbox) = std::sync::mpsc::sync_channel::<Vec<Entity>>(AHEAD);
    let writer = std::thread::Builder::new()
        .name("export-writer".to_owned())
        .spawn(move || write_chunks(access, out, &path, &inbox))
        .context("starting the export writer thread")?;
    let mut chunk: Vec<Entity> = Vec::with_capacity(CHUNK);
    let streamed = store
        .export(|entity| {
            chunk.push(entity);
            if chunk.len() >= CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                // The writer hung up: it failed, and says why when joined.
                chunks
                    .send(full)
                    .map_err(|_| palermo_store::Error::Sink("export stopped".to_owned()))?;
            }
            Ok(())
        })
        .await;
    // The last, partial chunk; a writer that already failed reports below.
    let sent = match &streamed {
        Ok(_) if !chunk.is_empty() => chunks.send(chunk).is_ok(),
        _ => true,
    };
    drop(chunks);
    let written = writer
        .join()
        .map_err(|_| CliError::failure("the export writer thread panicked"))?;
    // The writer's own error is the real cause of a stopped stream.
    let (access, out, n) = written?;
    streamed.context("reading the store")?;
    if !sent {
        return Err(CliError::failure("the export writer stopped early"));
    }
    Ok((access, out, n))
}

/// The writer thread of [`export`]: decides every chunk from `inbox`, writes
/// the allowed entities to `out` as FtM JSON lines and flushes at the end.
fn write_chunks<W: Write>(
    mut access: Access,
    mut out: W,
    path: &Path,
    inbox: &Receiver<Vec<Entity>>,
) -> Result<(Access, W, u64), CliError> {
    let mut written = 0u64;
    for chunk in inbox {
        for entity in access.filter(Action::Export, &chunk)? {
            out.write_all(to_ftm_json(entity).as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .with_context(|| format!("writing {}", path.display()))?;
            written += 1;
        }
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok((access, out, written))
}
