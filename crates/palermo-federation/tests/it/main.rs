//! Multi-node federation tests: in-process nodes on loopback ports, each with
//! its own store, exchanging signed messages over mutual TLS; and the faults
//! the delivery guarantees must survive.

// Test helpers outside #[test] functions may unwrap too.
#![allow(clippy::unwrap_used)]

mod faults;
mod hits;
mod nodes;
mod util;
