//! Fuzz target: loading policy text and world files never panics; a
//! refusal is always an error value.
//!
//! Run with: cargo +nightly fuzz run policy_load
#![no_main]

use libfuzzer_sys::fuzz_target;
use palermo_policy::{LoadOptions, Policies, World, WorldInfo};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Policies::parse("fuzz", text, LoadOptions { allow_empty: true });
    if let Ok(info) = WorldInfo::from_json(text) {
        let _ = World::new(info);
    }
});
