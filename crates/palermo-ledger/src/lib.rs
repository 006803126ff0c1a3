//! palermo-ledger: placeholder, filled by its issue.
