//! palermo-resolve: placeholder, filled by its issue.
