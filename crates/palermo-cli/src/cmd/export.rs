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
use std::path::PathBuf;

use anyhow::Context as _;
use palermo_ingest::{ExportError, ExportFilter, export_ftm_filtered};
use palermo_model::Entity;
use palermo_policy::Action;
use palermo_store::AnyStore;

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

/// Streams the store through the policy into `out` (palermo-ingest's
/// two-thread export, with the gate as its filter); returns the policy
/// context (holding every decision, for the ledger), the writer and how many
/// entities were written.
async fn export<W: Write + Send + 'static>(
    store: &AnyStore,
    access: Access,
    out: W,
    path: PathBuf,
) -> Result<(Access, W, u64), CliError> {
    match export_ftm_filtered(store, ExportGate(access), out, &path).await {
        Ok((ExportGate(access), out, n)) => Ok((access, out, n)),
        Err(ExportError::Filter(err)) => Err(err),
        Err(ExportError::Export(err)) => Err(anyhow::Error::new(err).into()),
    }
}

/// The sharing policy as an export filter: each chunk is decided (Cedar
/// action `export`) for the principal, and only the allowed records are kept.
struct ExportGate(Access);

impl ExportFilter for ExportGate {
    type Error = CliError;

    fn keep<'a>(&mut self, chunk: &'a [Entity]) -> Result<Vec<&'a Entity>, CliError> {
        self.0.filter(Action::Export, chunk)
    }
}
