//! Opening the store named by `--db`.

use palermo_store::AnyStore;

use crate::exit::CliError;
use crate::output::Ctx;

/// Opens (and migrates) the store at `ctx.db`; a malformed URL is bad input.
pub(crate) async fn open_store(ctx: &Ctx) -> Result<AnyStore, CliError> {
    match palermo_store::open(&ctx.db).await {
        Ok(store) => Ok(store),
        Err(err @ palermo_store::Error::InvalidUrl { .. }) => Err(CliError::bad_input(err)),
        Err(err) => Err(CliError::from(
            anyhow::Error::new(err).context("opening the store"),
        )),
    }
}
