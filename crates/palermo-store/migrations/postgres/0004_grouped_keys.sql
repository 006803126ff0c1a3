-- Lookup keys grouped: one row per key and run of up to 200 sequence
-- numbers (ascending) instead of one row per (key, entity).
--
-- An import's keys were a third of its time on PostgreSQL, nearly all of it
-- the server's per-row cost (a heap tuple and an index entry, each logged)
-- for a pair of 16 bytes. Most keys of an import are shared by many of its
-- records (name tokens) or written once per record (identifiers, phones);
-- grouping the shared ones cuts the rows and index entries per import.
-- 200 numbers (1.6 KB) keep a row below the size at which PostgreSQL moves
-- it out of line.
ALTER TABLE entity_keys RENAME TO entity_keys_0001;

CREATE TABLE entity_keys (
    key_hash BIGINT NOT NULL,
    seqs BIGINT[] NOT NULL
);

INSERT INTO entity_keys (key_hash, seqs)
SELECT key_hash, array_agg(seq ORDER BY seq)
FROM (
    SELECT key_hash, seq,
        (row_number() OVER (PARTITION BY key_hash ORDER BY seq) - 1) / 200 AS part
    FROM entity_keys_0001
) numbered
GROUP BY key_hash, part;

DROP TABLE entity_keys_0001;

CREATE INDEX entity_keys_hash ON entity_keys (key_hash);
