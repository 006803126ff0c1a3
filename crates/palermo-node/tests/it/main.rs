//! Integration tests for palermo-node, on SQLite (a temporary file) and
//! PostgreSQL (a fresh schema per test in the database named by
//! `PALERMO_TEST_PG`, default `postgres://postgres@127.0.0.1:5432/test`).

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod gate;
mod gate_cache;
mod policies;
mod resolution;
mod util;
