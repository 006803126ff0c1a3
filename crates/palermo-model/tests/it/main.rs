//! Integration tests for palermo-model: FtM round trips over every schema,
//! property and marking.

mod roundtrip;
