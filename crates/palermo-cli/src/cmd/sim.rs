//! `palermo sim`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo sim`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo sim`.
pub(crate) async fn run(_ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    Err(CliError::failure("palermo sim is not built yet"))
}
