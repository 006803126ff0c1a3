//! palermo-model: placeholder.
