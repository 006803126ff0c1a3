//! `palermo demo`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Arguments of `palermo demo`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

/// Runs `palermo demo`.
pub(crate) async fn run(_ctx: &Ctx, _args: Args) -> Result<(), CliError> {
    Err(CliError::failure("palermo demo is not built yet"))
}
