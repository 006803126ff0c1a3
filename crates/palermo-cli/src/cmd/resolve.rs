//! `palermo link`, `dedupe`, `resolve` and `explain`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo link`.
#[derive(Debug, clap::Args)]
pub(crate) struct LinkArgs {}

/// Arguments of `palermo dedupe`.
#[derive(Debug, clap::Args)]
pub(crate) struct DedupeArgs {}

/// Runs `palermo link`.
pub(crate) async fn run_link(_ctx: &Ctx, _args: LinkArgs) -> Result<(), CliError> {
    Err(CliError::failure("palermo link is not built yet"))
}

/// Runs `palermo dedupe`.
pub(crate) async fn run_dedupe(_ctx: &Ctx, _args: DedupeArgs) -> Result<(), CliError> {
    Err(CliError::failure("palermo dedupe is not built yet"))
}

/// Arguments of `palermo resolve`.
#[derive(Debug, clap::Args)]
pub(crate) struct ResolveArgs {}

/// Arguments of `palermo explain`.
#[derive(Debug, clap::Args)]
pub(crate) struct ExplainArgs {}

/// Runs `palermo resolve`.
pub(crate) async fn run_resolve(_ctx: &Ctx, _args: ResolveArgs) -> Result<(), CliError> {
    Err(CliError::failure("palermo resolve is not built yet"))
}

/// Runs `palermo explain`.
pub(crate) async fn run_explain(_ctx: &Ctx, _args: ExplainArgs) -> Result<(), CliError> {
    Err(CliError::failure("palermo explain is not built yet"))
}
