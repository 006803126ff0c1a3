//! Integration tests for palermo-sim: determinism, truth consistency and the
//! shape of each agency's view.

// Helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod consistency;
mod determinism;
mod util;
mod views;
