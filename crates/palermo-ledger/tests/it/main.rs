//! Integration tests for palermo-ledger: property tests of the Merkle log
//! (cross-checked against the `ct-merkle` crate), tamper detection and the
//! custody report round trip.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod merkle_props;
mod report;
mod tamper;
