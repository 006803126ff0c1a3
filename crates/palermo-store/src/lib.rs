//! palermo-store: placeholder.
