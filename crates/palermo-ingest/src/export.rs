//! FtM JSON lines export.

use std::io::Write;
use std::path::Path;

use palermo_model::to_ftm_json;
use palermo_store::Store;

use crate::{Error, Result};

/// Writes every entity in `store` to `out` as FtM JSON lines, in import
/// order; `path` names the destination in errors. Returns how many.
pub async fn export_ftm<S: Store, W: Write + Send>(
    store: &S,
    out: &mut W,
    path: &Path,
) -> Result<u64> {
    let n = store
        .export(|entity| {
            let line = to_ftm_json(&entity);
            out.write_all(line.as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|err| palermo_store::Error::Sink(format!("{}: {err}", path.display())))
        })
        .await?;
    out.flush().map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(n)
}
