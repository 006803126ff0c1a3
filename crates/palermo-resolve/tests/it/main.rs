//! Integration tests for palermo-resolve.
