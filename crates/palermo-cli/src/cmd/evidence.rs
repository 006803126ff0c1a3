//! `palermo evidence`: not built yet.

use crate::exit::CliError;
use crate::output::Ctx;

/// Subcommands of `palermo evidence`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Not built yet.
    Todo,
}

/// Runs a `palermo evidence` subcommand.
pub(crate) async fn run(_ctx: &Ctx, _command: Command) -> Result<(), CliError> {
    Err(CliError::failure("palermo evidence is not built yet"))
}
