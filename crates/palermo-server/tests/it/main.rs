//! Integration tests of the node's API: every route against authentication,
//! the policy and the OpenAPI document; the local API end to end on SQLite
//! and PostgreSQL; and one real `serve()` on a loopback port.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod api;
mod hits;
mod resolve;
mod routes;
mod serve;
mod util;
