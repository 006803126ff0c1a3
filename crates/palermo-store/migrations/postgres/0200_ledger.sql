-- The tamper-evident ledger (palermo-ledger): entries, subtree nodes, signed heads.
-- `body` holds the exact bytes whose RFC 9162 leaf hash is `leaf`.

CREATE TABLE ledger_entries (
    seq BIGINT PRIMARY KEY,
    leaf BYTEA NOT NULL,
    body BYTEA NOT NULL,
    kind TEXT NOT NULL,
    actor TEXT NOT NULL,
    case_id TEXT,
    subject TEXT,
    time TEXT NOT NULL
);

CREATE INDEX ledger_entries_kind ON ledger_entries (kind, seq);
CREATE INDEX ledger_entries_case ON ledger_entries (case_id, seq);
CREATE INDEX ledger_entries_subject ON ledger_entries (subject, seq);

-- Complete subtrees of level >= 1 (level 0 is ledger_entries.leaf).
CREATE TABLE ledger_nodes (
    level SMALLINT NOT NULL,
    idx BIGINT NOT NULL,
    hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE ledger_heads (
    size BIGINT PRIMARY KEY,
    root BYTEA NOT NULL,
    timestamp_ms BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL
);
