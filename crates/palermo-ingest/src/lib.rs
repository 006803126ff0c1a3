//! palermo-ingest: placeholder.
