//! `palermo export`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo export`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo export`.
pub(crate) async fn run(_ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    Err(CliError::failure("palermo export is not built yet"))
}
