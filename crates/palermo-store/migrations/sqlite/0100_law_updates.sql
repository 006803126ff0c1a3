-- Operator updates of the legal knowledge base (palermo-law): an append-only,
-- versioned log. Version N of the knowledge base is the embedded base plus
-- updates 1..N; `body` is the update as JSON (author, note, import or revert).

CREATE TABLE law_updates (
    version INTEGER PRIMARY KEY,
    author TEXT NOT NULL,
    created TEXT NOT NULL,
    body TEXT NOT NULL
);
