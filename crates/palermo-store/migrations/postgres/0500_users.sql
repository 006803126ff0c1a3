-- Users of the node's API and their tokens. Tokens are stored only as the
-- SHA-256 hash (hex) of the token text; the token itself is shown once.
-- A revoked user keeps its row (the ledger names it) and its name.

CREATE TABLE users (
    name TEXT PRIMARY KEY,
    agency TEXT,
    roles TEXT NOT NULL,
    cases TEXT NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);

CREATE TABLE api_tokens (
    token_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL REFERENCES users (name),
    created_at TEXT NOT NULL
);

CREATE INDEX api_tokens_user ON api_tokens (user_name);
