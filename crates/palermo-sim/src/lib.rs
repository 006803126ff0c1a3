//! palermo-sim: placeholder, filled by its issue.
