//! Integration tests for palermo-model: FtM round trips over every schema,
//! property and marking.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod roundtrip;
