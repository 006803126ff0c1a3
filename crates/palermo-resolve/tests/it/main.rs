//! Integration tests for palermo-resolve.

// Test helpers unwrap: a failure is the test failing.
#![allow(clippy::unwrap_used)]

mod engine;
mod regression;
mod synth;
