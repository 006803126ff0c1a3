-- Hit/no-hit exchange (palermo-federation `hits`): which peers this node
-- answers, the encodings it matches queries against, the queries sent and
-- received, and the hits found in both directions.
-- Times are milliseconds since the Unix epoch.

-- Peers this node answers hit/no-hit queries from (none by default), with
-- their quotas (NULL: the node's defaults).
CREATE TABLE hit_peers (
    peer TEXT PRIMARY KEY,
    enabled BIGINT NOT NULL,
    max_queries BIGINT,
    max_encodings BIGINT,
    window_secs BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by TEXT NOT NULL
);

-- This node's own persons, encoded with a sharing group's secret (never the
-- secret itself): one set per group key id.
CREATE TABLE hit_encodings (
    key_id TEXT NOT NULL,
    record_id TEXT NOT NULL,
    n_bits BIGINT NOT NULL,
    hardening TEXT NOT NULL,
    clk BLOB NOT NULL,
    PRIMARY KEY (key_id, record_id)
);

-- One row per stored set of encodings: its shape and a generation that
-- changes whenever the set is replaced (answering nodes cache a set by it).
CREATE TABLE hit_encoding_sets (
    key_id TEXT PRIMARY KEY,
    n_bits BIGINT NOT NULL,
    hardening TEXT NOT NULL,
    records BIGINT NOT NULL,
    generation TEXT NOT NULL,
    replaced_at BIGINT NOT NULL
);

-- Queries this node sent (direction 'sent') or received ('received'), keyed
-- by the query message id. For sent queries `record_ids` lists the local
-- record behind each encoding, in batch order (JSON); it never leaves the node.
CREATE TABLE hit_queries (
    id TEXT NOT NULL,
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    case_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    basis TEXT NOT NULL,
    key_id TEXT NOT NULL,
    n_encodings BIGINT NOT NULL,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    code TEXT,
    n_hits BIGINT NOT NULL DEFAULT 0,
    record_ids TEXT NOT NULL,
    PRIMARY KEY (direction, id)
);

CREATE INDEX hit_queries_window ON hit_queries (direction, peer, at);

-- Hits. Direction 'received' (this node answered): `hit_ref` is the opaque
-- reference it handed out and `record_ids` the matched records, known only
-- here. Direction 'sent' (this node asked): `hit_ref` is the peer's
-- reference and `record_ids` the local record whose encoding hit.
CREATE TABLE hits (
    direction TEXT NOT NULL,
    peer TEXT NOT NULL,
    hit_ref TEXT NOT NULL,
    query_id TEXT NOT NULL,
    query_index BIGINT NOT NULL,
    case_id TEXT NOT NULL,
    band TEXT NOT NULL,
    score REAL,
    record_ids TEXT NOT NULL,
    at BIGINT NOT NULL,
    status TEXT NOT NULL,
    PRIMARY KEY (direction, peer, hit_ref)
);

CREATE INDEX hits_query ON hits (direction, query_id, query_index);
