-- The numbers of resolved persons and of clusters, kept by every write that
-- changes membership, so that reading the resolution state does not count every
-- resolved person and their distinct clusters (over half a second at a million
-- persons, before every incremental run).
CREATE TABLE resolution_counts (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    resolved BIGINT NOT NULL,
    clusters BIGINT NOT NULL
);

INSERT INTO resolution_counts (id, resolved, clusters)
SELECT 1, count(*), count(DISTINCT cluster_id) FROM resolution_members;
