//! Integration tests for palermo-sim.
