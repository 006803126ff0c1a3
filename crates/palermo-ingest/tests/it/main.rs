//! Integration tests for palermo-ingest, against both store backends:
//! bad input leaves the store unchanged, and export → import round-trips
//! every schema, property and marking.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod bad_input;
mod never_panics;
mod roundtrip;
mod util;
