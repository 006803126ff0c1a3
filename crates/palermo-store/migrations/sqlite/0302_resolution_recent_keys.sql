-- Blocking keys of persons resolved by incremental runs since the last fold into
-- resolution_keys. A run's keys (about ten per person) land at random places in
-- resolution_keys' large b-tree: at a million persons, 1,000 new persons changed about
-- 7,000 of its pages, each written to the statement journal, the write-ahead log and
-- back to the file. Here they change a few dozen pages; a run folds them into
-- resolution_keys when they grow past a share of it. Lookups read both tables.
CREATE TABLE resolution_keys_recent (
    key_hash INTEGER NOT NULL,
    entity_seq INTEGER NOT NULL,
    PRIMARY KEY (key_hash, entity_seq)
) WITHOUT ROWID;
