//! `palermo stats`: entity counts by schema, TLP level and role.

use std::fmt::Write as _;

use palermo_store::{Stats, Store};

use crate::exit::CliError;
use crate::output::Ctx;
use crate::store::open_store;

/// Arguments of `palermo stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo stats`.
pub(crate) async fn run(ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    let store = open_store(ctx).await?;
    let stats = store.stats().await?;
    ctx.report(&stats, text)
}

fn text(stats: &Stats) -> String {
    let mut out = format!(
        "{} entities in {} import batches\n",
        stats.total, stats.batches
    );
    for (title, rows) in [
        ("schema", &stats.by_schema),
        ("marking", &stats.by_tlp),
        ("role", &stats.by_role),
    ] {
        let _ = writeln!(out, "by {title}:");
        if rows.is_empty() {
            let _ = writeln!(out, "  (none)");
        }
        for (key, n) in rows {
            let _ = writeln!(out, "  {key:<18} {n:>10}");
        }
    }
    out
}
