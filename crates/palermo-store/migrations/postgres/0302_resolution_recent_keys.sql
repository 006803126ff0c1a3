-- Blocking keys of persons resolved by incremental runs since the last fold into
-- resolution_keys. A run's keys (about ten per person) land at random places in
-- resolution_keys' large index: at a million persons, 1,000 new persons changed
-- thousands of its pages. Here they change a few dozen; a run folds them into
-- resolution_keys when they grow past a share of it. Lookups read both tables.
CREATE TABLE resolution_keys_recent (
    key_hash BIGINT NOT NULL,
    entity_seq BIGINT NOT NULL,
    PRIMARY KEY (key_hash, entity_seq)
);
