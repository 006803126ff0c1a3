//! Integration tests for palermo-law.
