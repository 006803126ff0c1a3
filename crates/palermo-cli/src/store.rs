//! Opening the store named by `--db`.

use std::sync::Mutex;

use palermo_store::AnyStore;

use crate::exit::CliError;
use crate::output::Ctx;

/// Opens (and migrates) the store at `ctx.db`; a malformed URL is bad input.
pub(crate) async fn open_store(ctx: &Ctx) -> Result<AnyStore, CliError> {
    match palermo_store::open(&ctx.db).await {
        Ok(store) => {
            if let Ok(mut opened) = OPENED.lock() {
                opened.push(store.clone());
            }
            Ok(store)
        }
        Err(err @ palermo_store::Error::InvalidUrl { .. }) => Err(CliError::bad_input(err)),
        Err(err) => Err(CliError::from(
            anyhow::Error::new(err).context("opening the store"),
        )),
    }
}

/// The stores this command opened, closed by [`close_stores`] when it ends.
static OPENED: Mutex<Vec<AnyStore>> = Mutex::new(Vec::new());

/// Closes the stores the command opened, one after the other, so that a
/// SQLite file's last connection checkpoints its write-ahead log: left to the
/// process's exit, its read and write connections could close at once and
/// leave the commits in the log.
pub(crate) async fn close_stores() {
    let stores = match OPENED.lock() {
        Ok(mut opened) => std::mem::take(&mut *opened),
        Err(_) => return,
    };
    for store in stores {
        store.close().await;
    }
}
