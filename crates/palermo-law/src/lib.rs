//! palermo-law: placeholder, filled by its issue.
