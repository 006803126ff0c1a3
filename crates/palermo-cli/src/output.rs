//! Shared command context and report output (`--format text|json`).

use serde::Serialize;

use crate::exit::CliError;

/// How reporting commands print their results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Human-readable text.
    Text,
    /// One JSON document on stdout.
    Json,
}

/// What every command gets from the global flags.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// The store URL (`--db` / `PALERMO_DB`).
    pub(crate) db: String,
    /// The output format (`--format`).
    pub(crate) format: Format,
}

impl Ctx {
    /// Prints `value` as pretty JSON with `--format json`, or calls `text` otherwise.
    pub(crate) fn report<T: Serialize>(
        &self,
        value: &T,
        text: impl FnOnce(&T) -> String,
    ) -> Result<(), CliError> {
        match self.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(value)?),
            Format::Text => {
                let out = text(value);
                if out.ends_with('\n') {
                    print!("{out}");
                } else {
                    println!("{out}");
                }
            }
        }
        Ok(())
    }
}
