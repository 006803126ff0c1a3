//! Integration tests for palermo-ledger.
