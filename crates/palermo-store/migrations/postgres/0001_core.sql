-- Core tables: import batches, entities and their lookup keys.

CREATE TABLE import_batches (
    id TEXT PRIMARY KEY,
    source_file TEXT NOT NULL,
    input_format TEXT NOT NULL,
    imported_by TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    n_records BIGINT NOT NULL DEFAULT 0,
    n_new BIGINT NOT NULL DEFAULT 0,
    n_unchanged BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE entities (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    schema TEXT NOT NULL,
    caption TEXT NOT NULL,
    properties JSONB NOT NULL,
    markings JSONB NOT NULL,
    tlp TEXT NOT NULL,
    role TEXT,
    batch_id TEXT NOT NULL REFERENCES import_batches (id),
    record BIGINT NOT NULL,
    content_hash TEXT NOT NULL
);

CREATE INDEX entities_schema ON entities (schema);
CREATE INDEX entities_batch ON entities (batch_id);

-- Lookup keys (`n:` normalised name token, `id:` identifier, `ph:` phone
-- digits, `em:` e-mail address), stored as a 64-bit hash of the key text:
-- integer comparisons keep bulk imports fast, and a lookup re-reads the
-- entities it finds anyway. Resolution and lookups start here.
CREATE TABLE entity_keys (
    key_hash BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (key_hash, seq)
);
