//! Integration tests for palermo-store: one conformance suite, run against
//! SQLite (a temporary file) and PostgreSQL (a fresh schema per test in the
//! database named by `PALERMO_TEST_PG`, default
//! `postgres://postgres@127.0.0.1:5432/test`).

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod conformance;
mod federation;
mod hits;
mod ledger;
mod policy_versions;
mod postgres;
mod resolution;
mod sqlite;
mod users;
mod util;
