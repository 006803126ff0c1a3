//! Integration tests of `palermo-pprl`: CSV → encodings → file → match, across scripts.

// Test helpers outside #[test] functions unwrap too: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod linkage;
