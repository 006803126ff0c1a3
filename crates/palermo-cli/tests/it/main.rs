//! End-to-end tests of the `palermo` binary.
