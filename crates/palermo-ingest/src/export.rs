//! FtM JSON lines export.
//!
//! One pipeline serves every export: the calling task reads and decodes
//! stored rows into chunks of [`CHUNK`] entities, and a writer thread passes
//! each chunk through an [`ExportFilter`] (the CLI's sharing-policy gate, or
//! [`KeepAll`]) and encodes and writes what it keeps, so reading the store
//! overlaps with deciding and encoding. The channel between them is bounded
//! ([`AHEAD`] chunks): when the writer falls behind, the reader waits, and
//! memory stays the same whatever the store's size.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::Receiver;

use palermo_model::{Entity, to_ftm_json};
use palermo_store::Store;

use crate::{Error, Result};

/// Entities per chunk handed from the reader to the writer (and decided at
/// once by a policy filter).
pub const CHUNK: usize = 4096;

/// Chunks read ahead of the writer at most: memory holds this many plus the
/// one being filled and the one being written.
pub const AHEAD: usize = 2;

/// What an export keeps of each chunk of stored entities; runs on the
/// writer thread.
pub trait ExportFilter: Send + 'static {
    /// The filter's own failure.
    type Error: Send + 'static;

    /// The entities of `chunk` to write, in order.
    fn keep<'a>(
        &mut self,
        chunk: &'a [Entity],
    ) -> std::result::Result<Vec<&'a Entity>, Self::Error>;
}

/// Keeps every entity.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAll;

impl ExportFilter for KeepAll {
    type Error = std::convert::Infallible;

    fn keep<'a>(
        &mut self,
        chunk: &'a [Entity],
    ) -> std::result::Result<Vec<&'a Entity>, Self::Error> {
        Ok(chunk.iter().collect())
    }
}

/// Why a filtered export stopped.
#[derive(Debug)]
pub enum ExportError<E> {
    /// Reading the store or writing the output failed.
    Export(Error),
    /// The filter failed (the CLI: a policy evaluation error).
    Filter(E),
}

impl<E> From<Error> for ExportError<E> {
    fn from(err: Error) -> Self {
        ExportError::Export(err)
    }
}

/// Writes every entity in `store` to `out` as FtM JSON lines, in import
/// order; `path` names the destination in errors. Returns the writer
/// (flushed) and how many entities were written.
pub async fn export_ftm<S: Store, W: Write + Send + 'static>(
    store: &S,
    out: W,
    path: &Path,
) -> Result<(W, u64)> {
    match export_ftm_filtered(store, KeepAll, out, path).await {
        Ok((KeepAll, out, n)) => Ok((out, n)),
        Err(ExportError::Export(err)) => Err(err),
        Err(ExportError::Filter(never)) => match never {},
    }
}

/// Writes the entities of `store` that `filter` keeps to `out` as FtM JSON
/// lines, in import order, on two threads (see the module documentation);
/// `path` names the destination in errors. Returns the filter (with what it
/// learned, e.g. its decisions), the writer (flushed) and how many entities
/// were written.
pub async fn export_ftm_filtered<S: Store, F: ExportFilter, W: Write + Send + 'static>(
    store: &S,
    filter: F,
    out: W,
    path: &Path,
) -> std::result::Result<(F, W, u64), ExportError<F::Error>> {
    let (chunks, inbox) = std::sync::mpsc::sync_channel::<Vec<Entity>>(AHEAD);
    let destination = path.to_owned();
    let writer = std::thread::Builder::new()
        .name("export-writer".to_owned())
        .spawn(move || write_chunks(filter, out, &destination, &inbox))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    let mut chunk: Vec<Entity> = Vec::with_capacity(CHUNK);
    // Waiting on the bounded channel blocks this runtime thread, which is
    // harmless: the writer never needs the runtime.
    let streamed = store
        .export(|entity| {
            chunk.push(entity);
            if chunk.len() >= CHUNK {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
                // The writer hung up: it failed, and says why when joined.
                chunks
                    .send(full)
                    .map_err(|_| palermo_store::Error::Sink("export stopped".to_owned()))?;
            }
            Ok(())
        })
        .await;
    // The last, partial chunk; a writer that already failed reports below.
    if streamed.is_ok() && !chunk.is_empty() {
        // A failed send means the writer stopped: its error is reported below.
        let _ = chunks.send(chunk);
    }
    drop(chunks);
    let written = writer.join().map_err(|_| Error::Io {
        path: path.to_owned(),
        source: std::io::Error::other("the export writer thread panicked"),
    })?;
    // The writer's own error is the real cause of a stopped stream.
    let written = written?;
    streamed.map_err(Error::Store)?;
    Ok(written)
}

/// The writer thread of [`export_ftm_filtered`]: filters every chunk from
/// `inbox`, writes what is kept to `out` as FtM JSON lines and flushes.
fn write_chunks<F: ExportFilter, W: Write>(
    mut filter: F,
    mut out: W,
    path: &Path,
    inbox: &Receiver<Vec<Entity>>,
) -> std::result::Result<(F, W, u64), ExportError<F::Error>> {
    let io = |source| Error::Io {
        path: PathBuf::from(path),
        source,
    };
    let mut written = 0u64;
    for chunk in inbox {
        for entity in filter.keep(&chunk).map_err(ExportError::Filter)? {
            out.write_all(to_ftm_json(entity).as_bytes())
                .and_then(|()| out.write_all(b"\n"))
                .map_err(io)?;
            written += 1;
        }
    }
    out.flush().map_err(io)?;
    Ok((filter, out, written))
}
