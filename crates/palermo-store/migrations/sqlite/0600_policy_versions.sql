-- The node's sharing policy sets (Cedar text), as an append-only version
-- history: the active set is the highest version. A set is stored only after
-- palermo-policy has parsed and validated it; activating a set is one insert.

CREATE TABLE policy_versions (
    version INTEGER PRIMARY KEY,
    source_name TEXT NOT NULL,
    digest TEXT NOT NULL,
    body TEXT NOT NULL,
    allow_empty INTEGER NOT NULL,
    author TEXT NOT NULL,
    created TEXT NOT NULL
);
