-- Entity resolution inside the store (palermo resolve): trained models,
-- runs, cluster membership, blocking keys and name term counts of resolved
-- records, and merge decisions (machine merges and human confirm/reject).

CREATE TABLE resolution_models (
    version INTEGER PRIMARY KEY,
    created TEXT NOT NULL,
    run_id TEXT NOT NULL,
    params TEXT NOT NULL
);

CREATE TABLE resolution_runs (
    id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    actor TEXT NOT NULL,
    mode TEXT NOT NULL,
    model_version INTEGER NOT NULL,
    watermark INTEGER NOT NULL,
    summary TEXT NOT NULL
);

-- The canonical entity (cluster) of each resolved person, by entity seq.
CREATE TABLE resolution_members (
    entity_seq INTEGER PRIMARY KEY REFERENCES entities (seq),
    cluster_id TEXT NOT NULL,
    run_id TEXT NOT NULL
);

CREATE INDEX resolution_members_cluster ON resolution_members (cluster_id);

-- The resolver's blocking keys of resolved persons (64-bit), for incremental candidates.
CREATE TABLE resolution_keys (
    key_hash INTEGER NOT NULL,
    entity_seq INTEGER NOT NULL,
    PRIMARY KEY (key_hash, entity_seq)
) WITHOUT ROWID;

-- How many resolved persons carry each given / family name (term frequencies).
CREATE TABLE resolution_terms (
    term_hash INTEGER PRIMARY KEY,
    n INTEGER NOT NULL
);

-- kind: merge (made by a run), confirm or reject (made by a person).
CREATE TABLE resolution_decisions (
    id INTEGER PRIMARY KEY,
    left_id TEXT NOT NULL,
    right_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    probability REAL,
    weights TEXT,
    run_id TEXT,
    actor TEXT NOT NULL,
    note TEXT,
    time TEXT NOT NULL
);

CREATE INDEX resolution_decisions_left ON resolution_decisions (left_id);
CREATE INDEX resolution_decisions_right ON resolution_decisions (right_id);
CREATE INDEX resolution_decisions_kind ON resolution_decisions (kind);
