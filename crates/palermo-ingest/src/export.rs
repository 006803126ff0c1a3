//! FtM JSON lines export.

use std::io::Write;
use std::path::Path;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use palermo_model::{Entity, to_ftm_json};
use palermo_store::Store;

use crate::{Error, Result};

/// Entities converted to JSON per batch on the converter thread.
const BATCH: usize = 2_048;

/// Writes every entity in `store` to `out` as FtM JSON lines, in import
/// order; `path` names the destination in errors. Returns how many.
///
/// Entities are turned into JSON on a second thread, a batch at a time, while
/// the store reads the next rows; at most three batches are in flight.
pub async fn export_ftm<S: Store, W: Write + Send>(
    store: &S,
    out: &mut W,
    path: &Path,
) -> Result<u64> {
    let (to_convert, converter_in) = sync_channel::<Vec<Entity>>(1);
    let (converter_out, converted) = sync_channel::<String>(1);
    let converter = std::thread::Builder::new()
        .name("palermo-export".to_owned())
        .spawn(move || convert(&converter_in, &converter_out))
        .map_err(|source| Error::Io {
            path: path.to_owned(),
            source,
        })?;
    let sink_error =
        |reason: String| palermo_store::Error::Sink(format!("{}: {reason}", path.display()));
    let mut pipe = Pipe {
        batch: Vec::with_capacity(BATCH),
        to_convert,
        converted,
        in_flight: 0,
    };
    let exported = store
        .export(|entity| {
            pipe.batch.push(entity);
            if pipe.batch.len() == BATCH {
                pipe.send().map_err(sink_error)?;
                // Keep one batch converting while the store reads the next.
                if pipe.in_flight > 1 {
                    pipe.write_one(out).map_err(sink_error)?;
                }
            }
            Ok(())
        })
        .await;
    let finished = exported.map_err(Error::from).and_then(|n| {
        if !pipe.batch.is_empty() {
            pipe.send()
                .map_err(|reason| Error::Store(sink_error(reason)))?;
        }
        while pipe.in_flight > 0 {
            pipe.write_one(out)
                .map_err(|reason| Error::Store(sink_error(reason)))?;
        }
        Ok(n)
    });
    // Closing the channel ends the converter thread.
    drop(pipe);
    let _ = converter.join();
    let n = finished?;
    out.flush().map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(n)
}

/// The export's side of the converter thread.
struct Pipe {
    batch: Vec<Entity>,
    to_convert: SyncSender<Vec<Entity>>,
    converted: Receiver<String>,
    in_flight: usize,
}

impl Pipe {
    fn send(&mut self) -> std::result::Result<(), String> {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.to_convert
            .send(batch)
            .map_err(|_| "the JSON converter stopped".to_owned())?;
        self.in_flight += 1;
        Ok(())
    }

    /// Waits for the oldest batch in flight and writes it.
    fn write_one<W: Write>(&mut self, out: &mut W) -> std::result::Result<(), String> {
        let lines = self
            .converted
            .recv()
            .map_err(|_| "the JSON converter stopped".to_owned())?;
        self.in_flight -= 1;
        out.write_all(lines.as_bytes())
            .map_err(|err| err.to_string())
    }
}

/// The converter thread: FtM JSON lines for each batch, in order.
fn convert(input: &Receiver<Vec<Entity>>, output: &SyncSender<String>) {
    for batch in input {
        let mut lines = String::with_capacity(batch.len() * 512);
        for entity in &batch {
            lines.push_str(&to_ftm_json(entity));
            lines.push('\n');
        }
        if output.send(lines).is_err() {
            return;
        }
    }
}
