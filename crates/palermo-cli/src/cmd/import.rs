//! `palermo import`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo import`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo import`.
pub(crate) async fn run(_ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    Err(CliError::failure("palermo import is not built yet"))
}
