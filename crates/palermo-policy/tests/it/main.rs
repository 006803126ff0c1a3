//! Integration tests of palermo-policy: the decision matrix, property tests
//! and the Cedar validator on the shipped policies.

// Fixtures and helpers outside #[test] functions unwrap too.
#![allow(clippy::unwrap_used)]

mod filter;
mod fixtures;
mod matrix;
mod props;
mod validator;
