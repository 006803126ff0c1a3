//! End-to-end tests of the `palermo` binary.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod access;
mod demo;
mod evidence;
mod federation;
mod hits;
mod import;
mod law;
mod ledger;
mod nodes;
mod policy;
mod pprl;
mod resolve;
mod sim;
mod tidy;
mod user;
