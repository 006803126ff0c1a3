//! Integration tests for palermo-ingest.
