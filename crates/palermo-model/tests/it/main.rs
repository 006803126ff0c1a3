//! Integration tests for palermo-model.
