//! `palermo export`: the store as FollowTheMoney JSON lines, as far as the
//! sharing policy lets the principal export it.
//!
//! Every record is decided (Cedar action `export`) for the principal (`--as
//! USER`, or the local operator) in chunks; denied records are left out and
//! counted on stderr. Like decisions share one ledger entry that names
//! every record (`export records:ID,...`), so the ledger grows by a few
//! entries per 4,096 records rather than one per record. All decisions go on the ledger in one append before
//! the output file is renamed into place, so a failed export leaves neither
//! a partial file nor a half-recorded ledger.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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

/// Runs `palermo export`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let mut access = access(&store, &args.access).await?.bulk();
    let n = match &args.out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let written = async {
                let n = export(&store, &mut access, &mut out, path).await?;
                out.into_inner()
                    .map_err(|err| anyhow::anyhow!("writing {}: {}", tmp.display(), err.error()))?
                    .sync_all()
                    .with_context(|| format!("writing {}", tmp.display()))?;
                access
                    .record(ctx, &store, &args.access.key, Vec::new())
                    .await?;
                Ok::<u64, CliError>(n)
            }
            .await;
            let n = match written {
                Ok(n) => n,
                Err(err) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(err);
                }
            };
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming to {}", path.display()))?;
            n
        }
        None => {
            let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            let n = export(&store, &mut access, &mut out, Path::new("stdout")).await?;
            out.flush().context("writing stdout")?;
            access
                .record(ctx, &store, &args.access.key, Vec::new())
                .await?;
            n
        }
    };
    eprintln!(
        "exported {n} entities as {}; {} left out by the sharing policy",
        access.principal(),
        access.denied()
    );
    Ok(())
}

/// Streams the store through the policy into `out`; returns how many
/// entities were written.
async fn export<W: Write + Send>(
    store: &AnyStore,
    access: &mut Access,
    out: &mut W,
    path: &Path,
) -> Result<u64, CliError> {
    let mut chunk: Vec<Entity> = Vec::with_capacity(CHUNK);
    let mut written = 0u64;
    // The store's sink can only return a store error; the real cause waits here.
    let mut failure: Option<CliError> = None;
    let mut write_chunk = |chunk: &mut Vec<Entity>, failure: &mut Option<CliError>| {
        let result = access.filter(Action::Export, chunk).and_then(|allowed| {
            for entity in allowed {
                out.write_all(to_ftm_json(entity).as_bytes())
                    .and_then(|()| out.write_all(b"\n"))
                    .with_context(|| format!("writing {}", path.display()))?;
                written += 1;
            }
            Ok(())
        });
        chunk.clear();
        result.map_err(|err| {
            *failure = Some(err);
            palermo_store::Error::Sink(format!("{}: export stopped", path.display()))
        })
    };
    let streamed = store
        .export(|entity| {
            chunk.push(entity);
            if chunk.len() >= CHUNK {
                write_chunk(&mut chunk, &mut failure)?;
            }
            Ok(())
        })
        .await;
    if let Some(err) = failure {
        return Err(err);
    }
    streamed.context("reading the store")?;
    write_chunk(&mut chunk, &mut failure)
        .map_err(|err| failure.take().unwrap_or_else(|| CliError::failure(err)))?;
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(written)
}
