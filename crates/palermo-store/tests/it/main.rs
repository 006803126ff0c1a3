//! Integration tests for palermo-store.
