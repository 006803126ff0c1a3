//! `palermo export`: the store as FollowTheMoney JSON lines.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

use anyhow::Context as _;
use palermo_ingest::export_ftm;

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
}

/// Runs `palermo export`.
pub(crate) async fn run(ctx: &Ctx, args: Args) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let n = match &args.out {
        Some(path) => {
            let tmp = path.with_extension("partial");
            let file = File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let n = export_ftm(&store, &mut out, path).await;
            let n = match n {
                Ok(n) => n,
                Err(err) => {
                    let _ = std::fs::remove_file(&tmp);
                    return Err(err.into());
                }
            };
            out.into_inner()
                .map_err(|err| anyhow::anyhow!("writing {}: {}", tmp.display(), err.error()))?
                .sync_all()
                .with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("renaming to {}", path.display()))?;
            n
        }
        None => {
            let mut out = BufWriter::with_capacity(1 << 20, std::io::stdout());
            let n = export_ftm(&store, &mut out, &PathBuf::from("stdout")).await?;
            out.flush().context("writing stdout")?;
            n
        }
    };
    eprintln!("exported {n} entities");
    Ok(())
}
