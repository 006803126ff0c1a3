-- The number of clusters, kept by every write that changes membership, so that
-- reading the resolution state does not count the distinct clusters of every
-- resolved person (half a second at a million persons, on every incremental run).
CREATE TABLE resolution_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    clusters BIGINT NOT NULL
);

INSERT INTO resolution_counts (id, clusters)
SELECT 1, count(DISTINCT cluster_id) FROM resolution_members;
