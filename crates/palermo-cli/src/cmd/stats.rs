//! `palermo stats`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo stats`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo stats`.
pub(crate) async fn run(_ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    Err(CliError::failure("palermo stats is not built yet"))
}
