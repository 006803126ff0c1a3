//! Fuzz the legal knowledge base's operator inputs: CSV imports (any table
//! kind) and conduct JSON. Neither may panic; errors are fine.
//!
//! Run with: cargo +nightly fuzz run law_import

#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use palermo_law::{Conduct, Date, KnowledgeBase};

static KB: LazyLock<Option<KnowledgeBase>> = LazyLock::new(|| KnowledgeBase::embedded().ok());

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Conduct::from_json(text);
    if let (Some(kb), Ok(today)) = (KB.as_ref(), Date::parse("2025-01-01")) {
        let _ = kb.check_import("fuzz.csv", text, today);
    }
});
