//! Integration tests for palermo-law: hand-written question/answer cases
//! derived from `data/legal/` (see each module), plus property tests.

// Tests may unwrap.
#![allow(clippy::unwrap_used)]

mod basis;
mod dual;
mod gaps;
mod membership;
mod overlay;
mod props;
mod registry;

use palermo_law::{Date, KnowledgeBase};

/// The embedded base.
pub(crate) fn kb() -> KnowledgeBase {
    KnowledgeBase::embedded().unwrap()
}

/// A date from `YYYY-MM-DD`.
pub(crate) fn d(text: &str) -> Date {
    Date::parse(text).unwrap()
}
