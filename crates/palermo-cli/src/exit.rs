//! Exit codes of the CLI contract and the error type that carries them.
//!
//! Commands return `Result<(), CliError>`. Any error converts into a
//! *failure of the work* (exit 1) by default; input and usage problems are
//! marked with [`ResultExt::bad_input`] (exit 2).

use std::fmt::Display;
use std::process::ExitCode;

/// Exit code when the work itself failed (I/O, database, a check that found a problem).
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code for bad usage or bad input.
pub(crate) const EXIT_BAD_INPUT: u8 = 2;

/// An error with the exit code it should end the process with.
#[derive(Debug)]
pub(crate) struct CliError {
    pub(crate) code: u8,
    pub(crate) error: anyhow::Error,
}

impl CliError {
    /// A bad-input error (exit 2) with a message.
    pub(crate) fn bad_input(msg: impl Display) -> CliError {
        CliError {
            code: EXIT_BAD_INPUT,
            error: anyhow::anyhow!("{msg}"),
        }
    }

    /// A failure of the work (exit 1) with a message.
    pub(crate) fn failure(msg: impl Display) -> CliError {
        CliError {
            code: EXIT_FAILURE,
            error: anyhow::anyhow!("{msg}"),
        }
    }

    /// Prints the error chain to stderr and returns the exit code.
    pub(crate) fn report(self) -> ExitCode {
        eprintln!("error: {:#}", self.error);
        ExitCode::from(self.code)
    }
}

impl<E: Into<anyhow::Error>> From<E> for CliError {
    fn from(err: E) -> CliError {
        CliError {
            code: EXIT_FAILURE,
            error: err.into(),
        }
    }
}

/// Marks the error of a `Result` with an exit code.
pub(crate) trait ResultExt<T> {
    /// Treats the error as bad input or usage (exit 2).
    fn bad_input(self) -> Result<T, CliError>;
}

impl<T, E: Into<anyhow::Error>> ResultExt<T> for Result<T, E> {
    fn bad_input(self) -> Result<T, CliError> {
        self.map_err(|err| CliError {
            code: EXIT_BAD_INPUT,
            error: err.into(),
        })
    }
}
